"""Input, dense head layers, activations and normalisation."""

from __future__ import annotations

from dataclasses import replace
from math import prod

from cnnstudio.core.catalogue import Call, Ctx, Inference, LayerType, Note, Reversed, ShapeError, register
from cnnstudio.core.layers.common import ATEN, aten, batch_dim, one_tensor, owned_weights, require_rank, show
from cnnstudio.core.params import AxesParam, BoolParam, ChoiceParam, FloatParam, IntParam, ShapeParam

F = "torch.nn.functional."

INPUT = LayerType(
    name="Input",
    category="input",
    help="Where data enters the model. Shape is channels first, without the batch: "
    "[C, L] for sequences, [C, H, W] for images, [C, D, H, W] for volumes.",
    params=(ShapeParam("shape", (1, 28, 28), "Shape of one sample, channels first."),),
    infer=lambda ctx: Inference(ctx.p["shape"]),
    build=None,
    min_inputs=0,
    max_inputs=0,
)


def _linear_infer(ctx: Ctx) -> Inference:
    shape = ctx.shape
    out = ctx.p["out_features"]
    params = shape[-1] * out + (out if ctx.p["bias"] else 0)
    notes = []
    if len(shape) > 1:
        notes.append(
            Note(
                f"Linear acts on the last axis only ({shape[-1]} values), separately at each of the "
                f"other positions of {show(shape)}; add a Flatten before it to connect every feature."
            )
        )
    formula = f"{shape[-1]} inputs x {out} outputs + {out if ctx.p['bias'] else 0} biases = {params} parameters"
    return Inference((*shape[:-1], out), params, params, [formula], notes)


def _linear_build(ctx: Ctx):
    from torch import nn

    return nn.Linear(ctx.shape[-1], ctx.p["out_features"], bias=ctx.p["bias"])


LINEAR = LayerType(
    name="Linear",
    category="dense",
    help="Fully connected (dense) layer: every output is a weighted sum of every input feature.",
    params=(
        IntParam("out_features", 10, "Number of outputs (neurons).", 1, 1_000_000),
        BoolParam("bias", True, "Add a learned bias to each output."),
    ),
    infer=_linear_infer,
    build=_linear_build,
    reverse=lambda call: _linear_reverse(call),
)


def _linear_reverse(call: Call) -> dict | Reversed | None:
    if m := call.is_module("Linear"):
        return {"out_features": m.out_features, "bias": m.bias is not None}
    if one_tensor(call, ATEN + "linear.default") and (shape := call.owned_shape(call.argument(1, "weight"))):
        bias = call.argument(2, "bias")
        weights = owned_weights(weight=call.argument(1, "weight"), bias=bias)
        return weights and Reversed({"out_features": shape[0], "bias": bias is not None}, weights)
    return None


def _flatten_infer(ctx: Ctx) -> Inference:
    shape = ctx.shape
    start = batch_dim(ctx.p["start_dim"], len(shape), "start_dim")
    end = batch_dim(ctx.p["end_dim"], len(shape), "end_dim")
    if end < start:
        raise ShapeError(f"Flatten: end_dim ({ctx.p['end_dim']}) comes before start_dim ({ctx.p['start_dim']})")
    merged = prod(shape[start : end + 1])
    out = (*shape[:start], merged, *shape[end + 1 :])
    return Inference(out, formulas=[f"{' x '.join(map(str, shape[start:end + 1]))} = {merged}"])


def _flatten_build(ctx: Ctx):
    from torch import nn

    return nn.Flatten(ctx.p["start_dim"], ctx.p["end_dim"])


def _flatten_reverse(call: Call) -> dict | None:
    if m := call.is_module("Flatten"):
        return {"start_dim": m.start_dim, "end_dim": m.end_dim}
    if one_tensor(call, "torch.flatten", "Tensor.flatten", ATEN + "flatten.using_ints"):
        return {"start_dim": call.argument(1, "start_dim", 0), "end_dim": call.argument(2, "end_dim", -1)}
    return None


