"""The window-side figures of ``benchmarks/bench.py``: edit-to-pixels latency and how long the
GUI thread ever goes without processing events, measured in the real ``MainWindow`` offscreen.

An edit is what a user does: a new value in the ``out_channels`` spin box of a Conv2d in the
layer form (``LayerForm``). It goes form -> pipeline -> shape inference -> runner -> worker
thread (engine) -> queued result -> panels, and its latency ends when the panels have drawn the
new result (``runner.resultShown``) *and* the paint that follows is done ("pixels").
The engine time it is compared with is ``engine.run`` of the same kind of edit in the runner's
worker thread, with no window involved (``engine_alone_ms``, with the worker's thread count:
one core is left to the window, see ``engine.devices.leave_cores_free``; and
``engine_alone_all_threads_ms``, with all of torch's default threads). Each edit picks a
channel count the engine has not cached, so every run builds its modules, as a real edit does.

The runner starts the first edit after a pause at once and merges the rest of a burst of
keystrokes (``DEBOUNCE_MS``, 120 ms, after the last one). So there are three edits to time:

- ``edit_to_pixels_ms``: a single edit after a pause, the way a user makes one; no debounce.
- ``edit_to_pixels_flushed_ms``: an edit made as soon as the previous result is on screen (the
  runner treats it as part of a burst) with its debounce wait cut short by ``runner.flush()``.
- ``edit_to_pixels_burst_ms``: the last of three edits ``BURST_MS`` apart (typing): the runner
  waits ``DEBOUNCE_MS`` after it, then runs; what you wait once you stop typing.

    python benchmarks/gui_bench.py [REPEATS]
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FIELD = "out_channels"  # the edited parameter (of a Conv2d)
# The edited layer: conv2 of MNISTConvNet (conv1's out_channels is pinned by conv2's explicit
# in_channels=10) and the first Conv2d of the large config (the largest output to draw).
SMALL_LAYER, LARGE_LAYER = 3, 0
TICK_MS = 5  # the probe timer of ui_max_block_ms
QUIET_MS = 200  # longer than the runner's debounce: the next edit starts a new burst
BURST_MS = 40  # between the edits of a burst (keystrokes)
WAIT_S = 60  # the longest any single wait may take before the benchmark gives up


class BenchError(RuntimeError):
    pass


def _now() -> float:
    return time.perf_counter()


def _median(xs) -> float:
    return statistics.median(xs) if xs else float("nan")


def _wait_for(signal, timeout_s: float = WAIT_S) -> bool:
    """Run the event loop until ``signal`` fires (True) or ``timeout_s`` passes (False)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    fired = []

    def done(*_args):
        fired.append(True)
        loop.quit()

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    signal.connect(done)
    timer.start(int(timeout_s * 1000))
    if not fired:
        loop.exec()
    timer.stop()
    signal.disconnect(done)
    return bool(fired)


def _pause(ms: int) -> None:
    """Run the event loop for ``ms`` milliseconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class _PaintCounter:
    """Counts the paint events of ``panel`` and the widgets inside it, until ``stop()``."""

    def __init__(self, app, panel):
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QWidget

        counter = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt override
                if (event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                        and (obj is panel or panel.isAncestorOf(obj))):
                    counter.count += 1
                return False

        self.app, self.count, self.filter = app, 0, Filter()
        app.installEventFilter(self.filter)

    def stop(self) -> int:
        self.app.removeEventFilter(self.filter)
        return self.count


class Edits:
    """A window on ``config`` with ``layer`` selected, and its ``out_channels`` spin box."""

    def __init__(self, app, config, path=None, layer: int = 0):
        from convexplorer.gui.main_window import MainWindow

        self.app = app
        self.window = MainWindow(config, path)
        self.window.resize(1400, 880)
        self.window.show()
        if not _wait_for(self.window.runner.resultShown):
            raise BenchError(f"the first run of {config.name} showed no result")
        self.layer = layer
        self.window.pipeline.select(layer)
        app.processEvents()
        self.spin = self.window.form.editor(FIELD).spins[0]
        self.base = int(self.window.pipeline.config.layers[layer].value(FIELD))
        self.count = 0

    def next_value(self) -> int:
        """A value not among the engine's 4 cached stacks: every edit builds new modules, as a
        real edit does."""
        self.count += 1
        return max(1, self.base - 4 + self.count % 16)

    def _new_value(self) -> int:
        value = self.next_value()
        return self.next_value() if value == self.spin.value() else value  # no change, no run

    def config_with(self, value: int):
        from dataclasses import replace

        cfg = self.window.pipeline.config
        layers = list(cfg.layers)
        layers[self.layer] = layers[self.layer].with_params(**{FIELD: value})
        return replace(cfg, layers=tuple(layers))

    def edit(self, flush: bool, check_paint: bool = False, burst: int = 0) -> dict:
        """One edit, timed to the panels' paint. Returns the phases in ms. ``check_paint``:
        make sure the visible results tab was painted (costs a little; for a warm-up edit).
        ``burst``: this many edits ``BURST_MS`` apart come first (untimed)."""
        runner = self.window.runner
        for _ in range(burst):
            self.spin.setValue(self._new_value())
            _pause(BURST_MS)
        marks: dict = {}

        def on_state(state, _message):
            marks.setdefault(state, _now())

        runner.stateChanged.connect(on_state)
        value = self._new_value()
        t0 = _now()
        self.spin.setValue(value)  # emits valueChanged like a click on the arrow / typing
        t_edit = _now()
        if flush:
            runner.flush()
        if not _wait_for(runner.resultShown):
            raise BenchError("an edit showed no result")
        t_shown = _now()
        painted = _PaintCounter(self.app, self.window.current_panel()) if check_paint else None
        self.app.processEvents()  # the paint the redraw scheduled
        t_painted = _now()
        runner.stateChanged.disconnect(on_state)
        if painted is not None and painted.stop() == 0:
            raise BenchError("the results tab was not painted after the result was shown")
        if int(self.window.pipeline.config.layers[self.layer].value(FIELD)) != value:
            raise BenchError("the spin box edit did not reach the pipeline")
        result = self.window.last_result
        if int(result.config.layers[self.layer].value(FIELD)) != value:
            raise BenchError("the result shown is not the edited config's")
        return {
            "form_ms": (t_edit - t0) * 1e3,  # form -> pipeline -> inference -> views
            "start_ms": (marks.get("running", t_edit) - t0) * 1e3,  # the run handed to the worker
            "shown_ms": (t_shown - t0) * 1e3,
            "pixels_ms": (t_painted - t0) * 1e3,
            "draw_ms": (t_shown - marks.get("ready", t_shown)) * 1e3,  # panels' set_result
            "paint_ms": (t_painted - t_shown) * 1e3,
            "worker_engine_ms": float(getattr(result, "total_ms", 0.0)),
        }

    def engine_alone_ms(self, all_threads: bool = False) -> float:
        """engine.run of the same kind of edit, with no window involved: called directly, in
        the runner's worker thread (the thread the window's runs use: torch's thread pool
        behaves differently from another calling thread). ``all_threads``: with torch's own
        default thread count instead of the worker's (one fewer, see leave_cores_free)."""
        import torch

        from convexplorer.engine import devices
        from convexplorer.engine.run import run

        cfg = self.config_with(self.next_value())
        base_dir = self.window.pipeline.base_dir

        def timed():
            threads = torch.get_num_threads()
            if all_threads:
                torch.set_num_threads(devices.default_threads())
            try:
                t = _now()
                run(cfg, base_dir=base_dir)
                return (_now() - t) * 1e3
            finally:
                torch.set_num_threads(threads)

        return self.window.runner._pool().submit(timed).result(timeout=WAIT_S)

    def close(self) -> None:
        self.window.shutdown()  # not close(): the edited config would ask to be saved
        self.window.hide()
        self.window.deleteLater()
        self.app.processEvents()


