"""Tensors as ``print(tensor)`` shows them, character for character, without torch.

A port of torch's own printing (``torch/_tensor_str.py``, torch 2.13) for dense tensors of the
real dtypes, so the GUI thread can show what a learner's script prints without importing torch.
The rules are torch's, quirks included: the element format (integer-valued floats get a trailing
dot, scientific notation past a 1000x spread) is chosen once per tensor from its summarised data,
rows wrap at 80 columns, tensors over 1000 values are summarised with ``...``, and suffixes such as
``grad_fn=<...>`` move to a new line when the last line would pass 80 columns. Default print
options only; they are the constants below. No Qt and no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# torch.set_printoptions defaults (profile "default").
PRECISION = 4
THRESHOLD = 1000  # more values than this and the tensor is summarised
EDGEITEMS = 3  # values kept at each end of a summarised dimension (>= 1: torch's 0 is not ported)
LINEWIDTH = 80
SCI_MODE: bool | None = None  # None: chosen per tensor

DEFAULT_DTYPE = "float32"  # torch.get_default_dtype()
# Tensors of these dtypes print without a ``dtype=`` suffix (non-empty ones).
IMPLIED_DTYPES = frozenset({"float32", "int64", "bool"})
# numpy dtype name -> torch dtype; the name is the same in both.
DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                    "bool"})

MSG_DTYPE = "A tensor of dtype {dtype} cannot be printed here; use one of {dtypes}."


def _dtype_name(array: np.ndarray) -> str:
    name = array.dtype.name
    if name not in DTYPES:
        raise TypeError(MSG_DTYPE.format(dtype=name, dtypes=", ".join(sorted(DTYPES))))
    return name


def _device_name(device: str) -> str:
    """How a tensor's device prints: a bare accelerator name gets the index tensors always have."""
    device = str(device)
    if device not in ("cpu", "meta") and ":" not in device:
        return device + ":0"
    return "cpu" if device.startswith("cpu") else device


def _calc_dtype(device: str) -> type:
    # torch's tensor_totype: min/max/ratio in double, but in float on MPS (no float64 there)
    return np.float32 if device.startswith("mps") else np.float64


class _Formatter:
    """torch's ``_Formatter``: one element format (and width) for the whole tensor."""

    def __init__(self, data: np.ndarray, calc_dtype: type = np.float64):
        self.floating = data.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = data.reshape(-1)
        if not self.floating:
            if flat.size:
                self.max_width = max(1, max(len(f"{v}") for v in flat.tolist()))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        abs_vals = np.abs(vals).astype(calc_dtype)
        lo, hi = abs_vals.min(), abs_vals.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if SCI_MODE is None:
            # a Python number meets the tensor in the tensor's dtype (a "wrapped" scalar)
            c = calc_dtype
            with np.errstate(over="ignore"):  # torch's ratio overflows to inf silently
                ratio = hi / lo
            self.sci_mode = bool(ratio > c(1000.0) or hi > c(1.0e8) or lo < c(1.0e-4))
        else:
            self.sci_mode = SCI_MODE
        values = vals.tolist()
        if self.sci_mode:
            width = max(len(f"{v:.{PRECISION}e}") for v in values)
        elif self.int_mode:
            width = max(len(f"{v:.0f}") for v in values) + 1  # the trailing dot
        else:
            width = max(len(f"{v:.{PRECISION}f}") for v in values)
        self.max_width = max(self.max_width, width)

    def text(self, value: Any) -> str:
        """One element, unpadded."""
        if not self.floating:
            return f"{value}"
        if self.sci_mode:
            return f"{value:.{PRECISION}e}"
        if self.int_mode:
            text = f"{value:.0f}"
            return text if math.isinf(value) or math.isnan(value) else text + "."
        return f"{value:.{PRECISION}f}"

    def format(self, value: Any) -> str:
        """One element, right-aligned to the tensor's widest."""
        text = self.text(value)
        return (self.max_width - len(text)) * " " + text


def _summarized(array: np.ndarray) -> np.ndarray:
    """torch's ``get_summarized_data``: the values a summarised print shows (every dimension
    longer than 2 * EDGEITEMS cut to its ends)."""
    if array.ndim == 0:
        return array
    index = [np.r_[0:EDGEITEMS, n - EDGEITEMS:n] if n > 2 * EDGEITEMS else np.arange(n)
             for n in array.shape]
    return array[np.ix_(*index)]


