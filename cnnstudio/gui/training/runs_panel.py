"""The Runs panel: the design's runs as a sortable table, read from the run store (never from live
events), with what each run changed from the one before it.

Select several to overlay their curves (``overlay_requested``), two to see their design diff on the
canvas (``diff_requested``); double-click (or Load Weights) loads a run's best or last checkpoint
(``load_requested``). A run whose process is gone (killed, a power cut) shows "interrupted"; when
it is selected, its sentence under the table has a Resume button that continues it in its own
folder from its last checkpoint (``resume_requested``), as the Checkpoints list's Resume does.
Rename and Note edit the run's manifest; Delete asks first; Open Folder shows the run's files. A
sweep's trials sit under one row for the sweep (how many, how they ended, the best), which is not a
run, so nothing that needs a run works on it; pruned trials are grey. Runs from before the run store
are listed read-only, "older run" where they do not say. The table is re-read when a run writes its
manifest (each epoch and at the end).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui import rename_dialog, theme
from cnnstudio.runs import Run, list_runs, store
from cnnstudio.runs.table import (
    best_trial,
    run_cells,
    sweep_cells,
    sweep_of,
    trial_state,
)
from cnnstudio.training import events

COLUMNS = ["Run", "Started", "Status", "Epochs", "Best", "Final", "Duration", "Changes from the previous run", "Note"]
RUN_COLORS = ["#2f63c8", "#d0662a", "#2e8f4f", "#b83c8f", "#7446c2", "#0f8f7e", "#946024", "#c8342f"]
SORT_KEY = Qt.ItemDataRole.UserRole + 1
SWEEP_ROLE = Qt.ItemDataRole.UserRole + 2  # on a sweep's row: the sweep's name
REFRESH_MS = 300
CHANGES_WIDTH = 360  # the whole line is in the tooltip
EDITS = ("rename", "note", "delete")  # refused for runs from before the run store
RESUME_TIP = ("Continue an interrupted run (its process was killed or died) from its last checkpoint, in its own "
              "folder, with the Training dock's epochs and device")
OLDER_TIP = ("An older run, from before the run store: read from its checkpoint and metrics.jsonl; "
             "its files are left as they are (no rename, note or delete)")
SWEEP_TIP = "A sweep, not a run: expand it and select one of its trials to load, rename, note, open or delete it"


def run_color(index: int) -> str:
    """A run's colour, by its place among the design's runs, so it keeps it across selections."""
    return RUN_COLORS[index % len(RUN_COLORS)]


class _Row(QTreeWidgetItem):
    """Sorts by the value behind each cell (times, numbers), not by its text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        mine, theirs = self.data(column, SORT_KEY), other.data(column, SORT_KEY)
        if mine is None or theirs is None:
            return (mine is None) > (theirs is None)
        return mine < theirs


CELL_ROLES = (Qt.ItemDataRole.DisplayRole, SORT_KEY, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole,
              Qt.ItemDataRole.FontRole)


def _place(item: QTreeWidgetItem) -> tuple[str, ...]:
    """Which row it is: a sweep by its name, a run by its sweep (if any) and its folder."""
    if (sweep := item.data(0, SWEEP_ROLE)) is not None:
        return ("sweep", sweep)
    parent = item.parent()
    return ("run", parent.data(0, SWEEP_ROLE) if parent is not None else "", item.data(0, Qt.ItemDataRole.UserRole))


def _copy_cells(source: QTreeWidgetItem, target: QTreeWidgetItem) -> None:
    """What ``source`` shows, into ``target`` (Qt tells only the cells that changed)."""
    for column in range(len(COLUMNS)):
        for role in CELL_ROLES:
            target.setData(column, role, source.data(column, role))


