"""Names that pasted code binds to literals, read without running it: module-level constants
(``ngf = 64``), class attributes (``expansion = 1``, read as ``self.expansion``) and the
arguments of a class's ``__init__`` (from the call that builds it, else from its defaults).
A name bound more than once has no single value and stays unread."""

from __future__ import annotations

import ast

from .pytorch_ast import single_assignment, stores
from .pytorch_values import Binding, Evaluator, Opaque, Source


def module_constants(tree: ast.Module, source: Source) -> dict[str, Binding]:
    """Module-level names bound once, to a literal (``ngf = 64``)."""
    counts = stores(tree.body)
    env: dict[str, Binding] = {}
    ev = Evaluator(source, env)
    for stmt in tree.body:
        target, value = single_assignment(stmt)
        if isinstance(target, ast.Name) and counts.get(target.id) == 1:
            v = ev.value(value)
            if not isinstance(v, Opaque):
                env[target.id] = Binding(v, "module")
    return env


def bind_arguments(cls: ast.ClassDef, init: ast.FunctionDef, call: ast.Call | None,
                   caller: Evaluator, source: Source, env: dict[str, Binding]):
    """(bindings, module names used): the __init__ parameters bound to the call's arguments
    (read by the caller's evaluator), or to their defaults (read at module level)."""
    a = init.args
    positional = [p.arg for p in a.posonlyargs + a.args][1:]  # without self
    keyword = positional + [p.arg for p in a.kwonlyargs]
    bound: dict[str, Binding] = {}
    given: set[str] = set()
    if call is not None:
        for k, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                given.update(positional[k:])  # unknown from here on
                break
            if k < len(positional):
                given.add(positional[k])
                bound[positional[k]] = Binding(caller.value(arg), "argument")
        for kw in call.keywords:
            if kw.arg is None:
                given.update(keyword)  # **kwargs: any of them may be given
            elif kw.arg in keyword:
                given.add(kw.arg)
                bound[kw.arg] = Binding(caller.value(kw.value), "argument")
    module_ev = Evaluator(source, env)
    params = a.posonlyargs + a.args
    pairs = list(zip(params[len(params) - len(a.defaults):], a.defaults))
    pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    for param, default in pairs:
        if param.arg not in given:
            bound[param.arg] = Binding(module_ev.value(default), "default", cls.name)
    return {k: b for k, b in bound.items() if not isinstance(b.value, Opaque)}, module_ev.used


def class_attributes(cls: ast.ClassDef, init: ast.FunctionDef, source: Source,
                     env: dict[str, Binding]) -> dict[str, Binding]:
    """Class-level constants (``expansion = 1``) that __init__ does not set on self."""
    counts = stores(cls.body)
    set_on_self = {t.attr for n in ast.walk(init) if isinstance(n, ast.Assign | ast.AugAssign)
                   for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                   if isinstance(t, ast.Attribute)}
    ev = Evaluator(source, env)
    attrs = {}
    for stmt in cls.body:
        target, value = single_assignment(stmt)
        if isinstance(target, ast.Name) and counts.get(target.id) == 1 \
                and target.id not in set_on_self:
            v = ev.value(value)
            if not isinstance(v, Opaque):
                attrs[target.id] = Binding(v, "class", cls.name)
    return attrs