def _vector_str(array: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    element_length = fmt.max_width + 2  # with ", "
    per_line = max(1, (LINEWIDTH - indent) // element_length)
    n = array.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        data = ([fmt.format(v) for v in array[:EDGEITEMS].tolist()] + [" ..."]
                + [fmt.format(v) for v in array[n - EDGEITEMS:].tolist()])
    else:
        data = [fmt.format(v) for v in array.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _block_str(array: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    """torch's ``_tensor_str_with_formatter``: nested brackets, one blank line per extra
    dimension between blocks."""
    if array.ndim == 0:
        return fmt.format(array.item())
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, fmt)
    n = array.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(n - EDGEITEMS, n))
    else:
        rows = list(range(n))
    slices = ["..." if i is None else _block_str(array[i], indent + 1, summarize, fmt)
              for i in rows]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _formatter(array: np.ndarray, device: str) -> _Formatter:
    summarize = array.size > THRESHOLD
    return _Formatter(_summarized(array) if summarize else array, _calc_dtype(device))


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int) -> str:
    """torch's ``_add_suffixes``: ``, suffix`` while the last line stays within LINEWIDTH, else on
    a new line. (torch counts the last line 2 too long when the text has no newline; kept.)"""
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_str(array: Any, *, grad_fn: str | None = None, requires_grad: bool | None = None,
               parameter: bool = False, device: str = "cpu") -> str:
    """``print(t)`` for the tensor ``torch.from_numpy(array)`` would give (same dtype), on
    ``device``. ``grad_fn`` names the node (``"ConvolutionBackward0"``); ``requires_grad`` marks a
    leaf that requires grad (default: True for a parameter, else False); ``parameter`` prints it
    as an ``nn.Parameter``. On ``"meta"`` only the shape and dtype count, as in torch."""
    array = np.asarray(array)
    dtype = _dtype_name(array)
    device = _device_name(device)
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if device != "cpu":
        suffixes.append(f"device='{device}'")
    if device == "meta":
        suffixes.append(f"size={tuple(array.shape)}")
        if dtype != DEFAULT_DTYPE:
            suffixes.append(f"dtype=torch.{dtype}")
        body = "..."
    elif array.size == 0:
        if array.ndim != 1:  # numpy-like: the shape of an empty tensor unless it is (0,)
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype != DEFAULT_DTYPE:  # no values to tell an int from a float
            suffixes.append(f"dtype=torch.{dtype}")
        body = "[]"
    else:
        if dtype not in IMPLIED_DTYPES:
            suffixes.append(f"dtype=torch.{dtype}")
        summarize = array.size > THRESHOLD
        body = _block_str(array, indent, summarize, _formatter(array, device))
    if requires_grad is None:
        requires_grad = parameter
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    text = _add_suffixes(prefix + body, suffixes, indent)
    return "Parameter containing:\n" + text if parameter else text


def element_formatter(array: Any, *, device: str = "cpu") -> Callable[[Any], str]:
    """The text ``print`` gives one element of this tensor, unpadded: the format torch chooses
    for the whole tensor (e.g. ``"3."`` beside other whole floats, ``"1.0000e-05"`` in
    scientific mode). For table cells that show exactly the digits print shows."""
    array = np.asarray(array)
    _dtype_name(array)
    fmt = _formatter(array, _device_name(device))
    scalar = array.dtype.type

    def text(value: Any) -> str:
        return fmt.text(scalar(value).item())  # the value as the tensor holds it

    return text


def size_str(shape: Sequence[int]) -> str:
    """``torch.Size([2, 3, 2])``, as ``print(t.shape)`` shows a shape."""
    return "torch.Size([" + ", ".join(str(int(s)) for s in shape) + "])"


def scalar_str(value: Any, dtype: str = "float32", grad_fn: str | None = None,
               requires_grad: bool | None = None, device: str = "cpu") -> str:
    """A 0-d tensor as torch prints it, e.g. ``tensor(0.4123)`` for ``x.grad.norm()``."""
    return tensor_str(np.array(value, dtype=dtype), grad_fn=grad_fn,
                      requires_grad=requires_grad, device=device)
