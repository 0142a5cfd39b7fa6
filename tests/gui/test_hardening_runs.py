"""Runs that go wrong, and errors nobody planned for: an exception escaping a slot, a panel or a
worker thread opens a dialog with details to copy; a run above the memory limit asks first;
out of memory is reported; long runs can be stopped; closing during a run leaves no thread."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication

from convexplorer.gui.error_dialog import ErrorDialog
from convexplorer.gui.main_window import STOPPED, MainWindow
from convexplorer.gui.runner import Runner
from convexplorer.model.memory import LIMIT_ENV
from convexplorer.model.spec import Config, InputSpec, LayerSpec

from .window_helpers import RESULT_TIMEOUT_MS, open_window, runner_threads, type_into_spin

SMALL = Config(
    name="small", input=InputSpec("random", (1, 1, 28, 28)),
    layers=(LayerSpec("Conv2d", (("out_channels", 8), ("kernel_size", 3)), "conv"),
            LayerSpec("ReLU", (), "relu"),
            LayerSpec("MaxPool2d", (("kernel_size", 2), ("return_indices", True)), "pool")))


def engine_run(config, **kwargs):
    from convexplorer.engine.run import run

    return run(config, **kwargs)


class Cancelled(Exception):
    """Named as the engine's: the runner tells a cancelled run by its class name."""


class FakeEngine:
    """The real engine, until a test tells it to fail or to hang until cancelled."""

    def __init__(self):
        self.fail: BaseException | None = None
        self.slow = False
        self.started = threading.Event()
        self.calls = 0

    def __call__(self, config, *, cancel, **kwargs):
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        if self.slow:
            self.started.set()
            for _ in range(3000):  # a long first layer; engine.run checks cancel like this
                if cancel():
                    raise Cancelled()
                threading.Event().wait(0.005)
            raise AssertionError("the slow run was never cancelled")
        return engine_run(config, cancel=cancel, **kwargs)


def window_with(qtbot, engine: FakeEngine, *, sync: bool, config: Config = SMALL) -> MainWindow:
    runner = Runner(sync=sync, run_fn=engine)
    window = MainWindow(config, runner=runner)
    qtbot.addWidget(window)
    with qtbot.waitSignal(runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        window.show()
    return window


def type_shape(qtbot, window, text: str) -> None:
    edit = window.input_panel.random_shape
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


# -- unexpected exceptions -------------------------------------------------------------------
@pytest.fixture
def reporting(window):
    """The window's error reporter installed as sys.excepthook / threading.excepthook, as
    ``python main.py`` does (pytest-qt's own capture is off for these tests)."""
    window.errors.install()
    yield window
    window.errors.uninstall()
    assert sys.excepthook != window.errors.excepthook
    assert threading.excepthook != window.errors.thread_excepthook


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_shows_a_dialog_and_the_app_goes_on(qtbot, reporting, capsys):
    window = reporting

    def broken_slot():
        raise ZeroDivisionError("the slot divided by zero")

    with qtbot.waitSignal(window.errors.dialogShown) as shown:
        QTimer.singleShot(0, broken_slot)
    dialog = shown.args[0]
    assert isinstance(dialog, ErrorDialog)
    assert dialog.isVisible() and not dialog.isModal()
    assert "ZeroDivisionError: the slot divided by zero" in dialog.message.text()
    details = dialog.text.toPlainText()
    assert details.startswith("Traceback (most recent call last):")
    assert "in broken_slot" in details and details.endswith(
        "ZeroDivisionError: the slot divided by zero")
    assert dialog.text.isReadOnly()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert "in broken_slot" in copied and "the slot divided by zero" in copied
    assert "Traceback" in capsys.readouterr().err  # also on stderr, for terminal users

    # the same error again: counted on the open dialog, not a second window
    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: dialog.count == 2)
    assert "2 times" in dialog.count_label.text() and len(window.errors.dialogs) == 1

    # the app still works: an edit runs and is drawn
    window.pipeline.set_seed(4)
    assert window.status.state == "ready" and window.last_result.config.seed == 4
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.errors.dialogs)


