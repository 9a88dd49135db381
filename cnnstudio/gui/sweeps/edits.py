"""The Sweep dock's edits of the design, as undo commands that call only document edits: the
sweep's setup (saved with the design) and a trial's values applied to the canvas in one step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from cnnstudio.core.repeat import plan_repeat
from cnnstudio.gui.commands import RepeatGroup, SetParams
from cnnstudio.gui.document import Document
from cnnstudio.gui.training.form import SetTraining
from cnnstudio.sweeps.space import set_setting


class SetSweep(QUndoCommand):
    """Replace the design's "sweep" object (a row added or removed, a field of the form)."""

    def __init__(self, doc: Document, new: Mapping[str, Any] | None, text: str):
        super().__init__(text)
        self.doc = doc
        self.old, self.new = doc.design.sweep, None if new is None else dict(new)

    def redo(self) -> None:
        self.doc.set_sweep(self.new)

    def undo(self) -> None:
        self.doc.set_sweep(self.old)


def apply_values(doc: Document, values: Mapping[str, Any], text: str) -> None:
    """Set a trial's values on the design as one undo step (a macro of the editor's own commands):
    layer parameters, then repeats (their copies take the new values), then training settings.
    Raises :class:`~cnnstudio.core.design.DesignError` before any change when a repeat cannot be
    made or a node is gone."""
    nodes = [(key.split(".", 1)[1].rsplit(".", 1), value) for key, value in values.items() if key.startswith("nodes.")]
    for (node_id, _), _value in nodes:
        doc.design.node(node_id)  # a node deleted since the sweep: refuse before any change
    repeats = [(key.split(".", 1)[1].removesuffix(".repeat"), int(value)) for key, value in values.items()
               if key.startswith("groups.") and value]
    training = dict(doc.design.training)
    for key, value in values.items():
        if key.startswith("training."):
            training = set_setting(training, key.split(".", 1)[1], value)
    stack = doc.undo_stack
    stack.beginMacro(text)
    try:
        for (node_id, name), value in nodes:
            stack.push(SetParams(doc, node_id, {name: value}, mergeable=False))
        for group_id, times in repeats:  # planned after the parameters: the copies take them
            stack.push(RepeatGroup(doc, plan_repeat(doc.design, group_id, times), f"Repeat {group_id} {times} more"))
        if training != doc.design.training:
            stack.push(SetTraining(doc, training, "sweep"))
    except Exception:
        stack.endMacro()
        stack.undo()  # nothing half-applied
        raise
    stack.endMacro()
