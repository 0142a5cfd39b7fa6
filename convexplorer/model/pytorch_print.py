"""Read the output of ``print(model)``: one module per line, children indented inside their
container, ``(0-2): 3 x Conv2d(...)`` for repeats. Linear in the text's length; the repeats are
counted before anything is expanded, so a 38-byte ``999999999 x ReLU()`` is refused at once.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .import_notes import Note, note, short, where
from .pytorch_raw import (
    CONTAINERS,
    MAX_LAYERS,
    MAX_NESTING,
    PASS_THROUGH,
    Blocks,
    Parsed,
    ParseError,
    RawModule,
)
from .pytorch_values import Evaluator, Source, hide_long_digits

# [ \t], never \s: \s crosses line ends, and a search over many blank lines turns quadratic.
PRINT_LINE = re.compile(r"^[ \t]*\([^()\n]*\):[ \t]*(\d+[ \t]*x[ \t]*)?[A-Za-z_][\w.]*\(", re.M)
_CHILD = re.compile(r"^[ \t]*\((?P<name>[^()]*)\):[ \t]*(?:(?P<count>\d+)[ \t]*x[ \t]*)?"
                    r"(?P<type>[A-Za-z_][\w.]*)\((?P<rest>.*)$")
_ROOT = re.compile(r"^[ \t]*(?P<type>[A-Za-z_][\w.]*)\((?P<rest>.*)$")
_RANGE = re.compile(r"(\d{1,9})-\d{1,9}")
_MAX_SKIPPED_NOTES = 20  # lines not understood, named one by one; the rest are counted


@dataclass
class _Node:
    name: str | None
    type: str
    line: int
    count: int = 1
    count_text: str = "1"  # as written, for a message
    args: str | None = None  # a leaf's argument text; None for a container
    children: list[_Node] = field(default_factory=list)


def _count(text: str | None) -> int:
    """A repeat count, read without converting a 5,000-digit number."""
    if not text:
        return 1
    return int(text) if len(text) <= 9 else MAX_LAYERS + 1


def parse_print(text: str) -> Parsed:
    lines = text.splitlines()
    notes: list[Note] = []
    skipped = 0
    root = _Node(None, "", 0)
    stack = [root]
    title = None
    i = 0
    while i < len(lines):
        raw, lineno = lines[i], i + 1
        i += 1
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped == ")":
            if len(stack) > 1:
                stack.pop()
            continue
        m = _CHILD.match(raw)
        if m is None and len(stack) == 1 and not root.children:
            m = _ROOT.match(raw)  # the first line: "Net(" or a single "Conv2d(...)"
        if m is None:
            skipped += 1
            if skipped <= _MAX_SKIPPED_NOTES:
                notes.append(note("print_line_skipped", line=lineno, text=short(stripped)))
            continue
        groups = m.groupdict()
        node = _Node(groups.get("name"), groups["type"].split(".")[-1], lineno,
                     _count(groups.get("count")), groups.get("count") or "1")
        rest = groups["rest"]
        if rest.strip() == "":
            if len(stack) > MAX_NESTING:
                raise ParseError(note("too_nested", line=lineno, limit=MAX_NESTING))
            stack[-1].children.append(node)
            stack.append(node)
            if groups.get("name") is None:
                title = node.type
            continue
        # a leaf: gather lines until its parentheses balance (counted as they come: linear)
        parts, depth = [rest], 1 + rest.count("(") - rest.count(")")
        while depth > 0 and i < len(lines):
            more = lines[i].strip()
            parts.append(more)
            depth += more.count("(") - more.count(")")
            i += 1
        body = " ".join(parts)
        node.args = body[:body.rfind(")")] if ")" in body else body
        stack[-1].children.append(node)
    if skipped > _MAX_SKIPPED_NOTES:
        notes.append(note("print_more_skipped", count=skipped - _MAX_SKIPPED_NOTES))
    # the root's own name is the model's class; its children's names are not prefixed by it
    top = root.children[0] if len(root.children) == 1 and root.children[0].name is None \
        and root.children[0].args is None else root
    _check_size(top)
    modules: list[RawModule] = []
    blocks = Blocks()
    for child in top.children:
        _flatten(child, None, None, modules, notes, blocks)
    return Parsed("print", modules, notes + blocks.notes(), title)


def _check_size(top: _Node) -> None:
    """Refuse before expanding when the repeats would make more than MAX_LAYERS layers."""
    biggest: list[_Node] = []

    def total(node: _Node) -> int:  # as deep as the nesting, which is capped
        if node.count > 1 and (not biggest or node.count > biggest[0].count):
            biggest[:] = [node]
        own = 1 if node.args is not None else 0
        for child in node.children:
            own = min(own + total(child), MAX_LAYERS + 1)
        return min(node.count * own, MAX_LAYERS + 1)

    made = sum(total(child) for child in top.children)
    if made > MAX_LAYERS:
        if biggest:
            node = biggest[0]
            count = node.count_text if len(node.count_text) <= 12 \
                else f"<a {len(node.count_text)}-digit number>"
            raise ParseError(note("too_many_repeats", line=node.line, count=count,
                                  type=node.type, limit=MAX_LAYERS))
        line = _line_of_layer(top, MAX_LAYERS + 1)
        raise ParseError(note("too_many_layers", line=line, limit=MAX_LAYERS))


def _line_of_layer(top: _Node, n: int) -> int:
    """The line of the n-th leaf (without repeats): where the cap is passed."""
    todo = list(reversed(top.children))
    while todo:
        node = todo.pop()
        if node.args is not None:
            n -= 1
            if n <= 0:
                return node.line
        todo.extend(reversed(node.children))
    return top.line


def _names(node: _Node) -> list[str | None]:
    """One name per repeat: "(0-2): 3 x Conv2d" is 0, 1 and 2."""
    m = _RANGE.fullmatch(node.name or "")
    if node.count > 1 and m:
        start = int(m.group(1))
        return [str(start + k) for k in range(node.count)]
    if node.count > 1:
        return [f"{node.name}.{k}" if node.name else str(k) for k in range(node.count)]
    return [node.name]


def _flatten(node: _Node, prefix: str | None, block, out: list[RawModule], notes, blocks):
    for name in _names(node):
        full = f"{prefix}.{name}" if prefix and name is not None else (name or prefix)
        if node.args is None:
            inner = block
            if node.type not in CONTAINERS:  # a custom module: its forward() is unknown
                inner = (full or node.type, node.type)
                blocks.add(node.type, full or node.type)
            for child in node.children:
                _flatten(child, full, inner, out, notes, blocks)
            continue
        if node.type in CONTAINERS + PASS_THROUGH and not node.args.strip():
            key = "holds_nothing" if node.type in ("ModuleList", "ModuleDict") \
                else "passes_through"
            notes.append(note(key, where=where(node.line, full, node.type), type=node.type))
            continue
        call = hide_long_digits(f"{node.type}({node.args})")
        try:
            expr = ast.parse(call, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            notes.append(note("print_args_skipped", line=node.line, text=short(call)))
            continue
        if not isinstance(expr, ast.Call):
            notes.append(note("print_args_skipped", line=node.line, text=short(call)))
            continue
        ev = Evaluator(Source(call), bare_names=True)
        args = [ev.value(a) for a in expr.args]
        kwargs = {k.arg: ev.value(k.value) for k in expr.keywords if k.arg}
        out.append(RawModule(full, node.type, args, kwargs, node.line, block))
