"""Checkpoint files: a PyTorch state_dict (``.pt``/``.pth``), ``.safetensors`` or ``.npz``, read
as named arrays. ``.pt`` files are read with ``torch.load(..., weights_only=True)``, which
refuses any pickle that would import or call code (a ``__reduce__`` payload, a whole pickled
``nn.Module``): such a file is refused with a message, and nothing in it runs. The other two
formats are read with NumPy (``model.weight_files``).

Files are cached by path, size and modification time, so a run after an edit does not read
the checkpoint again. Never imported on the window's thread (it imports torch).
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from ..model.files import FileProblem, open_regular
from ..model.weight_files import (
    MAX_FILE_BYTES,
    MAX_TENSORS,
    TensorFile,
    WeightFileError,
    open_tensor_file,
)
from ..model.weights import CHECKPOINT_SUFFIXES

# Messages: whole sentences with named placeholders.
REFUSED = ("{path}: refused: loading it would import or run code ({what}), which convexplorer "
           "never does; save the weights alone with torch.save(model.state_dict(), path)")
NOT_PT = "{path}: not a readable PyTorch file ({reason})"
NO_TENSORS = ("{path}: holds no tensors by name; convexplorer reads a state_dict (a dict of "
              "tensors), e.g. torch.save(model.state_dict(), path)")
WRONG_SUFFIX = "{path}: convexplorer reads weights from {suffixes} files"
NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "module", "weights")


class PtFile(TensorFile):
    """A state_dict saved by ``torch.save``, loaded without running any code."""

    kind = ".pt"

    def __init__(self, path: Path, shown: str):
        super().__init__(path, shown)
        self.note = ""
        try:
            with open_regular(path, MAX_FILE_BYTES, "checkpoint") as fh:
                data = torch.load(fh, map_location="cpu", weights_only=True)
        except FileProblem as exc:
            raise WeightFileError(f"{shown}: {exc}") from None
        except MemoryError:
            raise
        except Exception as exc:  # the unpickler refuses, or the file is damaged
            text = str(exc)
            if "weights_only" in text.lower() or "Unsupported global" in text or \
                    "Weights only load failed" in text:
                found = re.search(r"GLOBAL\s+([\w.]+)", text)
                what = f"it names {found.group(1)}" if found else "it is not a plain state_dict"
                raise WeightFileError(REFUSED.format(path=shown, what=what)) from None
            first = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
            raise WeightFileError(NOT_PT.format(path=shown, reason=first)) from None
        self.tensors = self._state_dict(data)
        self.shapes = {k: tuple(v.shape) for k, v in self.tensors.items()}

    def _state_dict(self, data) -> dict[str, torch.Tensor]:
        if isinstance(data, dict):
            tensors = {k: v for k, v in data.items()
                       if isinstance(k, str) and isinstance(v, torch.Tensor)}
            if tensors:
                return dict(list(tensors.items())[:MAX_TENSORS])
            for key in NESTED_KEYS:  # {"epoch": 3, "state_dict": {...}}, as training scripts save
                if isinstance(data.get(key), dict):
                    inner = self._state_dict(data[key])
                    self.note = f"the state_dict under {key!r}"
                    return inner
        raise WeightFileError(NO_TENSORS.format(path=self.shown))

    def array(self, name: str) -> np.ndarray:
        t = self.tensors[name].detach()
        if t.is_floating_point():
            return t.to(torch.float32).numpy()
        return t.to(torch.int64).numpy()


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 2


def _stamp(path: Path):
    st = os.stat(path)
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def file_stamp(path) -> tuple | None:
    """What the cache knows a file by (None when it cannot be read)."""
    try:
        return _stamp(Path(path))
    except (OSError, ValueError):
        return None


def open_checkpoint(path, shown: str | None = None) -> TensorFile:
    """The checkpoint at ``path`` (cached while its size and time stay the same);
    WeightFileError naming ``shown`` when it cannot be read."""
    path = Path(path)
    shown = shown or str(path)
    if not str(path).lower().endswith(CHECKPOINT_SUFFIXES):
        raise WeightFileError(WRONG_SUFFIX.format(path=shown,
                                                  suffixes=", ".join(CHECKPOINT_SUFFIXES)))
    stamp = file_stamp(path)
    if stamp is None:
        raise WeightFileError(f"{shown}: no such file")
    found = _CACHE.pop(stamp, None)
    if found is None:
        if path.suffix.lower() in (".pt", ".pth"):
            found = PtFile(path, shown)
        else:
            found = open_tensor_file(path, shown)
    _CACHE[stamp] = found
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    found.shown = shown
    return found


def listing(path, shown: str | None = None) -> tuple[dict[str, tuple[int, ...]], str]:
    """(name -> shape, a note such as "the state_dict under 'model'") of a checkpoint."""
    ckpt = open_checkpoint(path, shown)
    return dict(ckpt.shapes), getattr(ckpt, "note", "")
