"""The tensors of a run as a learner's script names and prints them: ``x``, a layer's output,
``model.conv1.weight`` and its ``.grad``, the max-pool indices. Torch-free (numpy and the
formatting rules of ``model.torch_text``), so the window's thread may use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.pytorch_export import module_names
from ..model.torch_text import tensor_str
from .results import LayerResult, RunResult

#: What can be printed of a layer, in the order the choosers list them (``--what`` values).
WHATS = ("output", "weight", "bias", "grad_output", "grad_weight", "grad_bias", "indices")


class PrintError(ValueError):
    """A tensor that a run does not have (a layer without weights asked for its weight)."""


@dataclass(frozen=True)
class TensorRef:
    """One printable tensor of a run: which layer (None: the input), what of it, the array and
    how torch would print it (grad_fn, leaf that requires grad, nn.Parameter)."""

    layer: int | None
    what: str
    array: np.ndarray
    expression: str  # how it is named: "input", "conv1 (Conv2d) output", "model.conv1.weight"
    grad_fn: str | None = None
    is_none: bool = False  # a .grad torch left None (the array holds zeros for the tables)
    requires_grad: bool | None = None  # None: as torch has it (True for a parameter)
    parameter: bool = False

    def text(self, device: str = "cpu") -> str:
        """Exactly what ``print`` of this tensor prints."""
        if self.is_none:
            return "None"
        return tensor_str(self.array, grad_fn=self.grad_fn, requires_grad=self.requires_grad,
                          parameter=self.parameter, device=device)

    @property
    def signed(self) -> bool:
        """Values that are naturally signed around 0 (weights, gradients)."""
        return self.what != "output" and self.what != "indices"


def module_expression(result: RunResult, index: int) -> str:
    """How a script reaches layer ``index`` of the exported ``nn.Sequential``:
    ``model.conv1``, or ``model[0]`` for a layer named by its index."""
    name = module_names(result.config.layers)[index]
    return f"model.{name}" if name.isidentifier() else f"model[{index}]"


def available(result: RunResult, layer: int | None) -> list[str]:
    """The ``WHATS`` this run has for the input (None) or a layer, in chooser order."""
    if layer is None:
        return ["output"] + (["grad_output"] if result.grad_input is not None else [])
    lr = result.layers[layer]
    have = {"output": True, "weight": "weight" in lr.params, "bias": "bias" in lr.params,
            "grad_output": lr.grad_output is not None, "grad_weight": "weight" in lr.grads,
            "grad_bias": "bias" in lr.grads, "indices": lr.indices is not None}
    return [w for w in WHATS if have[w]]


def tensor_ref(result: RunResult, layer: int | None, what: str = "output") -> TensorRef:
    """The tensor ``what`` of the input (``layer`` None) or of layer ``layer``; PrintError
    naming what there is when the run has no such tensor."""
    if what not in WHATS:
        raise PrintError("{what!r} is not a tensor a layer has; use one of {valid}.".format(
            what=what, valid=", ".join(WHATS)))
    if layer is None:
        if what == "output":
            return TensorRef(None, what, result.input, "input", requires_grad=True)
        if what == "grad_output" and result.grad_input is not None:
            return TensorRef(None, what, result.grad_input, "input.grad")
        raise PrintError("The input has no {what}; it has {valid}.".format(
            what=what, valid=" and ".join(available(result, None))))
    if not 0 <= layer < len(result.layers):
        raise PrintError("There is no layer {layer}; the stack has layers 0 to {last}.".format(
            layer=layer, last=len(result.layers) - 1))
    lr = result.layers[layer]
    mod = module_expression(result, layer)
    array = _array(lr, what)
    if array is None:
        raise PrintError("{label} has no {what}; it has {valid}.".format(
            label=lr.label, what=what, valid=", ".join(available(result, layer))))
    if what == "output":
        return TensorRef(layer, what, array, f"{lr.label} output", grad_fn=lr.grad_fn)
    if what in ("weight", "bias"):
        return TensorRef(layer, what, array, f"{mod}.{what}", parameter=True)
    if what == "grad_output":
        return TensorRef(layer, what, array, f"{lr.label} output.grad")
    if what == "indices":
        return TensorRef(layer, what, array, f"{lr.label} indices")
    return TensorRef(layer, what, array, f"{mod}.{what[5:]}.grad",
                     is_none=what[5:] in lr.no_grad)


def _array(lr: LayerResult, what: str) -> np.ndarray | None:
    if what == "output":
        return lr.activation
    if what in ("weight", "bias"):
        return lr.params.get(what)
    if what == "grad_output":
        return lr.grad_output
    if what == "indices":
        return lr.indices
    return lr.grads.get(what[5:])  # grad_weight, grad_bias
