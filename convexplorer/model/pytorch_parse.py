"""Read the modules out of PyTorch text without running it: ``print(model)`` output, or code
such as ``nn.Sequential(nn.Conv2d(1, 20, 3), ...)``, ``OrderedDict([...])`` forms and a
class's ``self.x = nn.Conv2d(...)`` lines. The text is parsed with ``ast``, never executed.

What comes back is raw: class names and argument values as written, in order, with qualified
names (``features.0``). ``model.pytorch_code`` maps them onto the layer catalogue.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field
from typing import Any

CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


class ParseError(ValueError):
    """Text that is neither print(model) output nor Python code with modules in it."""


@dataclass(frozen=True)
class Opaque:
    """An argument that is not a literal (a variable, a call): its source text."""

    text: str


@dataclass
class RawModule:
    name: str | None  # qualified with "." (features.0); None where the code gives no name
    type: str  # the class name, e.g. "Conv2d"
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass
class Parsed:
    kind: str  # "print" or "code"
    modules: list[RawModule]
    notes: list[str]
    title: str | None = None  # the model's class (print) or variable / class name (code)


def parse(text: str) -> Parsed:
    text = text.expandtabs(4).strip("\n")
    if not text.strip():
        raise ParseError("nothing to import: paste print(model) output or PyTorch code")
    if _PRINT_LINE.search(text):
        return _parse_print(text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise ParseError(f"line {exc.lineno}: {exc.msg}; paste the output of print(model) or "
                         "Python code such as nn.Sequential(nn.Conv2d(1, 20, 3), nn.ReLU())"
                         ) from None
    return _CodeReader(text).read(tree)


# -- values ------------------------------------------------------------------------------------

# Choice values that print(model) writes unquoted (padding=same), read as strings in code too.
_WORDS = frozenset({"same", "valid", "zeros", "reflect", "replicate", "circular"})
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv}


def literal(node: ast.AST, source: str, bare_names: bool = False) -> Any:
    """The value of a literal argument (numbers, strings, True/False/None, tuples, lists, and
    simple arithmetic like ``16 * 5 * 5``); an Opaque for anything else. ``bare_names`` reads
    a bare name as a string, as print(model) writes ``padding=same``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | None):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        items = tuple(literal(e, source, bare_names) for e in node.elts)
        if any(isinstance(i, Opaque) for i in items):
            return Opaque(ast.get_source_segment(source, node) or "?")
        return items
    if isinstance(node, ast.Name) and (bare_names or node.id in _WORDS):
        return node.id
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = literal(node.operand, source, bare_names)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = literal(node.left, source), literal(node.right, source)
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b)):
            try:
                return _BINOPS[type(node.op)](a, b)
            except (ZeroDivisionError, OverflowError):
                pass
    return Opaque(ast.get_source_segment(source, node) or "?")


# -- print(model) ------------------------------------------------------------------------------

_PRINT_LINE = re.compile(r"^\s*\([^()\n]*\):\s*(\d+\s*x\s*)?[A-Za-z_][\w.]*\(", re.M)
_CHILD = re.compile(r"^\s*\((?P<name>[^()]*)\):\s*(?:(?P<count>\d+)\s*x\s*)?"
                    r"(?P<type>[A-Za-z_][\w.]*)\((?P<rest>.*)$")
_ROOT = re.compile(r"^\s*(?P<type>[A-Za-z_][\w.]*)\((?P<rest>.*)$")


@dataclass
class _Node:
    name: str | None
    type: str
    line: int
    count: int = 1
    args: str | None = None  # a leaf's argument text; None for a container
    children: list[_Node] = field(default_factory=list)


def _parse_print(text: str) -> Parsed:
    lines = text.splitlines()
    notes: list[str] = []
    root = _Node(None, "", 0)
    stack = [root]
    title = None
    i = 0
    while i < len(lines):
        raw, lineno = lines[i], i + 1
        i += 1
        if not raw.strip():
            continue
        if raw.strip() == ")":
            if len(stack) > 1:
                stack.pop()
            continue
        m = _CHILD.match(raw)
        if m is None and len(stack) == 1 and not root.children:
            m = _ROOT.match(raw)  # the first line: "Net(" or a single "Conv2d(...)"
        if m is None:
            notes.append(f"line {lineno}: not understood, skipped: {raw.strip()[:60]}")
            continue
        groups = m.groupdict()
        node = _Node(groups.get("name"), groups["type"].split(".")[-1], lineno,
                     int(groups.get("count") or 1))
        rest = groups["rest"]
        if rest.strip() == "":
            stack[-1].children.append(node)
            stack.append(node)
            if groups.get("name") is None:
                title = node.type
            continue
        # a leaf: gather lines until its parentheses balance
        body = rest
        while _unclosed(body) > 0 and i < len(lines):
            body += " " + lines[i].strip()
            i += 1
        node.args = body[:body.rfind(")")] if ")" in body else body
        stack[-1].children.append(node)
    modules: list[RawModule] = []
    # the root's own name is the model's class; its children's names are not prefixed by it
    top = root.children[0] if len(root.children) == 1 and root.children[0].name is None \
        and root.children[0].args is None else root
    for child in top.children:
        _flatten(child, None, modules, notes)
    return Parsed("print", modules, notes, title)


