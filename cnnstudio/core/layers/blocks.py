"""Composite blocks: Inception, residual, and torchvision backbones."""

from __future__ import annotations

from functools import lru_cache
from math import prod

from cnnstudio.core import convmath
from cnnstudio.core.catalogue import Ctx, Inference, LayerType, ShapeError, register
from cnnstudio.core.convmath import Axis
from cnnstudio.core.layers.common import require_rank, show
from cnnstudio.core.params import BoolParam, ChoiceParam, IntParam

INCEPTION_BRANCHES = ("out_1x1", "reduce_3x3", "out_3x3", "reduce_5x5", "out_5x5", "pool_proj")


def _inception_infer(ctx: Ctx) -> Inference:
    c, h, w = require_rank(ctx, "InceptionBlock", 3)
    p = ctx.p
    convs = [  # (in, out, kernel) of each convolution, every one with a bias
        (c, p["out_1x1"], 1),
        (c, p["reduce_3x3"], 1),
        (p["reduce_3x3"], p["out_3x3"], 3),
        (c, p["reduce_5x5"], 1),
        (p["reduce_5x5"], p["out_5x5"], 5),
        (c, p["pool_proj"], 1),
    ]
    params = sum(cin * cout * k * k + cout for cin, cout, k in convs)
    out_channels = p["out_1x1"] + p["out_3x3"] + p["out_5x5"] + p["pool_proj"]
    formula = f"channels: {p['out_1x1']} + {p['out_3x3']} + {p['out_5x5']} + {p['pool_proj']} = {out_channels}"
    return Inference((out_channels, h, w), params, params * h * w, [formula])


def _inception_build(ctx: Ctx):
    from cnnstudio.core.modules import Inception

    return Inception(ctx.shape[0], *(ctx.p[name] for name in INCEPTION_BRANCHES))


INCEPTION = LayerType(
    name="InceptionBlock",
    category="blocks",
    help="GoogLeNet's Inception block: 1x1, 3x3 and 5x5 convolutions and a 3x3 max-pool side by side "
    "(the larger ones behind 1x1 reductions), concatenated along channels. Keeps H and W.",
    params=tuple(
        IntParam(name, default, help, 1, 4096)
        for name, default, help in (
            ("out_1x1", 16, "Channels of the 1x1 branch."),
            ("reduce_3x3", 24, "1x1 reduction before the 3x3 convolution."),
            ("out_3x3", 32, "Channels of the 3x3 branch."),
            ("reduce_5x5", 4, "1x1 reduction before the 5x5 convolution."),
            ("out_5x5", 8, "Channels of the 5x5 branch."),
            ("pool_proj", 8, "1x1 projection after the 3x3 max-pool."),
        )
    ),
    infer=_inception_infer,
    build=_inception_build,
)


def _needs_projection(ctx: Ctx) -> bool:
    return ctx.p["projection"] == "always" or ctx.p["stride"] != 1 or ctx.shape[0] != ctx.p["out_channels"]


def _residual_infer(ctx: Ctx) -> Inference:
    c, h, w = require_rank(ctx, "ResidualBlock", 3)
    p = ctx.p
    out, stride, bn = p["out_channels"], p["stride"], p["batch_norm"]
    if p["projection"] == "identity" and (stride != 1 or c != out):
        raise ShapeError(
            f"ResidualBlock: an identity skip needs the same shape in and out, but the input has {c} "
            f"channels and the block makes {out} with stride {stride}. Use a projection skip.",
            {"projection": "auto"},
            'set projection to "auto"',
        )
    sizes, formulas = [], []
    for name, size in (("H", h), ("W", w)):
        size_out, formula = convmath.conv_out(Axis(name, size, 3, stride, 1, 1))
        sizes.append(size_out)
        formulas.append(formula)
    bias = 0 if bn else out
    norm = 2 * out if bn else 0
    conv_params = (c * out * 9 + bias) + (out * out * 9 + bias)
    norm_params = 2 * norm
    if _needs_projection(ctx):
        conv_params += c * out + bias
        norm_params += norm
    positions = prod(sizes)
    return Inference((out, *sizes), conv_params + norm_params, conv_params * positions + norm_params, formulas)


def _residual_build(ctx: Ctx):
    from cnnstudio.core.modules import Residual

    p = ctx.p
    return Residual(ctx.shape[0], p["out_channels"], p["stride"], p["batch_norm"], _needs_projection(ctx))


