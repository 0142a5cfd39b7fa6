"""The functional side of reading ``forward()``: ``F.``/``torch.`` calls that have a layer type,
tensor methods (``x.relu()``, ``x.view(N, -1)``) and the ``Stop`` that ends the reading. Mixed
into ``pytorch_flow.FlowReader``."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from .import_notes import Note, note, short

# F.name / torch.name -> (layer type, its positional parameters after the input, name stem).
# The dims of the pool families come from the function's name.
FUNCTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "relu": ("ReLU", (), "relu"),
    "relu6": ("ReLU6", (), "relu"),
    "leaky_relu": ("LeakyReLU", ("negative_slope",), "relu"),
    "gelu": ("GELU", (), "gelu"),
    "silu": ("SiLU", (), "silu"),
    "elu": ("ELU", ("alpha",), "elu"),
    "mish": ("Mish", (), "mish"),
    "hardswish": ("Hardswish", (), "hardswish"),
    "hardsigmoid": ("Hardsigmoid", (), "hardsigmoid"),
    "sigmoid": ("Sigmoid", (), "sigmoid"),
    "tanh": ("Tanh", (), "tanh"),
    "softmax": ("Softmax", ("dim",), "softmax"),
    "log_softmax": ("LogSoftmax", ("dim",), "log_softmax"),
    "dropout": ("Dropout", ("p",), "dropout"),
    "dropout1d": ("Dropout1d", ("p",), "dropout"),
    "dropout2d": ("Dropout2d", ("p",), "dropout"),
    "max_pool1d": ("MaxPool1d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                 "return_indices"), "pool"),
    "max_pool2d": ("MaxPool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                 "return_indices"), "pool"),
    "avg_pool1d": ("AvgPool1d", ("kernel_size", "stride", "padding", "ceil_mode",
                                 "count_include_pad"), "pool"),
    "avg_pool2d": ("AvgPool2d", ("kernel_size", "stride", "padding", "ceil_mode",
                                 "count_include_pad", "divisor_override"), "pool"),
    "adaptive_avg_pool1d": ("AdaptiveAvgPool1d", ("output_size",), "pool"),
    "adaptive_avg_pool2d": ("AdaptiveAvgPool2d", ("output_size",), "pool"),
    "adaptive_max_pool1d": ("AdaptiveMaxPool1d", ("output_size", "return_indices"), "pool"),
    "adaptive_max_pool2d": ("AdaptiveMaxPool2d", ("output_size", "return_indices"), "pool"),
    "interpolate": ("Upsample", ("size", "scale_factor", "mode", "align_corners"), "upsample"),
}
# Keywords of the functional forms that the module does not take (F.dropout's training).
IGNORED_KEYWORDS = {"training"}
# x.relu(), x.sigmoid(): tensor methods that are layers.
METHODS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
           "log_softmax": "log_softmax"}
PASS_METHODS = ("contiguous",)  # x.contiguous(): the same values


class Stop(Exception):
    """The reader cannot follow forward() here; ``note`` says where and why."""

    def __init__(self, note_: Note):
        super().__init__(note_.key)
        self.note = note_


@dataclass(frozen=True)
class Indices:
    """The indices a max pool returned (a MaxUnpool pairs with them by itself)."""

    pool: str



class FlowCalls:
    """Functional calls and tensor methods (needs the reader's ``_value``, ``_emit``,
    ``_merge``, ``_stop``, ``ev``, ``flow`` and ``source``)."""

    def _function(self, fn, call, env, prefix, depth, want_indices):
        if fn in ("flatten",):  # torch.flatten(x, start_dim=0, end_dim=-1)
            x = self._value(call.args[0], env, prefix, depth)
            args = [self.ev.value(a) for a in call.args[1:]]
            kw = {k.arg: self.ev.value(k.value) for k in call.keywords if k.arg}
            start = args[0] if args else kw.get("start_dim", 0)
            end = args[1] if len(args) > 1 else kw.get("end_dim", -1)
            return self._emit("Flatten", "flatten", {"start_dim": start, "end_dim": end}, x,
                              call)
        if fn in ("add", "mul"):
            if len(call.args) != 2 or call.keywords:
                raise self._stop(call, f"torch.{fn} with more than two tensors")
            a = self._value(call.args[0], env, prefix, depth)
            b = self._value(call.args[1], env, prefix, depth)
            return self._merge("Add" if fn == "add" else "Multiply", [a, b], call, {})
        if fn in ("cat", "concat"):
            if not call.args or not isinstance(call.args[0], ast.List | ast.Tuple):
                raise self._stop(call, "torch.cat of something other than a list of tensors")
            parts = [self._value(e, env, prefix, depth) for e in call.args[0].elts]
            dim = self.ev.value(call.args[1]) if len(call.args) > 1 else next(
                (self.ev.value(k.value) for k in call.keywords if k.arg == "dim"), 0)
            return self._merge("Concat", parts, call, {"dim": dim})
        if fn not in FUNCTIONS:
            raise self._stop(call, f"{fn}() has no layer type here")
        type_, positional, stem = FUNCTIONS[fn]
        if not call.args:
            raise self._stop(call, f"{fn}() without an input")
        x = self._value(call.args[0], env, prefix, depth)
        kwargs: dict[str, Any] = {}
        if len(call.args) - 1 > len(positional):
            raise self._stop(call, f"{fn}() with more arguments than the reader knows")
        for p, a in zip(positional, call.args[1:]):
            kwargs[p] = self.ev.value(a)
        for k in call.keywords:
            if k.arg is None:
                raise self._stop(call, f"{fn}(**...)")
            if k.arg in IGNORED_KEYWORDS:
                continue
            kwargs[k.arg] = self.ev.value(k.value)
        if fn == "interpolate":
            kwargs.setdefault("mode", "nearest")
        out = self._emit(type_, stem, kwargs, x, call)
        if kwargs.get("return_indices") is True:
            return (out, Indices(out)) if want_indices else out
        return out

    def _method(self, method, obj, call, env, prefix, depth):
        x = self._value(obj, env, prefix, depth)
        if method in PASS_METHODS and not call.args:
            return x
        if method in METHODS:
            type_, _positional, stem = FUNCTIONS[METHODS[method]]
            kwargs = {}
            if call.args:
                kwargs["dim"] = self.ev.value(call.args[0])
            kwargs.update({k.arg: self.ev.value(k.value) for k in call.keywords if k.arg})
            return self._emit(type_, stem, kwargs, x, call)
        if method == "flatten":  # x.flatten(start_dim=0)
            args = [self.ev.value(a) for a in call.args]
            kw = {k.arg: self.ev.value(k.value) for k in call.keywords if k.arg}
            start = args[0] if args else kw.get("start_dim", 0)
            return self._emit("Flatten", "flatten", {"start_dim": start}, x, call)
        if method in ("view", "reshape"):
            return self._view(call, x)
        raise self._stop(call, f".{method}() is not a layer the reader knows")

    def _view(self, call, x):
        """``x.view(N, -1)``, ``x.view(-1, k)``, ``x.view(x.size(0), -1)``: a Flatten of all but
        the batch; ``k`` is checked against the shape later."""
        args = call.args[0].elts if len(call.args) == 1 and isinstance(
            call.args[0], ast.Tuple | ast.List) else call.args
        if len(args) != 2:
            raise self._stop(call, "a view or reshape to other than two dimensions")
        first, second = args
        values = [self.ev.value(a) for a in args]
        batch_like = self._is_batch_size(first)
        if batch_like and values[1] == -1:
            features = None
        elif values[0] == -1 and isinstance(values[1], int) and values[1] > 0:
            features = values[1]
        elif batch_like and isinstance(values[1], int) and values[1] > 0:
            features = values[1]
        elif values[0] == -1 and not isinstance(values[1], int):
            # x.view(-1, self.num_flat_features(x)): the features, worked out from x
            features = None
            self.flow.notes.append(note("flow_view_assumed", line=call.lineno,
                                        text=short(self.source.segment(second), 40)))
        else:
            raise self._stop(call, "a view or reshape that is not a flatten of all but the "
                                   "batch")
        name = self._emit("Flatten", "flatten", {}, x, call)
        if features is not None:
            self.flow.flatten_checks[name] = features
        return name

    @staticmethod
    def _is_batch_size(node) -> bool:
        """``x.size(0)``, ``x.shape[0]``, or a name (``batch_size``, ``N``)."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "size" and len(node.args) == 1 and \
                isinstance(node.args[0], ast.Constant) and node.args[0].value == 0:
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and \
                node.value.attr == "shape" and isinstance(node.slice, ast.Constant) and \
                node.slice.value == 0:
            return True
        return isinstance(node, ast.Name)
