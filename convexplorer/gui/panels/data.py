"""The numpy side of the panels: what to show of an array, scaling, channel mosaics, win counts
and influence maps. No Qt here, so it is tested on its own and stays fast on big maps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...engine.images import grid_shape
from ...model.shapes import fmt_shape
from ...model.spec import shown_name

DISPLAY_BUDGET = 2_000_000  # display pixels per page: above this, maps are block-averaged
MAX_PAGE = 64  # channels per page of the grid
GAP_RGB = (40, 40, 40)


def batch_count(array: np.ndarray) -> int:
    """How many batch items an array has (a 1-D array, e.g. after Flatten(0), has one)."""
    return array.shape[0] if array.ndim >= 2 else 1


def batch_item(array: np.ndarray, batch: int, depth: int | None = None) -> np.ndarray:
    """One batch item: (C, H, W) images, (C, L) curves or (F,) a vector. A volume
    (C, D, H, W) shows its slice ``depth`` (the first when None); more leading spatial
    dimensions show their first slice."""
    item = array[min(batch, array.shape[0] - 1)] if array.ndim >= 2 else array
    if item.ndim == 4:
        return item[:, min(depth or 0, item.shape[1] - 1)]
    if item.ndim > 4:
        item = item.reshape(item.shape[0], -1, *item.shape[-2:])[:, 0]
    return item


def kind_of(item: np.ndarray) -> str:
    return {3: "image", 2: "curves"}.get(item.ndim, "vector")


def scale(item: np.ndarray, per_channel: bool, diverging: bool) -> tuple[np.ndarray, tuple]:
    """Values to colour and the levels (low, high) of the colour bar.

    Shared scaling keeps the values and uses the item's range (diverging: symmetric about 0).
    Per-channel scaling maps each channel onto 0..1 (diverging: -1..1, 0 stays 0)."""
    a = np.asarray(item, dtype=np.float32)
    if a.size == 0:
        return a, (0.0, 1.0)
    if per_channel and a.ndim >= 2:
        axes = tuple(range(1, a.ndim))
        if diverging:
            m = np.abs(a).max(axis=axes, keepdims=True)
            return a / np.where(m > 0, m, 1), (-1.0, 1.0)
        lo, hi = a.min(axis=axes, keepdims=True), a.max(axis=axes, keepdims=True)
        return (a - lo) / np.where(hi > lo, hi - lo, 1), (0.0, 1.0)
    if diverging:
        m = float(np.abs(a).max()) or 1.0
        return a, (-m, m)
    lo, hi = float(a.min()), float(a.max())
    return a, (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


@dataclass(frozen=True)
class Mosaic:
    """Where each channel of a page sits: channel ``first + i`` is at grid cell divmod(i, cols).
    Positions are in data units; ``factor`` is the display downsampling; ``top`` is the height
    of an empty band above each map (a multiple of ``factor``) that holds its channel number,
    so that the number covers no data."""

    first: int
    count: int
    rows: int
    cols: int
    h: int
    w: int
    factor: int = 1
    top: int = 0

    @property
    def pitch(self) -> tuple[int, int]:
        f = self.factor
        return (-(-self.h // f) + 1) * f + self.top, (-(-self.w // f) + 1) * f

    @property
    def size(self) -> tuple[float, float]:
        """Height and width of the whole mosaic in data units."""
        py, px = self.pitch
        return self.rows * py - self.factor, self.cols * px - self.factor

    def origin(self, channel: int) -> tuple[int, int]:
        """Top-left (y, x) of a channel's map."""
        r, c = divmod(channel - self.first, self.cols)
        py, px = self.pitch
        return r * py + self.top, c * px

    def hit(self, y: float, x: float) -> tuple[int, tuple[int, int]] | None:
        """The channel and (row, column) under a point, or None (gap, band, outside)."""
        if y < 0 or x < 0:
            return None
        py, px = self.pitch
        r, c = int(y // py), int(x // px)
        yy, xx = int(y - r * py - self.top), int(x - c * px)
        i = r * self.cols + c
        if c >= self.cols or i >= self.count or yy >= self.h or xx >= self.w or \
                y - r * py < self.top:
            return None
        return self.first + i, (yy, xx)


def page_layout(channels: int, h: int, w: int, page: int, per_page: int = MAX_PAGE,
                budget: int = DISPLAY_BUDGET, label_band: int = 0) -> Mosaic:
    """The mosaic of page ``page`` (channels page*per_page ...), downsampled to fit ``budget``.
    ``label_band``: display pixels of empty band above each map of a page of several, for its
    number (``label_band_for``)."""
    first = min(page * per_page, max(channels - 1, 0))
    count = max(min(per_page, channels - first), 0)
    rows, cols = grid_shape(max(count, 1))
    factor = max(1, math.ceil(math.sqrt(count * h * w / budget)))
    top = factor * label_band if count > 1 else 0
    return Mosaic(first, count, rows, cols, h, w, factor, top)


def label_band_for(m: Mosaic, view_w: float, view_h: float, text_h: float) -> int:
    """The band (display pixels) above each map that holds a number ``text_h`` screen pixels
    high when the whole page fills a ``view_w`` x ``view_h`` view; 0 where that band would be
    more than a map's height (tiny maps: no numbers, the maps keep the room)."""
    if m.count <= 1 or view_w <= 0 or view_h <= 0:
        return 0
    hd, wd = -(-m.h // m.factor), -(-m.w // m.factor)
    band = 0
    for _ in range(4):  # the band shrinks the maps a little: settle it
        per_unit = min(view_w / (m.cols * (wd + 1) - 1),
                       view_h / (m.rows * (hd + 1 + band) - 1))
        need = math.ceil(text_h / per_unit)
        if need == band:
            break
        band = need
    return band if band <= hd else 0


def downsample(maps: np.ndarray, f: int) -> np.ndarray:
    """Block means of f x f over the last two axes (edges padded by repetition)."""
    if f == 1:
        return maps
    h, w = maps.shape[-2:]
    ph, pw = -h % f, -w % f
    if ph or pw:
        maps = np.pad(maps, [(0, 0)] * (maps.ndim - 2) + [(0, ph), (0, pw)], mode="edge")
    c = maps.shape[:-2]
    return maps.reshape(*c, (h + ph) // f, f, (w + pw) // f, f).mean(axis=(-3, -1))


def quantize(values: np.ndarray, levels: tuple[float, float], n: int = 255) -> np.ndarray:
    """Colour-table indices (uint8) of ``values`` at ``levels``: 1..n from low to high, 0 for
    NaN. Drawn through a table whose entry 0 is transparent (``base.index_lut``), an image
    needs no per-pixel colour lookup in Python: Qt draws the indexed image as it is."""
    lo, hi = levels
    with np.errstate(invalid="ignore", over="ignore"):  # inf levels or values: NaN, see below
        k = np.float32((n - 1) / ((hi - lo) or 1.0))
        t = np.multiply(values, k, dtype=np.float32)
        t += np.float32(1.5 - lo * k)  # 1 at lo, n at hi; +0.5 rounds when cast
        np.clip(t, 1, n + 0.499, out=t)
    if np.isnan(t.min()):  # rare (a NaN in the data); the check is one pass, the fix four
        np.nan_to_num(t, copy=False, nan=0.0)
    return t.astype(np.uint8)


def compose(maps: np.ndarray, m: Mosaic, fill=np.nan) -> np.ndarray:
    """The page's maps (``m.count`` of them) in one array of their dtype, ``fill`` in the gaps
    and label bands (NaN for floats: drawn transparent), at the display resolution."""
    maps = downsample(maps, m.factor)
    ch, cw = maps.shape[-2:]
    band = m.top // m.factor
    py = ch + 1 + band
    out = np.full((m.rows * py - 1, m.cols * (cw + 1) - 1), fill, dtype=maps.dtype)
    for i in range(m.count):
        r, c = divmod(i, m.cols)
        y = r * py + band
        out[y:y + ch, c * (cw + 1):c * (cw + 1) + cw] = maps[i]
    return out


def to_rgb(values: np.ndarray, levels: tuple[float, float], lut: np.ndarray,
           gap=GAP_RGB) -> np.ndarray:
    """Colour through a lookup table (n x 3 uint8) at ``levels``; NaN becomes ``gap``."""
    lo, hi = levels
    t = (np.asarray(values, dtype=np.float64) - lo) / ((hi - lo) or 1.0)
    nan = np.isnan(t)
    idx = np.clip(np.rint(np.nan_to_num(t) * (len(lut) - 1)), 0, len(lut) - 1).astype(np.intp)
    rgb = lut[idx][..., :3].astype(np.uint8)
    rgb[nan] = gap
    return rgb


def hstack_rgb(images: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Images side by side, top-aligned, ``gap`` pixels apart on the gap colour."""
    h = max(im.shape[0] for im in images)
    w = sum(im.shape[1] for im in images) + gap * (len(images) - 1)
    out = np.empty((h, w, 3), dtype=np.uint8)
    out[:] = GAP_RGB
    x = 0
    for im in images:
        out[:im.shape[0], x:x + im.shape[1]] = im
        x += im.shape[1] + gap
    return out


# -- pooling indices ----------------------------------------------------------------------------

def win_counts(indices: np.ndarray, size: int) -> np.ndarray:
    """How many windows each of ``size`` flat input positions won (indices of one channel)."""
    return np.bincount(np.asarray(indices, dtype=np.int64).ravel(), minlength=size)[:size]


WIN_COLOURS = np.array([[0, 0, 0, 0], [255, 214, 0, 200], [255, 128, 0, 220],
                        [230, 20, 20, 235]], dtype=np.uint8)


def win_overlay(counts: np.ndarray) -> np.ndarray:
    """RGBA overlay: transparent where nothing was won, yellow (1), orange (2), red (3+)."""
    return WIN_COLOURS[np.minimum(counts, 3)]


def blend(rgb: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    out = rgb.astype(np.float32) * (1 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    return np.rint(out).astype(np.uint8)


def unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.unravel_index(int(flat), shape))


# -- receptive field ------------------------------------------------------------------------------

def influence(grad: np.ndarray, batch: int) -> np.ndarray:
    """|gradient| of one batch item summed over channels: (D, H, W), (H, W) or (1, L) for
    1-D."""
    g = np.abs(np.asarray(grad[batch], dtype=np.float64)).sum(axis=0)
    return g[None] if g.ndim == 1 else g


def influence_display(strength: np.ndarray) -> np.ndarray:
    """0 where the gradient is exactly zero; nonzero positions at 0.3..1 (log-scaled), so even
    a tiny influence stays visible next to a large one."""
    out = np.zeros(strength.shape, dtype=np.float32)
    nz = strength > 0
    if nz.any():
        logs = np.log10(strength[nz])
        lo, hi = logs.min(), logs.max()
        out[nz] = 0.3 + 0.7 * ((logs - lo) / (hi - lo) if hi > lo else 1.0)
    return out


# -- kernels of one output channel ----------------------------------------------------------------

def kernel_inputs(layer, channel: int) -> range | None:
    """The input channels whose kernels make output ``channel`` of a conv layer (a
    ``LayerResult``): with ``groups``, those of its own group; None for other layers."""
    w = layer.params.get("weight")
    if w is None or not layer.type.startswith("Conv"):
        return None
    in_ch = layer.input_shape[1]
    if layer.type.startswith("ConvTranspose"):
        per_out = w.shape[1]
        per_in = in_ch // (layer.output_shape[1] // per_out)
        g = channel // per_out
    else:
        per_in = w.shape[1]
        g = channel // (w.shape[0] // (in_ch // per_in))
    return range(g * per_in, (g + 1) * per_in)


def kernels_of(layer, channel: int) -> tuple[np.ndarray | None, str, str]:
    """The weights that make output ``channel`` of a layer (a ``LayerResult``): the array to
    show (one kernel per input channel it sees), its name as torch indexes it, and a sentence."""
    w, b = layer.params.get("weight"), layer.params.get("bias")
    name = shown_name(layer.name)
    bias = f" plus bias[{channel}] = {float(b[channel]):.4g}" if b is not None and \
        b.ndim == 1 and channel < b.shape[0] else ""
    if w is None:
        return None, "", f"{layer.type} has no weights."
    if layer.type.startswith("Conv"):
        in_ch = layer.input_shape[1]
        if layer.type.startswith("ConvTranspose"):
            per_out = w.shape[1]
            groups = layer.output_shape[1] // per_out
            per_in = in_ch // groups
            g, j = divmod(channel, per_out)
            kern = w[g * per_in:(g + 1) * per_in, j]
            where = f"{name}.weight[{g * per_in}:{(g + 1) * per_in}, {j}]"
        else:
            per_in = w.shape[1]
            groups = in_ch // per_in
            g = channel // (w.shape[0] // groups)
            kern = w[channel]
            where = f"{name}.weight[{channel}]"
        size = "x".join(str(s) for s in kern.shape[1:])
        first, last = g * per_in, (g + 1) * per_in - 1
        seen = f"input channel {first}" if first == last else f"input channels {first}\u2013{last}"
        group = f" (group {g} of {groups})" if groups > 1 else ""
        text = (f"Output channel {channel} = sum over {seen}{group} of that channel filtered "
                f"with its own {size} kernel{bias}. {where} is {fmt_shape(kern.shape)}: "
                f"{kern.shape[0]} kernel{'s' if kern.shape[0] != 1 else ''}, one per input "
                f"channel it sees.")
        return kern, where, text
    if layer.type == "Linear":
        row = w[channel]
        return row, f"{name}.weight[{channel}]", (
            f"Output feature {channel} = weight[{channel}] \u00b7 input{bias}: "
            f"{name}.weight[{channel}] is {fmt_shape(row.shape)}, one weight per input feature.")
    if w.ndim == 1:
        return None, "", (f"{layer.type} channel {channel}: weight[{channel}] = "
                          f"{float(w[channel]):.4g} (scale){bias} (shift).")
    return None, "", f"{layer.type}: weight {fmt_shape(w.shape)}."