@pytest.mark.qt_no_exception_capture
def test_running_out_of_memory_in_a_slot_is_said_as_such_not_as_a_bug(qtbot, reporting):
    """Item 9: MemoryError anywhere is the out-of-memory message."""
    window = reporting

    def greedy_slot():
        raise MemoryError()

    with qtbot.waitSignal(window.errors.dialogShown) as shown:
        QTimer.singleShot(0, greedy_slot)
    dialog = shown.args[0]
    assert dialog.windowTitle() == "Out of memory"
    assert dialog.message.text().startswith("convexplorer ran out of memory: make the input "
                                            "smaller")
    assert "bug" not in dialog.message.text()
    dialog.close()


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_worker_thread_reaches_the_gui_thread(qtbot, reporting):
    window = reporting

    def work():
        raise KeyError("lost in a thread")

    thread = threading.Thread(target=work, name="helper-thread")
    with qtbot.waitSignal(window.errors.dialogShown) as shown:
        thread.start()
        thread.join()
    dialog = shown.args[0]
    assert "in thread helper-thread" in dialog.message.text()
    assert "KeyError: 'lost in a thread'" in dialog.text.toPlainText()
    assert dialog.thread() is window.thread()  # built on the GUI thread


@pytest.mark.qt_no_exception_capture
def test_a_panel_that_raises_does_not_stop_the_others(qtbot, reporting, monkeypatch):
    window = reporting
    if len(window.panels) < 2:
        pytest.skip("needs two result panels")
    first, second = window.panels[:2]
    got = []
    monkeypatch.setattr(first, "set_result",
                        lambda *a: (_ for _ in ()).throw(RuntimeError("panel broke")))
    monkeypatch.setattr(second, "set_result", lambda result, report: got.append(result))
    with qtbot.waitSignal(window.errors.dialogShown) as shown:
        window.pipeline.set_seed(9)
    assert "RuntimeError: panel broke" in shown.args[0].message.text()
    assert got and got[-1].config.seed == 9
    assert window.status.state == "ready"


def test_unexpected_error_in_a_run_opens_a_dialog_with_the_traceback(qtbot):
    engine = FakeEngine()
    window = window_with(qtbot, engine, sync=True)
    engine.fail = KeyError("weights")
    with qtbot.waitSignal(window.errors.dialogShown) as shown:
        window.pipeline.set_seed(1)
    dialog = shown.args[0]
    assert dialog.windowTitle() == "Run failed unexpectedly"
    assert "unexpected error: KeyError: 'weights'" in dialog.message.text()
    assert "raise self.fail" in dialog.text.toPlainText()
    assert window.status.state == "failed" and window.banner.isVisible()
    engine.fail = None
    window.pipeline.set_seed(2)
    assert window.status.state == "ready" and window.last_result.config.seed == 2
    window.close()


# -- memory ----------------------------------------------------------------------------------
def test_a_run_above_the_memory_limit_asks_first(qtbot, monkeypatch):
    monkeypatch.setenv(LIMIT_ENV, "1")  # 1 MiB: SMALL fits, 256 x 256 does not
    engine = FakeEngine()
    window = window_with(qtbot, engine, sync=True)
    assert window.memory_limit == 2**20
    assert "memory \u2248 " in window.status.text and "KiB" in window.status.text
    calls = engine.calls

    type_shape(qtbot, window, "1, 1, 256, 256")
    assert window.pipeline.config.input.shape == (1, 1, 256, 256)
    banner = window.memory_banner
    assert banner.isVisible()
    assert "this run needs about 20.8 MiB at its peak" in banner.text
    assert "1.0 MiB limit" in banner.text
    assert window.status.state == "held" and "20.8 MiB" in window.status.text
    assert engine.calls == calls  # nothing ran
    assert window.last_result.input.shape == (1, 1, 28, 28)  # the last run stays shown

    qtbot.mouseClick(banner.run_button, Qt.MouseButton.LeftButton)
    assert engine.calls == calls + 1 and not banner.isVisible()
    assert window.last_result.input.shape == (1, 1, 256, 256)
    assert window.status.state == "ready"

    type_shape(qtbot, window, "1, 1, 200, 200")  # smaller than what was allowed: no question
    assert not banner.isVisible() and window.last_result.input.shape == (1, 1, 200, 200)
    type_shape(qtbot, window, "1, 1, 400, 400")  # larger: asks again
    assert banner.isVisible() and window.status.state == "held"
    assert window.last_result.input.shape == (1, 1, 200, 200)
    window.close()


def test_out_of_memory_is_reported_and_the_app_goes_on(qtbot):
    from convexplorer.engine.run import RunError

    engine = FakeEngine()
    window = window_with(qtbot, engine, sync=True)
    engine.fail = RunError("out of memory on cpu (about 8.8 GiB needed): use a smaller input, "
                           "fewer channels or a larger stride")
    window.pipeline.set_seed(1)
    assert window.status.state == "failed" and "out of memory on cpu" in window.status.text
    assert "Run failed: out of memory on cpu (about 8.8 GiB needed)" in window.banner.text()
    assert not window.errors.dialogs  # an expected failure: no bug dialog
    engine.fail = MemoryError()
    window.pipeline.set_seed(2)
    assert window.status.state == "failed"
    assert "out of memory: use a smaller input" in window.banner.text()
    engine.fail = None
    window.pipeline.set_seed(3)
    assert window.status.state == "ready" and not window.banner.isVisible()
    assert window.last_result.config.seed == 3
    window.close()