FLATTEN = LayerType(
    name="Flatten",
    category="dense",
    help="Unrolls a feature map into one vector, e.g. [12, 3, 3] into 108 features for a dense head.",
    params=(
        IntParam("start_dim", 1, "First axis to merge, counting the batch as 0.", -5, 4),
        IntParam("end_dim", -1, "Last axis to merge (-1: the last).", -5, 4),
    ),
    infer=_flatten_infer,
    build=_flatten_build,
    reverse=_flatten_reverse,
)


def _dropout_type(name: str, help: str, ranks: tuple[int, ...] = ()) -> LayerType:
    def infer(ctx: Ctx) -> Inference:
        if ranks:
            require_rank(ctx, name, *ranks)
        return Inference(ctx.shape)

    def build(ctx: Ctx):
        from torch import nn

        return getattr(nn, name)(ctx.p["p"])

    return LayerType(
        name=name,
        category="dense",
        help=help,
        params=(FloatParam("p", 0.5, "Probability of zeroing a value (a whole channel for Dropout2d).", 0.0, 1.0),),
        infer=infer,
        build=build,
        reverse=lambda call: ({"p": m.p} if (m := call.is_module(name)) else
                              {"p": call.argument(1, "p")} if one_tensor(call, *aten(name.lower())) else None),
    )


DROPOUT = _dropout_type(
    "Dropout",
    "During training, zeroes each value with probability p (and scales the rest) to fight "
    "overfitting; does nothing at evaluation.",
)
DROPOUT2D = _dropout_type(
    "Dropout2d",
    "During training, zeroes whole channels with probability p (and scales the rest): neighbouring "
    "pixels are correlated, so dropping single values would teach little. Nothing at evaluation.",
    (3,),
)


def _stochastic_depth_build(ctx: Ctx):
    from torchvision.ops import StochasticDepth

    return StochasticDepth(ctx.p["p"], ctx.p["mode"])


STOCHASTIC_DEPTH = LayerType(
    name="StochasticDepth",
    category="dense",
    help="During training, drops the whole residual branch it sits on for a random sample (mode "
    '"row") or batch ("batch") with probability p, as EfficientNet and ConvNeXt do; nothing at evaluation.',
    params=(
        FloatParam("p", 0.2, "Probability of dropping the branch.", 0.0, 1.0),
        ChoiceParam("mode", "row", '"row": per sample; "batch": the whole batch at once.', choices=("row", "batch")),
    ),
    infer=lambda ctx: Inference(ctx.shape),
    build=_stochastic_depth_build,
    reverse=lambda call: (m := call.is_module("StochasticDepth", "torchvision.ops")) and {"p": m.p, "mode": m.mode},
)


def _batchnorm_type(dims: int) -> LayerType:
    name = f"BatchNorm{dims}d"
    ranks = {1: (1, 2), 2: (3,), 3: (4,)}[dims]

    def infer(ctx: Ctx) -> Inference:
        require_rank(ctx, name, *ranks)
        params = 2 * ctx.shape[0] if ctx.p["affine"] else 0
        return Inference(ctx.shape, params, params)

    def build(ctx: Ctx):
        from torch import nn

        p = ctx.p
        return getattr(nn, name)(ctx.shape[0], eps=p["eps"], momentum=p["momentum"], affine=p["affine"])

    return LayerType(
        name=name,
        category="normalization",
        help="Normalises each channel over the batch to zero mean and unit variance, then scales "
        "and shifts it; steadies and speeds up training.",
        params=(
            FloatParam("eps", 1e-5, "Added to the variance to avoid division by zero.", 1e-12, 1.0),
            FloatParam("momentum", 0.1, "Weight of each batch in the running statistics.", 0.0, 1.0),
            BoolParam("affine", True, "Learn a scale and shift per channel."),
        ),
        infer=infer,
        build=build,
        reverse=lambda call: _batchnorm_reverse(call, name),
    )