def edit_figures(app, config, path, layer: int, repeats: int, prefix: str) -> dict:
    """Edit latency (single, flushed and burst edits; see the module docstring), interleaved
    with engine-alone runs."""
    ed = Edits(app, config, path, layer)
    gc.collect()  # start each section from the same garbage-collector state
    try:
        for i in range(2):  # warm-up: first builds, first draws of each size
            ed.edit(flush=True, check_paint=i == 0)
            ed.engine_alone_ms()
            ed.engine_alone_ms(all_threads=True)
        single, flushed, burst, engine, engine_all = [], [], [], [], []
        for _ in range(repeats):
            _pause(QUIET_MS)  # a single edit after a pause, not the tail of a burst
            single.append(ed.edit(flush=False))
            flushed.append(ed.edit(flush=True))  # at once: the runner sees a burst
            engine.append(ed.engine_alone_ms())
            engine_all.append(ed.engine_alone_ms(all_threads=True))
            _pause(QUIET_MS)
            burst.append(ed.edit(flush=False, burst=2))
    finally:
        ed.close()
    out = {f"{prefix}edit_to_pixels_ms": _median([e["pixels_ms"] for e in single]),
           f"{prefix}edit_to_pixels_flushed_ms": _median([e["pixels_ms"] for e in flushed]),
           f"{prefix}edit_to_pixels_burst_ms": _median([e["pixels_ms"] for e in burst]),
           f"{prefix}engine_alone_ms": _median(engine),
           f"{prefix}engine_alone_all_threads_ms": _median(engine_all)}
    for phase in ("form_ms", "start_ms", "worker_engine_ms", "draw_ms", "paint_ms"):
        out[f"{prefix}edit_{phase}"] = _median([e[phase] for e in single])
    return out


def block_figures(app, config, repeats: int, ticks: list | None = None) -> dict:
    """ui_max_block_ms: the largest gap between ticks of a ``TICK_MS`` timer while edits keep
    the large config running: edits that wait for their result, debounced edits, and edits
    that cancel the run in progress."""
    from PySide6.QtCore import QEventLoop, QTimer

    ed = Edits(app, config, None, LARGE_LAYER)
    ticks = [] if ticks is None else ticks  # the caller may keep them (profiling)
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(_now()))
    loop = QEventLoop()
    runner = ed.window.runner
    plan = ["flush", "debounce", "cancel"] * max(2, repeats)
    state = {"i": 0, "cancelled": 0}
    engine_ms = ed.engine_alone_ms()
    gc.collect()

    def step():
        if state["i"] >= len(plan):
            state["done"] = True
            loop.quit()
            return
        kind = plan[state["i"]]
        state["i"] += 1
        ed.spin.setValue(ed.next_value())
        if kind != "debounce":
            runner.flush()
        if kind == "cancel":  # a second edit while the first run is under way
            def again():
                if state.get("done"):
                    return
                ed.spin.setValue(ed.next_value())
                runner.flush()
                state["cancelled"] += 1
            QTimer.singleShot(max(1, int(engine_ms / 3)), again)

    def on_shown(_result):
        QTimer.singleShot(0, step)

    runner.resultShown.connect(on_shown)
    try:
        dropped0 = runner.dropped
        timer.start()
        QTimer.singleShot(0, step)
        QTimer.singleShot(WAIT_S * 1000, loop.quit)
        loop.exec()
        timer.stop()
        state["done"] = True
        runner.resultShown.disconnect(on_shown)
        if state["i"] < len(plan):
            raise BenchError("ui_max_block_ms: the edits stalled")
        dropped = runner.dropped - dropped0
    finally:
        ed.close()
    gaps = sorted((b - a) * 1e3 for a, b in zip(ticks, ticks[1:]))
    return {"ui_max_block_ms": gaps[-1] if gaps else float("nan"),
            "ui_p99_gap_ms": gaps[int(0.99 * (len(gaps) - 1))] if gaps else float("nan"),
            "ui_runs": len(plan) + state["cancelled"], "ui_results_dropped": dropped}


