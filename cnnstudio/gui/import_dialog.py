"""File > Import Model…: pick a torchvision or timm model (searchable), or an ONNX / torch.export
file, and import it as a design with its weights, in the background.

The model names come from torchvision (and timm, when installed), which take seconds to import;
they are kept in the user's cache folder, keyed by both libraries' versions, so the list fills at
once after the first time (which fills it in the background). The import verifies the design
against the model (a differing one is refused unless "write it marked unverified" is ticked),
writes ``NAME.json`` and ``NAME.safetensors`` where the user says; the window then opens the
design and shows the import's report in its status bar.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.export_dialog import _message, _path_row

MODEL_FILES = "Models (*.onnx *.pt2);;ONNX (*.onnx);;torch.export program (*.pt2)"
WEIGHT_FILES = "Weights (*.safetensors *.pt *.pth);;All files (*)"
RANDOM, PRETRAINED = "random (no weights file)", "DEFAULT (pretrained, needs the internet once)"


def names_cache() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)) / "model-names.json"


def library_versions() -> dict[str, str | None]:
    """The installed torchvision's and timm's versions (read from their metadata: no import)."""
    versions: dict[str, str | None] = {}
    for name in ("torchvision", "timm"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def cached_model_names(path: Path | None = None) -> list[str] | None:
    """The names kept by :func:`model_names` for the libraries installed now; None if there are none."""
    try:
        data = json.loads((path or names_cache()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = data.get("names") if isinstance(data, dict) and data.get("versions") == library_versions() else None
    return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else None


def model_names(path: Path | None = None) -> list[str]:
    """``torchvision:NAME`` for every torchvision model, then ``timm:NAME`` if timm is installed;
    kept in the cache for the next time (a cache that cannot be written is only slower)."""
    from cnnstudio.core.atomic import atomic_write_text
    from cnnstudio.importers.sources import timm_names, torchvision_names

    names = [f"torchvision:{n}" for n in torchvision_names()] + [f"timm:{n}" for n in timm_names()]
    try:
        atomic_write_text(path or names_cache(), json.dumps({"versions": library_versions(), "names": names}), parents=True)
    except OSError:
        pass
    return names


def run_import(source: str, shape_text: str, weights: str | None, target: Path,
               allow_unverified: bool = False) -> tuple[Path, str]:
    """The written design's path, and what to say about it: what was left out, then the report."""
    from cnnstudio.importers import import_model, parse_shape, save_import

    shapes = [parse_shape(shape_text)] if shape_text.strip() else None
    imported = import_model(source, shapes, weights, allow_unverified)
    save_import(imported, target)
    return target, "; ".join(filter(None, [imported.note, *imported.report().splitlines()]))