def _batchnorm_reverse(call: Call, name: str) -> dict | Reversed | None:
    if m := call.is_module(name):
        if m.track_running_stats and m.momentum is not None:
            return {"eps": m.eps, "momentum": m.momentum, "affine": m.affine}
        return None
    functional = one_tensor(call, F + "batch_norm")  # timm's BatchNormAct2d calls it; aten orders the tensors otherwise
    if (functional or one_tensor(call, ATEN + "batch_norm.default")) and call.argument(5, "training") is False:
        keys = ("running_mean", "running_var", "weight", "bias") if functional else ("weight", "bias", "running_mean", "running_var")
        weights = owned_weights(**{key: call.argument(i + 1, key) for i, key in enumerate(keys)})
        if weights is None or "running_mean" not in weights:
            return None
        affine = "weight" in weights
        return Reversed({"eps": call.argument(7, "eps"), "momentum": call.argument(6, "momentum"), "affine": affine}, weights)
    return None


def _layernorm_infer(ctx: Ctx) -> Inference:
    axes = ctx.p["axes"]
    if len(ctx.shape) < axes:
        raise ShapeError(f"LayerNorm normalises the last {axes} axes, but the input {show(ctx.shape)} has {len(ctx.shape)}")
    size = prod(ctx.shape[-axes:])
    params = size * (int(ctx.p["elementwise_affine"]) + int(ctx.p["elementwise_affine"] and ctx.p["bias"]))
    return Inference(ctx.shape, params, params, [f"normalised over {' x '.join(map(str, ctx.shape[-axes:]))} = {size} values"])


def _layernorm_build(ctx: Ctx):
    from torch import nn

    p = ctx.p
    return nn.LayerNorm(ctx.shape[-p["axes"]:], eps=p["eps"], elementwise_affine=p["elementwise_affine"], bias=p["bias"])


def _layernorm_reverse(call: Call) -> dict | Reversed | None:
    if m := call.is_module("LayerNorm"):
        return {"axes": len(m.normalized_shape), "eps": m.eps, "elementwise_affine": m.elementwise_affine,
                "bias": m.bias is not None or not m.elementwise_affine}
    if one_tensor(call, F + "layer_norm", ATEN + "layer_norm.default"):
        normalized = call.argument(1, "normalized_shape")
        weight, bias = call.argument(2, "weight"), call.argument(3, "bias")
        weights = owned_weights(weight=weight, bias=bias)
        if not isinstance(normalized, (list, tuple)) or weights is None or (bias is not None and weight is None):
            return None
        params = {"axes": len(normalized), "eps": call.argument(4, "eps", 1e-5), "elementwise_affine": weight is not None,
                  "bias": bias is not None or weight is None}
        return Reversed(params, weights)
    return None


def _permute_infer(ctx: Ctx) -> Inference:
    order = ctx.p["dims"]
    if sorted(order) != list(range(1, len(ctx.shape) + 1)):
        raise ShapeError(f"Permute: dims {list(order)} must list each axis of the input {show(ctx.shape)} once, "
                         f"numbered 1 to {len(ctx.shape)}")
    return Inference(tuple(ctx.shape[d - 1] for d in order))


def _permute_build(ctx: Ctx):
    from torchvision.ops.misc import Permute

    return Permute([0, *ctx.p["dims"]])


def _permute_reverse(call: Call) -> dict | None:
    if m := call.is_module("Permute", "torchvision.ops"):
        dims = list(m.dims)
    elif one_tensor(call, "torch.permute", ATEN + "permute.default"):
        dims = list(call.argument(1, "dims") or ())
    elif one_tensor(call, "Tensor.permute"):
        dims = list(call.args[1]) if len(call.args) == 2 and isinstance(call.args[1], (list, tuple)) else list(call.args[1:])
    else:
        return None
    if not dims or not all(isinstance(d, int) for d in dims):
        return None
    dims = [d % len(dims) for d in dims]
    return {"dims": dims[1:]} if dims[0] == 0 else None


PERMUTE = LayerType(
    name="Permute",
    category="dense",
    help="Reorders the axes of each sample, e.g. dims [2, 3, 1] turns [C, H, W] into [H, W, C] "
    "(channels last, for a LayerNorm or Linear over channels, as ConvNeXt does). The batch stays first.",
    params=(AxesParam("dims", (2, 3, 1), "The input's axes in their new order, numbered from 1."),),
    infer=_permute_infer,
    build=_permute_build,
    reverse=_permute_reverse,
)


