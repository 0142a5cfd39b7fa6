"""Upsample: which input cells make one output cell, and with which weights, as torch's CPU
kernels compute them (``aten/src/ATen/native/UpSample.h``), in float32 like torch:

- the scale per dimension is 1/scale_factor when a scale_factor is used (and not recomputed),
  else input size / output size; align_corners=True takes (input - 1) / (output - 1);
- nearest: source = min(floor(output position × scale), input size - 1), except that torch's
  2-D kernel (a 4-D input) copies position for position when the sizes are equal and takes
  position // 2 when the output is exactly twice the input (its 1-D and 3-D kernels do not:
  found by the property tests, so scale_factor=2.3 on a size of 2 reads 0, 0, 0, 1 in 1-D and
  0, 0, 1, 1 in 2-D);
- linear, bilinear, trilinear: source = scale × (position + 0.5) - 0.5, at least 0 (or
  scale × position with align_corners=True); the cell below it and the next one (the same at
  the last cell) blend with weights 1 - λ and λ, λ the fraction; several dimensions multiply
  their weights (2, 4 or 8 cells)."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import index, num, product_formula, say
from .window import axes, grid

TYPES = ("Upsample",)
F32 = np.float32


def scales(kw, n: int, out: int, j: int, align: bool, linear: bool) -> np.float32:
    """torch's scale of dimension ``j`` (``area_pixel_compute_scale``,
    ``compute_scales_value``)."""
    if linear and align:
        return F32(n - 1) / F32(out - 1) if out > 1 else F32(0.0)
    factor_ = kw["scale_factor"]
    if factor_ is not None and not kw["recompute_scale_factor"]:
        s = factor_[j] if isinstance(factor_, tuple) else factor_
        if s > 0:
            return F32(1.0 / float(s))
    return F32(n) / F32(out)


def nearest(o: int, n: int, out: int, scale: np.float32, shortcuts: bool = True) -> int:
    """The input position output position ``o`` copies. ``shortcuts``: the 2-D kernel's
    special cases (equal sizes, exactly twice)."""
    if shortcuts and out == n:
        return o
    if shortcuts and out == 2 * n:
        return o >> 1
    return min(int(math.floor(F32(o) * scale)), n - 1)


def linear(o: int, n: int, scale: np.float32,
           align: bool) -> tuple[int, int, float, float, float]:
    """(index0, index1, weight0, weight1, the real source position) of output position ``o``."""
    if align:
        real = scale * F32(o)
    else:
        real = max(scale * (F32(o) + F32(0.5)) - F32(0.5), F32(0.0))
    i0 = min(int(math.floor(real)), n - 1)
    lam = min(max(F32(real) - F32(i0), F32(0.0)), F32(1.0))
    i1 = i0 + (1 if i0 < n - 1 else 0)
    return i0, i1, float(F32(1.0) - lam), float(lam), float(real)


def compute(req: Request) -> Breakdown:
    x, unit, kw = req.x, req.unit, req.kwargs
    dims = x.ndim - 2
    mode = kw["mode"]
    interp = mode != "nearest"
    align = bool(kw["align_corners"]) if interp else False
    lines = [say("{layer} unit {unit}: {mode} upsampling reads the input cells around the "
                 "point this output cell comes from.", layer=req.label, unit=req.unit_text,
                 mode=mode)]
    per_dim: list[tuple[list[int], list[float]]] = []
    for j, axis in enumerate(axes(dims)):
        n, out, o = x.shape[2 + j], req.y.shape[2 + j], unit[2 + j]
        scale = scales(kw, n, out, j, align, interp)
        if not interp:
            shortcuts = dims == 2
            src = nearest(o, n, out, scale, shortcuts)
            if shortcuts and out == n:
                how = say("the sizes are equal, so position {out} reads position {src}",
                          out=o, src=src)
            elif shortcuts and out == 2 * n:
                how = say("the output is twice the input, so position {out} reads {out} // 2 = "
                          "{src}", out=o, src=src)
            else:
                how = say("floor({out} × {scale}) = {src} (at most {last})", out=o,
                          scale=f"{float(scale):.6g}", src=src, last=n - 1)
            lines.append(say("Along {axis} (size {n} → {size}): {how}.", axis=axis, n=n,
                             size=out, how=how))
            per_dim.append(([src], [1.0]))
            continue
        i0, i1, w0, w1, real = linear(o, n, scale, align)
        rule = (say("{scale} × {out} = {real}", scale=f"{float(scale):.6g}", out=o,
                    real=f"{real:.6g}") if align else
                say("max({scale} × ({out} + 0.5) - 0.5, 0) = {real}",
                    scale=f"{float(scale):.6g}", out=o, real=f"{real:.6g}"))
        lines.append(say("Along {axis} (size {n} → {size}, scale {scale}): the source position "
                         "is {rule}; it lies between input positions {i0} and {i1}, with "
                         "weights {w0} and {w1}.", axis=axis, n=n, size=out,
                         scale=f"{float(scale):.6g}", rule=rule, i0=i0, i1=i1, w0=num(w0),
                         w1=num(w1)))
        per_dim.append(([i0, i1], [w0, w1]))
    picks = grid(*[np.arange(len(p[0])) for p in per_dim])
    cells = [np.asarray(per_dim[j][0])[picks[j]] for j in range(dims)]
    weights = np.prod([np.asarray(per_dim[j][1])[picks[j]] for j in range(dims)], axis=0)
    count = len(weights)
    idx = np.stack([np.full(count, unit[0]), np.full(count, unit[1]), *cells], 1)
    vals = x[tuple(idx.T)].astype(np.float64)
    prods = vals * weights
    recomputed = float(prods.sum())
    if not interp:
        lines.append(say("So the unit copies input{source} = {value}.",
                         source=index(tuple(idx[0])), value=num(recomputed)))
        data = TermData(input_index=idx.astype(np.int64), input_value=vals, product=prods)
    else:
        lines.append(say("The {count} cells, each times the product of its weights: {formula} "
                         "= {result}.", count=count,
                         formula=product_formula(zip(vals.tolist(), weights.tolist())),
                         result=num(recomputed)))
        data = TermData(input_index=idx.astype(np.int64), input_value=vals, product=prods,
                        weight_value=weights)
    if align:
        lines.append(say("align_corners=True: the first and last cells of input and output "
                         "line up exactly."))
    lines.append(compare_line(req.value, recomputed))
    extra = {"cells": float(count)}
    return req.breakdown("upsample", recomputed, None, data, lines, extra=extra)

