"""The Style Transfer dock: pick the content and style layers on the canvas, load two images, watch
the image form with its losses, pause or stop, save it as PNG.

The layers are node ids in two fields, proposed for each design (:mod:`.layers`: VGG's for VGG,
else the design's own convolutions spread over its depth); while "Pick" is on, clicking a card on
the canvas adds it to (or takes it from) that field, and the canvas marks the chosen cards
("content", "style") while the dock is shown, only those the design holds. A colour image given
to a design that takes grey images gets a note: the result is grey. The
transfer runs on its own :class:`TrainingRunner` (a worker process by default, as training), with
the design's weights, or torchvision's VGG-16 weights for the VGG-16 template.

The panel takes the :class:`~cnnstudio.gui.state.StudioState` (the canvas marks are the state's
``marks``); :class:`StyleTransfer` is its part of the registry: the dock ("style", in no
workspace: View › Style Transfer… opens it tabbed with the Inspector) and that action.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui.canvas.node_item import MARK_COLORS
from cnnstudio.gui.images.layers import propose_layers
from cnnstudio.gui.images.weights import confirm_random, current_weights
from cnnstudio.gui.registry import ActionSpec, DockSpec
from cnnstudio.gui.training.panels import raise_dock
from cnnstudio.gui.training.runner import TrainingRunner

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState

THUMBNAIL = 72
REDRAW_MS = 250  # the loss curves redraw at most four times a second, however fast the steps come
WEIGHT_SOURCES = (("The design's weights (its run, loaded or imported)", None),
                  ("torchvision VGG-16, ImageNet (downloads once)", "torchvision:vgg16"))
PIXELS = (("0 to 1, as the data here (designs trained here)", "none"),
          ("ImageNet mean and deviation (torchvision weights)", "imagenet"))


def qimage(image: np.ndarray) -> QImage:
    """A [C, H, W] image in [0, 1] as a QImage (imaging imports pyqtgraph: not with the window)."""
    from cnnstudio.gui.views.imaging import rgba_image

    rgba = np.ascontiguousarray(rgba_image(image))
    return QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def pixmap(image: np.ndarray, side: int) -> QPixmap:
    """The image as a pixmap fitted in a square of ``side`` pixels."""
    return QPixmap.fromImage(qimage(image)).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation)


def _is_grey(image: np.ndarray) -> bool:
    """Whether a [3, H, W] image's channels are (nearly) equal."""
    return bool(np.abs(image - image.mean(0, keepdims=True)).max() < 1 / 255)


def ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class StylePanel(QWidget):
    def __init__(self, state: StudioState):
        super().__init__()
        self.setObjectName("style-transfer")
        self.state = state
        self.doc = state.document
        self.runner = TrainingRunner(state.runner.mode, self)
        self.runner.event.connect(self.on_event)
        self.runner.running_changed.connect(lambda _: self._update_buttons())
        self.images: dict[str, np.ndarray] = {}
        self.result: np.ndarray | None = None
        self.history: list[dict[str, float]] = []
        self.paused = False

        self.thumbs: dict[str, QLabel] = {}
        pictures = QGridLayout()
        for column, role in enumerate(("content", "style")):
            thumb = QLabel(f"no {role} image")
            thumb.setFixedSize(THUMBNAIL, THUMBNAIL)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setFrameShape(QLabel.Shape.StyledPanel)
            thumb.setWordWrap(True)
            button = QPushButton(f"{role.title()} Image…")
            button.setToolTip(f"The image whose {role} is kept" if role == "content" else "The image whose style is taken")
            button.clicked.connect(lambda _=False, r=role: self.open_image(r))
            pictures.addWidget(thumb, 0, column, Qt.AlignmentFlag.AlignHCenter)
            pictures.addWidget(button, 1, column)
            self.thumbs[role] = thumb

        self.fields: dict[str, QLineEdit] = {}
        self.pick_buttons: dict[str, QPushButton] = {}
        form = QFormLayout()
        for role in ("content", "style"):
            field = QLineEdit()
            field.setToolTip(f"The {role} layers' node ids, separated by commas")
            field.textChanged.connect(self._mark)
            pick = QPushButton("Pick")
            pick.setCheckable(True)
            pick.setToolTip(f"While on, a click on a card adds it to the {role} layers or takes it away")
            pick.toggled.connect(lambda on, r=role: self._picking(r, on))
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(pick)
            form.addRow(f"{role.title()} layers", row)
            self.fields[role], self.pick_buttons[role] = field, pick
        self.weights = QComboBox()
        for text, source in WEIGHT_SOURCES:
            self.weights.addItem(text, source)
        self.weights.setToolTip("torchvision's weights fit the VGG-16 template (File › New from Template)")
        form.addRow("Weights", self.weights)
        self.pixels = QComboBox()
        for text, normalize in PIXELS:
            self.pixels.addItem(text, normalize)
        self.pixels.setToolTip("How the network expects its pixels: ImageNet's statistics for torchvision's weights, "
                               "also those of a model imported from torchvision")
        self.weights.currentIndexChanged.connect(lambda index: self.pixels.setCurrentIndex(index))
        form.addRow("Pixels", self.pixels)
        self.style_weight = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=1e6, value=100.0)
        self.style_weight.setToolTip("Style over content: the losses are relative errors, so this is a ratio")
        form.addRow("Style weight", self.style_weight)
        self.steps = QSpinBox(minimum=1, maximum=100_000, value=300)
        form.addRow("Steps", self.steps)
        self.size = QSpinBox(minimum=8, maximum=4096, value=256, suffix=" px")
        self.size.setToolTip("The longest side of the result")
        form.addRow("Size", self.size)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["lbfgs", "adam"])
        self.optimizer.setToolTip("L-BFGS as in the paper, or Adam")
        form.addRow("Optimizer", self.optimizer)

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.runner.stop)
        self.save_button = QPushButton("Save PNG…")
        self.save_button.clicked.connect(lambda: self.save())
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.save_button):
            buttons.addWidget(button)

        self.picture = QLabel("The image appears here as it forms.")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(160, 160)
        self.picture.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.note = QLabel()  # what the design does to the images given (colour made grey)
        self.note.setWordWrap(True)
        self.note.setObjectName("style-note")
        self.note.hide()
        self.losses = QLabel()
        self.losses.setWordWrap(True)
        self.losses.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot: Any = None  # the loss curves: built at the first start (pyqtgraph is not imported with the window)
        self.curve_area = QVBoxLayout()
        self.curve_area.setContentsMargins(0, 0, 0, 0)
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._draw_curves)

        layout = QVBoxLayout(self)
        layout.addLayout(pictures)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.picture, 1)
        layout.addLayout(self.curve_area)
        layout.addWidget(self.losses)
        state.selection_changed.connect(self._selection_changed)
        self.doc.analyzed.connect(self._mark)
        state.design_replaced.connect(self.propose)
        self.propose()
        self._update_buttons()

    def propose(self) -> None:
        """The layers proposed for the design now open (a new design replaces the previous choice)."""
        proposal = propose_layers(self.doc.design, self.doc.analysis)
        for role, chosen in (("content", proposal.content), ("style", proposal.style)):
            self.fields[role].setText(", ".join(chosen))
            self.fields[role].setPlaceholderText("no convolution with a feature map: pick layers on the canvas")
        self._note()

    # -- inputs ------------------------------------------------------------------------------------
    def open_image(self, role: str, path: str | Path | None = None) -> bool:
        path = path or QFileDialog.getOpenFileName(self, f"{role.title()} Image", "",
                                                   "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)")[0]
        if not path:
            return False
        from cnnstudio.gui.views.imaging import ImageFileError, read_image

        try:
            image = read_image(path)
        except ImageFileError as error:
            QMessageBox.warning(self, "Not an Image", str(error))
            return False
        self.images[role] = image
        self._note()
        self.thumbs[role].setPixmap(pixmap(image, THUMBNAIL))
        self.thumbs[role].setToolTip(f"{Path(path).name}: {image.shape[2]}×{image.shape[1]}")
        self._update_buttons()
        return True

    def layers(self, role: str) -> list[str]:
        return ids(self.fields[role].text())

    def _picking(self, role: str, on: bool) -> None:
        if on:
            other = self.pick_buttons["style" if role == "content" else "content"]
            other.setChecked(False)

    def _selection_changed(self, selected: tuple[str, ...]) -> None:
        role = next((r for r, button in self.pick_buttons.items() if button.isChecked()), None)
        if role is None or len(selected) != 1:
            return
        chosen = self.layers(role)
        node = selected[0]
        chosen = [n for n in chosen if n != node] if node in chosen else [*chosen, node]
        self.fields[role].setText(", ".join(chosen))

    def _mark(self) -> None:
        """The chosen layers the design holds, marked on the canvas (only while this dock is shown)."""
        marks: dict[str, tuple[str, ...]] = {}
        design = self.doc.design
        if self.isVisible():
            for role in ("content", "style"):
                for node in self.layers(role):
                    if node in design:
                        marks[node] = (*marks.get(node, ()), role)
        self.state.set_marks(marks)

    def _note(self) -> None:
        """Say so when a colour image meets a design that takes grey images: the result will be grey."""
        inputs = [n for n in self.doc.design.nodes if n.layer_type.name == "Input"]
        grey = len(inputs) == 1 and list(inputs[0].params.get("shape", ()))[:1] == [1]
        coloured = [role for role, image in self.images.items() if image.shape[0] == 3 and not _is_grey(image)]
        text = (f"'{self.doc.design.name}' takes grey images (1 channel): the {' and '.join(coloured)} "
                "image's colours are averaged to grey, so the result is grey." if grey and coloured else "")
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._mark()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._mark()

    # -- the run ------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a transfer of the design as it is now; False (with a message) if it cannot start."""
        from cnnstudio.core.designfile import to_dict

        missing = [role for role in ("content", "style") if role not in self.images]
        if missing:
            QMessageBox.information(self, "Style Transfer", f"Load the {' and the '.join(missing)} image first.")
            return False
        design = self.doc.design
        source = self.weights.currentData() or current_weights(self.state)
        random = source is None and confirm_random(self, design.name)
        if source is None and not random:
            return False
        from cnnstudio.training.synthesis.jobs import NetworkSpec, StyleJob, stylize
        from cnnstudio.training.synthesis.network import SynthesisError
        from cnnstudio.training.synthesis.style import StyleSettings

        try:
            settings = StyleSettings(tuple(self.layers("content")), tuple(self.layers("style")),
                                     style_weight=self.style_weight.value(), steps=self.steps.value(),
                                     size=self.size.value(), optimizer=self.optimizer.currentText())
        except SynthesisError as error:
            QMessageBox.warning(self, "Style Transfer", str(error))
            return False
        network = NetworkSpec(to_dict(design), source, random, self.pixels.currentData())
        self.history.clear()
        self._draw_curves()
        self.paused = False
        self.losses.setText("Starting…")
        self.runner.start_job(StyleJob(network, self.images["content"], self.images["style"], settings), stylize)
        return True

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.runner.pause() if self.paused else self.runner.resume()
        self._update_buttons()

    def on_event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "SynthesisProgress":
            self.history.append(event.losses)
            if not self._redraw.isActive():
                self._redraw.start()
            first = self.history[0]
            self.losses.setText(
                f"step {event.step}/{event.steps} · style loss {event.losses['style']:.4g} (from {first['style']:.4g}) · "
                f"content loss {event.losses['content']:.4g} · {event.seconds:.1f} s")
            if event.image is not None:
                self.result = event.image.numpy()
                self._show_result()
        elif kind == "Error":
            self.losses.setText(f"<span style='color:#c62828'>{event.message}</span>")
        elif kind == "Finished" and event.status != "failed" and self.history:
            self.losses.setText(self.losses.text() + (" · stopped" if event.status == "stopped" else " · done"))

    def _draw_curves(self) -> None:
        """The style and content losses by step, on a log scale."""
        if self.plot is None:
            if not self.history:
                return
            import pyqtgraph as pg

            from cnnstudio.gui.plot_legend import legend_beside
            from cnnstudio.gui.views.base import label_axes, plot_widget, text_color

            self.plot = plot_widget(self)
            self.plot.setFixedHeight(150)
            item = self.plot.getPlotItem()
            item.setLogMode(y=True)
            legend_beside(item, labelTextColor=text_color(self))
            label_axes(self.plot, "step", "loss")
            self.curves = {role: self.plot.plot(pen=pg.mkPen(MARK_COLORS[role], width=2), name=f"{role} loss")
                           for role in ("style", "content")}
            self.curve_area.addWidget(self.plot)
        for role, curve in self.curves.items():
            steps = [step for step, losses in enumerate(self.history, 1) if losses[role] > 0]  # log scale: no zeros
            curve.setData(steps, [self.history[step - 1][role] for step in steps])

    def _show_result(self) -> None:
        if self.result is not None:
            side = max(64, min(self.picture.width(), self.picture.height()) - 4)
            self.picture.setPixmap(pixmap(self.result, side))
        self._update_buttons()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._show_result()

    def save(self, path: str | Path | None = None) -> Path | None:
        if self.result is None:
            return None
        path = path or QFileDialog.getSaveFileName(self, "Save Image", "stylized.png", "PNG images (*.png)")[0]
        if not path:
            return None
        path = Path(path).with_suffix(".png")
        if not qimage(self.result).save(str(path), "PNG"):
            QMessageBox.warning(self, "Cannot Save", f"{path} could not be written.")
            return None
        return path

    def _update_buttons(self) -> None:
        running = self.runner.is_running()
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.paused and running else "Pause")
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(self.result is not None)

    def shutdown(self) -> None:
        self.runner.shutdown(10.0)


class StyleTransfer:
    """The registry's part: the panel in a scrolling dock ("style", in no workspace) and the action
    that opens it tabbed with the Inspector where that is shown."""

    def __init__(self, state: StudioState):
        self.panel = StylePanel(state)
        scroller = QScrollArea()  # the panel is taller and wider than the right column: it scrolls there
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(self.panel)
        self.docks = [DockSpec("style", "Style Transfer", "right", lambda _: scroller, workspaces=())]
        self.actions = [ActionSpec("style-transfer", "Style &Transfer…", lambda: raise_dock(self.panel, beside="inspector"),
                                   "Ctrl+Shift+Y", "Gatys style transfer with this design's layers: pick them on the "
                                   "canvas, load two images", menu="View")]

    def shutdown(self) -> None:
        self.panel.shutdown()
