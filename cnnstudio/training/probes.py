"""Looking inside a model: what the studio's views capture, as plain functions on the model. Qt-free.

The views say what they need in a :class:`ProbeRequest`; :class:`Prober` captures it into an
``events.Snapshot``, either inside the training loop (``Trainer.set_probe``, every ``every`` steps)
or on a finished model. Forward hooks exist only during a capture and only on the requested layers;
the model is put in eval mode for it and the random-number state is restored afterwards, so a run
with views open takes exactly the same steps as one without. Everything in a snapshot is a small
CPU tensor (at most 64 channels, maps at most 64x64), so keeping hundreds of them is cheap.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import networkx as nx
import torch
from torch import Tensor, fx, nn
from torch.nn import functional as F

from cnnstudio.core import catalogue
from cnnstudio.core.design import Design
from cnnstudio.training.data.convert import fit_images
from cnnstudio.training.events import Activation, Embedding, Saliency, Snapshot
from cnnstudio.training.loader import Loader
from cnnstudio.training.probe_request import MAX_CHANNELS, MAX_FEATURES, MAX_LENGTH, MAX_SIDE, ProbeRequest
from cnnstudio.training.projection import pca
from cnnstudio.training.tasks.base import Batch, Task

MAX_FILTER_INPUTS = 16  # input channels shown per filter
EMBEDDING_SAMPLES = 300
THUMBNAIL_SIDE = 32
TSNE_FEATURES = 50
FILTER_TYPES = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
INTERPOLATION = {1: "linear", 2: "bilinear", 3: "trilinear"}

Forward = Callable[[list[Tensor]], list[Tensor]]  # batched inputs -> the task's outputs


def fit_probe(values: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A probe fitted to an Input of ``shape``: images resized and turned grayscale or RGB, sequences
    cut or zero-padded. Raises ValueError, in words, when the two cannot match."""
    values = values.float()
    if values.ndim == len(shape) == 3 and shape[0] in (1, 3) and values.shape[0] in (1, 3, 4):
        return fit_images(values[:3].unsqueeze(0).clamp(0, 1), shape)[0]
    if values.ndim == len(shape) == 2 and values.shape[0] == shape[0]:
        length = shape[1]
        return F.pad(values[:, :length], (0, max(0, length - values.shape[1])))
    kind = {1: "a vector", 2: "a sequence", 3: "an image", 4: "a volume"}
    raise ValueError(f"the design's Input takes {kind.get(len(shape), 'a tensor')} of shape {list(shape)}; "
                     f"this probe is {kind.get(values.ndim, 'a tensor')} of shape {list(values.shape)}")


# -- capture pieces, each a plain function of the model ---------------------------------------------
def node_modules(model: fx.GraphModule) -> dict[str, str]:
    """Node id -> submodule name, for the nodes the model actually runs (a layer feeding no trained
    output is left out of a training model)."""
    run = {node.target for node in model.graph.nodes if node.op == "call_module"}
    return {node_id: name for name, node_id in model.node_names.items() if name in run}


