"""One question to a layer family: which unit, of which layer, with which arrays."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..shapes import LayerInfo, fmt_shape
from .breakdown import Breakdown, TermData, UnitError
from .text import index, say


@dataclass(frozen=True)
class Request:
    """What a family's ``compute`` gets: the layer, its input ``x`` and output ``y`` (batch
    first), its parameters, the checked ``unit``, for pools the pool indices, and for merges
    the outputs ``from`` names."""

    info: LayerInfo
    x: np.ndarray
    y: np.ndarray
    params: Mapping[str, np.ndarray]
    unit: tuple[int, ...]
    pool_indices: np.ndarray | None = None
    pool_input_shape: tuple[int, ...] | None = None
    sources: tuple[tuple[str, np.ndarray], ...] = ()  # merges: (name, array) per ``from``
    previous: str = "the previous output"  # merges: how the layer's input ``x`` is named

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def type(self) -> str:
        return self.info.spec.type

    @property
    def kwargs(self) -> dict:
        return self.info.kwargs

    @property
    def dims(self) -> int:
        """Spatial dimensions of the input (0 for a vector (N, F))."""
        return max(self.x.ndim - 2, 0)

    @property
    def value(self) -> float:
        return float(self.y[self.unit])

    @property
    def unit_text(self) -> str:
        return index(self.unit)

    def param(self, name: str, required: bool = True) -> np.ndarray | None:
        """A parameter as float64, or None when the layer has none (no bias)."""
        p = self.params.get(name)
        if p is None:
            if required:
                raise UnitError(say("{layer} has no {name} array to compute with; pass the run's "
                                    "parameters of this layer.", layer=self.label, name=name))
            return None
        return np.asarray(p, dtype=np.float64)

    def check_x_shape(self, shape: tuple[int, ...]) -> None:
        if tuple(self.x.shape) != tuple(shape):
            raise UnitError(say("{layer}: the input given is {given} but the layer expects "
                                "{expected}.", layer=self.label, given=fmt_shape(self.x.shape),
                                expected=fmt_shape(shape)))

    def breakdown(self, kind: str, recomputed: float, bias: float | None, data: TermData,
                  lines: list[str], **more) -> Breakdown:
        return Breakdown(layer=self.label, type=self.type, kind=kind, unit=self.unit,
                         value=self.value, recomputed=float(recomputed),
                         bias=None if bias is None else float(bias), data=data, lines=lines,
                         **more)
