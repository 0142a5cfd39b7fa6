"""Input arrays: seeded random tensors (torch's own randn/rand), synthetic 1-D signals, image
files and .npy files.

numpy and Pillow at import (torch only inside ``random_input``, which the worker calls), so the
GUI can preview an input and read its shape cheaply.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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


def _open_image(path: Path):
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    try:
        img = Image.open(path)
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image (PNG, JPEG or BMP expected)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    w, h = img.size
    if w * h > MAX_IMAGE_PIXELS:
        img.close()
        raise InputError(f"{path}: image is {w}x{h}, larger than {MAX_IMAGE_PIXELS} pixels; "
                         "resize it first or set a smaller input size")
    return img


def _check_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"{path}: no such .npy file")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{path}: holds several arrays; save one array with numpy.save")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{path}: dtype {arr.dtype} is not numeric; save float32 values")
    if not 2 <= arr.ndim <= 5:
        raise InputError(f"{path}: array has shape {list(arr.shape)}; expected (N, C, L) or "
                         "(N, C, H, W), with the batch dimension first")
    if arr.size == 0:
        raise InputError(f"{path}: array is empty (shape {list(arr.shape)})")
    if arr.size > MAX_INPUT_ELEMENTS:
        raise InputError(f"{path}: array has {arr.size} values, more than {MAX_INPUT_ELEMENTS}")
    return arr


def input_shape(spec: InputSpec, base_dir=None) -> tuple[int, ...]:
    """The input's shape without loading its data (reads only image and .npy headers)."""
    if spec.source in ("random", "signal"):
        return tuple(spec.shape)
    path = resolve_path(spec.path or "", base_dir)
    if spec.source == "npy":
        return tuple(_check_npy(path).shape)
    channels = 1 if spec.mode == "L" else 3
    if spec.size is not None:
        with _open_image(path):  # only the header: still an image, and not too large to load
            pass
        return (1, channels) + tuple(spec.size)
    with _open_image(path) as img:
        w, h = img.size
    return (1, channels, h, w)


def _signal(spec: InputSpec) -> np.ndarray:
    shape = tuple(spec.shape)
    n, c, length = shape[0], shape[1], shape[-1]
    t = np.linspace(0.0, 1.0, length, endpoint=False)
    rows = []
    for b in range(n):
        for ch in range(c):
            f = spec.frequency * (1 + 0.5 * b)
            phase = ch * np.pi / 4
            if spec.signal == "sine":
                y = np.sin(2 * np.pi * f * t + phase)
            elif spec.signal == "square":
                y = np.sign(np.sin(2 * np.pi * f * t + phase))
            elif spec.signal == "step":
                y = (t >= (0.5 + 0.1 * ch) % 1.0).astype(float)
            elif spec.signal == "chirp":
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

    src = _open_image(path)
    try:
        with src:
            img = src.convert(mode)
        if size is not None:
            h, w = size
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0
    except OSError as exc:
        raise InputError(f"{path}: damaged image ({exc})") from None
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
        shape = tuple(spec.shape)
        if any(s < 1 for s in shape):
            raise InputError(f"input shape {list(shape)}: every size must be at least 1")
        if int(np.prod(shape)) > MAX_INPUT_ELEMENTS:
            raise InputError(f"input shape {list(shape)} has more than {MAX_INPUT_ELEMENTS} "
                             "values; use a smaller shape")
        if spec.source == "signal":
            return _signal(spec)
        return random_input(shape, spec.seed, spec.distribution)
    path = resolve_path(spec.path or "", base_dir)
    if spec.source == "npy":
        arr = _check_npy(path)
        out = np.array(arr, dtype=np.float32)  # a copy: the memory map is read-only
        if not np.isfinite(out).all():
            raise InputError(f"{path}: array holds NaN or infinite values")
        return np.ascontiguousarray(out)
    return load_image(path, spec.size, spec.mode)


def load_input_file(path: str | os.PathLike) -> np.ndarray:
    """A .npy or image file given directly (the command line's --input)."""
    p = Path(path)
    if p.suffix.lower() == ".npy":
        return load_input(InputSpec(source="npy", path=str(p)))
    return load_input(InputSpec(source="image", path=str(p)))