def _unclosed(text: str) -> int:
    """Parentheses still open after a leaf's "Type(" (0 once its closing one is there)."""
    return 1 + text.count("(") - text.count(")")


def _names(node: _Node) -> list[str | None]:
    """One name per repeat: "(0-2): 3 x Conv2d" is 0, 1 and 2."""
    if node.count > 1 and node.name and re.fullmatch(r"\d+-\d+", node.name):
        start = int(node.name.split("-")[0])
        return [str(start + k) for k in range(node.count)]
    if node.count > 1:
        return [f"{node.name}.{k}" if node.name else str(k) for k in range(node.count)]
    return [node.name]


def _flatten(node: _Node, prefix: str | None, out: list[RawModule], notes) -> None:
    for name in _names(node):
        full = f"{prefix}.{name}" if prefix and name is not None else (name or prefix)
        if node.args is None:
            for child in node.children:
                _flatten(child, full, out, notes)
            continue
        call = f"{node.type}({node.args})"
        try:
            expr = ast.parse(call, mode="eval").body
        except SyntaxError:
            notes.append(f"line {node.line}: arguments not understood, skipped: {call[:60]}")
            continue
        assert isinstance(expr, ast.Call)
        args = [literal(a, call, bare_names=True) for a in expr.args]
        kwargs = {k.arg: literal(k.value, call, bare_names=True) for k in expr.keywords if k.arg}
        out.append(RawModule(full, node.type, args, kwargs, node.line))


# -- Python code -------------------------------------------------------------------------------


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _class_name(call: ast.AST) -> str | None:
    """``nn.Conv2d``, ``torch.nn.Conv2d`` or ``Conv2d`` -> "Conv2d" (a capitalised callee)."""
    if not isinstance(call, ast.Call):
        return None
    dotted = _dotted(call.func)
    if not dotted:
        return None
    last = dotted.split(".")[-1]
    return last if last[:1].isupper() else None


