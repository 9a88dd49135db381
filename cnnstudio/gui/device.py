"""Which device training would use, found in a background thread.

Importing torch takes seconds, so it must never sit between starting the studio and seeing the
window: the probe starts after the first paint and reports through a Qt signal (delivered in the
GUI thread). It also warms the import for the first training run.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


def describe_device() -> str:
    """``CUDA: NVIDIA H100``, ``Apple MPS`` or ``CPU (8 cores)``: what automatic device choice would
    pick (on a CPU, the training worker picks how many of the cores it uses as it goes)."""
    try:
        import torch
    except ImportError:
        return "PyTorch not installed"
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    if torch.backends.mps.is_available():
        return "Apple MPS"
    from cnnstudio.training.threads import usable_cores

    cores = usable_cores()
    return f"CPU ({cores} core{'s' if cores != 1 else ''})"


class DeviceProbe(QObject):
    found = Signal(str)

    def start(self) -> None:
        threading.Thread(target=self._run, name="device-probe", daemon=True).start()

    def _run(self) -> None:
        try:
            text = describe_device()
        except Exception as error:  # a broken CUDA install must not take the studio down
            text = f"unknown ({type(error).__name__})"
        self.found.emit(text)
