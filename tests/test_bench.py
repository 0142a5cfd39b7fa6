"""The benchmark's own checks: a device it cannot use is a one-line error, and the peak
memory of its child process is the child's, not the benchmark's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import bench


def test_a_device_name_that_is_not_one_is_a_short_error(capsys):
    assert bench.main(["--device", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "bench: --device gpu:" in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_short_error(capsys):
    assert bench.main(["--quick", "--skip-gui", "--device", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err.lower()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_peak_memory_is_the_child_s_own():
    """Linux carries ru_maxrss over fork and exec: read that way, the child reported this
    process's size. With 1.5 GiB of ballast here, the child's own peak is far below ours."""
    ballast = np.ones(1536 << 20, dtype=np.uint8)
    ours = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    peak = bench.bench_memory()["peak_memory_mib"]
    assert ballast[-1] == 1
    assert 50 < peak < ours - 1024