@contextlib.contextmanager
def hooks(model: fx.GraphModule, node_ids: list[str]) -> Iterator[dict[str, Tensor]]:
    """Forward hooks on the given nodes' modules for the duration of the block; the dict fills with
    each node's output. The hooks are removed on leaving, whatever happens."""
    names = node_modules(model)
    seen: dict[str, Tensor] = {}
    handles = []
    try:
        for node_id in dict.fromkeys(node_ids):
            if node_id in names:
                def keep(_module: nn.Module, _inputs: object, output: Tensor, node_id: str = node_id) -> None:
                    seen[node_id] = output
                handles.append(model.get_submodule(names[node_id]).register_forward_hook(keep))
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def shrink(value: Tensor) -> Activation:
    """One sample's activation made small for display (see the module's caps)."""
    shape = tuple(value.shape)
    x = value.detach().float()
    if x.ndim == 4:  # a volume: its middle depth slice
        x = x[:, x.shape[1] // 2]
    if x.ndim == 1:
        x = x[:MAX_FEATURES]
    else:
        x = x[:MAX_CHANNELS]
        if x.ndim == 2 and x.shape[1] > MAX_LENGTH:
            x = F.adaptive_avg_pool1d(x.unsqueeze(0), MAX_LENGTH)[0]
        elif x.ndim == 3 and max(x.shape[1:]) > MAX_SIDE:
            scale = MAX_SIDE / max(x.shape[1:])
            size = (max(1, round(x.shape[1] * scale)), max(1, round(x.shape[2] * scale)))
            x = F.adaptive_avg_pool2d(x.unsqueeze(0), size)[0]
    return Activation(x.cpu().clone(), shape)


def conv_filters(model: fx.GraphModule, design: Design) -> dict[str, Tensor]:
    """Each convolution's kernels as [out, in, kH, kW] (or [out, in, k]; a 3D kernel: its middle
    slice), at most 64 filters of 16 input channels each, in design order."""
    names = node_modules(model)
    kernels: dict[str, Tensor] = {}
    for node in design.nodes:
        if node.type not in FILTER_TYPES or node.id not in names:
            continue
        weight = model.get_submodule(names[node.id]).weight.detach()
        if node.type.startswith("ConvTranspose"):
            weight = weight.transpose(0, 1)  # stored [in, out, ...]
        if weight.ndim == 5:
            weight = weight[:, :, weight.shape[2] // 2]
        kernels[node.id] = weight[:MAX_CHANNELS, :MAX_FILTER_INPUTS].float().cpu().contiguous()
    return kernels


def gradient_norms(model: fx.GraphModule) -> dict[str, float]:
    """The L2 norm of each node's parameter gradients (as left by the last backward), in layer order."""
    groups: dict[str, list[Tensor]] = {}
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            node_id = model.node_names.get(name.split(".")[0], name)
            groups.setdefault(node_id, []).append(torch.linalg.vector_norm(parameter.grad.detach().float()))
    if not groups:
        return {}
    norms = torch.stack([torch.linalg.vector_norm(torch.stack(parts)) for parts in groups.values()])
    return dict(zip(groups, norms.tolist()))


def grad_cam(activation: Tensor, gradient: Tensor, size: tuple[int, ...]) -> Tensor:
    """Grad-CAM (Selvaraju et al.): the channels of one sample's ``activation`` [C, ...] weighted by
    their mean gradient, rectified, resized to the input's ``size`` and scaled to [0, 1]."""
    weights = gradient.mean(tuple(range(1, gradient.ndim)), keepdim=True)
    cam = F.relu((weights * activation).sum(0))
    cam = F.interpolate(cam[None, None], size=size, mode=INTERPOLATION[len(size)], align_corners=False)[0, 0]
    return _unit(cam)


def _unit(x: Tensor) -> Tensor:
    x = x.detach().float()
    top = x.max()
    return (x / top if top > 0 else torch.zeros_like(x)).cpu()


def cam_node(design: Design, task: Task, model: fx.GraphModule) -> str | None:
    """The last convolution (or block) with a spatial output that feeds the first output: Grad-CAM's layer."""
    feeding = nx.ancestors(design.graph, task.outputs[0])
    run = node_modules(model)
    best = None
    for node_id in task.analysis.order:
        shape = task.analysis.nodes[node_id].shape
        category = catalogue.get(design.node(node_id).type).category
        if node_id in feeding and node_id in run and category in ("convolution", "blocks") and len(shape or ()) >= 2:
            best = node_id
    return best


def bottleneck(design: Design, task: Task, model: fx.GraphModule) -> str:
    """The node an autoencoder's embedding is read from: ``sparse_node`` if set, else the layer with
    the fewest values between input and output (the code), the earliest on a tie."""
    sparse = getattr(task.options, "sparse_node", None)
    if sparse:
        return sparse
    run = node_modules(model)
    inner = [n for n in task.analysis.order if n in run and n not in task.outputs and n not in task.analysis.inputs]
    return min(inner or task.outputs, key=lambda n: math.prod(task.analysis.nodes[n].shape))


def thumbnails(images: Tensor) -> Tensor:
    """Samples as uint8 for hovering: images at most 32 pixels a side, sequences as they are."""
    x = images.detach().float().clamp(0, 1)
    if x.ndim == 4 and max(x.shape[2:]) > THUMBNAIL_SIDE:
        scale = THUMBNAIL_SIDE / max(x.shape[2:])
        size = (max(1, round(x.shape[2] * scale)), max(1, round(x.shape[3] * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return (x * 255).round().to(torch.uint8).cpu()


@contextlib.contextmanager
def evaluating(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode and a private random-number state for the block; the model's mode is restored after."""
    was_training = model.training
    devices = [] if device.type == "cpu" else [device]
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        model.eval()
        try:
            yield
        finally:
            model.train(was_training)


# -- the prober ---------------------------------------------------------------------------------------
class Prober:
    """Captures snapshots of one model. It holds what stays fixed between captures: the design, the
    task, how to run the model, and the validation subset drawn for embeddings."""

    def __init__(self, model: fx.GraphModule, design: Design, task: Task, forward: Forward, validation: Loader):
        self.model, self.design, self.task, self.forward, self.validation = model, design, task, forward, validation
        self.device = next(iter(model.parameters()), torch.empty(0)).device
        self._subset: Batch | None = None
        self._thumbnails: Tensor | None = None

    def capture(self, request: ProbeRequest, step: int, epoch: int) -> Snapshot:
        grad_norms = gradient_norms(self.model) if request.grad_norms else {}  # before anything else runs
        with evaluating(self.model, self.device):
            probe, label = self._probe(request)
            batch = Batch([x.unsqueeze(0).to(self.device) for x in probe], torch.zeros(1, dtype=torch.long))
            corrupted = self.task.corrupt(batch)
            seen = corrupted.inputs[0][0].detach().cpu() if corrupted is not batch else None
            activations, prediction, saliency = self._look(request, corrupted.inputs)
            embeds = request.embeddings and self.task.name in ("metric", "reconstruction")
            return Snapshot(
                step, epoch, probe, seen, activations,
                filters=conv_filters(self.model, self.design) if request.filters else {},
                grad_norms=grad_norms,
                prediction=prediction,
                embedding=self._embedding() if embeds else None,
                saliency=saliency,
                confusion=self._confusion() if request.confusion else None,
                label=label,
            )

    def _probe(self, request: ProbeRequest) -> tuple[list[Tensor], int | None]:
        """The probe as the model sees it, and its class when it comes from the validation data."""
        shapes = [self.task.analysis.nodes[n].shape for n in self.task.analysis.inputs]
        if request.inputs is not None:
            with contextlib.suppress(ValueError):  # a probe made for an older design: the default instead
                return [fit_probe(x, shape) for x, shape in zip(request.inputs, shapes, strict=True)], None
        index = min(max(request.sample, 0), len(self.validation.source) - 1)
        chosen = self.validation.batch(torch.tensor([index]))
        return [x[0].detach().cpu().contiguous() for x in chosen.inputs], int(chosen.labels[0])

    def _look(self, request: ProbeRequest, inputs: list[Tensor]
              ) -> tuple[dict[str, Activation], Tensor | None, Saliency | None]:
        """One pass of the probe: the requested activations, the prediction and the saliency."""
        explain = request.saliency and self.task.name == "classification"
        target_node = cam_node(self.design, self.task, self.model) if explain else None
        if not (request.activations or request.predictions or explain):
            return {}, None, None
        watched = [*request.activations, *([target_node] if target_node else [])]
        with hooks(self.model, watched) as seen, torch.set_grad_enabled(explain):
            if explain:
                inputs = [x.detach().requires_grad_(True) for x in inputs]
            outputs = self.forward(inputs)
        activations = {n: shrink(seen[n][0]) for n in request.activations if n in seen}
        prediction = self.task.predict([out.detach() for out in outputs])[0].cpu() if request.predictions else None
        saliency = None
        if explain:
            target = int(outputs[0][0].argmax())
            wrt = [inputs[0], *([seen[target_node]] if target_node else [])]
            grads = torch.autograd.grad(outputs[0][0, target].float(), wrt, allow_unused=True)
            gradient = _unit(grads[0][0].abs().amax(0)) if grads[0] is not None else torch.zeros(inputs[0].shape[2:])
            cam = grad_cam(seen[target_node][0].detach().float(), grads[1][0].float(), tuple(inputs[0].shape[2:])) \
                if target_node and grads[1] is not None else None
            saliency = Saliency(target, gradient, cam, target_node if cam is not None else None)
        return activations, prediction, saliency

    def _embedding(self) -> Embedding:
        if self._subset is None:
            count = min(EMBEDDING_SAMPLES, len(self.validation.source))
            self._subset = self.validation.batch(torch.arange(count))
            self._thumbnails = thumbnails(self._subset.inputs[0])
        metric = self.task.name == "metric"
        node = self.task.outputs[0] if metric else bottleneck(self.design, self.task, self.model)
        with hooks(self.model, [] if metric else [node]) as seen, torch.no_grad():
            outputs = self.forward(self._subset.inputs)
        z = (self.task.predict(outputs) if metric else seen[node].flatten(1)).float().cpu()
        features = pca(z, max(2, min(TSNE_FEATURES, z.shape[1], len(z))))
        return Embedding(node, features[:, :2], features, self._subset.labels.cpu(), self._thumbnails)

    def _confusion(self) -> list[list[int]] | None:
        meter = self.task.meter()
        with torch.no_grad():
            for batch in self.validation.in_order(256):
                meter.update([out.float() for out in self.forward(self.task.corrupt(batch).inputs)], batch)
        return meter.compute().get("confusion")
