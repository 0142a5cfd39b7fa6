"""The windows of pools: a fixed window sliding with stride, padding, dilation and ceil_mode
(MaxPool, AvgPool), or torch's adaptive windows (AdaptiveMaxPool, AdaptiveAvgPool), and the
sentences that place them on the input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .breakdown import WindowDim
from .request import Request
from .text import ints, say
from .window import axes, sizes, sliding_dim


@dataclass(frozen=True)
class PoolWindow:
    """The unit's window: per dimension its geometry and the input positions it reads."""

    dims: tuple[WindowDim, ...]
    read: tuple[np.ndarray, ...]  # input positions read, per dimension
    adaptive: bool

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(r) for r in self.read)

    @property
    def kernel_text(self) -> str:
        return "×".join(str(w.kernel_size) for w in self.dims)


def adaptive_bounds(o: int, n: int, out: int) -> tuple[int, int]:
    """torch's adaptive window of output position ``o``: floor(o*n/out) to ceil((o+1)*n/out)."""
    return (o * n) // out, -(-((o + 1) * n) // out)


def pool_window(req: Request) -> PoolWindow:
    kw, x, unit, dims = req.kwargs, req.x, req.unit, req.dims
    out_pos = unit[2:]
    if req.info.spec.layer_type.is_adaptive:
        wds, read = [], []
        for j, axis in enumerate(axes(dims)):
            n, out = x.shape[2 + j], req.y.shape[2 + j]
            start, end = adaptive_bounds(out_pos[j], n, out)
            k = end - start
            wds.append(WindowDim(axis, n, 0, 0, None, 1, k, tuple(range(start, end)),
                                 tuple(range(k)), (False,) * k, (False,) * k))
            read.append(np.arange(start, end))
        return PoolWindow(tuple(wds), tuple(read), True)
    ks = sizes(kw["kernel_size"], dims)
    ss = sizes(kw["stride"] if kw["stride"] is not None else kw["kernel_size"], dims)
    ps = sizes(kw.get("padding", 0), dims)  # LPPool has no padding
    ds = sizes(kw.get("dilation", 1), dims)
    wds, read = [], []
    for j, axis in enumerate(axes(dims)):
        n = x.shape[2 + j]
        wd = sliding_dim(axis, n, ks[j], ss[j], ds[j], ps[j], ps[j], out_pos[j])
        inp = np.asarray(wd.input_positions)
        wds.append(wd)
        read.append(inp[(inp >= 0) & (inp < n)])
    return PoolWindow(tuple(wds), tuple(read), False)


def window_lines(req: Request, win: PoolWindow) -> list[str]:
    """Where the window lies along each dimension, its padding and its overhang."""
    out_pos = req.unit[2:]
    lines = []
    for j, wd in enumerate(win.dims):
        if win.adaptive:
            outs = req.y.shape[2 + j]
            lines.append(say("Along {axis}, output position {out} of {outs} reads input positions "
                             "{start}..{last}: from floor({out} × {n} / {outs}) = {start} to "
                             "ceil(({out} + 1) × {n} / {outs}) = {end}, exclusive.",
                             axis=wd.axis, out=out_pos[j], outs=outs, n=wd.size, start=wd.start,
                             last=wd.stop - 1, end=wd.stop))
            continue
        lines.append(say("Along {axis}, the window covers padded positions {taps}: output "
                         "position {out} × stride {stride} = {start}, then steps of dilation "
                         "{dilation}.", axis=wd.axis, taps=ints(wd.positions), out=out_pos[j],
                         stride=wd.stride, start=wd.start, dilation=wd.dilation))
        pads = [p for p, pad in zip(wd.positions, wd.padding) if pad]
        if pads:
            lines.append(say("Along {axis}, the window meets the padding at padded positions "
                             "{cells} (the padding is {before} before the input and {after} "
                             "after).", axis=wd.axis, cells=ints(pads), before=wd.pad_before,
                             after=wd.pad_after))
        beyond = [p for p, b in zip(wd.positions, wd.beyond) if b]
        if beyond:
            lines.append(say("Along {axis}, the window hangs past the padded input at padded "
                             "positions {cells} (ceil_mode's last window), which are left out.",
                             axis=wd.axis, cells=ints(beyond)))
    return lines


def flat_of(positions: tuple[int, ...], spatial: tuple[int, ...]) -> int:
    """The row-major index of ``positions`` within a map of size ``spatial`` (torch's
    return_indices: y*W + x)."""
    flat = 0
    for p, n in zip(positions, spatial):
        flat = flat * n + p
    return flat
