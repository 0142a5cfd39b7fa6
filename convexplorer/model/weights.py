"""Where a layer's weights come from (the ``"weights"`` key of a layer in a config):

- ``init``: torch's initialisation, layer ``i`` made right after ``torch.manual_seed(seed + i)``;
- ``preset``: classic kernels (``model.kernels``) for a convolution, on every (output, input)
  pair or on chosen ones; the pairs no kernel is placed on are 0, and so is the bias;
- ``edited``: numbers the user typed, held here (``Numbers``) for every parameter;
- ``checkpoint``: a state_dict file (``.pt``/``.pth``, ``.safetensors``, ``.npz``) and the
  prefix of this layer's keys in it (``conv1`` for ``conv1.weight``, ``conv1.bias``).

Immutable values, as every spec; no Qt, no torch.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .kernels import KERNELS, make_kernel

SOURCES = ("init", "preset", "edited", "checkpoint")
KERNEL_ON = "{kernel} on weight[{out}, {in_}]"
KERNEL_ON_WITH = "{kernel} ({params}) on weight[{out}, {in_}]"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".npz")


@dataclass(frozen=True, eq=False)
class Numbers:
    """An immutable float32 array (the bytes and the shape), compared and hashed by value."""

    shape: tuple[int, ...]
    data: bytes

    @classmethod
    def of(cls, array) -> Numbers:
        a = np.array(array, dtype=np.float32, order="C")  # 0-d stays 0-d
        return cls(tuple(int(s) for s in a.shape), a.tobytes())

    def array(self) -> np.ndarray:
        """The numbers as a read-only float32 array (no copy)."""
        return np.frombuffer(self.data, dtype=np.float32).reshape(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @cached_property
    def digest(self) -> str:
        """16 hex digits of the numbers' SHA-256 (a sidecar file is checked against it)."""
        h = hashlib.sha256(repr(self.shape).encode())
        h.update(self.data)
        return h.hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Numbers) and self.shape == other.shape and \
            self.data == other.data

    def __hash__(self) -> int:
        return hash((self.shape, self.data))

    def __repr__(self) -> str:
        return f"Numbers(shape={self.shape})"


@dataclass(frozen=True)
class PresetKernel:
    """One kernel placed on weight pairs: ``out`` / ``in_`` pick an output / input channel of
    the weight (``weight[out, in]``; for a ConvTranspose ``weight[in, out]``), None means all."""

    kernel: str
    out: int | None = None
    in_: int | None = None
    sigma: float | None = None
    wavelength: float | None = None

    @property
    def params(self) -> dict[str, float]:
        return {k: v for k, v in (("sigma", self.sigma), ("wavelength", self.wavelength))
                if v is not None and k in KERNELS[self.kernel].params}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kernel": self.kernel}
        if self.out is not None:
            d["out"] = self.out
        if self.in_ is not None:
            d["in"] = self.in_
        d.update(self.params)
        return d

    def describe(self) -> str:
        """``Sobel x on weight[0, all]``: what the form's list shows."""
        label = KERNELS[self.kernel].label if self.kernel in KERNELS else self.kernel
        extra = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        out = "all" if self.out is None else self.out
        in_ = "all" if self.in_ is None else self.in_
        template = KERNEL_ON_WITH if extra else KERNEL_ON
        return template.format(kernel=label, params=extra, out=out, in_=in_)


