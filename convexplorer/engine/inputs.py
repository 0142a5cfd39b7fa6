"""Input arrays: seeded random tensors (torch's own randn/rand), synthetic 1-D signals, image
files and .npy files.

numpy and Pillow at import (torch only inside ``random_input``, which the worker calls), so the
GUI can preview an input and read its shape cheaply.
"""

from __future__ import annotations

import math
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.files import NO_SUCH_FILE, FileProblem, open_regular, short_path
from ..model.limits import fmt_number
from ..model.spec import InputSpec
from ..resources_path import resources_dir

MAX_IMAGE_PIXELS = 4096 * 4096  # larger images are refused rather than risk running out of memory
MAX_INPUT_ELEMENTS = 2**28  # 1 GiB of float32
SAMPLE_PREFIX = "sample:"


class InputError(ValueError):
    """An input that cannot be used; the message names the file and the fix."""


def resolve_path(path: str, base_dir: str | os.PathLike | None = None) -> Path:
    """``sample:NAME`` is a bundled sample image; a relative path is relative to the config's
    folder (``base_dir``) when given, else to the current directory."""
    if path.startswith(SAMPLE_PREFIX):
        return resources_dir() / "images" / path[len(SAMPLE_PREFIX):]
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def sample_images() -> list[str]:
    """The bundled sample images, as ``sample:NAME`` paths."""
    folder = resources_dir() / "images"
    return sorted(SAMPLE_PREFIX + p.name for p in folder.glob("*.png"))


# Messages: whole sentences with named placeholders (a translation needs them whole).
NO_IMAGE = "{path}: no such image file"
NO_NPY = "{path}: no such .npy file"
UNREADABLE = "{path}: {reason}"
NOT_AN_IMAGE = "{path}: not an image (PNG, JPEG or BMP expected)"
OTHER_FORMAT = ("{path}: the image is in {format} format; convexplorer reads PNG, JPEG or BMP, "
                "so convert it first")
DAMAGED_IMAGE = "{path}: damaged image ({reason})"
TOO_MANY_PIXELS = ("{path}: image is {width}x{height}, larger than {limit} pixels; resize it "
                   "first or set a smaller input size")
CLAIMS_TOO_MANY = ("{path}: the image claims to be far larger than {limit} pixels; resize it "
                   "first or use another image")
NOT_NPY = "{path}: not a readable .npy array ({reason})"
NPY_OBJECTS = ("{path}: not a readable .npy array (it holds Python objects, which are never "
               "unpickled); save a numeric array")
NPY_SHORT = ("{path}: not a readable .npy array (the file has {size} bytes, its header "
             "promises {needed})")
NO_FLOAT32 = ("{path}: values up to {largest} do not fit float32 (at most {limit}); scale "
              "the array down first")

# Files are read only if regular and at most this large: a 4096 x 4096 image is at most 64 MiB
# even as an uncompressed 32-bit BMP; a .npy holds at most MAX_INPUT_ELEMENTS of 8 bytes.
MAX_IMAGE_BYTES = 128 << 20
MAX_NPY_BYTES = MAX_INPUT_ELEMENTS * 8 + (1 << 20)
IMAGE_FORMATS = ("PNG", "JPEG", "BMP")
# What a file starts with: the formats read, and others named in the refusal
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"BM", "BMP"),
          (b"GIF8", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
          (b"\x00\x00\x01\x00", "ICO"), (b"RIFF", "WebP"), (b"\x00\x00\x00\x0cjP", "JPEG 2000"),
          (b"8BPS", "Photoshop"))


def _shown(path) -> str:
    return short_path(path)


