"""Export a design as readable, standalone PyTorch code: the ``nn.Module`` and a training script.

The file needs only torch (and torchvision for backbones and datasets). Each submodule's
constructor call is written back from its signature and attributes (torch.nn's modules, and ours,
keep their constructor arguments as attributes), and ``forward`` is written from the compiled
torch.fx graph, so the exported model computes exactly what the compiled one does; a test checks
this to 1e-5. Attribute names are the node ids, so the state dicts of both are interchangeable.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import torch
from torch import fx, nn

import cnnstudio
from cnnstudio.core import modules as own_modules
from cnnstudio.core.analysis import Analysis
from cnnstudio.core.compiler import class_name, module_names
from cnnstudio.core.design import Design
from cnnstudio.core.layers.blocks import backbone_code
from cnnstudio.export.opaque_code import CALL_CLASS, function_code, imports_for, module_code


class CodeExportError(ValueError):
    """A module whose constructor cannot be written as code."""


def constructor(module: nn.Module, used: set[type]) -> str:
    """Python source that constructs ``module`` again (its weights aside)."""
    cls = type(module)
    if cls is nn.Sequential:
        return "nn.Sequential(" + ", ".join(constructor(child, used) for child in module) + ")"
    if cls.__module__ == own_modules.__name__:
        used.add(cls)
        prefix = ""
    elif cls.__module__.startswith("torch.nn.modules"):
        prefix = "nn."
    elif cls.__module__.startswith("torchvision.ops"):  # StochasticDepth
        prefix = "torchvision.ops."
    else:
        raise CodeExportError(f"cannot write code for a {cls.__module__}.{cls.__name__}")
    arguments = []
    for name, parameter in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or name in ("device", "dtype"):
            continue
        try:
            value = getattr(module, name)
        except AttributeError:
            raise CodeExportError(f"cannot write code for {cls.__name__}: it does not keep '{name}'") from None
        if name == "bias" and (value is None or isinstance(value, torch.Tensor)):
            value = value is not None
        if prefix and isinstance(value, tuple) and value and len(set(value)) == 1:
            value = value[0]  # torch.nn takes one number for every axis: (1, 1) reads as 1
        if parameter.default is not parameter.empty and value == parameter.default:
            continue
        if parameter.default is parameter.empty:
            arguments.append(repr(value))
        else:
            arguments.append(f"{name}={value!r}")
    return f"{prefix}{cls.__name__}({', '.join(arguments)})"


def _forward(graph: fx.Graph, method: str, stop_at: str | None = None) -> str:
    """``forward`` (or another method) as plain statements, one per node of the graph."""
    lines, arguments = [], []
    for node in graph.nodes:
        if node.op == "placeholder":
            arguments.append(node.name)
        elif node.op == "call_module":
            lines.append(f"{node.name} = self.{node.target}({', '.join(a.name for a in node.args)})")
            if node.target == stop_at:
                lines[-1] = f"return {', '.join(a.name for a in node.args)}"
                break
        elif node.op == "output":
            result = node.args[0]
            names = [r.name for r in result] if isinstance(result, (tuple, list)) else [result.name]
            lines.append(f"return {names[0]}" if len(names) == 1 else f"return ({', '.join(names)})")
    body = textwrap.indent("\n".join(lines), " " * 8)
    return f"    def {method}(self, {', '.join(arguments)}):\n{body}\n"


def model_source(design: Design, analysis: Analysis, model: fx.GraphModule) -> str:
    """The ``nn.Module`` class of ``model``, the compiled ``design``."""
    names = module_names(design)
    used: set[type] = set()
    helpers_text: set[str] = set()
    init = []
    for node_id in analysis.order:
        node = design.node(node_id)
        if node.type == "Input":
            continue
        module = model.get_submodule(names[node_id])
        if node.type == "TorchvisionBackbone":
            code = backbone_code(node.params["model"], node.params["output"])
        elif node.type == "Function":
            code = function_code(node.params, len(design.inputs_of(node_id)))
            helpers_text.add(CALL_CLASS)
        elif node.type == "Module":
            code = module_code(node.params)
        else:
            code = constructor(module, used)
        shape = analysis.nodes[node_id].shape
        init.append(f"self.{names[node_id]} = {code}  # -> {list(shape)}")
        if node.frozen:
            init.append(f"self.{names[node_id]}.requires_grad_(False)  # frozen")
    init += _ties(design, model, names)
    helpers = "\n\n".join([*(inspect.getsource(cls) for cls in sorted(used, key=lambda c: c.__name__)), *helpers_text])
    body = textwrap.indent("\n".join(init), " " * 8)
    source = f"class {class_name(design)}(nn.Module):\n"
    source += f'    """{docstring_text(design.name)}: {analysis.total_params:,} parameters."""\n\n'
    source += f"    def __init__(self):\n        super().__init__()\n{body}\n\n"
    softmax = _trailing_softmax(design, names)
    if softmax:  # forward = softmax(logits), so the script can train on the logits
        source += _forward(model.graph, "logits", stop_at=softmax)
        argument = model.graph.find_nodes(op="placeholder")[0].name
        source += f"\n    def forward(self, {argument}):\n        return self.{softmax}(self.logits({argument}))\n"
    else:
        source += _forward(model.graph, "forward")
    return (helpers + "\n\n\n" if helpers else "") + source


def _ties(design: Design, model: fx.GraphModule, names: dict[str, str]) -> list[str]:
    """A tied tensor (docs/design-format.md, "tied") made the very tensor it is tied to, as the
    compiler does, so the exported model has the design's parameter count and trains them as one.
    Names from the file are written as string literals (repr), never as code."""
    lines = []
    for (node_id, tensor), (owner_id, owner_tensor) in design.tied.items():
        if node_id not in names or owner_id not in names:
            continue
        module_path, _, leaf = tensor.rpartition(".")
        owner = model.get_submodule(names[owner_id])
        kind = "parameter" if owner_tensor in dict(owner.named_parameters(remove_duplicate=False)) else "buffer"
        lines.append(f"self.{names[node_id]}.get_submodule({module_path!r}).register_{kind}({leaf!r}, "
                     f"self.{names[owner_id]}.get_{kind}({owner_tensor!r}))  # tied: one tensor of the model")
    return lines


def _trailing_softmax(design: Design, names: dict[str, str]) -> str | None:
    """The module name of the only output if it is a Softmax fed by the only input's branch."""
    outputs = design.output_ids
    if len(outputs) == 1 and len(design.input_ids) == 1 and design.node(outputs[0]).type == "Softmax":
        return names[outputs[0]]
    return None


