"""Values of the arguments in pasted PyTorch text, worked out without running anything.

Literals (numbers, strings, True/False/None, tuples, lists), arithmetic on them (``16 * 5 * 5``,
``ngf * 8``) and names the text binds once to such values (a module-level ``ngf = 64``, a
constructor default ``n_channel=32``) are read; anything else comes back as ``Opaque``. Numbers
are never computed past ``BIG`` (``9**9**9`` is refused before it is computed) and come back as
``OutOfRange``; the import then refuses them with the field's own bound (the catalogue's).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import Any

from .import_notes import short

# Magnitudes past this are never computed with: far beyond any layer's size, and small enough
# that a product of two of them is instant.
BIG = 10**18
MAX_STRING = 200  # longer strings are no layer's choice value or name
# Nesting of one expression read recursively (chains such as 1 + 1 + ... are read in a loop).
MAX_DEPTH = 100
# The most a value in an imported layer may be, per field. The catalogue's own bounds (the
# minimums, momentum and p at most 1, Flatten's dims) are checked by validation; these are
# the import's guard against absurd numbers, which it refuses before shape inference.
DEFAULT_LIMIT = 1_000_000

# Digit runs this long are replaced (same length, so columns stay) by a name the reader knows,
# before Python parses the text: Python refuses integers of more than 4300 digits outright.
_LONG_DIGITS = re.compile(r"(?<![\w.])\d{40,}(?![\w.])")
_BIG_NAME = "_cxbig"

# Choice values that print(model) writes unquoted (padding=same), read as strings in code too.
_WORDS = frozenset({"same", "valid", "zeros", "reflect", "replicate", "circular"})
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod}


@dataclass(frozen=True)
class Opaque:
    """An argument that is not a literal (a variable, a call): its source text."""

    text: str


@dataclass(frozen=True)
class OutOfRange:
    """A number too large to take, or not finite (``1e309``): its source text."""

    text: str


@dataclass(frozen=True)
class Binding:
    """What a name stands for: its value and where the text gives it."""

    value: Any
    origin: str  # "module" (a module-level constant), "default", "argument", "local", "class"
    owner: str = ""  # the class whose __init__ default or attribute it is


def hide_long_digits(text: str) -> str:
    return _LONG_DIGITS.sub(lambda m: _BIG_NAME + "_" * (len(m.group()) - len(_BIG_NAME)), text)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class Source:
    """The text, split into lines once, so that cutting out a node's text stays cheap."""

    def __init__(self, text: str):
        self.lines = text.split("\n")

    def segment(self, node: ast.AST, limit: int = 240) -> str:
        """The node's source text, cut to about ``limit`` characters."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if not first or not last or first > len(self.lines):
            return "?"
        parts = []
        for n in range(first, min(last, first + 3) + 1):
            data = self.lines[n - 1].encode("utf-8")  # col offsets count UTF-8 bytes
            end = node.end_col_offset if n == last else None
            start = node.col_offset if n == first else 0
            parts.append(data[start:end][:limit].decode("utf-8", errors="replace"))
        text = "\n".join(parts)
        if _BIG_NAME in text:
            text = re.sub(_BIG_NAME + r"_*", lambda m: f"<a {len(m.group())}-digit number>", text)
        return text if last <= first + 3 else text + "\u2026"


class Evaluator:
    """Reads the value of an argument node; names are looked up in ``env`` (and recorded in
    ``used`` when they are), ``self.X`` in ``self_attrs``."""

    def __init__(self, source: Source, env: dict[str, Binding] | None = None, *,
                 bare_names: bool = False, self_attrs: dict[str, Binding] | None = None):
        self.source = source
        self.env = env if env is not None else {}
        self.self_attrs = self_attrs if self_attrs is not None else {}
        self.bare_names = bare_names  # print(model) writes padding=same: a bare name is a word
        self.used: dict[str, Binding] = {}

    def text(self, node: ast.AST) -> str:
        return short(self.source.segment(node))

    def value(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            return Opaque(self.text(node))
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, str) and len(v) > MAX_STRING:  # no choice or name is this long
                return Opaque(self.text(node))
            if isinstance(v, bool) or v is None or isinstance(v, str):
                return v
            if _is_num(v):
                return self._bounded(v, node)
            return Opaque(self.text(node))
        if isinstance(node, ast.Tuple | ast.List):
            items = tuple(self.value(e, depth + 1) for e in node.elts)
            bad = next((i for i in items if isinstance(i, OutOfRange)), None)
            if bad is not None:
                return bad
            if any(isinstance(i, Opaque) for i in items):
                return Opaque(self.text(node))
            return items
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "self" and node.attr in self.self_attrs:
            binding = self.self_attrs[node.attr]
            self.used["self." + node.attr] = binding
            return binding.value
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, depth)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        return Opaque(self.text(node))

    def _name(self, node: ast.Name) -> Any:
        if node.id.startswith(_BIG_NAME):
            return OutOfRange(f"<a {len(node.id)}-digit number>")
        if node.id in self.env:
            binding = self.env[node.id]
            self.used[node.id] = binding
            return binding.value
        if self.bare_names or node.id in _WORDS:
            return node.id
        return Opaque(self.text(node))

    def _bounded(self, v: Any, node: ast.AST) -> Any:
        if isinstance(v, complex):
            return Opaque(self.text(node))
        if isinstance(v, float) and not math.isfinite(v) or abs(v) > BIG:
            return OutOfRange(self.text(node))
        return v

    def _unary(self, node: ast.UnaryOp, depth: int) -> Any:
        signs = []
        inner: ast.AST = node
        while isinstance(inner, ast.UnaryOp):  # a loop: - - - ... - 1 can be thousands long
            if not isinstance(inner.op, ast.USub | ast.UAdd):
                return Opaque(self.text(node))
            signs.append(inner.op)
            inner = inner.operand
        v = self.value(inner, depth + 1)
        if isinstance(v, OutOfRange):
            return OutOfRange(self.text(node))
        if not _is_num(v):
            return Opaque(self.text(node))
        negative = sum(isinstance(op, ast.USub) for op in signs) % 2
        return -v if negative else v

    def _binop(self, node: ast.BinOp, depth: int) -> Any:
        chain = []
        left: ast.AST = node
        while isinstance(left, ast.BinOp):  # a loop: 1 + 1 + ... + 1 nests to the left
            chain.append(left)
            left = left.left
        acc = self.value(left, depth + 1)
        for step in reversed(chain):
            b = self.value(step.right, depth + 1)
            if isinstance(acc, OutOfRange) or isinstance(b, OutOfRange):
                return OutOfRange(self.text(node))
            if not (_is_num(acc) and _is_num(b)):
                return Opaque(self.text(node))
            try:
                if isinstance(step.op, ast.Pow):
                    acc = _power(acc, b)
                elif type(step.op) in _OPS:
                    acc = _OPS[type(step.op)](acc, b)
                else:
                    return Opaque(self.text(node))
            except ZeroDivisionError:
                return Opaque(self.text(node))
            except OverflowError:
                return OutOfRange(self.text(node))
            if acc is None:
                return OutOfRange(self.text(node))
            acc = self._bounded(acc, step)
            if isinstance(acc, OutOfRange):
                return OutOfRange(self.text(node))
            if isinstance(acc, Opaque):
                return Opaque(self.text(node))
        return acc


def _power(a: int | float, b: int | float) -> int | float | complex | None:
    """a ** b, or None where the result would pass BIG: worked out before computing it, so that
    10**10**10 costs nothing."""
    if isinstance(a, int) and isinstance(b, int) and b >= 0:
        if abs(a) <= 1:  # 0, 1 or -1: any exponent is cheap, but say it without computing
            return (1 if b == 0 else 0) if a == 0 else (-1 if a == -1 and b % 2 else 1)
        if b > 64 or b * (abs(a).bit_length() - 1) > 64:
            return None
        return a ** b
    return float(a) ** float(b)  # OverflowError past a float; complex for (-8) ** 0.5


def field_limit(name: str) -> int:
    """The largest value the catalogue takes for keyword ``name`` (one bound per field, the
    same in configs, the form and the import)."""
    return _field_limits().get(name, DEFAULT_LIMIT)


_LIMITS: dict[str, int] = {}


def _field_limits() -> dict[str, int]:
    if not _LIMITS:
        from .catalogue import CATALOGUE

        for lt in CATALOGUE.values():
            for p in lt.params:
                if p.maximum is not None:
                    _LIMITS[p.name] = max(_LIMITS.get(p.name, 0), int(p.maximum))
    return _LIMITS


def out_of_range(name: str, value: Any) -> tuple[str, int] | None:
    """(what to show, limit) when ``value`` (or an item of it) is beyond what the import takes
    for field ``name``; None when it is within bounds (or not a number: validation says so)."""
    limit = field_limit(name)
    for item in value if isinstance(value, tuple) else (value,):
        if isinstance(item, OutOfRange):
            return item.text, limit
        if _is_num(item) and (not math.isfinite(item) or abs(item) > limit):
            return short(repr(item) if isinstance(item, float) else str(item)), limit
    return None
