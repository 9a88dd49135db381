"""Input, dense head layers, activations and normalisation."""

from __future__ import annotations

from math import prod

from cnnstudio.core.catalogue import Ctx, Inference, LayerType, Note, ShapeError, register
from cnnstudio.core.layers.common import batch_dim, require_rank, show
from cnnstudio.core.params import BoolParam, FloatParam, IntParam, ShapeParam

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
)


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
)


def _dropout_build(ctx: Ctx):
    from torch import nn

    return nn.Dropout(ctx.p["p"])


DROPOUT = LayerType(
    name="Dropout",
    category="dense",
    help="During training, zeroes each value with probability p (and scales the rest) to fight "
    "overfitting; does nothing at evaluation.",
    params=(FloatParam("p", 0.5, "Probability of zeroing a value.", 0.0, 1.0),),
    infer=lambda ctx: Inference(ctx.shape),
    build=_dropout_build,
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
    )


def _activation(name: str, help: str, params: tuple = (), torch_args: tuple[str, ...] = ()) -> LayerType:
    def build(ctx: Ctx):
        from torch import nn

        return getattr(nn, name)(*(ctx.p[a] for a in torch_args))

    return LayerType(
        name=name,
        category="activation",
        help=help,
        params=params,
        infer=lambda ctx: Inference(ctx.shape),
        build=build,
    )


def _softmax_infer(ctx: Ctx) -> Inference:
    batch_dim(ctx.p["dim"], len(ctx.shape), "dim")
    return Inference(ctx.shape)


def _softmax_build(ctx: Ctx):
    from torch import nn

    return nn.Softmax(dim=ctx.p["dim"])


SOFTMAX = LayerType(
    name="Softmax",
    category="activation",
    help="Turns scores into probabilities that sum to 1 along dim. For training a classifier, "
    "leave it out: the cross-entropy loss applies it to the logits itself.",
    params=(IntParam("dim", 1, "Axis to normalise, counting the batch as 0 (1: channels/classes).", -5, 4),),
    infer=_softmax_infer,
    build=_softmax_build,
)

register(
    INPUT,
    LINEAR,
    FLATTEN,
    DROPOUT,
    *(_batchnorm_type(d) for d in (1, 2, 3)),
    _activation("ReLU", "max(0, x): passes positive values, zeroes negative ones."),
    _activation(
        "LeakyReLU",
        "Like ReLU but lets a small slope through for negative values, so units never go silent.",
        (FloatParam("negative_slope", 0.01, "Slope for negative inputs.", 0.0, 1.0),),
        ("negative_slope",),
    ),
    _activation("Sigmoid", "1 / (1 + e^-x): squashes values into (0, 1)."),
    _activation("Tanh", "Squashes values into (-1, 1)."),
    SOFTMAX,
    _activation("Identity", "Passes its input through unchanged (a named tap point, e.g. an embedding)."),
)
