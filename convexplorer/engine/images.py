"""Activation images as PNG files: all channels of one batch item at full resolution.

2-D maps become a grid of channel images (one pixel per value, a 1-pixel gap between maps);
1-D maps become strips, one row band per channel; a plain vector becomes one strip. numpy and
Pillow only, so the command line and the window's export write the same files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

# viridis, sampled at 9 points (matplotlib's values); interpolated linearly
_VIRIDIS = np.array([
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], dtype=np.float64)
GAP_VALUE = (40, 40, 40)
STRIP_HEIGHT = 8  # pixels per channel for 1-D strips


def _viridis_lut() -> np.ndarray:
    """Viridis at 256 levels (linear between the 9 samples), as RGB uint8: one row per level."""
    v = np.linspace(0.0, len(_VIRIDIS) - 1, 256)
    lo = np.floor(v).astype(int)
    hi = np.minimum(lo + 1, len(_VIRIDIS) - 1)
    frac = (v - lo)[:, None]
    return (_VIRIDIS[lo] * (1 - frac) + _VIRIDIS[hi] * frac).round().astype(np.uint8)


LUT = _viridis_lut()


def colormap(values01: np.ndarray) -> np.ndarray:
    """Values in [0, 1] to RGB uint8 with viridis (256 levels, as the window draws them)."""
    v = np.clip(np.nan_to_num(np.asarray(values01, dtype=np.float64)), 0.0, 1.0)
    return LUT[(v * 255 + 0.5).astype(np.uint8)]


def normalize(a: np.ndarray, per_channel: bool = False) -> np.ndarray:
    """Scale to [0, 1] over the whole array, or per channel (first axis)."""
    a = np.asarray(a, dtype=np.float64)
    if per_channel and a.ndim >= 2:
        axes = tuple(range(1, a.ndim))
        lo = a.min(axis=axes, keepdims=True)
        hi = a.max(axis=axes, keepdims=True)
    else:
        lo, hi = a.min(), a.max()
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return (a - lo) / span


def _range(a: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite values of ``a`` (0, 0 if none)."""
    lo, hi = float(np.min(a)), float(np.max(a))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        finite = a[np.isfinite(a)]  # a copy, only for maps holding inf or nan
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return lo, hi


def levels(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``a`` scaled from [lo, hi] to 256 levels (uint8; nan is 0). One float32 temporary of
    ``a``'s size: a map of 4096 x 4096 values costs 80 MiB here, not a gigabyte in float64."""
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    t = np.empty(np.shape(a), dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        np.subtract(a, lo, out=t, casting="unsafe")
        t *= scale
        np.clip(t, 0.0, 255.0, out=t)
        np.nan_to_num(t, copy=False)
        t += 0.5
    return t.astype(np.uint8)


def grid_shape(channels: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid for ``channels`` maps."""
    cols = math.ceil(math.sqrt(channels))
    return math.ceil(channels / cols), cols


def channel_grid(item: np.ndarray, per_channel: bool = False) -> np.ndarray:
    """One batch item (C, H, W), (C, L) or (F,) as an RGB uint8 image. Drawn one channel at a
    time through a 256-level colour table, so it needs the image and one channel's
    temporaries, whatever the number of channels."""
    item = np.asarray(item)
    if item.ndim == 1:
        item = item[None]
    if item.ndim == 4:  # a volume (C, D, H, W): a row per channel, its depth slices across
        return _volume_grid(item, per_channel)
    if item.ndim > 4:  # beyond: show the first slice of extra dimensions
        item = item.reshape(item.shape[0], -1, *item.shape[-2:])[:, 0]
    whole = None if per_channel else _range(item)
    if item.ndim == 2:  # (C, L): strips
        c, length = item.shape
        out = np.empty((c * (STRIP_HEIGHT + 1) - 1, length, 3), dtype=np.uint8)
        out[:] = GAP_VALUE
        for ch in range(c):
            top = ch * (STRIP_HEIGHT + 1)
            out[top:top + STRIP_HEIGHT] = LUT[levels(item[ch], *(whole or _range(item[ch])))]
        return out
    c, h, w = item.shape
    rows, cols = grid_shape(c)
    out = np.empty((rows * (h + 1) - 1, cols * (w + 1) - 1, 3), dtype=np.uint8)
    out[:] = GAP_VALUE
    for ch in range(c):
        r, q = divmod(ch, cols)
        lo, hi = whole or _range(item[ch])
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = LUT[levels(item[ch], lo,
                                                                                  hi)]
    return out


def _volume_grid(item: np.ndarray, per_channel: bool) -> np.ndarray:
    """(C, D, H, W) as one image: channel c's depth slices 0..D-1 side by side in row c."""
    c, d, h, w = item.shape
    whole = None if per_channel else _range(item)
    out = np.empty((c * (h + 1) - 1, d * (w + 1) - 1, 3), dtype=np.uint8)
    out[:] = GAP_VALUE
    for ch in range(c):
        lo, hi = whole or _range(item[ch])
        for z in range(d):
            out[ch * (h + 1):ch * (h + 1) + h, z * (w + 1):z * (w + 1) + w] = \
                LUT[levels(item[ch, z], lo, hi)]
    return out


def save_png(rgb: np.ndarray, path: str | Path) -> None:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(rgb)).save(path)


def save_activation_png(array: np.ndarray, path: str | Path, batch: int = 0,
                        per_channel: bool = False) -> None:
    """All channels of ``array[batch]`` as one PNG."""
    save_png(channel_grid(array[batch], per_channel), path)


def save_channel_pngs(
    array: np.ndarray, folder: str | Path, stem: str, batch: int = 0
) -> list[Path]:
    """Each channel of ``array[batch]`` as its own PNG (grayscale scaled to its own range); a
    volume's channel as one PNG per depth slice (``STEM_cC_dD.png``), on the channel's range."""
    from PIL import Image

    folder = Path(folder)
    item = np.asarray(array[batch])
    paths = []
    if item.ndim < 2:
        item = item[None]
    for ch in range(item.shape[0]):
        data = item[ch]
        if data.ndim == 1:
            data = data[None]
        if data.ndim == 3:
            lo, hi = _range(data)
            for z in range(data.shape[0]):
                p = folder / f"{stem}_c{ch}_d{z}.png"
                Image.fromarray(levels(data[z], lo, hi)).save(p)
                paths.append(p)
            continue
        img = levels(data, *_range(data))
        p = folder / f"{stem}_c{ch}.png"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths
