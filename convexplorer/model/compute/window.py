"""Sliding-window geometry shared by convolutions and pools: padding amounts (including
'same' and 'valid'), where a padding cell takes its value from, and the taps of one window."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .breakdown import WindowDim
from .text import AXES


def sizes(value, dims: int) -> tuple:
    """One value per spatial dimension, from a value or a tuple of them."""
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,) * dims


def conv_pads(padding, ks: Sequence[int], ds: Sequence[int]) -> list[tuple[int, int]]:
    """(before, after) padding of a convolution per dimension. torch's 'same' pads
    d*(k-1)//2 before and the rest after, so an even effective kernel gets its extra cell on
    the right/bottom (nn.Conv's _reversed_padding_repeated_twice, and F.pad for zeros)."""
    dims = len(ks)
    if padding == "same":
        out = []
        for k, d in zip(ks, ds):
            total = d * (k - 1)
            out.append((total // 2, total - total // 2))
        return out
    if padding == "valid":
        return [(0, 0)] * dims
    return [(p, p) for p in sizes(padding, dims)]


def pad_sources(pos: np.ndarray, n: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """For input positions ``pos`` (negative or >= n: padding), the input position each cell
    takes its value from (-1: a zero) and which cells are padding."""
    is_pad = (pos < 0) | (pos >= n)
    if mode == "reflect":  # mirror without repeating the edge: -1 -> 1, n -> n-2
        src = np.where(pos < 0, -pos, np.where(pos >= n, 2 * (n - 1) - pos, pos))
    elif mode == "replicate":
        src = np.clip(pos, 0, n - 1)
    elif mode == "circular":
        src = np.mod(pos, n)
    else:  # zeros
        src = np.where(is_pad, -1, pos)
    return src, is_pad


def sliding_dim(axis: str, n: int, k: int, s: int, d: int, pl: int, pr: int,
                o: int) -> WindowDim:
    """The taps of output position ``o``: padded positions o*s + d*t for t < k."""
    positions = o * s + d * np.arange(k)
    inp = positions - pl
    beyond = positions >= n + pl + pr
    padding = ((inp < 0) | (inp >= n)) & ~beyond
    return WindowDim(axis, n, pl, pr, s, d, k, tuple(positions.tolist()), tuple(range(k)),
                     tuple(padding.tolist()), tuple(beyond.tolist()))


def axes(dims: int) -> tuple[str, ...]:
    return AXES[dims]


def grid(*arrays: np.ndarray) -> list[np.ndarray]:
    """The flattened cartesian product of 1-D arrays, one column each (row-major order)."""
    mesh = np.meshgrid(*arrays, indexing="ij")
    return [m.reshape(-1) for m in mesh]