@dataclass(frozen=True)
class WeightSpec:
    """A layer's weight source (see the module docstring)."""

    source: str = "init"
    kernels: tuple[PresetKernel, ...] = ()  # preset
    arrays: tuple[tuple[str, Numbers], ...] = ()  # edited: parameter name -> its numbers
    file: str | None = None  # checkpoint: the file (relative: to the config's folder)
    key: str | None = None  # checkpoint: the layer's prefix in it ("" for bare names)

    @property
    def is_init(self) -> bool:
        return self.source == "init"

    def numbers(self) -> dict[str, Numbers]:
        return dict(self.arrays)

    @property
    def size(self) -> int:
        """How many numbers an edited source holds."""
        return sum(n.size for _k, n in self.arrays)

    def to_dict(self) -> dict[str, Any]:
        """The ``"weights"`` value of a config (numbers inline; ``config_io`` moves large
        ones to a sidecar file)."""
        d: dict[str, Any] = {"source": self.source}
        if self.source == "preset":
            if len(self.kernels) == 1 and self.kernels[0].out is None and \
                    self.kernels[0].in_ is None:
                d.update(self.kernels[0].to_dict())  # the short form: one kernel everywhere
            else:
                d["kernels"] = [k.to_dict() for k in self.kernels]
        elif self.source == "edited":
            for name, numbers in self.arrays:
                d[name] = float32_lists(numbers.array())
        elif self.source == "checkpoint":
            d["file"] = self.file
            d["key"] = self.key or ""
        return d

    def describe(self) -> str:
        if self.source == "preset":
            return "preset: " + "; ".join(k.describe() for k in self.kernels)
        if self.source == "edited":
            return "edited numbers"
        if self.source == "checkpoint":
            return f"checkpoint {self.file} ({(self.key + '.*') if self.key else 'bare keys'})"
        return "torch's initialisation (seeded per layer)"


INIT = WeightSpec()


def float32_lists(array: np.ndarray):
    """Nested lists of floats, each written with the fewest digits that give back its float32
    (0.1, not 0.10000000149011612)."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 0:
        return float(str(a[()]))
    return [float32_lists(x) for x in a] if a.ndim > 1 else [float(str(v)) for v in a]


def edited(arrays: dict[str, np.ndarray]) -> WeightSpec:
    """An ``edited`` source holding these parameters' numbers."""
    return WeightSpec("edited", arrays=tuple((k, Numbers.of(v)) for k, v in arrays.items()))


def with_value(current: dict[str, np.ndarray], param: str, index: tuple[int, ...],
               value: float) -> WeightSpec:
    """The ``edited`` source of a layer whose parameters are ``current`` (as the last run made
    them) with ``param[index]`` set to ``value``: every other number stays as it was."""
    arrays = {k: np.array(v, dtype=np.float32, copy=True) for k, v in current.items()}
    arrays[param][tuple(index)] = np.float32(value)
    return edited(arrays)


# -- presets -----------------------------------------------------------------------------------


def preset_arrays(spec: WeightSpec, weight_shape: tuple[int, ...], transpose: bool,
                  bias_size: int | None) -> dict[str, np.ndarray]:
    """The weight (and a zero bias) a ``preset`` source makes for a conv weight of
    ``weight_shape`` (out, in, *kernel) or, ``transpose``, (in, out, *kernel), and a bias of
    ``bias_size`` (None: no bias). Kernels are
    placed in order (a later one on the same pair wins); pairs without one are 0. Raises
    KernelError (size, rank) or IndexError (a channel outside the weight)."""
    w = np.zeros(weight_shape, dtype=np.float64)
    size = tuple(weight_shape[2:])
    n_out, n_in = (weight_shape[1], weight_shape[0]) if transpose else weight_shape[:2]
    for k in spec.kernels:
        outs = range(n_out) if k.out is None else [k.out]
        ins = range(n_in) if k.in_ is None else [k.in_]
        for name, n, axis in (("out", n_out, k.out), ("in", n_in, k.in_)):
            if axis is not None and not 0 <= axis < n:
                raise IndexError(CHANNEL_OUTSIDE.format(which=name, value=axis, last=n - 1))
        view = np.swapaxes(w, 0, 1) if transpose else w  # indexed [out, in] either way
        if k.kernel != "gabor":  # the same kernel on every pair: one broadcast assignment
            view[np.ix_(list(outs), list(ins))] = make_kernel(k.kernel, size, k.params)
            continue
        for o in outs:  # a Gabor bank turns with the output channel
            view[o, list(ins)] = make_kernel(k.kernel, size, k.params, o, n_out)
    out = {"weight": w.astype(np.float32)}
    if bias_size is not None:
        out["bias"] = np.zeros(bias_size, dtype=np.float32)
    return out


CHANNEL_OUTSIDE = "{which}={value} is outside the weight's channels 0..{last}"
