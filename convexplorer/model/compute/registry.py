"""The per-unit computation of every catalogue type: one family module per kind of layer, each
with ``TYPES`` (the catalogue names it computes) and ``compute(request) -> Breakdown``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..shapes import LayerInfo
from . import (
    avg_pool,
    conv,
    conv_transpose,
    elementwise,
    flatten,
    linear,
    lp_pool,
    max_pool,
    merge,
    norm,
    pad,
    resample,
    shuffle,
    slice_norm,
    softmax,
    unpool,
)
from .breakdown import Breakdown, UnitError
from .request import Request
from .text import say
from .units import check_unit

FAMILIES = (conv, conv_transpose, max_pool, avg_pool, lp_pool, unpool, norm, slice_norm,
            elementwise, softmax, pad, resample, shuffle, linear, flatten, merge)

REGISTRY: dict[str, Callable[[Request], Breakdown]] = {
    name: family.compute for family in FAMILIES for name in family.TYPES}


def compute_unit(info: LayerInfo, x: np.ndarray, y: np.ndarray,
                 params: Mapping[str, np.ndarray], unit, *,
                 pool_indices: np.ndarray | None = None,
                 pool_input_shape: tuple[int, ...] | None = None,
                 sources: Sequence[tuple[str, np.ndarray]] = (),
                 previous: str = "the previous output") -> Breakdown:
    """How output ``unit`` of layer ``info`` is made from its input ``x``, recomputed with NumPy
    beside torch's value in ``y``. ``params``: the layer's "weight"/"bias" arrays.
    ``pool_indices``: a max pool's own indices, or for MaxUnpool those of the pool it undoes.
    ``pool_input_shape``: for MaxUnpool, the shape of that pool's input (by default ``y``'s).
    ``sources``: for a merge, (name, array) of each output its ``from`` names, in order;
    ``previous``: how its input ``x`` is named ("input", "conv1 (Conv2d) output").
    Raises UnitError for a unit outside ``y`` or arrays that do not fit."""
    compute = REGISTRY.get(info.spec.type)
    if compute is None:
        raise UnitError(say("{layer}: there is no per-unit computation for {type} layers.",
                            layer=info.label, type=info.spec.type))
    x, y = np.asarray(x), np.asarray(y)
    unit = check_unit(info.label, y.shape, unit, vector_last=info.spec.type == "Linear")
    req = Request(info, x, y, params or {}, unit,
                  None if pool_indices is None else np.asarray(pool_indices),
                  None if pool_input_shape is None else tuple(pool_input_shape),
                  tuple((name, np.asarray(a)) for name, a in sources), previous)
    if info.input_shape is not None:
        req.check_x_shape(tuple(info.input_shape))
    return compute(req)
