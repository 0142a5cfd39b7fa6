"""Reading named arrays from ``.npz`` and ``.safetensors`` files, hostile files included: the
headers are checked against the file's real size before anything is read, Python objects are
never unpickled, and each array is read only when asked for. Pure NumPy (torch reads
``.pt`` in ``engine.checkpoints``).

A ``TensorFile`` lists ``shapes`` (name -> shape) at once and reads ``array(name)`` on demand,
as float32 (integer buffers such as BatchNorm's ``num_batches_tracked`` as int64).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from .files import FileProblem, open_regular

MAX_FILE_BYTES = 8 << 30  # a checkpoint this large does not belong in a teaching tool
MAX_HEADER_BYTES = 100 << 20  # safetensors' own limit
MAX_TENSORS = 100_000
MAX_NAME = 1000

# Messages: whole sentences with named placeholders.
NOT_READABLE = "{path}: not a readable {kind} file ({reason})"
PICKLED = ("{path}: {name} holds Python objects, which are never unpickled; save plain "
           "number arrays")
NO_SUCH_FILE = "{path}: no such file"


class WeightFileError(ValueError):
    """A weights file that cannot be read; the message names the file and says why."""


def _bad(path, kind: str, reason: str) -> WeightFileError:
    return WeightFileError(NOT_READABLE.format(path=path, kind=kind, reason=reason))


def _as_float(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    return array.astype(np.float32)


class TensorFile:
    """Named arrays of one file: ``shapes`` at once, ``array(name)`` when needed."""

    kind = ""

    def __init__(self, path: Path, shown: str):
        self.path, self.shown = path, shown
        self.shapes: dict[str, tuple[int, ...]] = {}

    def array(self, name: str) -> np.ndarray:
        raise NotImplementedError


class NpzFile(TensorFile):
    kind = ".npz"

    def __init__(self, path: Path, shown: str):
        super().__init__(path, shown)
        self._members: dict[str, tuple[zipfile.ZipInfo, np.dtype, bool, int]] = {}
        try:
            with open_regular(path, MAX_FILE_BYTES, "weights") as fh, zipfile.ZipFile(fh) as zf:
                infos = zf.infolist()
                if len(infos) > MAX_TENSORS:
                    raise _bad(shown, self.kind, f"{len(infos)} arrays, more than {MAX_TENSORS}")
                for info in infos:
                    if not info.filename.endswith(".npy") or len(info.filename) > MAX_NAME:
                        continue
                    name = info.filename[:-4]
                    with zf.open(info) as member:
                        shape, fortran, dtype, offset = _npy_header(member, shown, name)
                    if math.prod(shape) * dtype.itemsize + offset != info.file_size:
                        raise _bad(shown, self.kind, f"{name} claims {list(shape)} values of "
                                   f"{dtype}, which its {info.file_size} bytes do not hold")
                    self.shapes[name] = shape
                    self._members[name] = (info, dtype, fortran, offset)
        except FileProblem as exc:
            raise WeightFileError(f"{shown}: {exc}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
            if isinstance(exc, WeightFileError):
                raise
            raise _bad(shown, self.kind, str(exc) or type(exc).__name__) from None

    def array(self, name: str) -> np.ndarray:
        info, dtype, fortran, offset = self._members[name]
        shape = self.shapes[name]
        try:
            with open_regular(self.path, MAX_FILE_BYTES, "weights") as fh, \
                    zipfile.ZipFile(fh) as zf, zf.open(info) as member:
                member.read(offset)
                data = member.read(info.file_size - offset)
        except (FileProblem, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise _bad(self.shown, self.kind, str(exc) or type(exc).__name__) from None
        order = "F" if fortran else "C"
        return _as_float(np.frombuffer(data, dtype=dtype).reshape(shape, order=order))


def _npy_header(member, shown: str, name: str):
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    except ValueError as exc:
        raise _bad(shown, ".npz", f"{name}: {exc}") from None
    if dtype.hasobject or dtype.kind not in "fiub" or dtype.fields is not None:
        raise WeightFileError(PICKLED.format(path=shown, name=name))
    if any(not isinstance(s, int) or s < 0 for s in shape):
        raise _bad(shown, ".npz", f"{name} has the shape {shape}")
    return tuple(shape), fortran, dtype, member.tell()


SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8",
                      "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


class SafetensorsFile(TensorFile):
    """The safetensors format: 8 bytes (little-endian header length), a JSON header
    ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}``, then the data."""

    kind = ".safetensors"

    def __init__(self, path: Path, shown: str):
        super().__init__(path, shown)
        self._entries: dict[str, tuple[str, int, int]] = {}
        try:
            with open_regular(path, MAX_FILE_BYTES, "weights") as fh:
                size = os.fstat(fh.fileno()).st_size
                head = fh.read(8)
                if len(head) < 8:
                    raise _bad(shown, self.kind, "it is shorter than its header")
                n = int.from_bytes(head, "little")
                if n > min(MAX_HEADER_BYTES, size - 8):
                    raise _bad(shown, self.kind, f"its header claims {n} bytes")
                header = json.loads(fh.read(n).decode("utf-8"))
        except FileProblem as exc:
            raise WeightFileError(f"{shown}: {exc}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise _bad(shown, self.kind, str(exc) or type(exc).__name__) from None
        if not isinstance(header, dict) or len(header) > MAX_TENSORS + 1:
            raise _bad(shown, self.kind, "its header is not a table of tensors")
        data_size = size - 8 - n
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            self._check(name, entry, data_size)
            self._entries[name] = (entry["dtype"], 8 + n + entry["data_offsets"][0],
                                   entry["data_offsets"][1] - entry["data_offsets"][0])
            self.shapes[name] = tuple(entry["shape"])

    def _check(self, name, entry, data_size: int) -> None:
        shown = self.shown
        if not isinstance(entry, dict) or len(name) > MAX_NAME:
            raise _bad(shown, self.kind, f"the header entry {name[:60]!r} is not a tensor")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in SAFETENSORS_DTYPES:
            raise _bad(shown, self.kind, f"{name} has the dtype {str(dtype)[:20]!r}, which "
                       f"convexplorer does not read ({', '.join(SAFETENSORS_DTYPES)})")
        ok_shape = isinstance(shape, list) and len(shape) <= 8 and all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**40 for s in shape)
        ok_offsets = isinstance(offsets, list) and len(offsets) == 2 and all(
            isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        if not ok_shape or not ok_offsets:
            raise _bad(shown, self.kind, f"{name} has no valid shape and data offsets")
        begin, end = offsets
        need = math.prod(shape) * np.dtype(SAFETENSORS_DTYPES[dtype]).itemsize
        if not 0 <= begin <= end <= data_size or end - begin != need:
            raise _bad(shown, self.kind, f"{name} claims {shape} values at bytes {begin} to "
                       f"{end}, which the file does not hold")

    def array(self, name: str) -> np.ndarray:
        dtype, offset, count = self._entries[name]
        try:
            with open_regular(self.path, MAX_FILE_BYTES, "weights") as fh:
                fh.seek(offset)
                data = fh.read(count)
        except (FileProblem, OSError) as exc:
            raise _bad(self.shown, self.kind, str(exc)) from None
        if len(data) != count:
            raise _bad(self.shown, self.kind, f"{name} is cut short")
        raw = np.frombuffer(data, dtype=SAFETENSORS_DTYPES[dtype])
        if dtype == "BF16":  # bfloat16: the top half of a float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        return _as_float(raw.reshape(self.shapes[name]))


def write_safetensors(path, arrays: dict[str, np.ndarray]) -> None:
    """Write float32/int64 arrays in the safetensors format (tests, and users without the
    safetensors package)."""
    header, blobs, pos = {}, [], 0
    for name, a in arrays.items():
        a = np.array(a, order="C")  # (ascontiguousarray makes a 0-d array 1-d)
        code = {"float32": "F32", "int64": "I64", "float64": "F64", "float16": "F16"}[a.dtype.name]
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape),
                        "data_offsets": [pos, pos + len(data)]}
        blobs.append(data)
        pos += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def open_tensor_file(path, shown: str | None = None) -> TensorFile:
    """The ``.npz`` or ``.safetensors`` file at ``path``; WeightFileError if it cannot be."""
    path = Path(path)
    shown = shown or str(path)
    if not path.exists():
        raise WeightFileError(NO_SUCH_FILE.format(path=shown))
    if path.suffix.lower() == ".npz":
        return NpzFile(path, shown)
    return SafetensorsFile(path, shown)