def _sniff(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


@contextmanager
def _image(path: Path):
    """The image at ``path``, opened (only its header is read until it is used): a regular
    file of at most MAX_IMAGE_BYTES, a PNG, JPEG or BMP, of at most MAX_IMAGE_PIXELS."""
    from PIL import Image

    try:
        fh = open_regular(path, MAX_IMAGE_BYTES, "image")
    except FileProblem as exc:
        template = NO_IMAGE if exc.message == NO_SUCH_FILE else UNREADABLE
        raise InputError(template.format(path=_shown(path), reason=exc)) from None
    with fh:
        kind = _sniff(fh.read(16))
        fh.seek(0)
        if kind is None:
            raise InputError(NOT_AN_IMAGE.format(path=_shown(path)))
        if kind not in IMAGE_FORMATS:
            raise InputError(OTHER_FORMAT.format(path=_shown(path), format=kind))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(fh, formats=[kind])
        except Image.DecompressionBombError:
            raise InputError(CLAIMS_TOO_MANY.format(path=_shown(path),
                                                    limit=MAX_IMAGE_PIXELS)) from None
        except Exception as exc:  # Pillow's parsers raise many types on damaged headers
            raise InputError(_damaged(path, exc)) from None
        with img:
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                raise InputError(TOO_MANY_PIXELS.format(path=_shown(path), width=w, height=h,
                                                        limit=MAX_IMAGE_PIXELS))
            yield img


def _damaged(path, exc: BaseException) -> str:
    reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    return DAMAGED_IMAGE.format(path=_shown(path), reason=reason)


@dataclass(frozen=True)
class _NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    offset: int  # where the data starts


def _npy_header(path: Path, fh) -> _NpyHeader:
    shown = _shown(path)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, EOFError) as exc:
        reason = (str(exc).strip().splitlines() or ["damaged header"])[0][:120]
        raise InputError(NOT_NPY.format(path=shown, reason=reason)) from None
    except Exception:  # numpy parses the header with ast: SyntaxError, TokenError...
        raise InputError(NOT_NPY.format(path=shown, reason="damaged header")) from None
    if dtype.hasobject:
        raise InputError(NPY_OBJECTS.format(path=shown))
    if dtype.kind not in "biuf":
        raise InputError(f"{shown}: dtype {dtype} is not numeric; save float32 values")
    shape = tuple(shape)
    listed = "[" + ", ".join(fmt_number(s) for s in shape[:8]) + (", ..." if len(shape) > 8
                                                                 else "") + "]"
    if not 2 <= len(shape) <= 5 or any(s < 0 for s in shape):
        raise InputError(f"{shown}: array has shape {listed}; expected (N, C, L), "
                         "(N, C, H, W) or (N, C, D, H, W), with the batch dimension first")
    size = math.prod(shape)
    if size == 0:
        raise InputError(f"{shown}: array is empty (shape {listed})")
    if size > MAX_INPUT_ELEMENTS:
        raise InputError(f"{shown}: array has {fmt_number(size)} values, more than "
                         f"{MAX_INPUT_ELEMENTS}")
    offset = fh.tell()
    needed = offset + size * dtype.itemsize
    actual = os.fstat(fh.fileno()).st_size
    if actual < needed:
        raise InputError(NPY_SHORT.format(path=shown, size=actual, needed=needed))
    return _NpyHeader(shape, dtype, fortran, offset)


@contextmanager
def _npy(path: Path):
    """A .npy file opened, with its header checked (a regular file, numeric, rank 2 to 5, not
    empty, not too large, as long as its header says): (header, file)."""
    try:
        fh = open_regular(path, MAX_NPY_BYTES, ".npy array")
    except FileProblem as exc:
        template = NO_NPY if exc.message == NO_SUCH_FILE else UNREADABLE
        raise InputError(template.format(path=_shown(path), reason=exc)) from None
    with fh:
        yield _npy_header(path, fh), fh


