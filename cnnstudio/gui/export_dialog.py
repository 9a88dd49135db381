"""File > Export… and File > Export Training Job…: the export package and the torchrun job folder,
behind two small dialogs.

Exporting compiles the design and may trace it (TorchScript, torch.export, ONNX), which takes
seconds, so it runs in the background with a busy bar; failures are shown as the exporter's
sentence. ``cnnstudio.export`` imports torch, so it is imported when the dialog opens, not with
the window.

The weights are trained ones by default: weights loaded into the design, else the best completed
run's best checkpoint (:func:`cnnstudio.runs.store.default_run`), and the dialog says which. Any run's best or last checkpoint, another file, or
the design's freshly initialised (random) weights can be chosen instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.core.display import file_stem
from cnnstudio.gui import theme
from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.document import Document

FORMAT_NAMES = {  # labels for cnnstudio.export.FORMATS; a format missing here is shown by its key
    "code": "PyTorch code + training script",
    "torchscript": "TorchScript (traced)",
    "export": "torch.export program",
    "onnx": "ONNX",
    "safetensors": "Weights (safetensors)",
}
PROCESS_CHOICES = ["gpu", "auto", "cpu", "1", "2", "4", "8"]


def _path_row(edit: QLineEdit, browse: QToolButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


def _message(label: QLabel, text: str, error: bool = False) -> None:
    color = theme.colors().error.name() if error else theme.colors().text.name()
    label.setText(f"<span style='color:{color}'>{text}</span>")


def _base_folder(doc: Document) -> Path:
    if doc.path is not None:
        return doc.path.parent
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or Path.home())


class ExportDialog(QDialog):
    """Format, weights (a run's, loaded, a file or random), target path; Export writes it in the background."""

    def __init__(self, doc: Document, weights: str | None = None, parent: QWidget | None = None,
                 runs: list[Any] = ()):
        super().__init__(parent)
        from cnnstudio.export import FORMATS

        self.setWindowTitle("Export Design")
        self.doc, self.formats = doc, FORMATS
        self.job: BackgroundJob | None = None
        self.format = QComboBox()
        for key, suffix in FORMATS.items():
            self.format.addItem(f"{FORMAT_NAMES.get(key, key)} ({suffix})", key)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("none: the design's freshly initialised (random) weights")
        self.weights.setToolTip("A checkpoint or weights file; tensors load into the layers with the same id and shape")
        self.source = QComboBox()
        if weights:
            self.source.addItem(f"Weights loaded in the design ({Path(weights).name})", weights)
        for run in reversed(list(runs)):  # newest first
            for which in ("best", "last"):
                path = run.weights(which)
                if path is not None and path.name == f"{which}.pt":
                    self.source.addItem(f"Run {run.name}: {which} checkpoint", str(path))
        self.source.addItem("Random weights (freshly initialised, untrained)", "")
        self.source.addItem("Another file…", None)
        self.source.currentIndexChanged.connect(self._source_chosen)
        self.source_note = QLabel(wordWrap=True)
        from cnnstudio.runs.store import default_run, why_default

        best = default_run(list(runs))
        if best is not None and not weights:
            self.source.setCurrentIndex(self.source.findData(str(best.weights("best"))))
        default = ("the weights loaded in the design" if weights else
                   f"the best checkpoint of {why_default(best)} ({best.name}, {best.best_text()})" if best else
                   "random weights: the design has no runs yet")
        _message(self.source_note, f"Default: {default}.")
        self._source_chosen()
        self.target = QLineEdit(str(_base_folder(doc) / f"{file_stem(doc.design.name)}{FORMATS[self.chosen_format]}"))
        weights_browse, target_browse = QToolButton(text="…"), QToolButton(text="…")
        weights_browse.clicked.connect(self._browse_weights)
        target_browse.clicked.connect(self._browse_target)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Format", self.format)
        form.addRow("Weights", self.source)
        form.addRow("", self.source_note)
        form.addRow("File", _path_row(self.weights, weights_browse))
        form.addRow("Save to", _path_row(self.target, target_browse))
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setVisible(False)
        self.result = QLabel(wordWrap=True)
        self.result.setMinimumWidth(460)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.busy)
        layout.addWidget(self.result)
        layout.addWidget(self.buttons)

    def _source_chosen(self) -> None:
        data = self.source.currentData()
        self.weights.setReadOnly(data is not None)
        if data is not None:
            self.weights.setText(data)

    @property
    def chosen_format(self) -> str:
        return str(self.format.currentData())

    def _format_changed(self) -> None:
        target = Path(self.target.text())
        name = target.name
        for suffix in sorted(self.formats.values(), key=len, reverse=True):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        self.target.setText(str(target.with_name(name + self.formats[self.chosen_format])))

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights", self.weights.text(), "Weights (*.pt *.pth *.safetensors);;All files (*)")
        if path:
            self.source.setCurrentIndex(self.source.count() - 1)
            self.weights.setText(path)

    def _browse_target(self) -> None:
        suffix = self.formats[self.chosen_format]
        path, _ = QFileDialog.getSaveFileName(self, "Export To", self.target.text(), f"{self.format.currentText()} (*{suffix})")
        if path:
            self.target.setText(path if path.endswith(suffix) else path + suffix)

    def export(self) -> BackgroundJob | None:
        """Start writing the file; the dialog shows the outcome. None if a path is missing."""
        from cnnstudio.core.compiler import CompileError
        from cnnstudio.core.weights import WeightsError
        from cnnstudio.export import ExportError, export_design

        if not self.doc.analysis.valid:
            _message(self.result, "The design has errors; fix them before exporting (see the Summary panel).", error=True)
            return None
        target = Path(self.target.text().strip()).expanduser()
        if not self.target.text().strip():
            _message(self.result, "Choose where to save the export.", error=True)
            return None
        weights = Path(self.weights.text().strip()).expanduser() if self.weights.text().strip() else None
        design, fmt = self.doc.design.copy(), self.chosen_format
        self.job = BackgroundJob(lambda: export_design(design, fmt, target, weights),
                                 (ExportError, WeightsError, CompileError, OSError), self)
        self.job.done.connect(lambda report: self._finished(target, report))
        self.job.failed.connect(lambda message: self._finished(target, None, message))
        self._set_busy(True)
        _message(self.result, f"Exporting {target.name}…")
        return self.job.start()

    def _finished(self, target: Path, report: object, error: str | None = None) -> None:
        self._set_busy(False)
        if error is not None:
            _message(self.result, f"Export failed: {error}", error=True)
            return
        summary = f"<br>Weights: {report.summary().replace(chr(10), '; ')}" if report is not None else ""  # type: ignore[attr-defined]
        _message(self.result, f"Wrote {target}{summary}")

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.export_button.setEnabled(not busy)
        self.format.setEnabled(not busy)


