"""Start the real app (``convexplorer.gui.app.main``) offscreen and time its start-up; prints one
JSON line, then exits:

    {"python_start_ms": ..., "window_ms": ..., "result_ms": ..., "torch_at_window": false, ...}

- python_start_ms: from the parent's launch (``CONVEXPLORER_LAUNCH_T``, its ``time.time()`` just
  before it started this process) to this file's first line: the interpreter's own start-up.
- window_ms: from this file's first line to the end of the window's first paint (the first
  ``Paint`` event of the main window, plus the rest of that paint pass).
- result_ms: from this file's first line to the first ``resultShown`` (panels drew the first
  run: the window starts it, and with it torch's import in the worker, after its first paint).
- torch_at_window: whether torch was imported when the window first painted (it should not be:
  the window appears before torch loads).

The app is started through its own ``main()``; the probe only wraps ``make_app`` to install an
event filter and connect to the runner, so a change to the app's start-up order is measured as
is. Used by ``benchmarks/bench.py``; run alone: ``python benchmarks/startup_probe.py``.
"""

import time

T0 = time.time()
P0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

TIMEOUT_S = int(os.environ.get("CONVEXPLORER_PROBE_TIMEOUT", "120"))


def _ms() -> float:
    return (time.perf_counter() - P0) * 1e3


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "CONVEXPLORER_CONFIG_DIR" not in os.environ:  # no restore prompt, no recent files
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="convexplorer-probe-")
        atexit.register(shutil.rmtree, folder, True)
        os.environ["CONVEXPLORER_CONFIG_DIR"] = folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    launch = os.environ.get("CONVEXPLORER_LAUNCH_T")
    marks: dict = {"python_start_ms": (T0 - float(launch)) * 1e3 if launch else 0.0}

    from convexplorer.gui import app as app_mod

    real_make_app = app_mod.make_app

    def make_app():
        from PySide6.QtCore import QEvent, QObject, QTimer
        from PySide6.QtWidgets import QMainWindow

        qapp = real_make_app()
        marks["qapp_ms"] = _ms()

        window: dict = {}

        def finish():
            if "result_ms" not in marks and "w" in window:  # why not: say so
                w = window["w"]
                marks["runner_state"] = w.runner.state
                marks["status"] = w.statusBar().currentMessage()
            print(json.dumps(marks), flush=True)
            qapp.exit(0)  # not quit(): that asks the windows first, and a prompt could stay

        def on_result(_result):
            if "result_ms" not in marks:
                marks["result_ms"] = _ms()
                marks["torch_at_result"] = "torch" in sys.modules
                QTimer.singleShot(0, finish)

        def on_failed(message, _problems):
            marks["run_failed"] = message
            QTimer.singleShot(0, finish)

        class Watch(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt override
                kind = event.type()
                if kind == QEvent.Type.Show and isinstance(obj, QMainWindow) \
                        and "show_ms" not in marks:
                    marks["show_ms"] = _ms()
                    window["w"] = obj
                    obj.runner.resultShown.connect(on_result)
                    obj.runner.runFailed.connect(on_failed)
                elif kind == QEvent.Type.Paint and isinstance(obj, QMainWindow) \
                        and "first_paint_ms" not in marks:
                    marks["first_paint_ms"] = _ms()
                    marks["torch_at_window"] = "torch" in sys.modules

                    def painted():
                        marks["window_ms"] = _ms()
                        qapp.removeEventFilter(watch)  # its cost would slow the rest

                    QTimer.singleShot(0, painted)  # after the rest of this paint pass
                return False

        watch = Watch(qapp)
        qapp.installEventFilter(watch)
        qapp._startup_watch = watch  # keep it alive
        QTimer.singleShot(TIMEOUT_S * 1000, finish)
        return qapp

    app_mod.make_app = make_app
    code = app_mod.main([])
    if "result_ms" not in marks:
        why = marks.get("run_failed") or f"no result within {TIMEOUT_S} s"
        print(f"startup_probe: {why}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
