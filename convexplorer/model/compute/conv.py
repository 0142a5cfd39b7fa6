"""Conv1d / Conv2d / Conv3d: the window of the padded input that feeds one output unit, per input
channel of the output channel's group, times the kernel, plus the bias."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import channel_lines, compare_line, total_lines
from .request import Request
from .text import ints, say
from .window import axes, conv_pads, grid, pad_sources, sizes, sliding_dim

TYPES = ("Conv1d", "Conv2d", "Conv3d")


def compute(req: Request) -> Breakdown:
    kw, x, unit = req.kwargs, req.x, req.unit
    dims = req.dims
    w = req.param("weight")
    bias_arr = req.param("bias", required=False)
    b, oc, out_pos = unit[0], unit[1], unit[2:]
    ks = w.shape[2:]
    ss, ds = sizes(kw["stride"], dims), sizes(kw["dilation"], dims)
    pads = conv_pads(kw["padding"], ks, ds)
    mode = kw["padding_mode"]
    groups = kw["groups"]
    icg, ocg = w.shape[1], w.shape[0] // groups
    g = oc // ocg
    chans = np.arange(g * icg, (g + 1) * icg)

    window, srcs, is_pads, inps, poss = [], [], [], [], []
    for j, axis in enumerate(axes(dims)):
        n = x.shape[2 + j]
        wd = sliding_dim(axis, n, ks[j], ss[j], ds[j], *pads[j], out_pos[j])
        pos = np.asarray(wd.positions)
        inp = pos - pads[j][0]
        src, is_pad = pad_sources(inp, n, mode)
        window.append(wd)
        srcs.append(src)
        is_pads.append(is_pad)
        inps.append(inp)
        poss.append(pos)

    # gather the window of every input channel of the group at once: (icg, k...)
    vals = x[b][np.ix_(chans, *[np.maximum(s, 0) for s in srcs])].astype(np.float64)
    pad_mask = np.zeros(ks, bool)
    for j, p in enumerate(is_pads):
        pad_mask |= p.reshape([-1 if i == j else 1 for i in range(dims)])
    if mode == "zeros":
        vals[:, pad_mask] = 0.0
    weights = w[oc]
    prod = vals * weights
    sums = prod.reshape(icg, -1).sum(axis=1)
    bias = None if bias_arr is None else float(bias_arr[oc])
    recomputed = float(sums.sum()) + (bias or 0.0)

    # one row per term, in (channel, tap...) order
    cols = grid(np.arange(icg), *[np.arange(k) for k in ks])
    ci, taps = cols[0], cols[1:]
    padding = np.repeat(pad_mask.reshape(1, -1), icg, axis=0).reshape(-1)
    nterm = len(ci)
    batch = np.full(nterm, b)
    input_index = np.stack([batch, chans[ci], *[inps[j][t] for j, t in enumerate(taps)]], 1)
    input_index[padding] = -1
    source_index = None
    if mode != "zeros" and padding.any():
        source_index = np.stack([batch, chans[ci], *[srcs[j][t] for j, t in enumerate(taps)]], 1)
        source_index[~padding] = -1
    data = TermData(
        input_index=input_index,
        input_value=vals.reshape(-1),
        product=prod.reshape(-1),
        weight_index=np.stack([np.full(nterm, oc), ci, *taps], 1),
        weight_value=weights.reshape(-1),
        padding=padding,
        source_index=source_index,
        padded_position=np.stack([poss[j][t] for j, t in enumerate(taps)], 1),
    )

    lines = [say("{layer} unit {unit}: output channel {channel} multiplies its kernel (size "
                 "{kernel}) with the window of each input channel it sees and adds everything "
                 "up.",
                 layer=req.label, unit=req.unit_text, channel=oc,
                 kernel="×".join(str(k) for k in ks))]
    if groups > 1:
        lines.append(say("With groups={groups}, output channel {channel} is in group {group} and "
                         "sees only input channels {first}..{last}.", groups=groups, channel=oc,
                         group=g, first=int(chans[0]), last=int(chans[-1])))
    for j, wd in enumerate(window):
        lines.append(say("Along {axis}, the window reads padded positions {taps}: output "
                         "position {out} × stride {stride} = {start}, then steps of dilation "
                         "{dilation}.", axis=wd.axis, taps=ints(wd.positions), out=out_pos[j],
                         stride=ss[j], start=wd.start, dilation=ds[j]))
        cells = [p for p, pad in zip(wd.positions, wd.padding) if pad]
        if not cells:
            continue
        if mode == "zeros":
            lines.append(say("Along {axis}, zero padding fills padded positions {cells} (the "
                             "padding is {before} before the input and {after} after).",
                             axis=wd.axis, cells=ints(cells), before=wd.pad_before,
                             after=wd.pad_after))
        else:
            sources = [int(s) for s, pad in zip(srcs[j], wd.padding) if pad]
            lines.append(say("Along {axis}, {mode} padding fills padded positions {cells} with "
                             "the values of input positions {sources}.", axis=wd.axis,
                             cells=ints(cells), mode=mode, sources=ints(sources)))
    lines += channel_lines(chans, vals.reshape(icg, -1), weights.reshape(icg, -1), sums)
    lines += total_lines(sums, bias, recomputed)
    lines.append(compare_line(req.value, recomputed))
    return req.breakdown("conv", recomputed, bias, data, lines, window=tuple(window),
                         channel_sums=dict(zip(chans.tolist(), sums.tolist())))
