"""Shared by every test: Qt objects are only ever collected on the main thread.

Python's cycle collector runs in whichever thread allocates when a threshold is crossed. A GUI
test's background job (the import dialog imports timm in a thread) could then free an earlier
test's dead window off the main thread, which deadlocks PySide (the studio itself collects on its
GUI thread only: cnnstudio/gui/gc_guard.py). So each test that uses qtbot leaves no garbage.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_qt_garbage_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    gui = "qtbot" in request.fixturenames
    if gui:
        gc.collect()  # before this test starts any thread
    yield
    if gui:
        gc.collect()  # its closed windows, here rather than in a later test's thread
