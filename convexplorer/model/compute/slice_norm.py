"""Normalizations over a slice of the input, each with the whole slice it uses:
GroupNorm (the unit's batch item, the channels of its group, every position), InstanceNorm1d/2d
(its batch item and channel, every position) and LayerNorm (its index with the last
``normalized_shape`` dimensions running): (x - mean) / sqrt(var + eps) with the slice's mean
and biased variance, then the learned scale and shift of the unit's channel (GroupNorm,
InstanceNorm with affine=True) or element (LayerNorm). LocalResponseNorm divides the unit by
(k + alpha / size * the sum of squares of its neighbouring channels at the same position)^beta.
"""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .softmax import numbers
from .text import factor, index, num, say, slice_text

TYPES = ("GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "LayerNorm", "LocalResponseNorm")


def _slice(req: Request) -> tuple[np.ndarray, tuple, str, str]:
    """The slice's full indices (count, rank), the index of the unit's weight and bias, the
    kind, and a sentence saying which values the slice holds."""
    x, unit, kw = req.x, req.unit, req.kwargs
    rank = x.ndim
    if req.type == "LayerNorm":
        ns = kw["normalized_shape"]
        k = len(ns) if isinstance(ns, tuple) else 1
        running = list(range(rank - k, rank))
        where = say("the last {count} dimension(s) of the unit's index {position}", count=k,
                    position=slice_text(unit, running))
        fixed, own = unit[:rank - k], tuple(unit[rank - k:])
        kind = "layer_norm"
    elif req.type == "GroupNorm":
        c, groups = unit[1], kw["num_groups"]
        per = x.shape[1] // groups
        g = c // per
        first, last = g * per, (g + 1) * per - 1
        running = list(range(2, rank))
        where = say("batch item {batch}, channels {first}..{last} (group {group} of {groups}, "
                    "the group of channel {channel}) and every position", batch=unit[0],
                    first=first, last=last, group=g, groups=groups, channel=c)
        fixed, own = None, (c,)
        kind = "group_norm"
        grids = np.meshgrid(np.arange(first, last + 1), *[np.arange(n) for n in x.shape[2:]],
                            indexing="ij")
        idx = np.stack([np.full(grids[0].size, unit[0])] + [m.reshape(-1) for m in grids], 1)
        return idx.astype(np.int64), own, kind, where
    else:  # InstanceNorm
        running = list(range(2, rank))
        where = say("batch item {batch}, channel {channel}, every position {position}",
                    batch=unit[0], channel=unit[1], position=slice_text(unit, running))
        fixed, own = unit[:2], (unit[1],)
        kind = "instance_norm"
    grids = np.meshgrid(*[np.arange(x.shape[j]) for j in running], indexing="ij")
    head = np.tile(np.asarray(fixed, np.int64), (grids[0].size, 1))
    idx = np.concatenate([head] + [m.reshape(-1, 1) for m in grids], 1)
    return idx.astype(np.int64), own, kind, where


def _normalize(req: Request) -> Breakdown:
    x, unit, kw = req.x, req.unit, req.kwargs
    idx, own, kind, where = _slice(req)
    vals = x[tuple(idx.T)].astype(np.float64)
    count = len(vals)
    mean = float(vals.mean())
    var = float(np.mean((vals - mean) ** 2))  # biased, as torch normalises with it
    eps = float(kw["eps"])
    std = math.sqrt(var + eps)
    xv = float(x[unit])
    normed = (xv - mean) / std
    w = req.param("weight", required=False)
    b = req.param("bias", required=False)
    weight = None if w is None else float(w[own])
    bias = None if b is None else float(b[own])
    recomputed = normed * (1.0 if weight is None else weight) + (bias or 0.0)
    lines = [say("{layer} unit {unit} normalizes its input {x} with the mean and variance of "
                 "{count} values: {where}.", layer=req.label, unit=req.unit_text, x=num(xv),
                 count=count, where=where),
             say("The values: {values}.", values=numbers(vals.tolist())),
             say("Mean {mean}; variance {var} (biased: the mean of (x - mean)², divided by "
                 "{count}).", mean=num(mean), var=num(var), count=count),
             say("Normalized: ({x} - {mean}) / sqrt({var} + {eps}) = {normed}.", x=num(xv),
                 mean=factor(mean), var=num(var), eps=f"{eps:g}", normed=num(normed))]
    name = index(own)
    if weight is not None and bias is not None:
        lines.append(say("Scaled and shifted by weight{at} and bias{at}: {normed} × {weight} + "
                         "{bias} = {result}.", at=name, normed=factor(normed),
                         weight=factor(weight), bias=factor(bias), result=num(recomputed)))
    elif weight is not None:
        lines.append(say("Scaled by weight{at} (there is no bias): {normed} × {weight} = "
                         "{result}.", at=name, normed=factor(normed), weight=factor(weight),
                         result=num(recomputed)))
    else:
        lines.append(say("There is no learned scale or shift (affine off), so the unit is the "
                         "normalized value {result}.", result=num(recomputed)))
    lines.append(compare_line(req.value, recomputed))
    data = TermData(input_index=idx, input_value=vals, product=vals - mean)
    extra = {"mean": mean, "var": var, "eps": eps, "std": std, "normalized": normed,
             "count": float(count)}
    if weight is not None:
        extra["weight"] = weight
    return req.breakdown(kind, recomputed, bias, data, lines, reduce="formula", extra=extra)


def _local_response(req: Request) -> Breakdown:
    x, unit, kw = req.x, req.unit, req.kwargs
    size, alpha, beta, k = kw["size"], float(kw["alpha"]), float(kw["beta"]), float(kw["k"])
    c, channels = unit[1], x.shape[1]
    first, last = max(c - size // 2, 0), min(c + (size - 1) // 2, channels - 1)
    idx = np.tile(np.asarray(unit, np.int64), (last - first + 1, 1))
    idx[:, 1] = np.arange(first, last + 1)
    vals = x[tuple(idx.T)].astype(np.float64)
    squares = vals ** 2
    total = float(squares.sum())
    div = (k + alpha * total / size) ** beta
    xv = float(x[unit])
    recomputed = xv / div
    lines = [say("{layer} unit {unit} divides its input {x} by a term made of the same position "
                 "in the channels around channel {channel}: channels {c0}..{c1} (size {size}: "
                 "{before} before and {after} after, cut at the first and last channel).",
                 layer=req.label, unit=req.unit_text, x=num(xv), channel=c, c0=first, c1=last,
                 size=size, before=size // 2, after=(size - 1) // 2),
             say("Their values: {values}; the sum of their squares is {total}.",
                 values=numbers(vals.tolist()), total=num(total)),
             say("Divisor: ({k} + {alpha} / {size} × {total})^{beta} = {div}.", k=f"{k:g}",
                 alpha=f"{alpha:g}", size=size, total=num(total), beta=f"{beta:g}",
                 div=num(div)),
             say("The unit: {x} / {div} = {y}.", x=num(xv), div=num(div), y=num(recomputed)),
             compare_line(req.value, recomputed)]
    data = TermData(input_index=idx, input_value=vals, product=squares)
    return req.breakdown("local_response_norm", recomputed, None, data, lines,
                         reduce="formula", extra={"sum_of_squares": total, "divisor": div})


def compute(req: Request) -> Breakdown:
    if req.type == "LocalResponseNorm":
        return _local_response(req)
    return _normalize(req)
