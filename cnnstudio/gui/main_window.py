"""The studio's main window: a shell built from the state and the registry.

The window makes the document, the canvas, the editor and the training runner, hands them to a
:class:`~cnnstudio.gui.state.StudioState`, and builds its docks and actions from
:mod:`cnnstudio.gui.registry` (each factory takes the state). It mirrors the state in its chrome:
the status bar (validity, the weights the views look at, messages), the canvas selection and the
run diff drawn on the canvas. Menus, the toolbar, files (New, Open, Save, Import, Export) and the
row of workspace tabs (``workspaces.py``) are its own. :meth:`MainWindow.add_dock` adds a dock
after the window is built, listed in View › Panels; where the window goes at first is
``window_layout.py``.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from pathlib import Path

import shiboken6
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QGraphicsItem,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QToolBar,
    QWidget,
)

from cnnstudio import __version__
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, load_design, save_design
from cnnstudio.core.display import format_count
from cnnstudio.core.layout import layered_positions
from cnnstudio.core.resources import TEMPLATES, templates
from cnnstudio.gui import autosave, theme, window_layout
from cnnstudio.gui.canvas.ghost_item import ghosts
from cnnstudio.gui.canvas.live import LiveCanvas
from cnnstudio.gui.canvas.scene import DesignScene
from cnnstudio.gui.canvas.view import CanvasView
from cnnstudio.gui.describe import plural
from cnnstudio.gui.device import DeviceProbe
from cnnstudio.gui.document import Document
from cnnstudio.gui.editor import Editor
from cnnstudio.gui.export_dialog import ExportDialog, TrainingJobDialog
from cnnstudio.gui.group_actions import GroupActions
from cnnstudio.gui.help import DocsViewer, ShortcutsDialog
from cnnstudio.gui.registry import ALL_WORKSPACES, ActionSpec, Area, Closing, Registry, builtin
from cnnstudio.gui.settings import Settings
from cnnstudio.gui.state import Diff, StudioState, Weights
from cnnstudio.gui.sweeps.dock import SweepDock
from cnnstudio.gui.training.panels import make_runner
from cnnstudio.gui.workspaces import AREAS, WORKSPACES, Workspaces
from cnnstudio.runs.manifest import Manifest
from cnnstudio.runs.store import Run

FILE_FILTER = "CNN Studio designs (*.json);;All files (*)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp"}
Key = QKeySequence.StandardKey


def _dropped_image(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> str | None:
    """The first local image file among the dropped ones."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    paths = [url.toLocalFile() for url in urls if url.isLocalFile()]
    return next((p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES), None)


class TwinAction(QAction):
    """A fixed-width toolbar button for an action whose menu text names the command
    ("Undo Set conv1.kernel_size"); the full text moves to the tooltip."""

    def __init__(self, action: QAction, label: str):
        super().__init__(label, action)
        self.action = action
        self.triggered.connect(action.trigger)
        action.changed.connect(self.follow)  # a method: disconnected when either side goes
        self.follow()

    def follow(self) -> None:
        if not shiboken6.isValid(self.action):  # the window is being torn down
            return
        self.setEnabled(self.action.isEnabled())
        self.setToolTip(f"{self.action.text().replace('&', '')} ({self.action.shortcut().toString()})")


