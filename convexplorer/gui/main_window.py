"""The main window: the layer stack, the selected layer's form, the input panel and the live
shapes table around the results tabs; the controller that turns their edits into pipeline
edits and the pipeline's events into views and runs."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMainWindow, QMessageBox

from ..model.memory import estimate_bytes, fmt_bytes, memory_limit_bytes
from ..model.merges import default_from, reference_choices
from ..model.pipeline import Pipeline, PipelineEvent
from ..model.shapes import ShapeReport, infer
from ..model.spec import Config
from ..model.validate import Problem
from . import stack_edits
from .error_dialog import ErrorReporter
from .file_actions import FileActions
from .help_dialogs import ConceptsDialog, show_about
from .input_panel import InputPanel
from .layer_form import LayerForm
from .layer_list import LayerList, LayerPalette, new_layer_spec
from .layer_notes import NotesBar, flatten_note
from .memory_guard import MemoryBanner
from .runner import Runner, freeze_gc, gc_frozen
from .shapes_table import ShapesTable
from .status import RunStatus
from .summary_view import RunSummary
from .weight_actions import WeightActions
from .window_actions import FieldUndo, build_menus, make_actions
from .window_drops import dropped_path, open_dropped
from .window_layout import build_central, build_docks, reset_layout

APP_NAME = "convexplorer"
STOPPED = "stopped; the panels show the last finished run (F5 runs again)"
STOPPED_FINISHING = ("stopped; the layer being computed still finishes in the background "
                     "(torch cannot stop inside a layer); the panels show the last finished run")
DEFAULT_SIZE = (1400, 880)
START_FALLBACK_MS = 1000  # the first run starts after the first paint, or after this


class MainWindow(QMainWindow):
    def __init__(self, config: Config | None = None, path=None, *, runner: Runner | None = None,
                 sync: bool = False):
        super().__init__()
        self.setObjectName("mainWindow")
        self.pipeline = Pipeline(config or Config(), path)
        self.runner = runner or Runner(self, sync=sync, adaptive=True)
        self.last_result = None
        self.last_report: ShapeReport | None = None
        self.report: ShapeReport | None = None  # the live report of the current config
        self.input_error = ""
        self.estimate: int | None = None  # bytes a run of the current config needs, roughly
        self.memory_limit = memory_limit_bytes()  # None: never ask
        self._memory_approved = 0  # the largest estimate the user said to run anyway
        self._shape_cache: dict = {}
        self._dialogs: list = []
        self.errors = ErrorReporter(self)  # gui.app.main installs it as sys.excepthook
        self._started = False
        self._start_timer = QTimer(self)  # start() if the first paint does not come
        self._start_timer.setSingleShot(True)
        self._start_timer.setInterval(START_FALLBACK_MS)
        self._start_timer.timeout.connect(self.start)
        self._shown_selection: int | None = -1  # what the panels were last told
        self.file_actions = FileActions(self)
        self.weight_actions = WeightActions(self)
        self.window_actions = make_actions(self)
        self._build_views()
        self.status = RunStatus(self.statusBar())
        self.menus = build_menus(self)
        self.setAcceptDrops(True)
        self.resize(*DEFAULT_SIZE)
        self.pipeline.subscribe(self._on_pipeline)
        self.runner.stateChanged.connect(self._on_runner_state)
        self.runner.resultReady.connect(self._on_result)
        self.runner.runFailed.connect(self._on_run_failed)
        self.runner.runCrashed.connect(self._on_run_crashed)
        self.status.stop_button.clicked.connect(self.stop_run)
        self.runner.devicesReady.connect(self._on_devices)
        self.runner.cancelledRunEnded.connect(self._on_cancelled_run_ended)
        self.field_undo = FieldUndo(self)
        self.weight_actions.connect()
        self._refresh(run=False)
        self.choose_start_tab()

    # -- layout ------------------------------------------------------------------------------
    def _build_views(self) -> None:
        a = self.window_actions
        self.layer_list = LayerList([a["duplicate"], a["remove"], a["move_up"], a["move_down"]])
        self.layer_list.addAction(a["remove"])
        self.layer_list.addRequested.connect(self.add_layer)
        self.layer_list.layerSelected.connect(self.pipeline.select)
        self.layer_list.moveRequested.connect(self.move_layer_to)
        self.palette_tree = LayerPalette()
        self.palette_tree.addRequested.connect(self.add_layer)
        self.form = LayerForm()
        self.form.paramEdited.connect(self._on_param_edited)
        self.form.renameRequested.connect(self._on_rename)
        self.input_panel = InputPanel()
        self.input_panel.inputEdited.connect(self._on_input_edited)
        self.input_panel.deviceChosen.connect(self.pipeline.set_device)
        self.input_panel.seedEdited.connect(
            lambda s: self.pipeline.set_config(replace(self.pipeline.config, seed=s),
                                               "change seed", merge="seed"))
        self.shapes = ShapesTable()
        self.shapes.layerClicked.connect(self.pipeline.select)

        self.banner, self.tabs = build_central(self)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)  # messages may hold "<", paths
        self.memory_banner = MemoryBanner(self.centralWidget())
        self.memory_banner.runAnywayRequested.connect(self.run_anyway)
        self.centralWidget().layout().insertWidget(1, self.memory_banner)
        self.notes_bar = NotesBar(self.centralWidget())
        self.notes_bar.insertFlattenRequested.connect(self.insert_flatten_before)
        self.centralWidget().layout().insertWidget(2, self.notes_bar)
        self._install_panels()
        self.docks = build_docks(self)
        self.reset_layout()

    def reset_layout(self) -> None:
        """Docks back in their places and sizes (View > Reset Layout)."""
        reset_layout(self)

    def _install_panels(self) -> None:
        from .panels import build_panels

        self.panels = list(build_panels(self))
        self.placeholder = None
        if not self.panels:
            self.placeholder = RunSummary(self)
            self.panels = [self.placeholder]
        for panel in self.panels:
            self.tabs.addTab(panel, getattr(panel, "title", type(panel).__name__))
            signal = getattr(panel, "objectiveRequested", None)
            if signal is not None:
                signal.connect(self.pipeline.set_objective)
            signal = getattr(panel, "unitPicked", None)
            if signal is not None:
                signal.connect(self.pipeline.pick_unit)

    def current_panel(self):
        """The widget of the visible results tab, or None."""
        return self.tabs.currentWidget()

    # -- start-up ----------------------------------------------------------------------------
    # The first run imports torch in the worker. That import holds the GIL for much of its
    # second or more, so started before the window's first paint it delays the paint (by about
    # half a second on two cores): start once the first paint is done, or after
    # START_FALLBACK_MS if no paint comes (e.g. a window shown minimised).
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._started:
            self._start_timer.start()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._started:
            QTimer.singleShot(0, self, self.start)  # after the rest of this paint pass

    def start(self) -> None:
        """List the devices and make the first run (once)."""
        if self._started or self.runner.closed:
            return
        self._started = True
        self._start_timer.stop()
        self.runner.request_devices()
        self._request_run()

    # -- pipeline -> views -------------------------------------------------------------------
    def _on_pipeline(self, event: PipelineEvent) -> None:
        if event.kind == "config":
            self._refresh(run=True)
            if event.label == "open":
                self.choose_start_tab()
        elif event.kind == "selection":
            self._show_selection()
        elif event.kind == "unit":
            for panel in self.panels:
                if hasattr(panel, "set_unit"):
                    self._tell_panel(panel, "set_unit", self.pipeline.unit)
        self._update_title()

    def choose_start_tab(self) -> None:
        """Small tensors read best as numbers: when the input and every layer's output have at
        most ``SMALL`` values (what torch prints without "..."), open on the Values tab;
        otherwise on the pictures (Activations)."""
        from .panels.values import SMALL, ValuesPanel

        report = self.report
        if report is None or not report.layers:  # File > New: the user's tab stays
            return
        shapes = [report.input_shape] + [i.output_shape for i in report.layers]
        small = bool(shapes) and all(s is not None and math.prod(s) <= SMALL for s in shapes)
        for panel in self.panels:
            if isinstance(panel, ValuesPanel) == small:
                self.tabs.setCurrentWidget(panel)
                return

    def _input_shape(self, config: Config) -> tuple[tuple[int, ...] | None, str]:
        from ..engine.inputs import InputError, input_shape

        spec = config.input
        if spec.source in ("random", "signal"):
            try:  # the checks load_input makes too (size, count, a signal's rank)
                return input_shape(spec), ""
            except InputError as exc:
                return None, str(exc)
        key = (spec, self.pipeline.base_dir)
        if key in self._shape_cache:
            return self._shape_cache[key], ""

        try:
            shape = input_shape(spec, self.pipeline.base_dir)
        except InputError as exc:
            return None, str(exc)
        self._shape_cache[key] = shape
        return shape, ""

    def _decoded(self, config: Config) -> int:
        """Bytes that loading the input takes (its file's header is read once per input)."""
        from ..engine.inputs import decoded_bytes

        if config.input.source in ("random", "signal"):  # arithmetic only: not cached
            return decoded_bytes(config.input)
        key = ("decoded", config.input, self.pipeline.base_dir)
        if key not in self._shape_cache:
            self._shape_cache[key] = decoded_bytes(config.input, self.pipeline.base_dir)
        return self._shape_cache[key]

    def _refresh(self, run: bool) -> None:
        config = self.pipeline.config
        shape, self.input_error = self._input_shape(config)
        if shape is None:
            report = infer(config.layers, ())
            report.input_problems = [Problem(None, "input", None, self.input_error)]
        else:
            report = infer(config.layers, shape)
        old, self.report = self.report, report
        self.weight_actions.note_remade(old, report)
        self.estimate = estimate_bytes(report, self._decoded(config)) if report.ok else None
        if run and self._started:
            # the worker starts on the run while this thread updates the views
            self._request_run()
        for panel in self.panels:
            if getattr(panel, "follows_edits", False):  # e.g. Explain: live on every keystroke
                panel.set_result(panel.result, report)
        self.status.set_memory(self.estimate, self.memory_limit)
        self.input_panel.set_config(config, shape, self.input_error or self._input_note(report))
        if self.last_result is None or self.last_result.config.device != config.device:
            self.status.set_device(config.device)
        self._show_selection()
        self._update_edit_actions()
        self._update_title()

    @staticmethod
    def _input_note(report: ShapeReport) -> str:
        """What the input panel should say about a problem that is the input's: its shape, or
        a first layer that expects another rank (a 1-D signal into Conv2d)."""
        if report.input_problems:
            return report.input_problems[0].short
        first = report.layers[0].problems if report.layers else []
        for p in first:
            if p.field is None and "-D input" in p.message:  # the rank check in model.shapes
                return str(p)
        return ""

    def _show_selection(self) -> None:
        config, sel, report = self.pipeline.config, self.pipeline.selection, self.report
        self.layer_list.set_stack(config, report, sel)
        spec = config.layers[sel] if sel is not None else None
        info = report.layers[sel] if report is not None and sel is not None else None
        merge = spec is not None and spec.layer_type is not None and spec.layer_type.is_merge
        self.form.set_layer(sel, spec, info,
                            reference_choices(config.layers, sel) if merge else ())
        self.shapes.set_report(report, self.last_result, sel)
        self.notes_bar.set_report(report, sel)
        self.window_actions["insert_flatten"].setEnabled(
            report is not None and flatten_note(report.notes, sel) is not None)
        if sel != self._shown_selection:
            self._shown_selection = sel
            self._tell_panels("set_selection", sel)
        has = sel is not None
        n = len(config.layers)
        self.window_actions["remove"].setEnabled(has)
        self.window_actions["duplicate"].setEnabled(has)
        self.window_actions["rename"].setEnabled(has)
        self.window_actions["move_up"].setEnabled(has and sel > 0)
        self.window_actions["move_down"].setEnabled(has and sel < n - 1)

    def _update_edit_actions(self) -> None:
        p = self.pipeline
        self.window_actions["undo"].setEnabled(p.can_undo)
        self.window_actions["redo"].setEnabled(p.can_redo)
        self.window_actions["undo"].setText(f"&Undo {p.undo_label}" if p.can_undo else "&Undo")
        self.window_actions["redo"].setText(f"&Redo {p.redo_label}" if p.can_redo else "&Redo")

    def _update_title(self) -> None:
        star = "*" if self.pipeline.dirty else ""
        path = self.pipeline.path
        shown = f"{path.name} ({self.pipeline.config.name})" if path else self.pipeline.config.name
        self.setWindowTitle(f"{shown}{star} - {APP_NAME}")

    # -- runs --------------------------------------------------------------------------------
    def _request_run(self) -> None:
        report = self.report
        if report is not None and report.ok:
            if self._needs_approval():
                self.runner.cancel()
                self._show_banner("")
                self.memory_banner.ask(self.estimate, self.memory_limit)
                self.status.set_state("held", f"needs about {fmt_bytes(self.estimate)}; "
                                              "Run anyway or make it smaller")
                return
            self.memory_banner.setVisible(False)
            self.runner.request(self.pipeline.config, self.pipeline.base_dir, report)
            return
        self.memory_banner.setVisible(False)
        self.runner.cancel()
        problems = report.problems if report is not None else []
        n = len(problems)
        first = str(problems[0]) if problems else ""
        self.status.set_state("invalid", f"{n} problem{'s' if n != 1 else ''}: {first}")
        self._show_banner(f"\u26a0 Not run: {first}" + (f" (and {n - 1} more)" if n > 1 else "")
                          + (" \u2014 showing the last run." if self.last_result else ""))

    def _needs_approval(self) -> bool:
        est, limit = self.estimate, self.memory_limit
        return (est is not None and limit is not None and est > limit
                and est > self._memory_approved)

    def run_now(self) -> None:
        if self._started:
            self._request_run()
            self.runner.flush()
        else:
            self.start()

    def run_anyway(self) -> None:
        """Run the held stack although its estimate is above the limit; later runs up to this
        size go ahead without asking."""
        if self.estimate is not None:
            self._memory_approved = max(self._memory_approved, self.estimate)
        self.memory_banner.setVisible(False)
        self.run_now()

    def stop_run(self) -> None:
        """Cancel the waiting or running run (Stop, Esc); the panels keep the last result."""
        if self.runner.state in ("waiting", "running"):
            self.runner.cancel(STOPPED_FINISHING if self.runner.busy else STOPPED)

    def _on_cancelled_run_ended(self) -> None:
        """The layer a cancelled run was computing is done: the status says plainly stopped."""
        if self.runner.state == "cancelled":
            self.status.set_state("cancelled", STOPPED)

    def _on_runner_state(self, state: str, message: str) -> None:
        self.status.set_state(state, message)
        self.window_actions["stop"].setEnabled(state in ("waiting", "running"))

    def _on_result(self, result, report) -> None:
        if not gc_frozen():
            QTimer.singleShot(0, freeze_gc)  # once the first result is on screen
        self.last_result, self.last_report = result, report
        self._show_banner("")
        self.memory_banner.setVisible(False)
        self._tell_panels("set_result", result, report)
        self.shapes.set_report(self.report, result, self.pipeline.selection)
        self.status.set_result(result)

    def _tell_panels(self, method: str, *args) -> None:
        """Call ``method`` on every panel. One that raises is reported (through
        sys.excepthook: the error dialog) and the others still get the call."""
        for panel in self.panels:
            self._tell_panel(panel, method, *args)

    @staticmethod
    def _tell_panel(panel, method: str, *args) -> None:
        try:
            getattr(panel, method)(*args)
        except Exception:
            sys.excepthook(*sys.exc_info())

    def _on_run_failed(self, message: str, problems) -> None:
        self._show_banner(f"\u26a0 Run failed: {message}")
        self.statusBar().showMessage(f"Run failed: {message}", 10000)

    def _on_run_crashed(self, message: str, details: str) -> None:
        self.errors.report("Run failed unexpectedly",
                           f"The run stopped with an unexpected error: {message}\n\nThis is a "
                           "bug in convexplorer; the rest of the app still works. Copy the "
                           "details into a bug report.", details)

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _on_devices(self, devices) -> None:
        self.input_panel.set_devices(devices, self.pipeline.config.device)

    # -- views -> pipeline -------------------------------------------------------------------
    def _on_param_edited(self, index: int, name: str, value) -> None:
        layers = self.pipeline.config.layers
        if not 0 <= index < len(layers):
            return
        spec = layers[index].with_params(**{name: value})
        self.pipeline.replace_layer(index, spec, f"set {name}",
                                    merge=("param", index, name, self.form.edit_session))

    def _on_rename(self, index: int, name: str) -> None:
        self.pipeline.rename_layer(index, name, merge=("name", index, self.form.edit_session))

    def _on_input_edited(self, spec, what: str) -> None:
        self.pipeline.set_config(replace(self.pipeline.config, input=spec), f"change {what}",
                                 merge=("input", what))

    def add_layer(self, type_name: str) -> None:
        """Add a ``type_name`` layer after the selected one."""
        sel = self.pipeline.selection
        layers = self.pipeline.config.layers
        index = sel + 1 if sel is not None else len(layers)
        spec = new_layer_spec(type_name)
        if spec.layer_type is not None and spec.layer_type.is_merge:
            report = self.report
            shapes = [i.output_shape for i in report.layers] if report else [None] * len(layers)
            source = default_from(layers, shapes, report.input_shape if report else None, index,
                                  type_name)
            spec = spec.with_params(**{"from": source})
        stack_edits.insert_layer(self.pipeline, index, spec)

    def insert_flatten_before(self, index: int | None = None) -> None:
        """Insert a Flatten before layer ``index`` (default: the selected one), one undo step:
        a Linear on a conv map then gets each batch item as one vector."""
        index = self.pipeline.selection if index is None else index
        if index is not None and 0 <= index < len(self.pipeline.config.layers):
            stack_edits.insert_layer(self.pipeline, index, new_layer_spec("Flatten"),
                                     "insert Flatten")

    def remove_layer(self) -> None:
        if self.pipeline.selection is not None:
            stack_edits.remove_layer(self.pipeline, self.pipeline.selection)

    def duplicate_layer(self) -> None:
        if self.pipeline.selection is not None:
            stack_edits.duplicate_layer(self.pipeline, self.pipeline.selection)

    def move_layer(self, delta: int) -> None:
        sel = self.pipeline.selection
        if sel is not None:
            self.move_layer_to(sel, sel + delta)

    def move_layer_to(self, src: int, dst: int) -> None:
        stack_edits.move_layer(self.pipeline, src, dst)

    def rename_layer(self) -> None:
        self.docks["form"].show()
        self.form.focus_name()

    # -- files and messages ------------------------------------------------------------------
    def open_config(self, config: Config, path=None) -> None:
        """Start over on ``config`` (read from ``path``, if any)."""
        self._shape_cache.clear()
        self.pipeline.load(config, path)

    def show_error(self, title: str, text: str, details: str = "") -> QMessageBox:
        """A message box that does not block, and the message in the status bar."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        if details:
            box.setDetailedText(details)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r, b=box: self._dialogs.remove(b)
                             if b in self._dialogs else None)
        self._dialogs.append(box)
        box.show()
        self.statusBar().showMessage(f"{title}: {text}", 15000)
        return box

    def show_about(self) -> None:
        self._dialogs.append(show_about(self))

    def show_concepts(self) -> None:
        dialog = ConceptsDialog(self)
        self._dialogs.append(dialog)
        dialog.show()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        path = dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_dropped(path)

    def open_dropped(self, path: Path) -> None:
        """An image or .npy file becomes the input; a .json file is opened as a config."""
        open_dropped(self, path)

    # -- closing -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.file_actions.confirm_close():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the runner's thread and close the message windows."""
        self.field_undo.stop()
        self.runner.shutdown()
        for dialog in list(self._dialogs):
            dialog.close()
        self._dialogs.clear()
        self.errors.close_all()
