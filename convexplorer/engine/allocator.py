"""Process-wide tuning of the C allocator for runs (Linux with glibc; elsewhere a no-op).

glibc serves every block above a dynamic threshold (128 KiB, growing to at most 32 MiB) with
its own ``mmap`` and returns it to the kernel on ``free``. A run allocates every layer's
output and gradient afresh, and keeps them all (the window shows them), so each run's
tensors would start as new pages the kernel must fault in and zero: on a 16-core machine
that is about a sixth of the engine's time at 1x3x224x224. Raising the mmap threshold to
64 MiB and the trim threshold to 256 MiB keeps freed memory in the heap for the next run.
The cost: up to 256 MiB freed memory may stay with the process instead of going back to
the system. ``CONVEXPLORER_MALLOC=default`` leaves glibc as it is (e.g. to measure).
"""

from __future__ import annotations

import ctypes
import os
import platform

ENV = "CONVEXPLORER_MALLOC"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20

_state: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the thresholds once per process; True where they are in force."""
    global _state
    if _state is None:
        _state = _apply()
    return _state


def _apply() -> bool:
    if os.environ.get(ENV, "").strip().lower() == "default":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