class RunsPanel(QWidget):
    overlay_requested = Signal(list)  # [(Run, colour)], empty: no overlay
    diff_requested = Signal(object)  # (older Run, newer Run), or None to clear
    load_requested = Signal(object, str)  # Run, "best" or "last"
    resume_requested = Signal(str)  # the last.pt of an interrupted run

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.directory: Path | None = None
        self.active: Path | None = None  # the folder of the run in progress, which cannot be deleted
        self.runs: list[Run] = []
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: self._load("best"))
        self.summary = QLabel(wordWrap=True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long paths
        self.buttons: dict[str, QPushButton] = {}
        self.tips: dict[str, str] = {}
        bars = (QHBoxLayout(), QHBoxLayout())  # two rows: the panel stays narrow enough to sit in a tab (300 px)
        for index, (key, text, tip, slot) in enumerate((
            ("load", "Load Weights", "Load the run's best checkpoint (or its last) into the design: every view shows "
             "that run (double-click does the same)", lambda: self._load("best")),
            ("last", "Load Last", "Load the run's last checkpoint into the design", lambda: self._load("last")),
            ("rename", "Rename…", "Give the run a name of its own (its folder keeps its name)", self._rename),
            ("note", "Note…", "Write a note on the run", self._note),
            ("open", "Open Folder", "Show the run's files", self._open_folder),
            ("delete", "Delete…", "Delete the run's folder (asks first)", self._delete),
        )):
            button = QPushButton(text)
            self.tips[key] = tip
            button.clicked.connect(slot)
            bars[index // 3].addWidget(button)
            self.buttons[key] = button
        for bar in bars:
            bar.addStretch(1)
        resume = QPushButton("Resume")  # beside the sentence on the interrupted run, shown only then
        resume.clicked.connect(self._resume)
        resume.hide()
        self.buttons["resume"], self.tips["resume"] = resume, RESUME_TIP
        summary = QHBoxLayout()
        summary.addWidget(self.summary, 1)
        summary.addWidget(resume, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(summary)
        for bar in bars:
            layout.addLayout(bar)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._update_buttons()

    # -- contents ----------------------------------------------------------------------------------
    def set_directory(self, directory: Path) -> None:
        self.directory = directory
        self.refresh()

    def set_active(self, folder: Path | None) -> None:
        """The folder of the run in progress (None: none): it cannot be deleted, and nothing resumes meanwhile."""
        self.active = folder
        self._update_buttons()

    def on_event(self, event: Any) -> None:
        """The manifest changes at the start, after every epoch and at the end of a run."""
        if isinstance(event, events.Finished):
            self.refresh()
        elif isinstance(event, (events.Started, events.CheckpointWritten)):
            self._timer.start()

    def refresh(self) -> None:
        """Read the runs again. Rows are updated in place, added and removed, never all made anew:
        a refresh (after every epoch of a run in progress) keeps the row a person is pressing, so a
        double-click still loads, and what is selected and open stays so."""
        self.runs = list_runs(self.directory) if self.directory else []
        trials: dict[str, list[Run]] = {}
        for run in self.runs:
            if (name := sweep_of(run)) is not None:
                trials.setdefault(name, []).append(run)
        rows = {("sweep", name): self._sweep_row(name, runs) for name, runs in trials.items()}
        for index, (previous, run) in enumerate(zip([None, *self.runs], self.runs)):
            rows[("run", sweep_of(run) or "", str(run.path))] = self._row(run, previous, index)
        shown = {_place(item): item for item in self._items()}
        self.tree.setSortingEnabled(False)
        self.tree.blockSignals(True)
        for place in shown.keys() - rows.keys():
            item = shown.pop(place)
            parent = item.parent() or self.tree.invisibleRootItem()
            parent.removeChild(item)
        for place, item in rows.items():  # sweeps first, so their trials find them
            if place in shown:
                _copy_cells(item, shown[place])
                continue
            shown[place] = item
            sweep = place[1] if place[0] == "run" else ""
            (shown[("sweep", sweep)] if sweep else self.tree.invisibleRootItem()).addChild(item)
        self.tree.setRootIsDecorated(bool(trials))  # without sweeps the table looks as it always did
        self.tree.blockSignals(False)
        self.tree.setSortingEnabled(True)
        for column in range(len(COLUMNS) - 2):
            self.tree.resizeColumnToContents(column)
        self.tree.setColumnWidth(len(COLUMNS) - 2, CHANGES_WIDTH)
        if len(self.selected()) != 2:  # two selected: the summary holds their design diff
            self.refresh_summary()
        self._update_buttons()

    def _items(self) -> list[QTreeWidgetItem]:
        """Every row, a sweep's trials included."""
        items, iterator = [], QTreeWidgetItemIterator(self.tree)
        while item := iterator.value():
            items.append(item)
            iterator += 1
        return items

    def refresh_summary(self) -> None:
        """The runs directory; for one selected interrupted run (or one of another host), what is known of it."""
        chosen = self.selected()
        state = chosen[0].state if len(chosen) == 1 else None
        if state is not None and state.status == "damaged":
            self.summary.setText(f"{chosen[0].folder} is damaged, so it is skipped by latest and best: {state.detail}")
            self.buttons["resume"].hide()
            return
        if state is not None and (state.status == "interrupted" or state.host):
            resume = " Resume continues it from there." if state.resume else ""
            self.summary.setText(f"{chosen[0].name} is {state.text()}: {state.detail}.{resume}")
            self.buttons["resume"].setVisible(state.status == "interrupted")
            return
        self.buttons["resume"].hide()
        self.summary.setText(f"{len(self.runs)} run(s) in {self.directory}" if self.directory else "")

    def _row(self, run: Run, previous: Run | None, index: int) -> _Row:
        m, state = run.manifest, run.state
        text = run_cells(run, previous)  # the cells `cnnstudio runs` prints
        changed = text.changes
        status = {"failed": f"failed: {m.message or ''}", "damaged": f"damaged: {state.detail}"}.get(state.status, text.status)
        cells = [(text.name, run.name.lower()),
                 (text.started, m.started),
                 (status.split("\n")[0][:60], state.status),
                 (text.epochs, m.epochs),
                 (text.best, run.best_value()),
                 (text.final, run.final_value()),
                 (text.time, m.seconds),
                 (changed, changed),
                 (text.note, m.note)]
        item = _Row([text for text, _ in cells])
        for column, (_, key) in enumerate(cells):
            item.setData(column, SORT_KEY, key)
        item.setData(0, Qt.ItemDataRole.UserRole, str(run.path))
        item.setForeground(0, QColor(run_color(index)))
        item.setToolTip(0, f"{run.path}\n{OLDER_TIP}" if run.older else str(run.path))
        item.setToolTip(2, m.message or state.detail or (OLDER_TIP if run.older else state.status))
        item.setToolTip(7, changed.replace("; ", "\n"))
        if trial_state(run) == "pruned":
            grey = theme.colors().muted
            for column in range(len(COLUMNS)):
                item.setForeground(column, grey)
        return item

    def _sweep_row(self, name: str, trials: list[Run]) -> _Row:
        """The row over a sweep's trials: not a run (no path), it sums them up."""
        text, best = sweep_cells(name, trials), best_trial(trials)
        keys = [name.lower(), min(run.manifest.started for run in trials), text.status, len(trials),
                best.best_value() if best else None, None, sum(run.manifest.seconds for run in trials), "", ""]
        item = _Row(list(text.texts()))
        for column, key in enumerate(keys):
            item.setData(column, SORT_KEY, key)
        item.setData(0, SWEEP_ROLE, name)
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        for column in range(len(COLUMNS)):
            item.setToolTip(column, SWEEP_TIP)
        return item

    # -- selection ---------------------------------------------------------------------------------
    def selected(self) -> list[Run]:
        paths = {item.data(0, Qt.ItemDataRole.UserRole) for item in self.tree.selectedItems()}
        return [run for run in self.runs if str(run.path) in paths]  # oldest first

    def _sweeps_selected(self) -> bool:
        return any(item.data(0, SWEEP_ROLE) is not None for item in self.tree.selectedItems())

    def select(self, names: list[str]) -> None:
        """Select the runs of these folders (a trial's sweep opens to show it); one change, told once."""
        before = self.tree.selectedItems()
        self.tree.blockSignals(True)
        for item in self._items():
            path = item.data(0, Qt.ItemDataRole.UserRole)
            item.setSelected(path is not None and Path(path).name in names)
            if item.isSelected() and item.parent() is not None:
                item.parent().setExpanded(True)
                self.tree.scrollToItem(item)
        self.tree.blockSignals(False)
        if self.tree.selectedItems() != before:
            self._selection_changed()

    def _selection_changed(self) -> None:
        chosen = self.selected()
        if len(chosen) != 2:
            self.refresh_summary()
        self.overlay_requested.emit([(run, run_color(self.runs.index(run))) for run in chosen])
        self.diff_requested.emit(tuple(chosen) if len(chosen) == 2 else None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected()
        older = any(run.older for run in chosen)
        damaged = next((run.state.detail for run in chosen if run.damaged), None)
        for key, button in self.buttons.items():
            edits = key in EDITS
            unusable = damaged is not None and key not in ("open", "delete")  # a damaged run can only go
            button.setEnabled((len(chosen) == 1 or (key == "delete" and len(chosen) > 1)) and not (edits and older)
                              and not unusable)
            button.setToolTip(OLDER_TIP if edits and older else f"Damaged: {damaged}" if unusable else self.tips[key])
        resumable = len(chosen) == 1 and chosen[0].state.resume is not None and self.active is None
        self.buttons["resume"].setEnabled(resumable)
        if len(chosen) == 1 and chosen[0].state.status == "interrupted" and not resumable:
            self.buttons["resume"].setToolTip("A run is in progress" if self.active else chosen[0].state.detail)
        if self._sweeps_selected():
            for button in self.buttons.values():
                button.setEnabled(False)
                button.setToolTip(SWEEP_TIP)

    # -- actions -----------------------------------------------------------------------------------
    def _load(self, which: str) -> None:
        chosen = self.selected()
        if len(chosen) == 1 and not self._sweeps_selected():  # double-click on a sweep opens it instead
            self.load_requested.emit(chosen[0], which)

    def _resume(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1 and chosen[0].state.resume is not None:
            self.resume_requested.emit(str(chosen[0].state.resume))

    def _rename(self) -> None:
        run = self.selected()[0]
        title = rename_dialog.ask_new_name(self, "Run", run.name)
        if title is not None:
            store.rename(run, title)
            self.refresh()

    def _note(self) -> None:
        run = self.selected()[0]
        note, ok = QInputDialog.getMultiLineText(self, "Note on the Run", f"Note on {run.name}:", run.manifest.note)
        if ok:
            store.set_note(run, note)
            self.refresh()

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.selected()[0].path)))

    def _delete(self) -> None:
        chosen = self.selected()
        running = [run.name for run in chosen if run.path == self.active]
        if running:
            QMessageBox.information(self, "Run in Progress", f"{running[0]} is still training; stop it first.")
            return
        names = ", ".join(run.name for run in chosen)
        answer = QMessageBox.question(self, "Delete Runs?", f"Delete {names} with its checkpoints and metrics? "
                                      "This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            for run in chosen:
                store.delete(run)
            self.refresh()
            self._selection_changed()
