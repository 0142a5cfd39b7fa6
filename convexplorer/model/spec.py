"""Immutable values describing what the user builds: layers, input, objective, whole config.

An edit never mutates a spec; it builds a new one (``with_params``, ``dataclasses.replace``), so
a snapshot can be handed to a worker thread without locks. No Qt and no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from .catalogue import CATALOGUE, LayerType
from .weights import INIT, WeightSpec

CONFIG_VERSION = 1

#: Sentinel for ``LayerSpec.with_params``: remove an explicit value (back to default / auto).
UNSET = object()

INPUT_SOURCES = ("random", "image", "npy", "signal")
DISTRIBUTIONS = ("normal", "uniform")
SIGNALS = ("sine", "step", "chirp", "square", "impulse")
IMAGE_MODES = ("L", "RGB")
OBJECTIVE_KINDS = ("sum", "mean", "channel", "unit", "cross_entropy", "mse", "gradient")


def freeze(value: Any) -> Any:
    """Lists (from JSON) become tuples so specs are hashable and immutable."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Tuples become lists for JSON."""
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class LayerSpec:
    """One layer: a torch.nn class name, the keywords the user set explicitly, an optional name.

    Keywords not in ``params`` take torch's default (or, for in_channels / num_features /
    in_features, follow the previous layer). ``weights``: where its weights come from
    (``model.weights``; torch's seeded initialisation by default).
    """

    type: str
    params: tuple[tuple[str, Any], ...] = ()
    name: str | None = None
    weights: WeightSpec = INIT

    @classmethod
    def make(cls, type: str, name: str | None = None, **params: Any) -> LayerSpec:
        return cls(type, tuple((k, freeze(v)) for k, v in params.items()), name or None)

    @property
    def layer_type(self) -> LayerType | None:
        return CATALOGUE.get(self.type)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The explicitly set keywords (a copy)."""
        return dict(self._set)

    @cached_property
    def _set(self) -> dict[str, Any]:
        # the explicit keywords by name (inference asks for them tens of times per layer)
        return dict(self.params)

    def is_set(self, key: str) -> bool:
        return key in self._set

    def value(self, key: str) -> Any:
        """The explicit value, else torch's default from the catalogue."""
        if key in self._set:
            return self._set[key]
        lt = self.layer_type
        if lt is not None and key in lt.param_names:
            return lt.param(key).default
        return None

    def with_params(self, **updates: Any) -> LayerSpec:
        """A new spec with these keywords changed (``UNSET`` removes one)."""
        current = dict(self.params)
        for k, v in updates.items():
            if v is UNSET:
                current.pop(k, None)
            else:
                current[k] = freeze(v)
        lt = self.layer_type
        order = lt.param_names if lt else ()
        items = sorted(current.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order
                                                         else len(order), kv[0]))
        return replace(self, params=tuple(items))

    def renamed(self, name: str | None) -> LayerSpec:
        return replace(self, name=name or None)

    def with_weights(self, weights: WeightSpec) -> LayerSpec:
        return replace(self, weights=weights)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name:
            out["name"] = self.name
        for k, v in self.params:
            out[k] = thaw(v)
        if not self.weights.is_init:
            out["weights"] = self.weights.to_dict()
        return out


@dataclass(frozen=True)
class InputSpec:
    """Where the input tensor comes from.

    random: ``shape`` (N, C, ...) drawn from ``distribution`` with ``seed``.
    signal: a synthetic 1-D signal of ``shape`` (N, C, L): sine, step, chirp, square, impulse.
    image:  ``path`` (PNG/JPEG/BMP; ``sample:NAME`` for a bundled image), resized to ``size``
            (H, W) when given, ``mode`` "L" (grayscale) or "RGB"; gives 1 x C x H x W.
    npy:    ``path`` to a .npy array of rank 2 to 5, used as is.
    """

    source: str = "random"
    shape: tuple[int, ...] = (1, 1, 28, 28)
    seed: int = 0
    distribution: str = "normal"
    path: str | None = None
    size: tuple[int, ...] | None = None
    mode: str = "L"
    signal: str = "sine"
    frequency: float = 3.0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source}
        if self.source in ("random", "signal"):
            d["shape"] = list(self.shape)
            d["seed"] = self.seed
        if self.source == "random":
            d["distribution"] = self.distribution
        if self.source == "signal":
            d["signal"] = self.signal
            d["frequency"] = self.frequency
        if self.source in ("image", "npy"):
            d["path"] = self.path
        if self.source == "image":
            if self.size is not None:
                d["size"] = list(self.size)
            d["mode"] = self.mode
        return d


