"""The first MaxUnpool a user adds shows as fast as later ones: its one-time cost (torch's
``_check`` imports sympy on first use, about a second) is paid by a background thread after
the window's first run, not by that user's edit. In a subprocess, so that nothing this test
session ran before has paid it already."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QEventLoop, QTimer
from convexplorer.gui.app import make_app, default_config
from convexplorer.gui.main_window import MainWindow
from convexplorer.engine import run as engine_run

app = make_app()
window = MainWindow(default_config())
window.show()
window.start()

def wait(until, timeout_s):
    end = time.monotonic() + timeout_s
    while not until() and time.monotonic() < end:
        loop = QEventLoop(); QTimer.singleShot(20, loop.quit); loop.exec()

wait(lambda: window.last_result is not None, 120)
assert not any(s.type.startswith("MaxUnpool") for s in window.pipeline.config.layers)
wait(lambda: engine_run._warmed, 60)
print("warmed", engine_run._warmed, "torch.fx.experimental.symbolic_shapes" in sys.modules)
window.pipeline.select(5)
start = time.perf_counter()
window.add_layer("MaxUnpool2d")
wait(lambda: len(window.last_result.layers) == 7, 60)
print("unpool", len(window.last_result.layers), round(time.perf_counter() - start, 2))
window.shutdown()
os._exit(0)
"""


def test_the_first_unpool_costs_no_one_time_set_up():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "warmed True True" in lines, proc.stdout + proc.stderr
    unpool = next(line for line in lines if line.startswith("unpool"))
    assert unpool.split()[1] == "7"
