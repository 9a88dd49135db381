"""Runs: every training start kept as its own folder, listed, compared and reused. Qt-free, torch-free.

A design's runs live in one *runs directory* (``runs/<design file stem>`` beside the design file;
:func:`folders.runs_dir`). Each start makes a new run folder in it, named so runs sort by time
(``2026-12-01_14-03-22_lr0.01``); :func:`folders.run_folder` is the one place that decides it,
for ``cnnstudio train`` and the studio alike. A run folder holds:

* ``design.json`` the design exactly as trained, ``settings.json`` the resolved settings;
* ``metrics.jsonl`` one line per epoch, ``last.pt`` and ``best.pt`` (by the task's main metric);
* ``run.json`` the manifest (:class:`manifest.Manifest`): status, message, epochs, best and
  final metrics, duration, the user's name and note;
* ``snapshots/`` what the studio's views captured during the run (bounded, see
  :mod:`cnnstudio.runs.snapshots`).

The engine writes these through listeners (:mod:`cnnstudio.runs.recorder`), and
:mod:`cnnstudio.runs.store` reads them back for ``cnnstudio runs``, export and the Runs panel.
"""

from __future__ import annotations

from cnnstudio.runs.folders import run_folder, runs_dir
from cnnstudio.runs.manifest import Manifest
from cnnstudio.runs.store import Run, RunError, list_runs, pick_run

__all__ = ["Manifest", "Run", "RunError", "list_runs", "pick_run", "run_folder", "runs_dir"]