@dataclass(frozen=True)
class Objective:
    """What backward differentiates: the sum or mean of a layer's output, one channel of it,
    one output unit (batch, channel, position), or a loss: ``cross_entropy`` of the layer's
    (N, classes) output against ``target`` (a class per batch item, or one for all), ``mse``
    against ``target`` "zeros" or "randn" (``torch.manual_seed(seed); torch.randn`` of the
    output's shape), ``gradient``: ``output.backward(g)`` with g that seeded randn. ``layer`` is
    an index; -1 is the last layer."""

    kind: str = "sum"
    layer: int = -1
    batch: int = 0
    channel: int = 0
    position: tuple[int, ...] = ()
    target: tuple[int, ...] | str = ()
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "layer": self.layer}
        if self.kind in ("channel", "unit"):
            d["batch"] = self.batch
            d["channel"] = self.channel
        if self.kind == "unit":
            d["position"] = list(self.position)
        if self.kind == "cross_entropy":
            d["target"] = list(self.target) if isinstance(self.target, tuple) else self.target
        if self.kind == "mse":
            d["target"] = self.target or "zeros"
        if self.kind == "gradient" or (self.kind == "mse" and self.target == "randn"):
            d["seed"] = self.seed
        return d

    def describe(self, layer_label: str = "") -> str:
        where = layer_label or ("last layer" if self.layer == -1 else f"layer {self.layer}")
        # "input" is what a stack without layers differentiates
        out = "the input" if where == "input" else f"{where} output"
        if self.kind == "sum":
            return f"sum of {out}"
        if self.kind == "mean":
            return f"mean of {out}"
        if self.kind == "channel":
            return f"sum of {out}[{self.batch}, {self.channel}]"
        if self.kind == "cross_entropy":
            classes = ", ".join(str(t) for t in self.target) if isinstance(
                self.target, tuple) else str(self.target)
            return f"cross_entropy({out}, target=[{classes}])"
        if self.kind == "mse":
            target = f"randn (seed {self.seed})" if self.target == "randn" else "zeros"
            return f"mse_loss({out}, {target})"
        if self.kind == "gradient":
            return f"{out}.backward(g), g = randn (seed {self.seed})"
        pos = ", ".join(str(p) for p in self.position)
        return f"{out}[{self.batch}, {self.channel}{', ' if pos else ''}{pos}]"


@dataclass(frozen=True)
class Unit:
    """One value the user picked: in the input (``layer`` None) or in a layer's output, at
    ``batch``, ``channel`` (the feature of a vector) and ``position`` (none, L, or H, W)."""

    layer: int | None
    batch: int = 0
    channel: int = 0
    position: tuple[int, ...] = ()

    @property
    def index(self) -> tuple[int, ...]:
        """The full index into the tensor: (batch, channel, *position)."""
        return (self.batch, self.channel, *self.position)

    @classmethod
    def at(cls, layer: int | None, index) -> Unit:
        """The unit at a full tensor index (batch, channel, *position)."""
        index = tuple(int(i) for i in index)
        return cls(layer, index[0], index[1] if len(index) > 1 else 0, index[2:])


@dataclass(frozen=True)
class Config:
    """The whole set-up: layers, input, device, seed and objective. What a config file holds."""

    layers: tuple[LayerSpec, ...] = ()
    input: InputSpec = field(default_factory=InputSpec)
    name: str = "untitled"
    seed: int = 0
    device: str = "cpu"
    objective: Objective = field(default_factory=Objective)
    mode: str = "train"  # or "eval": BatchNorm uses its running statistics, Dropout is off

    def with_layers(self, layers) -> Config:
        return replace(self, layers=tuple(layers))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CONFIG_VERSION,
            "name": self.name,
            "seed": self.seed,
            "input": self.input.to_dict(),
            "device": self.device,
            "objective": self.objective.to_dict(),
            **({"mode": self.mode} if self.mode != "train" else {}),
            "layers": [spec.to_dict() for spec in self.layers],
        }


LABEL_NAME_CHARS = 40  # of a layer's name in its label: a message stays one line


def shown_name(name: str) -> str:
    """A layer's name as messages and views show it: a very long one is cut, so that every
    message naming it stays one short line (and no view measures a megabyte of text)."""
    return name if len(name) <= LABEL_NAME_CHARS else name[:LABEL_NAME_CHARS - 3] + "..."


def layer_label(index: int, spec: LayerSpec) -> str:
    """How a layer is named to the user: its name (or its index, as nn.Sequential names it),
    then its type."""
    return f"{shown_name(spec.name or str(index))} ({spec.type})"