class ImportDialog(QDialog):
    """``imported`` holds the written design's path once an import succeeded."""

    def __init__(self, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import Model")
        self.resize(560, 560)
        self.folder = folder
        self.imported: Path | None = None
        self.note = ""  # what the import left out, said once the design is open
        self.job: BackgroundJob | None = None
        self.started = False  # an import was started: the status line is its own from then on
        self.timm_note = ""

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search models, e.g. resnet, efficientnet, vit…")
        self.search.textChanged.connect(self._filter)
        self.list = QListWidget()
        self.list.currentTextChanged.connect(self._pick)
        self.list.itemDoubleClicked.connect(lambda _item: self._import())
        from_file = QPushButton("From File… (.onnx, .pt2)")
        from_file.clicked.connect(self._browse_model)

        self.source = QLineEdit()
        self.source.setPlaceholderText("torchvision:NAME, timm:NAME, module:PACKAGE.MODULE:CALLABLE, FILE.onnx, FILE.pt2")
        self.source.textChanged.connect(self._source_changed)
        self.shape = QLineEdit()
        self.shape.setPlaceholderText("from the model (e.g. 3x224x224)")
        self.weights = QComboBox()
        self.weights.setEditable(True)
        self.weights.addItems([RANDOM, PRETRAINED])
        weights_browse = QToolButton(text="…")
        weights_browse.clicked.connect(self._browse_weights)
        self.target = QLineEdit()
        target_browse = QToolButton(text="…")
        target_browse.clicked.connect(self._browse_target)
        self.allow_unverified = QCheckBox("If it does not compute exactly what the model does, write it anyway, "
                                          "its differing nodes marked unverified")

        form = QFormLayout()
        form.addRow("Model", self.source)
        form.addRow("Input shape", self.shape)
        form.addRow("Weights", _path_row(self.weights, weights_browse))  # type: ignore[arg-type]
        form.addRow("Save as", _path_row(self.target, target_browse))
        form.addRow("Verification", self.allow_unverified)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = QLabel("Loading the model names…")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self._import)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(from_file, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.names_job: BackgroundJob | None = None
        names = cached_model_names()
        if names is not None:
            self._fill(names)
        else:
            self.names_job = BackgroundJob(model_names, (), self)
            self.names_job.done.connect(self._fill)
            self.names_job.failed.connect(lambda message: _message(self.status, message, error=True))
            self.names_job.start()

    # -- choosing --------------------------------------------------------------------------------
    def _fill(self, names: list[str]) -> None:
        for name in names:
            QListWidgetItem(name, self.list)
        self.timm_note = "" if any(n.startswith("timm:") for n in names) else " (install the timm extra for timm's models)"
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        shown = 0
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(not all(w in item.text().lower() for w in words))
            shown += not item.isHidden()
        if self.started or not self.list.count():  # an import's progress or error stays shown
            return
        total = self.list.count()
        count = f"{shown} of {total} models match '{text.strip()}'" if words else f"{total} models"
        _message(self.status, f"{count}{self.timm_note}. Pick one, or import a file.")

    def _pick(self, name: str) -> None:
        if name:
            self.source.setText(name)

    def _source_changed(self, source: str) -> None:
        self.import_button.setEnabled(bool(source.strip()))
        stem = Path(source.rpartition(":")[2] if ":" in source and not Path(source).exists() else source).stem
        if stem:
            self.target.setText(str(self.folder / f"{stem}.json"))
        pretrained = source.startswith(("torchvision:", "timm:"))
        if not pretrained and self.weights.currentText() == PRETRAINED:
            self.weights.setCurrentText(RANDOM)

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import Model File", str(self.folder), MODEL_FILES)
        if path:
            self.source.setText(path)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights for the Model", str(self.folder), WEIGHT_FILES)
        if path:
            self.weights.setCurrentText(path)

    def _browse_target(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Imported Design", self.target.text(), "Designs (*.json)")
        if path:
            self.target.setText(path)

    # -- importing -------------------------------------------------------------------------------
    def weights_choice(self) -> str | None:
        text = self.weights.currentText().strip()
        if text in ("", RANDOM):
            return None
        return "DEFAULT" if text == PRETRAINED else text

    def _import(self) -> BackgroundJob | None:
        """Start the import (the job, for tests; None when there is nothing to import)."""
        from cnnstudio.core.designfile import DesignFileError
        from cnnstudio.core.weights import WeightsError
        from cnnstudio.importers.graph import ImportFailed

        source, target = self.source.text().strip(), self.target.text().strip()
        if not source or not target or self.job is not None:
            return None
        target_path = Path(target) if target.endswith(".json") else Path(target + ".json")
        shape, weights, allow = self.shape.text(), self.weights_choice(), self.allow_unverified.isChecked()
        self.started = True
        self.progress.show()
        self.import_button.setEnabled(False)
        _message(self.status, f"Importing {source}…")
        expected = (ImportFailed, WeightsError, DesignFileError, OSError, ValueError)
        self.job = BackgroundJob(lambda: run_import(source, shape, weights, target_path, allow), expected, self)
        self.job.done.connect(self._done)
        self.job.failed.connect(self._failed)
        return self.job.start()

    def _done(self, result: tuple[Path, str]) -> None:
        self.imported, self.note = result
        self.accept()

    def _failed(self, message: str) -> None:
        self.job = None
        self.progress.hide()
        self.import_button.setEnabled(True)
        _message(self.status, message, error=True)