UNIT_LAYER = 4  # the large config's Conv2d(64, 64, 3, padding=1): a 3x3x64 window


def unit_click_figures(app, config, repeats: int) -> dict:
    """``unit_click_to_pixels_ms``: a learner picks an output unit (a cell of the Values
    table) of a 3x3 convolution over 64 input channels, and its breakdown is recomputed from
    the run's arrays (NumPy, on the window's thread) and painted: the Values tab's header,
    window map and breakdown, ready on screen."""
    from convexplorer.gui.main_window import MainWindow
    from convexplorer.gui.panels.values import ValuesPanel
    from convexplorer.model.spec import Unit

    window = MainWindow(config, sync=True)
    window.resize(1400, 880)
    window.show()
    window.start()
    values = next(p for p in window.panels if isinstance(p, ValuesPanel))
    window.tabs.setCurrentWidget(values)
    window.pipeline.select(UNIT_LAYER)
    app.processEvents()
    times = []
    try:
        shape = window.last_result.layers[UNIT_LAYER].output_shape
        for i in range(repeats + 2):
            # a click in the table: another cell of the slice shown (every third pick another
            # channel, so the table is re-sliced too)
            channel = 5 * (i // 3) % shape[1]
            unit = Unit(UNIT_LAYER, 0, channel, ((5 * i) % shape[2], (3 * i) % shape[3]))
            t0 = _now()
            window.pipeline.pick_unit(unit)
            app.processEvents()
            values.repaint()  # paint now, not when the event loop gets to it
            if values.compute.breakdown is None or values.compute.breakdown.unit != unit.index:
                raise BenchError("the unit's breakdown did not show")
            if i >= 2:  # the first picks build the views
                times.append((_now() - t0) * 1e3)
    finally:
        window.shutdown()
        window.close()
    return {"unit_click_to_pixels_ms": _median(times)}


def bench_gui(repeats: int) -> dict:
    """All window-side figures (see the module docstring); needs no display. Settings,
    recent files and autosaves go to a temporary folder (``CONVEXPLORER_CONFIG_DIR``) unless
    the caller chose one: the edits must not leave work to restore in the user's own."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "CONVEXPLORER_CONFIG_DIR" not in os.environ:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="convexplorer-bench-")
        atexit.register(shutil.rmtree, folder, True)
        os.environ["CONVEXPLORER_CONFIG_DIR"] = folder
    from benchmarks.bench import large_config
    from convexplorer.gui.app import make_app
    from convexplorer.model.config_io import load_config
    from convexplorer.resources_path import DEFAULT_EXAMPLE, example_path

    app = make_app()
    path = example_path(DEFAULT_EXAMPLE)
    small = edit_figures(app, load_config(path), path, SMALL_LAYER, 2 * repeats, "")
    large = edit_figures(app, large_config(), None, LARGE_LAYER, repeats, "large_")
    out = {k: v for k, v in small.items()}
    out.update(large)
    out["edit_to_pixels_ratio"] = large["large_edit_to_pixels_ms"] / large["large_engine_alone_ms"]
    out["edit_to_pixels_ratio_all_threads"] = (large["large_edit_to_pixels_ms"]
                                               / large["large_engine_alone_all_threads_ms"])
    out.update(block_figures(app, large_config(), max(3, repeats // 2)))
    out.update(unit_click_figures(app, large_config(), 3 * repeats))
    return out


if __name__ == "__main__":
    import json

    figures = bench_gui(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(json.dumps(figures, indent=2))
