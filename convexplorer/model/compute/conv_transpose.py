"""ConvTranspose1d/2d/3d, the scatter view: every input value paints a scaled copy
of the kernel into the output; the copies that land on one unit are added up, plus the bias.

Input position i with kernel tap t lands on output position i*stride - padding + t*dilation
(output_padding only makes the output longer at the end)."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData, WindowDim
from .lines import channel_lines, compare_line, total_lines
from .request import Request
from .text import say
from .window import axes, grid, sizes

TYPES = ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")


def landing(o: int, n: int, k: int, s: int, p: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(input positions, kernel taps) that land on output position ``o``, by input position."""
    t = np.arange(k)
    num = o + p - t * d
    ok = (num % s == 0) & (num >= 0) & (num // s < n)
    i = num[ok] // s
    t = t[ok]
    order = np.argsort(i, kind="stable")
    return i[order], t[order]


def compute(req: Request) -> Breakdown:
    kw, x, unit = req.kwargs, req.x, req.unit
    dims = req.dims
    w = req.param("weight")  # (in_channels, out_channels // groups, k...)
    bias_arr = req.param("bias", required=False)
    b, oc, out_pos = unit[0], unit[1], unit[2:]
    ks = w.shape[2:]
    ss, ds, ps = (sizes(kw[name], dims) for name in ("stride", "dilation", "padding"))
    groups = kw["groups"]
    icg, ocg = w.shape[0] // groups, w.shape[1]
    g, oc_local = divmod(oc, ocg)
    chans = np.arange(g * icg, (g + 1) * icg)

    window, ins, taps = [], [], []
    for j, axis in enumerate(axes(dims)):
        n = x.shape[2 + j]
        i, t = landing(out_pos[j], n, ks[j], ss[j], ps[j], ds[j])
        ins.append(i)
        taps.append(t)
        window.append(WindowDim(axis, n, 0, 0, ss[j], ds[j], ks[j], tuple(i.tolist()),
                                tuple(t.tolist()), (False,) * len(i), (False,) * len(i)))

    vals = x[b][np.ix_(chans, *ins)].astype(np.float64)  # (icg, m...)
    weights = w[np.ix_(chans, [oc_local], *taps)][:, 0]
    prod = vals * weights
    sums = prod.reshape(icg, -1).sum(axis=1)
    bias = None if bias_arr is None else float(bias_arr[oc])
    recomputed = float(sums.sum()) + (bias or 0.0)

    cols = grid(np.arange(icg), *[np.arange(len(i)) for i in ins])
    ci, pairs = cols[0], cols[1:]
    nterm = len(ci)
    data = TermData(
        input_index=np.stack([np.full(nterm, b), chans[ci],
                              *[ins[j][q] for j, q in enumerate(pairs)]], 1).astype(np.int64),
        input_value=vals.reshape(-1),
        product=prod.reshape(-1),
        weight_index=np.stack([chans[ci], np.full(nterm, oc_local),
                               *[taps[j][q] for j, q in enumerate(pairs)]], 1).astype(np.int64),
        weight_value=weights.reshape(-1),
    )

    lines = [say("{layer} unit {unit}: each input value paints a copy of its kernel, scaled by "
                 "the value, into the output; the copies landing on this unit are added up.",
                 layer=req.label, unit=req.unit_text)]
    if groups > 1:
        lines.append(say("With groups={groups}, output channel {channel} is in group {group} and "
                         "gets copies only from input channels {first}..{last}.", groups=groups,
                         channel=oc, group=g, first=int(chans[0]), last=int(chans[-1])))
    for j, wd in enumerate(window):
        if not wd.positions:
            lines.append(say("Along {axis}, no input position lands on output position {out} "
                             "(i × {stride} - {padding} + t × {dilation} never equals it).",
                             axis=wd.axis, out=out_pos[j], stride=ss[j], padding=ps[j],
                             dilation=ds[j]))
            continue
        found = ", ".join(f"i={i} t={t}" for i, t in zip(wd.positions, wd.kernel_taps))
        lines.append(say("Along {axis}, input position i lands on output position {out} with "
                         "kernel tap t where i × {stride} - {padding} + t × {dilation} = {out}: "
                         "{pairs}.", axis=wd.axis, out=out_pos[j], stride=ss[j], padding=ps[j],
                         dilation=ds[j], pairs=found))
    if nterm:
        lines += channel_lines(chans, vals.reshape(icg, -1), weights.reshape(icg, -1), sums)
    lines += total_lines(sums if nterm else np.zeros(1), bias, recomputed)
    lines.append(compare_line(req.value, recomputed))
    return req.breakdown("conv_transpose", recomputed, bias, data, lines, window=tuple(window),
                         channel_sums=dict(zip(chans.tolist(), sums.tolist())) if nterm else {})
