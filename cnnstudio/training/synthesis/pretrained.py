"""torchvision's pretrained ImageNet weights on a design built from plain catalogue layers.

The VGG-16 template names its layers as Gatys et al. do (conv1_1 ... conv5_3); torchvision's VGG-16
numbers them (features.0 ... features.28). The convolutions and linear layers are matched in order,
and every pair must agree in shape. The weights are downloaded only when asked for, once, into
torch's cache; offline, and not cached, the message says so.
"""

from __future__ import annotations

from torch import Tensor, fx, nn

from cnnstudio.training.synthesis.network import SynthesisError

MODELS = ("vgg11", "vgg13", "vgg16", "vgg19", "alexnet")


def parameterised(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Convolutions and linear layers, in the order they run (module order for torchvision's nets)."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


def map_in_order(source: nn.Module, target: fx.GraphModule) -> dict[str, Tensor]:
    """``source``'s weights renamed to ``target``'s layers, matched in order and by shape. The target may
    hold fewer layers (a features-only design, or its own head): those after the first mismatch in
    shape are left out, and load_matching reports them."""
    from cnnstudio.training.probes import node_modules

    run = set(node_modules(target).values())
    targets = [(name, module) for name, module in parameterised(target) if name in run]
    state: dict[str, Tensor] = {}
    for (_, source_module), (target_name, target_module) in zip(parameterised(source), targets):
        if type(source_module) is not type(target_module) or source_module.weight.shape != target_module.weight.shape:
            break
        for key, tensor in source_module.state_dict().items():
            state[f"{target_name}.{key}"] = tensor
    return state


def torchvision_state(target: fx.GraphModule, name: str) -> dict[str, Tensor]:
    """torchvision's ``name`` with its DEFAULT ImageNet weights, mapped onto ``target``'s layers."""
    import torchvision

    if name not in MODELS:
        raise SynthesisError(f"torchvision:{name} is not offered; use one of: "
                             + ", ".join(f"torchvision:{m}" for m in MODELS))
    try:
        source = torchvision.models.get_model(name, weights="DEFAULT")
    except (OSError, RuntimeError) as error:  # urllib's URLError is an OSError
        raise SynthesisError(
            f"could not get torchvision's pretrained {name} weights ({error}). They are downloaded once into "
            "torch's cache and need an internet connection that first time; offline, train the design here "
            "or give a weights file"
        ) from None
    state = map_in_order(source, target)
    if not state:
        raise SynthesisError(f"the first layer of torchvision's {name} does not match this design's; "
                             "start from the VGG-16 template (File > New from Template)")
    return state
