"""What the views know about the model behind a snapshot (no pyqtgraph here: the window imports it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnstudio.core.analysis import Analysis
from cnnstudio.core.design import Design
from cnnstudio.core.display import format_shape


@dataclass
class Context:
    """What the views know about the model behind a snapshot."""

    design: Design
    analysis: Analysis
    task: str = "classification"
    classes: list[str] = field(default_factory=list)
    every: int = 100  # steps between refreshes

    def class_name(self, index: int) -> str:
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def shape_text(self, node_id: str) -> str:
        shape = self.analysis.nodes[node_id].shape if node_id in self.analysis.nodes else None
        return format_shape(shape, channels_last=False) if shape else "?"