TRAINING_SCRIPT = '''

INPUT_SHAPES = {input_shapes}
TRAINING = {training!r}


class CsvImages(torch.utils.data.Dataset):
    """csv:FILE as the studio reads it: columns path and label (or boxes, "CLASS x0 y0 x1 y1; ...",
    whose first class is the label), paths relative to the file; a split column marks val rows."""

    def __init__(self, file: str, train: bool, transform):
        import csv

        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                rows = [{{k.strip(): (v or "").strip() for k, v in row.items() if k}} for row in csv.DictReader(handle)]
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise SystemExit(f"csv:{{file}}: cannot be read ({{error}})") from None
        names = [row.get("label") or row.get("boxes", "").split(" ", 1)[0] for row in rows]
        if not rows or any(not row.get("path") or not name for row, name in zip(rows, names)):
            raise SystemExit(f"csv:{{file}}: every row needs a path and a label (or boxes)")
        digits = all(n.isdigit() for n in names)  # classes "0", "1"...: by number, else by name
        index = {{n: int(n) if digits else i for i, n in enumerate(sorted(set(names)))}}
        wanted = ("val", "validation") if not train else ("", "train", "training")
        folder = os.path.dirname(os.path.abspath(file))
        self.samples = [(os.path.join(folder, row["path"]), index[name]) for row, name in zip(rows, names)
                        if row.get("split", "").lower() in wanted]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        from PIL import Image

        path, label = self.samples[i]
        with Image.open(path) as image:
            return self.transform(image), label


def load_data(spec: str, train: bool):
    """A torchvision dataset ("mnist", "fashion-mnist", "cifar10"), "folder:PATH" (one sub-folder
    per class, or train/ and val/ holding them) or "csv:FILE" (see CsvImages)."""
    import torchvision
    from torchvision import transforms

    channels, *size = INPUT_SHAPES[0]
    steps = [transforms.Resize(size)] if len(size) == 2 else []
    steps.append(transforms.Grayscale(1) if channels == 1 else transforms.Lambda(lambda im: im.convert("RGB")))
    transform = transforms.Compose(steps + [transforms.ToTensor()])
    sets = {{"mnist": torchvision.datasets.MNIST, "fashion-mnist": torchvision.datasets.FashionMNIST,
             "cifar10": torchvision.datasets.CIFAR10}}
    if spec.startswith("folder:"):
        root = spec[len("folder:"):]
        split = os.path.join(root, "train" if train else "val")
        return torchvision.datasets.ImageFolder(split if os.path.isdir(split) else root, transform=transform)
    if spec.startswith("csv:"):
        return CsvImages(spec[len("csv:"):], train, transform)
    if spec not in sets:
        raise SystemExit(f'--data {{spec}}: give "mnist", "fashion-mnist", "cifar10", "folder:PATH" or "csv:FILE"')
    try:
        return sets[spec]("data", train=train, download=True, transform=transform)
    except (OSError, RuntimeError) as error:  # torchvision reports a failed download as RuntimeError
        raise SystemExit(f"--data {{spec}}: could not be downloaded into ./data ({{error}}); "
                         "are you online? Otherwise use folder:PATH or csv:FILE") from None


def train(model: nn.Module, spec: str, epochs: int, batch_size: int, lr: float) -> None:
    """Classification with cross-entropy on the logits, Adam; prints the loss and accuracy per epoch."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    logits = getattr(model, "logits", model)
    loader = torch.utils.data.DataLoader(load_data(spec, True), batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr)
    for epoch in range(1, epochs + 1):
        model.train()
        total, correct, loss_sum = 0, 0, 0.0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            scores = logits(images)
            loss = nn.functional.cross_entropy(scores, labels)
            loss.backward()
            optimizer.step()
            total += len(labels)
            correct += (scores.argmax(1) == labels).sum().item()
            loss_sum += loss.item() * len(labels)
        print(f"epoch {{epoch}}: loss {{loss_sum / total:.4f}}, accuracy {{correct / total:.4f}}")


def smoke_test(model: nn.Module) -> None:
    """One forward and backward pass on random data: checks the model runs here."""
    inputs = [torch.randn(2, *shape) for shape in INPUT_SHAPES]
    outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    sum(o.float().pow(2).mean() for o in outputs).backward()
    print("ok:", ", ".join(str(list(o.shape)) for o in outputs))


def save_weights(model: nn.Module, path: str) -> None:
    """Atomically: serialised in memory, written to a temporary file beside ``path``, flushed, then
    renamed over it, so a crash or a full disk never leaves half-written weights."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    temp = f"{{path}}.{{os.getpid()}}.part"
    try:
        with open(temp, "wb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run one step on random data and exit")
    parser.add_argument("--data", default="mnist", help='"mnist", "fashion-mnist", "cifar10", "folder:PATH" or "csv:FILE"')
    parser.add_argument("--epochs", type=int, default=TRAINING.get("epochs", 5))
    parser.add_argument("--batch-size", type=int, default=TRAINING.get("batch_size", 64))
    parser.add_argument("--lr", type=float, default=TRAINING.get("lr", 0.001))
    parser.add_argument("--weights", default=os.path.splitext(__file__)[0] + ".pt",
                        help="start from these weights (a state dict saved with torch.save), if the file exists")
    args = parser.parse_args()
    model = {class_name}()
    if os.path.exists(args.weights):
        model.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))  # saved on a GPU too
        print("loaded", args.weights)
    if args.smoke:
        smoke_test(model)
    else:
        train(model, args.data, args.epochs, args.batch_size, args.lr)
        save_weights(model, args.weights)
        print("saved", args.weights)
'''


def docstring_text(text: str) -> str:
    """``text`` inside a triple-quoted docstring: one line with its quotes, backslashes and line
    breaks escaped, so a design's name can never end the string and become code."""
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


def export_code(design: Design, analysis: Analysis, model: fx.GraphModule, path: Path) -> str:
    """The whole standalone file's text: header, module, training script."""
    header = (
        f'"""{docstring_text(design.name)}: a model exported from CNN Studio {cnnstudio.__version__}.\n\n'
        "Standalone: needs only torch (and torchvision for datasets and backbones).\n"
        f"    python {path.name} --smoke             # one step on random data\n"
        f"    python {path.name} --data mnist        # train (classification), save {path.stem}.pt\n"
        '"""\n\nimport io\nimport os\n\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n'
    )
    source = model_source(design, analysis, model)
    header += "".join(f"{line}\n" for line in imports_for(source))
    shapes = [tuple(analysis.nodes[n].shape) for n in analysis.inputs]
    script = TRAINING_SCRIPT.format(input_shapes=shapes, training=design.training, class_name=class_name(design))
    return header + "\n\n" + source + script