RESIDUAL = LayerType(
    name="ResidualBlock",
    category="blocks",
    help="ResNet's basic block: two 3x3 convolutions whose result is added to the block's input "
    "(the skip), so gradients reach early layers undiminished. The skip is the identity when shapes "
    "match, else a 1x1 convolution (projection).",
    params=(
        IntParam("out_channels", 16, "Channels out of the block.", 1, 4096),
        IntParam("stride", 1, "Stride of the first convolution (2 halves H and W).", 1, 4),
        BoolParam("batch_norm", True, "Batch normalisation after each convolution."),
        ChoiceParam(
            "projection",
            "auto",
            '"auto": a 1x1 projection only when the shape changes; "always"; "identity": never.',
            choices=("auto", "always", "identity"),
        ),
    ),
    infer=_residual_infer,
    build=_residual_build,
)

# Where each backbone's convolutional part is: an attribute, or "children[:-2]" for ResNets.
BACKBONES = {
    "resnet18": None,
    "resnet34": None,
    "resnet50": None,
    "alexnet": "features",
    "vgg11_bn": "features",
    "vgg16": "features",
    "mobilenet_v3_small": "features",
    "efficientnet_b0": "features",
}


def _backbone_module(model: str, output: str, pretrained: bool):
    import torchvision
    from torch import nn

    weights = "DEFAULT" if pretrained else None
    full = torchvision.models.get_model(model, weights=weights)
    if output == "logits":
        return full
    attribute = BACKBONES[model]
    features = getattr(full, attribute) if attribute else nn.Sequential(*list(full.children())[:-2])
    if output == "features":
        return features
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def backbone_code(model: str, output: str) -> str:
    """The Python expression that builds what :func:`_backbone_module` builds (for code export)."""
    full = f'torchvision.models.get_model("{model}")'
    if output == "logits":
        return full
    attribute = BACKBONES[model]
    features = f"{full}.{attribute}" if attribute else f"nn.Sequential(*list({full}.children())[:-2])"
    if output == "features":
        return features
    return f"nn.Sequential({features}, nn.AdaptiveAvgPool2d(1), nn.Flatten())"


@lru_cache(maxsize=64)
def _backbone_meta(model: str, output: str, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
    """Output shape, parameter count and multiply-adds from one pass on the meta device (no memory)."""
    import torch
    from torch import nn

    with torch.device("meta"):
        module = _backbone_module(model, output, pretrained=False)
    macs = 0

    def count(layer: nn.Module, _inputs, result) -> None:
        nonlocal macs
        own = sum(p.numel() for p in layer.parameters(recurse=False))
        if isinstance(layer, nn.modules.conv._ConvNd):
            macs += own * prod(result.shape[2:])
        else:
            macs += own

    hooks = [m.register_forward_hook(count) for m in module.modules()]
    # Evaluation mode: in training mode batch norm refuses one sample on a 1x1 map (a ValueError),
    # which a real batch of several samples would pass; shapes are the same in both modes.
    module.eval()
    try:
        out = module(torch.empty((1, *shape), device="meta"))
    except (RuntimeError, ValueError) as error:
        raise ShapeError(f"TorchvisionBackbone: {model} cannot take an input of {show(shape)}: {error}") from None
    finally:
        for hook in hooks:
            hook.remove()
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters()), macs


def _backbone_infer(ctx: Ctx) -> Inference:
    c, h, w = require_rank(ctx, "TorchvisionBackbone", 3)
    if c != 3:
        raise ShapeError(
            f"TorchvisionBackbone: {ctx.p['model']} expects RGB images (3 channels), but gets {c}. Put a "
            "1x1 Conv2d with out_channels 3 in front, or load the data as RGB."
        )
    shape, params, macs = _backbone_meta(ctx.p["model"], ctx.p["output"], ctx.shape)
    return Inference(shape, params, macs, [f"{ctx.p['model']} ({ctx.p['output']}): {show(ctx.shape)} → {show(shape)}"])


def _backbone_build(ctx: Ctx):
    p = ctx.p
    try:
        return _backbone_module(p["model"], p["output"], p["pretrained"])
    except (OSError, RuntimeError) as error:  # urllib's URLError is an OSError
        raise ShapeError(
            f"TorchvisionBackbone: could not get the pretrained weights of {p['model']} ({error}). They are "
            "downloaded once into the torch cache and need an internet connection; set pretrained to "
            "false to start from random weights."
        ) from None


BACKBONE = LayerType(
    name="TorchvisionBackbone",
    category="blocks",
    help="A ready-made network from torchvision for transfer learning. output \"features\" gives its "
    "last feature map, \"pooled\" a vector per image, \"logits\" the full ImageNet classifier. "
    "Pretrained weights need an internet connection the first time.",
    params=(
        ChoiceParam("model", "resnet18", "Which torchvision architecture.", choices=tuple(BACKBONES)),
        ChoiceParam("output", "pooled", "What the node outputs.", choices=("features", "pooled", "logits")),
        BoolParam("pretrained", False, "Start from ImageNet weights (downloaded once, then cached)."),
    ),
    infer=_backbone_infer,
    build=_backbone_build,
)

register(INCEPTION, RESIDUAL, BACKBONE)