class TrainingJobDialog(QDialog):
    """A folder and processes per node; Write calls ``write_job`` and shows the torchrun command."""

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export Training Job")
        self.doc = doc
        self.folder = QLineEdit(str(_base_folder(doc) / f"{file_stem(doc.design.name)}-job"))
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        self.processes = QComboBox()
        self.processes.setEditable(True)
        self.processes.addItems(PROCESS_CHOICES)
        self.processes.setToolTip("Processes per machine: gpu (one per GPU), auto, cpu, or a number")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Folder", _path_row(self.folder, browse))
        form.addRow("Processes per node", self.processes)
        self.result = QLabel(wordWrap=True)
        self.result.setMinimumWidth(520)
        self.command = QLineEdit(readOnly=True)
        self.command.setVisible(False)
        self.copy = QPushButton("Copy Command")
        self.copy.setVisible(False)
        self.copy.clicked.connect(lambda: QApplication.clipboard().setText(self.command.text()))
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        write = buttons.addButton("Write", QDialogButtonBox.ButtonRole.AcceptRole)
        write.setDefault(True)
        buttons.accepted.connect(self.write)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result)
        layout.addLayout(command_row)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Job Folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def write(self) -> bool:
        from cnnstudio.training.job import write_job

        text = self.processes.currentText().strip()
        if not (text.isdigit() and int(text) > 0) and text not in ("gpu", "auto", "cpu"):
            _message(self.result, f"Processes per node must be a number, gpu, auto or cpu; got “{text}”.", error=True)
            return False
        if not self.folder.text().strip():
            _message(self.result, "Choose a folder for the job.", error=True)
            return False
        try:
            job = write_job(self.doc.design, Path(self.folder.text().strip()).expanduser(), int(text) if text.isdigit() else text)
        except OSError as error:
            _message(self.result, f"The job could not be written: {error.strerror or error}", error=True)
            return False
        _message(self.result, f"Wrote design.json, run.sh and README.txt to {job.folder}. Start it there with ./run.sh, "
                              "which runs:")
        self.command.setText(job.command)
        self.command.setCursorPosition(0)
        self.command.setVisible(True)
        self.copy.setVisible(True)
        return True