class MainWindow(QMainWindow):
    first_painted = Signal()

    def __init__(
        self,
        settings: Settings | None = None,
        recovery_dir: Path | None = None,
        templates_dir: Path = TEMPLATES,
        probe_device: bool = True,
        registry: Registry | None = None,
    ):
        super().__init__()
        self.settings = settings or Settings()
        self.templates_dir = templates_dir
        self.doc = Document(Design(), self)
        self.scene = DesignScene(self.doc, self.settings, self)
        self.view = CanvasView(self.scene)
        self.editor = Editor(self.doc, self.scene, self.view)
        self.training_runner = make_runner(self.settings, self)
        self.state = StudioState(self.doc, self.editor, self.settings, self.training_runner)
        self.autosaver = autosave.AutoSaver(self.doc, recovery_dir or autosave.default_directory())
        self.recovery_dir = self.autosaver.path.parent
        self.panels_menu = QMenu("&Panels", self)
        self.setCentralWidget(self.view)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.setDocumentMode(True)
        for corner, area in ((Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea),
                             (Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea),
                             (Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea),
                             (Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)):
            self.setCorner(corner, area)  # the side columns take the window's height; plots go under the canvas

        registry = registry or builtin()
        self.widgets: dict[str, QWidget] = {}
        self.parts = {name: spec.factory(self.state) for name, spec in registry.parts.items()}
        specs = [*registry.docks.values(), *(spec for part in self.parts.values() for spec in part.docks)]
        for spec in specs:
            self.widgets[spec.name] = spec.factory(self.state)
            self.add_dock(spec.name, spec.title, self.widgets[spec.name], spec.area)
        self.palette = self.widgets["palette"]
        self.inspector = self.widgets["inspector"]
        self.summary = self.widgets["summary"]
        self.training = self.parts["training"]
        self.views = self.parts["views"]
        self.dataset_browser: QWidget | None = None  # made on first use (View › Dataset Browser…)
        self.sweep = SweepDock(self.doc, self.save, lambda folder: self.training.load_run(Run(folder, Manifest.load(folder))))
        sweep_scroller = QScrollArea()  # taller than the right column's half: it scrolls there
        sweep_scroller.setWidgetResizable(True)
        sweep_scroller.setFrameShape(QFrame.Shape.NoFrame)
        sweep_scroller.setWidget(self.sweep)
        self.add_dock("sweep", "Sweep", sweep_scroller, Qt.DockWidgetArea.RightDockWidgetArea, ("experiments",))
        self.sweep.trials_changed.connect(self.training.runs.refresh)  # its trials are runs of the Runs panel
        for panel in (self.inspector, self.training.dock.form):  # right-click → Sweep… adds a row and shows the dock
            panel.sweep_requested.connect(self.show_sweep)

        self._docs: DocsViewer | None = None
        self._fitted = False  # the first show fits the window to the screen with its real frame
        self._placed: QRect | None = None
        self.actions: dict[str, QAction] = {}
        self._build_actions(registry)
        self.live_canvas = LiveCanvas(self)  # card thumbnails and overlay (View menu)
        self._build_status_bar()
        self._connect()
        self._restore_layout()
        self._update_title()
        self._update_status()
        self.view.viewport().installEventFilter(self)
        self.setAcceptDrops(True)
        self._painted = False
        self.first_painted.connect(self.state.painted_once)
        if probe_device:
            self.first_painted.connect(lambda: QTimer.singleShot(300, self._probe_device))

    # -- docks -----------------------------------------------------------------------------------
    def add_dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea | Area,
                 workspaces: tuple[str, ...] = ALL_WORKSPACES) -> QDockWidget:
        """Add a dock that remembers its place (per workspace) and can be toggled from View > Panels.
        A dock added after the window is built (``workspaces``: where it is on show; the first one is
        where it is placed by Reset Workspace) is shown in the current workspace if listed there."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(AREAS[area] if isinstance(area, str) else area, dock)
        toggle = dock.toggleViewAction()
        toggle.setToolTip(f"Show or hide the {title} panel")
        self.panels_menu.addAction(toggle)
        if hasattr(self, "workspaces"):  # after the window is built: a dock of another part of the code
            if workspaces and not any(name in ws.names() for ws in WORKSPACES):
                self.workspaces.extra[name] = workspaces[0]
            dock.setVisible(self.workspaces.current in workspaces)
        return dock

    def show_sweep(self, key: str) -> None:
        """Right-click › Sweep… on a parameter: the Experiments workspace, its Sweep dock, a row for ``key``."""
        self.workspace = "experiments"
        dock = self.findChild(QDockWidget, "dock-sweep")
        dock.show()
        dock.raise_()
        self.sweep.add_param(key)

    @property
    def workspace(self) -> str:
        return self.workspaces.current

    @workspace.setter
    def workspace(self, name: str) -> None:
        self.workspaces.switch(name)

    def show_dataset_browser(self) -> None:
        """The data of the design's training settings, in a window of its own (built on first use)."""
        from cnnstudio.gui.dataset_browser import DatasetBrowser

        if self.dataset_browser is None:
            self.dataset_browser = DatasetBrowser(self.doc, self)
        self.dataset_browser.show()
        self.dataset_browser.raise_()
        self.dataset_browser.activateWindow()

    # -- actions and menus -----------------------------------------------------------------------
    def _action(self, text: str, slot: Callable[[], object], shortcut: QKeySequence | Key | str | Sequence[str] | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, (list, tuple)):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text.replace("&", "").rstrip("…"))
        action.setStatusTip(action.toolTip())
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _from_spec(self, spec: ActionSpec) -> QAction:
        self.actions[spec.name] = action = self._action(spec.text, spec.run, spec.shortcut, spec.tip)
        return action

    def _build_actions(self, registry: Registry) -> None:
        e, v = self.editor, self.view
        a = self._action
        self.act_new = a("&New", self.new_design, Key.New, "Start an empty design")
        self.act_open = a("&Open…", self.open_dialog, Key.Open, "Open a design file")
        self.act_save = a("&Save", self.save, Key.Save, "Save the design")
        self.act_save_as = a("Save &As…", self.save_as, Key.SaveAs, "Save the design under a new name")
        self.act_import = a("&Import Model…", self.import_model, None,
                            "Import a torchvision, timm, ONNX or torch.export model as a design with its weights")
        self.act_export = a("&Export…", self.export_design, "Ctrl+E", "Export the design as code, TorchScript, ONNX or weights")
        self.act_export_job = a("Export Training &Job…", self.export_training_job, None,
                                "Write a folder that trains the design with torchrun on one or more machines")
        self.act_quit = a("&Quit", self.close, Key.Quit, "Close CNN Studio")
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(QKeySequence.keyBindings(Key.Undo))
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_cut = a("Cu&t", e.cut, Key.Cut, "Cut the selected layers")
        self.act_copy = a("&Copy", e.copy, Key.Copy, "Copy the selected layers")
        self.act_paste = a("&Paste", e.paste, Key.Paste, "Paste layers")
        self.act_duplicate = a("&Duplicate", e.duplicate, "Ctrl+D", "Duplicate the selected layers")
        self.act_delete = a("De&lete", e.delete_selection, ["Delete", "Backspace"], "Delete the selected layers and connections")
        self.act_select_all = a("Select &All", e.select_all, Key.SelectAll, "Select every layer")
        self.act_zoom_in = a("Zoom &In", lambda: v.zoom_by(1.25), ["Ctrl++", "Ctrl+="], "Zoom in")
        self.act_zoom_out = a("Zoom &Out", lambda: v.zoom_by(0.8), "Ctrl+-", "Zoom out")
        self.act_zoom_reset = a("&Actual Size", lambda: v.set_zoom(1.0), "Ctrl+0", "Zoom to 100%")
        self.act_fit = a("&Fit to View", v.fit, "F", "Show the whole design")
        self.act_layout = a("Auto-&Layout", e.auto_layout, "Ctrl+L", "Arrange the layers left to right (undoable)")
        self.act_channels_last = a(
            "&Channels Last (H×W×C)",
            self._toggle_channels_last,
            None,
            "Write shapes channels last, as the chapter's figures (24x24x6), or channels first as PyTorch (6x24x24)",
        )
        self.act_channels_last.setCheckable(True)
        self.act_channels_last.setChecked(self.settings.channels_last)
        self.act_reset_layout = a("&Reset Workspace", self.reset_layout, None,
                                  "Put every panel of this workspace back where a fresh studio has it")
        self.act_snap = a("&Snap to Grid", self._toggle_snap, None, "Align moved layers to the grid")
        self.act_snap.setCheckable(True)
        self.act_snap.setChecked(self.settings.snap_to_grid)
        self.act_docs = a("&Documentation", lambda: self.show_help("The studio"), Key.HelpContents,
                          "The documentation pages: the studio, training, layers, the file format")
        self.act_first_steps = a("&First Steps", lambda: self.show_help("First steps"), None,
                                 "Open a template, train it and look inside, step by step")
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/", "Every shortcut, searchable")
        self.act_about = a("&About CNN Studio", self.about, None, "Version and credits")
        group_actions = [self._from_spec(spec) for spec in GroupActions(self.state).actions]
        part_specs = [spec for part in self.parts.values() for spec in part.actions]
        menus: dict[str | None, list[QAction]] = {}
        for spec in part_specs:
            menus.setdefault(spec.menu, []).append(self._from_spec(spec))
        self.group_actions = group_actions
        self.act_dataset = a("&Dataset Browser…", self.show_dataset_browser, "Ctrl+Shift+D",
                             "Browse the training data: samples, class histogram, augmentation preview")

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        self.templates_menu = file_menu.addMenu("New from &Template")
        self.templates_menu.setToolTipsVisible(True)
        self.templates_menu.aboutToShow.connect(self._fill_templates)
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(self.act_import)
        file_menu.addActions(menus.get("File", []))
        file_menu.addSeparator()
        file_menu.addActions([self.act_save, self.act_save_as])
        file_menu.addSeparator()
        file_menu.addActions([self.act_export, self.act_export_job])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.act_undo, self.act_redo])
        edit_menu.addSeparator()
        edit_menu.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate, self.act_delete])
        edit_menu.addSeparator()
        edit_menu.addActions(self.group_actions)
        edit_menu.addSeparator()
        edit_menu.addAction(self.act_select_all)
        arrange = edit_menu.addMenu("A&rrange")
        for text, edge in (("Align &Left", "left"), ("Align &Right", "right"), ("Align &Top", "top"),
                           ("Align &Bottom", "bottom"), ("Align in a &Column", "center"), ("Align in a Ro&w", "middle")):
            arrange.addAction(a(text, lambda edge=edge: e.align(edge), None, f"Line the selected layers up: {text.replace('&', '').lower()}"))
        arrange.addSeparator()
        arrange.addAction(a("Distribute &Horizontally", lambda: e.distribute(horizontal=True), None,
                            "Space the selected layers evenly from left to right"))
        arrange.addAction(a("Distribute &Vertically", lambda: e.distribute(horizontal=False), None,
                            "Space the selected layers evenly from top to bottom"))

        view_menu = bar.addMenu("&View")
        view_menu.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset, self.act_fit])
        view_menu.addSeparator()
        view_menu.addActions([self.act_layout, self.act_snap, self.act_channels_last])
        view_menu.addSeparator()
        view_menu.addMenu(self.panels_menu)
        view_menu.addAction(self.act_dataset)
        view_menu.addAction(self.act_reset_layout)
        view_menu.addActions(menus.get("View", []))

        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.act_first_steps, self.act_docs, self.act_shortcuts])
        help_menu.addSeparator()
        help_menu.addAction(self.act_about)

        # In the menu bar's row: a row of its own would take 35 px of height from the canvas.
        tools = QToolBar("Main", self)
        tools.setObjectName("toolbar-main")
        tools.setMovable(False)
        bar.setCornerWidget(tools, Qt.Corner.TopRightCorner)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tools.addActions([self.act_new, self.act_open, self.act_save])
        tools.addSeparator()
        tools.addActions([TwinAction(self.act_undo, "Undo"), TwinAction(self.act_redo, "Redo")])
        tools.addSeparator()
        tools.addActions([self.act_delete, self.act_layout, self.act_fit])
        self.panels_menu.addSeparator()
        self.panels_menu.addAction(tools.toggleViewAction())

        row = QToolBar("Workspaces", self)  # the workspace tabs, in a row of their own under the menu
        row.setObjectName("toolbar-workspaces")
        row.setMovable(False)
        row.setFloatable(False)
        row.setStyleSheet("QToolBar { border: 0; padding: 0; spacing: 0; }")  # the canvas keeps the height
        row.layout().setContentsMargins(0, 0, 0, 0)
        self.workspaces = Workspaces(self, self.settings, self._screen_key(), self.palette.needed_width())
        for spec in registry.docks.values():  # registered docks no workspace names: placed where they ask
            if spec.workspaces and not any(spec.name in ws.names() for ws in WORKSPACES):
                self.workspaces.extra[spec.name] = spec.workspaces[0]
        row.addWidget(self.workspaces.tabs)
        self.workspaces.changed.connect(self.view.follow_workspace)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, row)

    def _build_status_bar(self) -> None:
        self.validity = QLabel()
        self.validity.setToolTip("Whether the design compiles; the Summary panel lists every problem")
        self.zoom_label = QLabel("100%")
        self.zoom_label.setToolTip("Zoom (Ctrl+0 for 100%, F to fit)")
        self.device_label = QLabel("Device: …")
        self.device_label.setToolTip("The device training would use (CUDA GPU, Apple MPS or CPU)")
        status = self.statusBar()
        self.weights_label = QLabel(self.state.describe_weights())
        self.weights_label.setToolTip("The weights the views look at and export writes: a run's checkpoint or a "
                                      "weights file (a new design starts without)")
        status.addWidget(self.validity)
        status.addPermanentWidget(self.weights_label)
        status.addPermanentWidget(self.zoom_label)
        status.addPermanentWidget(self.device_label)

    def _connect(self) -> None:
        self.doc.analyzed.connect(self._update_status)
        self.doc.undo_stack.cleanChanged.connect(self._update_title)
        self.doc.path_changed.connect(self._update_title)
        self.scene.selectionChanged.connect(self._selection_changed)
        state = self.state
        state.selection_changed.connect(self._state_selection)
        state.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        state.weights_changed.connect(self._weights_changed)
        state.diff_changed.connect(self._show_diff)
        state.marks_changed.connect(self.scene.set_marks)
        self.editor.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.view.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom:.0%}"))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._canvas_menu)

    def _canvas_menu(self, pos: QPoint) -> None:
        """Right-click: the edit actions for what is under the mouse (selected first if need be)."""
        item = self.view.itemAt(pos)
        while item is not None and not item.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsSelectable:
            item = item.parentItem()  # a port: its node
        if item is not None and not item.isSelected():
            self.scene.clearSelection()
            item.setSelected(True)
        menu = QMenu(self)
        if item is not None:
            menu.addActions([self.act_cut, self.act_copy, self.act_duplicate, self.act_delete])
            menu.addSeparator()
            menu.addActions(self.group_actions)
            menu.addSeparator()
        menu.addActions([self.act_paste, self.act_select_all])
        menu.addSeparator()
        menu.addActions([self.act_layout, self.act_fit])
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _selection_changed(self) -> None:
        """The canvas selection is the state's (the inspector shows a lone group's page)."""
        if shiboken6.isValid(self.scene):  # a scene being destroyed deselects as it goes
            nodes, groups = self.scene.selected_node_ids(), self.scene.selected_group_ids()
            if len(groups) == 1 and not nodes:
                self.inspector.show_group(groups[0])
            else:
                self.inspector.show_selection(nodes)
            self.state.select(nodes)

    def _state_selection(self, nodes: tuple[str, ...]) -> None:
        """A selection made elsewhere (the Summary, a script): the canvas follows and shows it."""
        if shiboken6.isValid(self.scene) and tuple(self.scene.selected_node_ids()) != nodes:
            self.scene.select_nodes(list(nodes))
            if len(nodes) == 1 and nodes[0] in self.scene.nodes:
                self.view.ensureVisible(self.scene.nodes[nodes[0]], 60, 60)

    def select_node(self, node_id: str) -> None:
        self.state.select([node_id])

    def _weights_changed(self, weights: Weights | None) -> None:
        self.weights_label.setText(self.state.describe_weights())

    def _show_diff(self, diff: Diff | None) -> None:
        if diff is None:
            self.scene.show_diff({})
        else:
            self.scene.show_diff(diff.marks, ghosts(diff.older, list(diff.gone), diff.older_name,
                                                    self.settings.channels_last) if diff.older else ())

    # -- image files dropped on the window: the probe ---------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_image(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _dropped_image(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if path := _dropped_image(event):
            event.acceptProposedAction()
            self.state.set_probe(path)

    # -- state shown in the chrome ---------------------------------------------------------------
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.display_name}[*] — CNN Studio")
        self.setWindowModified(self.doc.modified)

    def _update_status(self) -> None:
        analysis = self.doc.analysis
        colors = theme.colors()
        errors, warnings = len(analysis.errors), len(analysis.warnings)
        counts = ", ".join(c for c in (plural(errors, "error"), plural(warnings, "warning")) if c)
        if not len(self.doc.design):
            color, text = colors.muted, "Empty design: drag a layer from the palette"
        elif errors:
            color, text = colors.error, counts
        elif analysis.valid:
            color = colors.warning if warnings else colors.ok
            text = ", ".join(c for c in (f"valid, {format_count(analysis.total_params)} parameters", counts) if c)
        else:
            color, text = colors.error, "incomplete: some shapes are unknown"
        self.validity.setText(f"<span style='color:{color.name()}'>●</span>&nbsp; {text}")

    def _probe_device(self) -> None:
        self._probe = DeviceProbe(self)
        self._probe.found.connect(lambda text: self.device_label.setText(f"Device: {text}"))
        self._probe.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._painted and event.type() == QEvent.Type.Paint and watched is self.view.viewport():
            self._painted = True
            QTimer.singleShot(0, self.first_painted.emit)
        return super().eventFilter(watched, event)

    # -- view settings ---------------------------------------------------------------------------
    def _toggle_channels_last(self) -> None:
        self.settings.channels_last = self.act_channels_last.isChecked()

    def _toggle_snap(self) -> None:
        self.settings.snap_to_grid = self.act_snap.isChecked()

    # -- files -----------------------------------------------------------------------------------
    def show_design(self, design: Design, path: Path | None) -> None:
        """Show a design; one without positions is laid out left to right first."""
        if any(node.pos is None for node in design.nodes):
            for node_id, pos in layered_positions(design).items():
                design.node(node_id).pos = pos
        self.doc.load(design, path)
        self.view.fit()

    def new_design(self) -> None:
        if self.maybe_save():
            self.show_design(Design(), None)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open Design", self.settings.last_folder, FILE_FILTER)
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: Path, ask: bool = True) -> bool:
        if ask and not self.maybe_save():
            return False
        try:
            design = load_design(path)
        except DesignFileError as error:
            QMessageBox.warning(self, "Cannot Open Design", str(error))
            if not path.exists():
                self.settings.remove_recent(str(path.resolve()))
            return False
        self.show_design(design, path.resolve())
        self._remember(path)
        if design.weights and not design.weights.startswith("torchvision:"):  # pretrained ones: when training
            self.training.load_weights(design.weights)  # the views show what the imported model computes
        return True

    def open_template(self, path: Path) -> None:
        if not self.maybe_save():
            return
        try:
            design = load_design(path)
        except DesignFileError as error:
            QMessageBox.warning(self, "Cannot Open Template", str(error))
            return
        self.show_design(design, None)

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self.save_to(self.doc.path)

    def save_as(self) -> bool:
        folder = Path(self.settings.last_folder or Path.home())
        suggested = str(self.doc.path or folder / f"{self.doc.design.name or 'design'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save Design", suggested, FILE_FILTER)
        if not path:
            return False
        path = Path(path)
        return self.save_to(path if path.suffix else path.with_suffix(".json"))

    def save_to(self, path: Path) -> bool:
        """Save to ``path``; a design not named by the user (still "Untitled", or named after its
        previous file) takes the file's name."""
        design, old_name = self.doc.design, self.doc.design.name
        if old_name in (Design().name, self.doc.path.stem if self.doc.path else None):
            design.name = path.stem
        try:
            save_design(design, path)
        except DesignFileError as error:
            design.name = old_name
            QMessageBox.warning(self, "Cannot Save Design", str(error))
            return False
        self.doc.set_path(path.resolve())
        self.doc.undo_stack.setClean()
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path.name}", 3000)
        return True

    def import_model(self) -> None:
        from cnnstudio.gui.import_dialog import ImportDialog

        if not self.maybe_save():
            return
        dialog = ImportDialog(Path(self.settings.last_folder or Path.home()), self)
        if dialog.exec() and dialog.imported is not None and self.open_path(dialog.imported, ask=False) and dialog.note:
            self.statusBar().showMessage(dialog.note, 20_000)
        dialog.deleteLater()

    def export_design(self) -> None:
        weights = self.state.weights
        dialog = ExportDialog(self.doc, weights.path if weights else None, self, self.state.runs)
        dialog.exec()
        dialog.deleteLater()

    def export_training_job(self) -> None:
        dialog = TrainingJobDialog(self.doc, self)
        dialog.exec()
        dialog.deleteLater()

    def _remember(self, path: Path) -> None:
        self.settings.add_recent(str(path.resolve()))
        self.settings.last_folder = str(path.resolve().parent)

    def maybe_save(self) -> bool:
        """True when it is fine to replace or close the design (saved, discarded, or unchanged)."""
        if not self.doc.modified:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved Changes",
            f"Save the changes to “{self.doc.display_name}” before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _fill_templates(self) -> None:
        self.templates_menu.clear()
        for template in templates(self.templates_dir):
            action = self.templates_menu.addAction(template.name)
            action.setToolTip(str(template.path.name))
            action.triggered.connect(lambda _=False, p=template.path: self.open_template(p))
        if self.templates_menu.isEmpty():
            self.templates_menu.addAction("No templates found").setEnabled(False)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(Path(p)))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent designs").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self.settings.clear_recent)

    # -- start and end ---------------------------------------------------------------------------
    def start(self, path: Path | None) -> None:
        """After the window is up: offer to restore a crashed session, else open ``path``."""
        if self.offer_recovery():
            return
        if path is not None:
            self.open_path(path, ask=False)

    def offer_recovery(self) -> bool:
        recovery = autosave.claim_orphan(self.recovery_dir)
        if recovery is None:
            return False
        where = f"“{recovery.source.name}”" if recovery.source else f"the unsaved design “{recovery.design.name}”"
        answer = QMessageBox.question(
            self,
            "Restore Unsaved Changes?",
            f"CNN Studio did not close properly last time. Restore the changes to {where} "
            f"autosaved at {recovery.saved.replace('T', ' ')}?\n\nIf you do not, they are discarded.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        recovery.remove()
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.show_design(recovery.design, recovery.source)
        self.doc.undo_stack.resetClean()  # restored changes are unsaved until the user saves
        self._update_title()
        self.autosaver.save_now()
        return True

    def reset_layout(self) -> None:
        """The current workspace's docks as a fresh studio has them (View › Reset Workspace)."""
        self.workspaces.reset()

    def _screen_key(self) -> str:
        return window_layout.screen_key(self.screen().availableGeometry())

    def _restore_layout(self) -> None:
        """The geometry saved for this screen size, else the first window fits the screen; then the
        current workspace's docks as the user left them (or its default)."""
        geometry, _ = self.settings.window_state(self._screen_key())
        if geometry is None or not self.restoreGeometry(geometry):
            self.setGeometry(window_layout.first_geometry(self.screen().availableGeometry()))
            self._placed = self.geometry()  # for an assumed frame: corrected once the real one is known
        self.workspaces.restore()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._fitted:
            self._fitted = True
            QTimer.singleShot(0, self._keep_frame_on_screen)

    def _keep_frame_on_screen(self) -> None:
        """Once the window manager's frame is known, a first window whose frame is not wholly on the
        screen (the manager moved it down by its title bar, or a taller title bar than assumed) is
        fitted again with the real frame, so the whole window, status bar included, is on screen.
        A window sized by the caller, or restored, is theirs to keep."""
        available = self.screen().availableGeometry()
        if self._placed is None or self.size() != self._placed.size() or available.contains(self.frameGeometry()):
            return
        frame = QMargins(self.geometry().left() - self.frameGeometry().left(),
                         self.geometry().top() - self.frameGeometry().top(),
                         self.frameGeometry().right() - self.geometry().right(),
                         self.frameGeometry().bottom() - self.geometry().bottom())
        fitted = window_layout.first_geometry(available, frame)
        if fitted != self.geometry():
            self.setGeometry(fitted)  # the docks keep their proportions

    def closeEvent(self, event: QCloseEvent) -> None:
        # Unsaved changes first: cancelling there must not have stopped the run already.
        if not self.maybe_save() or not self.training.confirm_close():
            event.ignore()
            return
        for part in self.parts.values():
            if isinstance(part, Closing):
                part.shutdown()
        self.workspaces.save()
        self.settings.save_window_state(self._screen_key(), self.saveGeometry(), self.saveState())
        self.autosaver.close()
        event.accept()

    def show_help(self, page: str) -> DocsViewer:
        if self._docs is None:
            self._docs = DocsViewer(self)
        self._docs.show_page_named(page)
        return self._docs

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.exec()
        dialog.deleteLater()

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About CNN Studio",
            f"<h3>CNN Studio {__version__}</h3>"
            "<p>Design, train and look inside convolutional neural networks.</p>"
            "<p>Drag layers onto the canvas, connect them, and watch every tensor shape follow "
            "from the chapter's formula <i>W2 = (W1 − F + 2P)/S + 1</i>.</p>"
            f"<p style='color:gray'>Python {platform.python_version()} · PySide6 {pyside_version}</p>",
        )
