"""What ``forward()`` does that the module list does not say, read for notes only (it is never
run, nor turned into layers): functional calls (``F.relu``, ``torch.flatten``, ``x.view``) and a
module called more than once, which the stack holds once, in declaration order."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .import_notes import Note, note
from .pytorch_ast import dotted, init_of, method_of, single_assignment


@dataclass(frozen=True)
class _Site:
    """A call ``self.attr(...)`` in forward(): where, and under which branches of which ifs
    (if node, branch, whether that branch returns)."""

    attr: str
    line: int
    looped: bool
    path: tuple[tuple[int, int, bool], ...]


def _call_sites(body: list[ast.stmt], path, looped: bool = False):
    """The ``self.X(...)`` calls of a block of statements (recursion as deep as the blocks
    nest, which Python caps at 100)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _calls_in(stmt.test, path, looped)
            for k, branch in enumerate((stmt.body, stmt.orelse)):
                returns = bool(branch) and isinstance(branch[-1], ast.Return | ast.Raise)
                yield from _call_sites(branch, path + ((id(stmt), k, returns),), looped)
        elif isinstance(stmt, ast.For | ast.While | ast.AsyncFor):
            yield from _calls_in(getattr(stmt, "iter", None) or stmt.test, path, looped)
            yield from _call_sites(stmt.body + stmt.orelse, path, True)
        elif isinstance(stmt, ast.With | ast.AsyncWith | ast.Try):
            inner = list(getattr(stmt, "body", []))
            for extra in ("orelse", "finalbody"):
                inner += getattr(stmt, extra, [])
            for handler in getattr(stmt, "handlers", []):
                inner += handler.body
            yield from _call_sites(inner, path, looped)
        elif not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield from _calls_in(stmt, path, looped)


def _calls_in(node: ast.AST | None, path, looped: bool):
    todo = [(node, looped)] if node is not None else []
    while todo:
        item, inner = todo.pop()
        if isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute) \
                and dotted(item.func.value) == "self":
            yield _Site(item.func.attr, item.lineno, inner, path)
        deeper = inner or isinstance(item, ast.comprehension | ast.ListComp | ast.GeneratorExp)
        todo.extend((child, deeper) for child in ast.iter_child_nodes(item))


def _exclusive(a: _Site, b: _Site) -> bool:
    """Whether two calls never both run: opposite branches of one if, or one in a branch
    that returns and the other after that if."""
    branches_a = {node: (k, returns) for node, k, returns in a.path}
    branches_b = {node: (k, returns) for node, k, returns in b.path}
    for node in branches_a.keys() & branches_b.keys():
        if branches_a[node][0] != branches_b[node][0]:
            return True
    first, second = (a, b) if a.line <= b.line else (b, a)
    inner_first = {node: (k, returns) for node, k, returns in first.path}
    inner_second = {node for node, _, _ in second.path}
    return any(returns and node not in inner_second
               for node, (_, returns) in inner_first.items())


def forward_notes(read_classes) -> list[Note]:
    """The notes on the forward() of every class read: the functional calls it makes (one
    note) and the modules it calls more than once."""
    notes: list[Note] = []
    calls: list[str] = []
    for cls in read_classes:
        forward = method_of(cls, "forward")
        if forward is None:
            continue
        for node in ast.walk(forward):
            if isinstance(node, ast.Call):
                name = dotted(node.func) or ""
                head = name.split(".")[0]
                if head in ("F", "torch") or name.endswith((".view", ".reshape", ".flatten")):
                    call = name if head in ("F", "torch") else "." + name.split(".")[-1]
                    if call not in calls:
                        calls.append(call)
        notes += _reused_notes(cls, forward)
    if calls:
        notes.append(note("forward_calls", calls=", ".join(calls[:6])))
    return notes


def _reused_notes(cls: ast.ClassDef, forward: ast.FunctionDef) -> list[Note]:
    """A module called more than once in forward() (or in a loop) sits once in the stack.
    Calls in the two branches of an if, or after an if whose branch returned, are one
    use (MobileNetV2's ``return x + self.conv(x)`` / ``return self.conv(x)``)."""
    init = init_of(cls)
    notes: list[Note] = []
    modules = {t.attr for stmt in (init.body if init else [])
               for t in [single_assignment(stmt)[0]]
               if isinstance(t, ast.Attribute) and dotted(t.value) == "self"}
    sites: dict[str, list[_Site]] = {}
    for site in _call_sites(forward.body, ()):
        if site.attr in modules:
            sites.setdefault(site.attr, []).append(site)
    for attr, found in sorted(sites.items(), key=lambda kv: kv[1][0].line):
        lines = ", ".join(str(n) for n in sorted({s.line for s in found}))
        if any(s.looped for s in found):
            notes.append(note("reused_in_loop", line=found[0].line, cls=cls.name, attr=attr))
        elif any(not _exclusive(a, b) for k, a in enumerate(found) for b in found[k + 1:]):
            notes.append(note("reused_module", line=found[0].line, cls=cls.name, attr=attr,
                              lines=lines))
    return notes
