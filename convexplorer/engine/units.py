"""How one output value of a run is made: picks the layer's input, output, parameters and
pooling indices out of a run and hands them to ``model.compute``. Torch-free, so the window's
thread may call it."""

from __future__ import annotations

import numpy as np

from ..model.compute import Breakdown, UnitError, compute_unit
from ..model.shapes import ShapeReport
from ..model.spec import Unit
from .results import RunResult

__all__ = ["Breakdown", "UnitError", "breakdown", "input_name", "layer_input", "merge_sources"]


def layer_input(result: RunResult, index: int) -> np.ndarray:
    """What layer ``index`` received: the input, or the previous layer's output."""
    return result.input if index == 0 else result.layers[index - 1].activation


def breakdown(result: RunResult, report: ShapeReport, unit: Unit) -> Breakdown:
    """The computation of ``unit`` (a layer's output value) with the run's own numbers;
    UnitError (one sentence naming the valid range) for a unit that is not one."""
    if unit.layer is None:
        raise UnitError("The input is data, not computed from anything; pick a value of a "
                        "layer's output.")
    if not 0 <= unit.layer < len(result.layers):
        raise UnitError("There is no layer {layer}; the stack has layers 0 to {last}.".format(
            layer=unit.layer, last=len(result.layers) - 1))
    lr = result.layers[unit.layer]
    info = report.layers[unit.layer]
    pool_indices, pool_input_shape = lr.indices, None
    if lr.indices_from is not None:
        pool = result.layers[lr.indices_from]
        pool_indices, pool_input_shape = pool.indices, tuple(pool.input_shape)
    return compute_unit(info, layer_input(result, unit.layer), lr.activation, lr.params,
                        unit.index, pool_indices=pool_indices, pool_input_shape=pool_input_shape,
                        sources=merge_sources(result, lr), previous=input_name(result, unit.layer))


def input_name(result: RunResult, index: int) -> str:
    """How layer ``index``'s input is named: "input" or "conv1 (Conv2d) output"."""
    return "input" if index == 0 else f"{result.layers[index - 1].label} output"


def merge_sources(result: RunResult, lr) -> list[tuple[str, np.ndarray]]:
    """(name, array) of the outputs a merge joins (``LayerResult.sources``)."""
    return [("input", result.input) if s is None else
            (f"{result.layers[s].label} output", result.layers[s].activation)
            for s in lr.sources]