LAYERNORM = LayerType(
    name="LayerNorm",
    category="normalization",
    help="Normalises each sample over its last axes (not over the batch) to zero mean and unit "
    "variance, then scales and shifts: the norm of transformers and ConvNeXt.",
    params=(
        IntParam("axes", 1, "How many trailing axes to normalise over (1: the last).", 1, 4),
        FloatParam("eps", 1e-5, "Added to the variance to avoid division by zero.", 1e-12, 1.0),
        BoolParam("elementwise_affine", True, "Learn a scale (and shift) per normalised value."),
        BoolParam("bias", True, "Learn the shift too (with elementwise_affine)."),
    ),
    infer=_layernorm_infer,
    build=_layernorm_build,
    reverse=_layernorm_reverse,
)


def _groupnorm_infer(ctx: Ctx) -> Inference:
    channels = require_rank(ctx, "GroupNorm", 2, 3, 4)[0]
    groups = ctx.p["num_groups"]
    if channels % groups:
        raise ShapeError(f"GroupNorm: the {channels} channels cannot be split into {groups} equal groups")
    params = 2 * channels if ctx.p["affine"] else 0
    return Inference(ctx.shape, params, params, [f"{groups} groups of {channels // groups} channels"])


def _groupnorm_build(ctx: Ctx):
    from torch import nn

    return nn.GroupNorm(ctx.p["num_groups"], ctx.shape[0], eps=ctx.p["eps"], affine=ctx.p["affine"])


GROUPNORM = LayerType(
    name="GroupNorm",
    category="normalization",
    help="Normalises each sample over groups of channels (and all positions), independent of the "
    "batch size: batch norm's stand-in for small batches.",
    params=(
        IntParam("num_groups", 32, "Number of channel groups; must divide the channels.", 1, 65536),
        FloatParam("eps", 1e-5, "Added to the variance to avoid division by zero.", 1e-12, 1.0),
        BoolParam("affine", True, "Learn a scale and shift per channel."),
    ),
    infer=_groupnorm_infer,
    build=_groupnorm_build,
    reverse=lambda call: (m := call.is_module("GroupNorm"))
    and {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine},
)


def _lrn_build(ctx: Ctx):
    from torch import nn

    p = ctx.p
    return nn.LocalResponseNorm(p["size"], p["alpha"], p["beta"], p["k"])


LRN = LayerType(
    name="LocalResponseNorm",
    category="normalization",
    help="AlexNet's local response normalisation: divides each value by the activity of size "
    "neighbouring channels at the same position, (k + alpha/size * sum x^2)^beta.",
    params=(
        IntParam("size", 5, "Number of neighbouring channels.", 1, 1024),
        FloatParam("alpha", 1e-4, "Scale of the sum of squares.", 0.0, 1e3),
        FloatParam("beta", 0.75, "Exponent.", 0.0, 10.0),
        FloatParam("k", 1.0, "Added constant.", 0.0, 1e3),
    ),
    infer=lambda ctx: Inference(require_rank(ctx, "LocalResponseNorm", 2, 3, 4)),
    build=_lrn_build,
    reverse=lambda call: (m := call.is_module("LocalResponseNorm"))
    and {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k},
)


def _activation(
    name: str, help: str, params: tuple = (), torch_args: tuple[str, ...] = (), functions: tuple[str, ...] = ()
) -> LayerType:
    """An element-wise activation; ``functions`` are the torch functions it stands for on import
    (those without parameters of their own)."""

    def build(ctx: Ctx):
        from torch import nn

        return getattr(nn, name)(*(ctx.p[a] for a in torch_args))

    def reverse(call: Call) -> dict | None:
        if m := call.is_module(name):
            return {a: getattr(m, a) for a in torch_args}
        if one_tensor(call, *functions) and not torch_args:
            return {}
        return None

    return LayerType(
        name=name,
        category="activation",
        help=help,
        params=params,
        infer=lambda ctx: Inference(ctx.shape),
        build=build,
        reverse=reverse,
    )