def _read_npy(path: Path) -> np.ndarray:
    """A .npy file's array as float32 (a fresh, writeable copy)."""
    shown = _shown(path)
    with _npy(path) as (header, fh):
        fh.seek(header.offset)
        count = math.prod(header.shape)
        try:
            flat = np.fromfile(fh, dtype=header.dtype, count=count)
        except (OSError, ValueError) as exc:
            raise InputError(NOT_NPY.format(path=shown, reason=exc)) from None
    if flat.size != count:
        raise InputError(NOT_NPY.format(path=shown, reason="the data ends early"))
    arr = flat.reshape(header.shape, order="F" if header.fortran else "C")
    if arr.dtype.kind == "f":  # min and max need no copy; NaN makes both NaN
        lo, hi = float(arr.min()), float(arr.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise InputError(f"{shown}: array holds NaN or infinite values")
        largest = max(-lo, hi)
        limit = float(np.finfo(np.float32).max)
        if largest > limit:
            raise InputError(NO_FLOAT32.format(path=shown, largest=f"{largest:.3g}",
                                               limit=f"{limit:.3g}"))
    return np.ascontiguousarray(arr, dtype=np.float32)


SIGNAL_RANK = ("input shape {shape}: a signal has a shape (N, C, L) of 3 values (or up to 5: "
               "N, C, then sizes)")


def _generated_shape(spec: InputSpec) -> tuple[int, ...]:
    """A random or signal input's shape, checked: sizes of at least 1, not too many values,
    a signal with a length."""
    shape = tuple(spec.shape)
    if any(s < 1 for s in shape):
        raise InputError(f"input shape {list(shape)}: every size must be at least 1")
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise InputError(f"input shape {list(shape)} has more than {MAX_INPUT_ELEMENTS} "
                         "values; use a smaller shape")
    if spec.source == "signal" and len(shape) < 3:
        raise InputError(SIGNAL_RANK.format(shape=list(shape)))
    return shape


def input_shape(spec: InputSpec, base_dir=None) -> tuple[int, ...]:
    """The input's shape without loading its data (reads only image and .npy headers)."""
    if spec.source in ("random", "signal"):
        return _generated_shape(spec)
    path = resolve_path(spec.path or "", base_dir)
    if spec.source == "npy":
        with _npy(path) as (header, _fh):
            return header.shape
    channels = 1 if spec.mode == "L" else 3
    with _image(path) as img:  # only the header: still an image, and not too large to load
        w, h = img.size
    return (1, channels) + (tuple(spec.size) if spec.size is not None else (h, w))


def decoded_bytes(spec: InputSpec, base_dir=None) -> int:
    """Bytes that loading the input takes at its peak, read from headers only: the float32
    array and what it is made from (model.memory adds it to the estimate). An input that
    cannot be read counts 0 (its problem is reported elsewhere)."""
    try:
        shape = input_shape(spec, base_dir)
    except InputError:
        return 0
    values = math.prod(shape)
    if spec.source == "random":
        return 4 * values
    if spec.source == "signal":  # float64 rows, a float32 copy, the broadcast copy
        return 16 * values
    path = resolve_path(spec.path or "", base_dir)
    try:
        if spec.source == "npy":
            with _npy(path) as (header, _fh):
                return (header.dtype.itemsize + 4) * values
        with _image(path) as img:
            w, h = img.size
            src = 1 if img.mode in ("1", "L", "P") else 4  # Pillow keeps RGB in 4 bytes
    except InputError:
        return 0
    channels = shape[1]
    mode = 1 if channels == 1 else 4
    # decoded, converted to the mode, resized; then uint8 and float32 arrays of the result
    return w * h * (src + mode) + values // channels * (mode + channels + 4 * channels)


def file_spec(path: str | os.PathLike) -> InputSpec:
    """The input a .npy or image file given directly (--input) makes."""
    p = Path(path)
    return InputSpec(source="npy" if p.suffix.lower() == ".npy" else "image", path=str(p))


def input_file_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The shape of a .npy or image file given directly (--input), from its header."""
    return input_shape(file_spec(path))


def signal(shape, kind, frequency):
    """convexplorer's synthetic 1-D signals (batch item b at frequency * (1 + b/2), channel c
    shifted by c * pi/4), as float32. Self-contained (numpy as np only): the runnable script
    (engine.script) carries this very function's source."""
    n, c, length = shape[0], shape[1], shape[-1]
    t = np.linspace(0.0, 1.0, length, endpoint=False)
    rows = []
    for b in range(n):
        for ch in range(c):
            f = frequency * (1 + 0.5 * b)
            phase = ch * np.pi / 4
            if kind == "sine":
                y = np.sin(2 * np.pi * f * t + phase)
            elif kind == "square":
                y = np.sign(np.sin(2 * np.pi * f * t + phase))
            elif kind == "step":
                y = (t >= (0.5 + 0.1 * ch) % 1.0).astype(float)
            elif kind == "chirp":
                y = np.sin(2 * np.pi * (f * t + 4 * f * t * t) + phase)
            else:  # impulse
                y = np.zeros(length)
                y[min(length - 1, length // 2 + ch)] = 1.0
            rows.append(y)
    arr = np.asarray(rows, dtype=np.float32).reshape(n, c, length)
    return np.broadcast_to(arr.reshape((n, c) + (1,) * (len(shape) - 3) + (length,)),
                           shape).copy()


def load_image(path: Path, size=None, mode: str = "L") -> np.ndarray:
    """An image file as a 1 x C x H x W float32 array in [0, 1]."""
    from PIL import Image

    with _image(path) as src:
        try:
            img = src.convert(mode)
            if size is not None:
                h, w = size
                img = img.resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32)
            arr /= 255.0
        except MemoryError:
            raise
        except Exception as exc:  # Pillow's decoders raise many types on damaged data
            raise InputError(_damaged(path, exc)) from None
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr[None])


def random_input(shape, seed: int, distribution: str = "normal") -> np.ndarray:
    """Exactly ``torch.manual_seed(seed); torch.randn(shape)`` (``torch.rand`` for uniform)
    on the CPU, whatever device the run uses, so a script gets the same numbers. A generator
    of its own leaves torch's global random state alone. (torch is imported here, in the
    worker: the window never calls this.)"""
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    make = torch.rand if distribution == "uniform" else torch.randn
    return make(tuple(shape), generator=gen).numpy()


def load_input(spec: InputSpec, base_dir=None) -> np.ndarray:
    """The input as a float32 array (N, C, ...)."""
    if spec.source in ("random", "signal"):
        shape = _generated_shape(spec)
        if spec.source == "signal":
            return signal(tuple(spec.shape), spec.signal, spec.frequency)
        return random_input(shape, spec.seed, spec.distribution)
    path = resolve_path(spec.path or "", base_dir)
    if spec.source == "npy":
        return _read_npy(path)
    return load_image(path, spec.size, spec.mode)


def load_input_file(path: str | os.PathLike) -> np.ndarray:
    """A .npy or image file given directly (the command line's --input)."""
    return load_input(file_spec(path))
