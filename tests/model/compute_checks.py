"""Shared by the per-unit computation tests: a real run of a stack (engine.run, training mode,
as the GUI gets it) and the checks every breakdown must pass against torch's own output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import strategies as st

from convexplorer.engine.build import SAME_PADDING_WARNING
from convexplorer.engine.run import run
from convexplorer.model import compute as cm
from convexplorer.model.compute import compute_unit
from convexplorer.model.config_io import layer_from_dict
from convexplorer.model.explain import window_dims
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec

# torch's once-per-process note for even kernels with padding='same' is not an error
FILTER_SAME = pytest.mark.filterwarnings(f"ignore:{SAME_PADDING_WARNING}:UserWarning")
L = LayerSpec.make


# ---------------------------------------------------------------------------------------------
# Running a stack and checking units


class Ran:
    """A real run of ``layers`` on ``x``, with the shape report the GUI would hold."""

    def __init__(self, layers: list[LayerSpec], x: np.ndarray, seed: int = 0):
        self.report = infer(layers, x.shape)
        assert self.report.ok, [str(p) for p in self.report.problems]
        self.result = run(Config(layers=tuple(layers), input=InputSpec(shape=x.shape),
                                 seed=seed), input_array=x)

    def args(self, i: int):
        """compute_unit's arguments for layer ``i`` (its input is the previous output)."""
        lr = self.result.layers[i]
        x = self.result.input if i == 0 else self.result.layers[i - 1].activation
        indices = lr.indices
        if lr.indices_from is not None:
            indices = self.result.layers[lr.indices_from].indices
        return self.report.layers[i], x, lr.activation, lr.params, indices

    def unit(self, i: int, unit, **kwargs):
        info, x, y, params, indices = self.args(i)
        return compute_unit(info, x, y, params, unit, pool_indices=indices, **kwargs)


def make_input(shape, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "ints":  # small whole numbers: ties for max pools and shared unpool winners
        return rng.integers(-3, 4, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def check(ran: Ran, i: int, unit) -> cm.Breakdown:
    """The breakdown of ``unit`` agrees with torch, its terms index the right arrays and add
    up to the value, and it serialises."""
    info, x, y, params, indices = ran.args(i)
    bd = compute_unit(info, x, y, params, unit, pool_indices=indices)
    torch_value = float(y[tuple(unit)])
    assert bd.unit == tuple(unit)
    assert bd.value == torch_value or (np.isnan(bd.value) and np.isnan(torch_value))
    products = bd.products
    with np.errstate(invalid="ignore"):  # a NaN (LP pooling's root of a negative sum)
        magnitude = abs(bd.value) + float(np.nansum(np.abs(products))) + abs(bd.bias or 0.0)
    tol = 1e-5 + 1e-4 * magnitude
    if bd.kind == "batch_norm":  # x - mean in float32 loses digits relative to the std
        tol += 1e-5 * (abs(float(x[tuple(unit)])) + abs(bd.extra["mean"])) / bd.extra["std"]
    both_nan = np.isnan(bd.recomputed) and np.isnan(bd.value)
    if bd.kind in ("group_norm", "instance_norm", "layer_norm"):  # as for batch_norm
        tol += 1e-5 * (abs(float(x[tuple(unit)])) + abs(bd.extra["mean"])) / bd.extra["std"]
    assert both_nan or bd.recomputed == bd.value or abs(bd.recomputed - bd.value) <= tol, \
        bd.text()
    assert bd.difference == (0.0 if bd.recomputed == bd.value or both_nan
                             else bd.recomputed - bd.value)
    if bd.reduce == "sum":
        assert abs(float(products.sum()) + (bd.bias or 0.0) - bd.value) <= tol, bd.text()
    elif bd.reduce == "formula":  # the terms are the values the formula reads
        assert len(bd.terms) >= 1
    else:
        assert bd.recomputed == bd.value, bd.text()
        if len(products):
            assert float(products.max()) == bd.value
    w = params.get("weight")
    for t in bd.terms:
        if t.input_index is not None:
            assert float(x[t.input_index]) == t.input_value
        elif t.source_index is not None:
            assert float(x[t.source_index]) == t.input_value
        elif bd.kind in ("conv", "avg_pool"):
            assert t.input_value == 0.0  # zero padding
        if t.weight_index is not None:
            assert float(w[t.weight_index]) == t.weight_value
    doc = json.loads(json.dumps(bd.to_json()))
    assert {"layer", "unit", "value", "recomputed", "bias", "terms"} <= set(doc)
    assert len(doc["terms"]) == len(bd.terms)
    assert all({"input_index", "input_value", "weight_index", "weight_value", "product"}
               <= set(t) for t in doc["terms"])
    assert bd.lines and all(isinstance(s, str) and s for s in bd.lines)
    assert bd.text().splitlines()[0].startswith(info.label)
    return bd


def some_units(data, shape, n: int = 3) -> list[tuple[int, ...]]:
    """A few random units, and the last one (where ceil_mode's partial windows are)."""
    units = [tuple(s - 1 for s in shape)]
    for _ in range(n):
        units.append(tuple(data.draw(st.integers(0, s - 1)) for s in shape))
    return units


def padding_only_window(info) -> bool:
    """Whether a max pool has a window whose every tap lies in the padding (dilation can jump
    over a small input). torch 2.13 gives -inf there with an index past the channel's map, and
    its CPU backward then writes out of bounds: the process dies (``double free or
    corruption``). Runs (engine.run does backward) must not meet such layers; the forward alone
    is safe and test_compute_cases checks the breakdown of one."""
    if not info.spec.type.startswith("MaxPool"):
        return False
    return any(all(not 0 <= t < d.n for t in d.taps(o))
               for d in window_dims(info) for o in range(d.out))


def run_and_check(data, layers: list[dict], shape, kind: str, which: int = -1, n: int = 3):
    specs = [layer_from_dict(d, i) for i, d in enumerate(layers)]
    report = infer(specs, shape)
    assume(report.ok and not any(padding_only_window(info) for info in report.layers))
    ran = Ran(specs, make_input(shape, kind, data.draw(st.integers(0, 2**16))),
              seed=data.draw(st.integers(0, 3)))
    i = which % len(layers)
    out = ran.result.layers[i].output_shape
    return ran, [check(ran, i, u) for u in some_units(data, out, n)]