def _gelu_reverse(call: Call) -> dict | None:
    if m := call.is_module("GELU"):
        return {"approximate": m.approximate}
    if one_tensor(call, F + "gelu", *aten("gelu")) and len(call.args) == 1:
        return {"approximate": call.kwargs.get("approximate", "none")}
    return None


def _softmax_infer(ctx: Ctx) -> Inference:
    batch_dim(ctx.p["dim"], len(ctx.shape), "dim")
    return Inference(ctx.shape)


def _softmax_build(ctx: Ctx):
    from torch import nn

    return nn.Softmax(dim=ctx.p["dim"])


def _softmax_reverse(call: Call) -> dict | None:
    if (m := call.is_module("Softmax")) and m.dim is not None:
        return {"dim": m.dim}
    if one_tensor(call, F + "softmax", "torch.softmax", "Tensor.softmax", ATEN + "softmax.int", ATEN + "_softmax.default") \
            and call.argument(1, "dim") is not None and not call.argument(2, "half_to_float", False):
        return {"dim": call.argument(1, "dim")}
    return None


SOFTMAX = LayerType(
    name="Softmax",
    category="activation",
    help="Turns scores into probabilities that sum to 1 along dim. For training a classifier, "
    "leave it out: the cross-entropy loss applies it to the logits itself.",
    params=(IntParam("dim", 1, "Axis to normalise, counting the batch as 0 (1: channels/classes).", -5, 4),),
    infer=_softmax_infer,
    build=_softmax_build,
    reverse=_softmax_reverse,
)

register(
    INPUT,
    LINEAR,
    FLATTEN,
    PERMUTE,
    DROPOUT,
    DROPOUT2D,
    STOCHASTIC_DEPTH,
    *(_batchnorm_type(d) for d in (1, 2, 3)),
    LAYERNORM,
    GROUPNORM,
    LRN,
    _activation(
        "ReLU", "max(0, x): passes positive values, zeroes negative ones.",
        functions=(F + "relu", "torch.relu", "Tensor.relu", *aten("relu")),
    ),
    _activation(
        "ReLU6", "min(max(0, x), 6): ReLU capped at 6 (MobileNetV2).",
        functions=(F + "relu6",),
    ),
    _activation(
        "LeakyReLU",
        "Like ReLU but lets a small slope through for negative values, so units never go silent.",
        (FloatParam("negative_slope", 0.01, "Slope for negative inputs.", 0.0, 1.0),),
        ("negative_slope",),
    ),
    _activation(
        "Sigmoid", "1 / (1 + e^-x): squashes values into (0, 1).",
        functions=(F + "sigmoid", "torch.sigmoid", "Tensor.sigmoid", *aten("sigmoid")),
    ),
    _activation("Tanh", "Squashes values into (-1, 1).", functions=(F + "tanh", "torch.tanh", "Tensor.tanh", *aten("tanh"))),
    _activation(
        "SiLU", "x * sigmoid(x) (also called Swish): a smooth ReLU, used by EfficientNet.",
        functions=(F + "silu", *aten("silu")),
    ),
    replace(
        _activation(
            "GELU",
            "x * P(X <= x) for a standard normal X: a smooth ReLU, used by transformers and ConvNeXt.",
            (ChoiceParam("approximate", "none", '"tanh": a faster approximation.', choices=("none", "tanh")),),
            ("approximate",),
        ),
        reverse=_gelu_reverse,
    ),
    _activation(
        "Hardswish", "x * ReLU6(x + 3) / 6: a cheap SiLU, used by MobileNetV3.",
        functions=(F + "hardswish", *aten("hardswish")),
    ),
    _activation(
        "Hardsigmoid", "ReLU6(x + 3) / 6: a cheap sigmoid, used by MobileNetV3's squeeze-excitation.",
        functions=(F + "hardsigmoid", *aten("hardsigmoid")),
    ),
    SOFTMAX,
    _activation(
        "Identity", "Passes its input through unchanged (a named tap point, e.g. an embedding).",
        functions=("torch.nn.functional.identity",),
    ),
)
