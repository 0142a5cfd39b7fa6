"""leave_cores_free: the runner's worker leaves a core to the window. Checked in a fresh
interpreter, since torch's thread count is process state that other tests must not inherit."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import threading, torch
from convexplorer.engine.devices import leave_cores_free
default = torch.get_num_threads()
seen = []
def worker():
    seen.append(leave_cores_free(1))
    seen.append(leave_cores_free(1))  # twice: still one fewer than torch's default, not two
    seen.append(torch.get_num_threads())
t = threading.Thread(target=worker)
t.start()
t.join()
print(default, *seen)
"""


def test_leave_cores_free_keeps_one_core_and_at_least_one_thread():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    default, first, second, now = map(int, out)
    assert first == second == now == max(1, default - 1)