# -- cancel and close ------------------------------------------------------------------------
def test_stop_button_and_esc_cancel_a_long_run(qtbot):
    engine = FakeEngine()
    window = window_with(qtbot, engine, sync=False)
    stop = window.status.stop_button
    assert not stop.isVisible()
    engine.slow = True
    window.pipeline.set_seed(1)
    qtbot.waitUntil(engine.started.is_set, timeout=RESULT_TIMEOUT_MS)
    assert window.status.state == "running"
    qtbot.waitUntil(stop.isVisible)  # once the run has taken a moment (not for quick runs)
    dropped = window.runner.dropped
    qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    assert window.status.state == "cancelled" and "cancelled" in window.status.text
    assert not stop.isVisible()
    qtbot.waitUntil(lambda: window.runner.dropped == dropped + 1)  # the worker stopped
    assert window.last_result.config.seed == 0  # the last finished run is still shown

    engine.started.clear()
    seed = window.input_panel.seed
    type_into_spin(qtbot, seed, "2")  # typing in a field during a run stays possible
    qtbot.waitUntil(engine.started.is_set, timeout=RESULT_TIMEOUT_MS)
    qtbot.keyClick(seed, Qt.Key.Key_Escape)
    assert window.status.state == "cancelled"
    qtbot.waitUntil(lambda: window.runner.dropped == dropped + 2)
    engine.slow = False
    with qtbot.waitSignal(window.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        qtbot.keyClick(seed, Qt.Key.Key_F5)  # run again
    assert window.last_result.config.seed == 2
    window.close()
    assert not runner_threads()


def test_closing_during_a_run_ends_the_worker(qtbot):
    engine = FakeEngine()
    window = window_with(qtbot, engine, sync=False)
    engine.slow = True
    window.pipeline.set_seed(5)
    qtbot.waitUntil(engine.started.is_set, timeout=RESULT_TIMEOUT_MS)
    assert runner_threads()
    assert window.close()
    assert not runner_threads() and window.runner.closed
    window.pipeline.set_seed(6)  # a late edit after closing starts nothing
    assert not runner_threads()


class StuckInALayer:
    """A run that, like torch inside one large layer (a Conv2d(3, 64, 61) over 1x3x1024x1024
    takes 11 s), does not look at its cancel flag until the layer is done."""

    def __init__(self):
        self.stuck = False
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, config, *, cancel, **kwargs):
        if self.stuck:
            self.started.set()
            self.release.wait(10)  # the layer
            if cancel():
                raise Cancelled()
        return engine_run(config, cancel=cancel, **kwargs)


def test_closing_does_not_wait_for_a_layer_and_esc_says_it_still_finishes(qtbot):
    """Issue 16, item 5: Esc marked the run cancelled while torch went on, and closing the
    window then froze it until the layer was done."""
    engine = StuckInALayer()
    window = window_with(qtbot, engine, sync=False)
    engine.stuck = True
    window.pipeline.set_seed(1)
    qtbot.waitUntil(engine.started.is_set, timeout=RESULT_TIMEOUT_MS)
    qtbot.keyClick(window.input_panel.seed, Qt.Key.Key_Escape)
    assert window.status.state == "cancelled"
    assert "still finishes in the background" in window.status.state_label.toolTip()
    engine.release.set()  # the layer ends: the status says plainly stopped
    qtbot.waitUntil(lambda: window.status.state_label.toolTip() == STOPPED)

    engine.started.clear()
    engine.release.clear()
    window.pipeline.set_seed(2)
    qtbot.waitUntil(engine.started.is_set, timeout=RESULT_TIMEOUT_MS)
    t0 = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - t0 < 1.0  # not the 10 s the layer takes
    assert runner_threads()  # it finishes its layer in the background (a daemon thread)
    engine.release.set()
    qtbot.waitUntil(lambda: not runner_threads())


def test_default_window_shows_the_memory_estimate(qtbot):
    window = open_window(qtbot, sync=True)
    assert "memory \u2248 " in window.status.text
    assert window.estimate is not None and window.estimate < 2**20
    assert not window.memory_banner.isVisible()
    window.close()
