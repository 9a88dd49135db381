"""Which weights the studio's images use, and the question asked when there are none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState

NO_WEIGHTS = "these would be the patterns of random weights; train or import first"  # network.NO_WEIGHTS


def current_weights(state: StudioState) -> Any:
    """The weights the views look at (``state.weights``: a loaded run or file, a finished run's), else
    the latest checkpoint of a run in progress, else the design's own (``"weights"``: imported ones);
    None when it has none: a new design or template starts without weights."""
    if state.weights is not None:
        return state.weights.path
    if state.training and state.runner.last_checkpoint:
        return state.runner.last_checkpoint
    return state.design.weights


def confirm_random(parent: QWidget, name: str) -> bool:
    """Asked when the design has no weights: go ahead with random ones, or not (the default)."""
    box = QMessageBox(QMessageBox.Icon.Question, "No Trained Weights",
                      f"“{name}” has no trained or imported weights: {NO_WEIGHTS}.", parent=parent)
    box.setInformativeText("Train it (F5) or load weights (Training › Checkpoints), then try again.")
    random = box.addButton("Use Random Weights", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is random
