"""Small readers of Python syntax trees shared by the code reader and its forward() notes:
dotted names, which statements make modules, which names a block binds. Loops, not recursion:
pasted code can nest thousands deep (``a.b.b.b...``)."""

from __future__ import annotations

import ast


def dotted(node: ast.AST) -> str | None:
    """``torch.nn.Conv2d`` as a string (a loop: attribute chains can be thousands long)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def class_name(call: ast.AST) -> str | None:
    """``nn.Conv2d``, ``torch.nn.Conv2d`` or ``Conv2d`` -> "Conv2d" (a capitalised callee)."""
    if not isinstance(call, ast.Call):
        return None
    name = dotted(call.func)
    if not name:
        return None
    last = name.split(".")[-1]
    return last if last[:1].isupper() else None


def makes_modules(stmt: ast.stmt) -> bool:
    """Whether a statement calls a module class somewhere (not in a raise)."""
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Raise):
            continue
        name = class_name(node)
        if name and not name.endswith(("Error", "Exception", "Warning")):
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def stores(nodes) -> dict[str, int]:
    """How many times each name is bound in the given statements (nested scopes excluded)."""
    counts: dict[str, int] = {}
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            counts[node.name] = counts.get(node.name, 0) + 1
            continue
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                counts[bound] = counts.get(bound, 0) + 1
        elif isinstance(node, ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return counts


def single_assignment(stmt: ast.stmt) -> tuple[ast.AST | None, ast.AST | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        return stmt.targets[0], stmt.value
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return stmt.target, stmt.value
    return None, None


def init_of(cls: ast.ClassDef) -> ast.FunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
                None)


def method_of(cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