class _CodeReader:
    def __init__(self, source: str):
        self.source = source
        self.notes: list[str] = []
        self.symbols: dict[str, ast.Call] = {}  # variable -> module expression
        self.used: set[str] = set()

    def read(self, tree: ast.Module) -> Parsed:
        roots: list[tuple[str | None, ast.Call]] = []
        title = None
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
        if classes:
            cls = next((c for c in classes if self._init(c)), classes[-1])
            title = cls.name
            init = self._init(cls)
            body = init.body if init else []
            for stmt in body:
                name, call = self._assignment(stmt, attr_of="self")
                if call is not None:
                    roots.append((name, call))
            self._note_forward(cls)
        else:
            for stmt in tree.body:
                name, call = self._assignment(stmt)
                if call is None:
                    continue
                if name:
                    self.symbols[name] = call
                    title = name
                roots.append((name, call))
        if not roots:
            raise ParseError("no torch.nn modules found: paste print(model) output, or code such "
                             "as nn.Sequential(nn.Conv2d(1, 20, 3), nn.ReLU())")
        for _, call in roots:  # names used inside another module are not roots themselves
            for node in ast.walk(call):
                if isinstance(node, ast.Name) and node.id in self.symbols:
                    self.used.add(node.id)
        roots = [(n, c) for n, c in roots if not (n in self.used and not classes)]
        single = len(roots) == 1 and not classes
        modules: list[RawModule] = []
        for name, call in roots:
            self._module(call, None if single else name, modules)
        return Parsed("code", modules, self.notes, title)

    @staticmethod
    def _init(cls: ast.ClassDef) -> ast.FunctionDef | None:
        for node in cls.body:
            if isinstance(node, ast.FunctionDef) and node.name == "__init__":
                return node
        return None

    def _assignment(self, stmt: ast.stmt, attr_of: str | None = None):
        """(name, module call) for ``x = nn.X(...)``, ``self.x = ...`` or a bare expression."""
        if isinstance(stmt, ast.Expr) and _class_name(stmt.value) and attr_of is None:
            return None, stmt.value
        value, target = None, None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            value, target = stmt.value, stmt.targets[0]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            value, target = stmt.value, stmt.target
        if value is None or _class_name(value) is None:
            if isinstance(stmt, ast.For | ast.While | ast.If | ast.With):
                self.notes.append(f"line {stmt.lineno}: layers made inside a loop or condition "
                                  "are not read")
            return None, None
        if attr_of and isinstance(target, ast.Attribute) and _dotted(target.value) == attr_of:
            return target.attr, value
        if attr_of is None and isinstance(target, ast.Name):
            return target.id, value
        return None, None

    def _note_forward(self, cls: ast.ClassDef) -> None:
        forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef)
                        and n.name == "forward"), None)
        if forward is None:
            return
        calls = []
        for node in ast.walk(forward):
            if isinstance(node, ast.Call):
                dotted = _dotted(node.func) or ""
                head = dotted.split(".")[0]
                if head in ("F", "torch") or dotted.endswith((".view", ".reshape", ".flatten")):
                    short = dotted if head in ("F", "torch") else "." + dotted.split(".")[-1]
                    if short not in calls:
                        calls.append(short)
        if calls:
            self.notes.append("forward() is not read: " + ", ".join(calls[:6])
                              + " there are not layers, so they are not imported; add them "
                                "as layers (e.g. ReLU, MaxPool2d, Flatten)")

    def _module(self, call: ast.AST, name: str | None, out: list[RawModule]) -> None:
        line = getattr(call, "lineno", 0)
        if isinstance(call, ast.Name) and call.id in self.symbols:
            self._module(self.symbols[call.id], name or call.id, out)
            return
        cls = _class_name(call)
        if cls is None:
            text = ast.get_source_segment(self.source, call) or "?"
            self.notes.append(f"line {line}: {text[:50]} is not a module call, skipped")
            return
        assert isinstance(call, ast.Call)
        if cls in CONTAINERS:
            self._container(call, name, out)
            return
        args = []
        for a in call.args:
            if isinstance(a, ast.Starred):
                self.notes.append(f"line {line}: *{ast.get_source_segment(self.source, a.value)}"
                                  f" in {cls}(...) is not read")
                continue
            args.append(literal(a, self.source))
        kwargs = {}
        for k in call.keywords:
            if k.arg is None:
                self.notes.append(f"line {line}: **kwargs in {cls}(...) are not read")
                continue
            kwargs[k.arg] = literal(k.value, self.source)
        out.append(RawModule(name, cls, args, kwargs, line))

    def _container(self, call: ast.Call, name: str | None, out: list[RawModule]) -> None:
        items: list[tuple[str | None, ast.AST]] = []
        for k, arg in enumerate(call.args):
            pairs = self._ordered_items(arg)
            if pairs is not None:
                items.extend(pairs)
            elif isinstance(arg, ast.List | ast.Tuple):  # ModuleList([...])
                items.extend((str(j), e) for j, e in enumerate(arg.elts))
            elif isinstance(arg, ast.Starred):
                what = ast.get_source_segment(self.source, arg.value)
                self.notes.append(f"line {arg.lineno}: *{what} is not read (write the layers "
                                  "out)")
            else:
                items.append((str(k), arg))
        for child_name, node in items:
            full = f"{name}.{child_name}" if name and child_name is not None else child_name
            self._module(node, full, out)

    def _ordered_items(self, node: ast.AST):
        """The (name, module) pairs of ``OrderedDict([("a", m), ...])`` or ``{"a": m}``."""
        if isinstance(node, ast.Dict):
            keys = [literal(k, self.source) if k is not None else None for k in node.keys]
            return [(str(k), v) for k, v in zip(keys, node.values)]
        if not (isinstance(node, ast.Call) and (_dotted(node.func) or "").endswith("OrderedDict")):
            return None
        pairs: list[tuple[str | None, ast.AST]] = []
        if node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            for item in node.args[0].elts:
                if isinstance(item, ast.Tuple) and len(item.elts) == 2:
                    key = literal(item.elts[0], self.source)
                    pairs.append((key if isinstance(key, str) else None, item.elts[1]))
        pairs += [(k.arg, k.value) for k in node.keywords if k.arg]
        return pairs
