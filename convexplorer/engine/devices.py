"""Which devices torch can run on here, and a clear message for one that is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # what torch.device takes: "cpu", "cuda:0", "mps"
    label: str  # what a user reads: "CUDA 0: NVIDIA H100"
    available: bool
    reason: str = ""  # why not, when unavailable


class DeviceError(ValueError):
    pass


_DEFAULT_THREADS: int | None = None  # torch's own choice, before leave_cores_free changed it


def default_threads() -> int:
    """The number of threads torch chose for CPU operations, before leave_cores_free."""
    return _DEFAULT_THREADS if _DEFAULT_THREADS is not None else torch.get_num_threads()


def leave_cores_free(cores: int = 1) -> int:
    """Let torch's CPU operations use all but ``cores`` of the threads torch would use by
    default (at least one), in the calling thread and threads started after it. For a worker
    beside a window: on two cores, torch's two threads competing with the window's own made a
    small run 3 to 4 times slower (about 7 ms alone, 25 to 30 ms while the window paints).
    Returns the number of threads."""
    global _DEFAULT_THREADS
    _DEFAULT_THREADS = default_threads()
    threads = max(1, _DEFAULT_THREADS - cores)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def channel_block() -> int:
    """How many channels oneDNN, torch's CPU convolution library, keeps in one block here (it
    pads channels to a multiple, so a 4-channel map takes the room of 16): 16 with AVX-512,
    else 8. The memory estimate counts it (model.memory)."""
    isa = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "")
    if isa and "AVX512" not in isa.upper() and isa.upper() != "ALL":
        return 8
    return 16 if "AVX512" in torch.backends.cpu.get_cpu_capability() else 8


def list_devices() -> list[DeviceInfo]:
    """CPU, each CUDA device and MPS; unavailable ones carry the reason."""
    out = [DeviceInfo("cpu", "CPU", True)]
    if torch.version.cuda is None:
        out.append(DeviceInfo("cuda", "CUDA", False, "torch was built without CUDA"))
    elif not torch.cuda.is_available():
        out.append(DeviceInfo("cuda", "CUDA", False, "no CUDA device or driver found"))
    else:
        for i in range(torch.cuda.device_count()):
            out.append(DeviceInfo(f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}", True))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(DeviceInfo("mps", "MPS (Apple GPU)", True))
    elif mps is not None and mps.is_built():
        out.append(DeviceInfo("mps", "MPS", False, "no Apple GPU available"))
    else:
        out.append(DeviceInfo("mps", "MPS", False, "torch was built without MPS"))
    return out


def check_device(name: str) -> torch.device:
    """A torch.device for ``name``, or DeviceError saying why it cannot be used."""
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(f"device {name!r} is not a device name; use cpu, cuda, cuda:N or "
                          "mps") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if torch.version.cuda is None:
            raise DeviceError("CUDA: torch was built without CUDA; use device 'cpu' instead")
        if not torch.cuda.is_available():
            raise DeviceError("CUDA: no CUDA device or driver found; use device 'cpu' instead")
        idx = dev.index or 0
        if idx >= torch.cuda.device_count():
            raise DeviceError(f"CUDA: there is no device {idx} (found "
                              f"{torch.cuda.device_count()}); use cuda:0")
        return torch.device("cuda", idx)
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("MPS: no Apple GPU available here; use device 'cpu' instead")
        return dev
    raise DeviceError(f"device {name!r} is not supported; use cpu, cuda or mps")
