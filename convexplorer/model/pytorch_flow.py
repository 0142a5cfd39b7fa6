"""Read a class's ``forward()`` (ast only, never run) to put the layers in the order the model
RUNS them: calls of its modules, ``F.``/``torch.`` functional forms that have a layer type,
``x.view(N, -1)`` and its kin as ``Flatten``, ``a + b`` / ``torch.cat`` / ``a * b`` as ``Add`` /
``Concat`` / ``Multiply`` merges whose ``from`` names the earlier layer, custom blocks of the
text read through their own ``forward()``. Modules declared but never called are left out (with
a note); a module called twice is two layers (their weights are not shared: a note says so).

Anything else (a loop, a condition it cannot decide, a call it does not know, a layer fed by
something other than the layer before it) stops the reader with a note naming the line; the
import then keeps the declaration order, as before, and says so.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .catalogue import CATALOGUE
from .import_notes import Note, note, short
from .pytorch_ast import dotted, method_of
from .pytorch_flow_calls import FlowCalls, Indices, Stop
from .pytorch_raw import RawModule
from .pytorch_values import Evaluator

MAX_INLINE = 20  # custom blocks inside custom blocks, read through their forward()
INPUT = "input"

@dataclass
class Flow:
    """Layers in the order forward() runs them, and what the reader has to say."""

    modules: list[RawModule] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    flatten_checks: dict[str, int] = field(default_factory=dict)  # name -> features view asks


class _Tree:
    """The modules __init__ made, by qualified name: leaves, containers and custom blocks."""

    def __init__(self, modules: list[RawModule]):
        self.leaves = {m.name: m for m in modules if m.name}
        self.order = [m.name for m in modules if m.name]
        self.blocks: dict[str, str] = {}  # prefix -> class of a custom block there
        for m in modules:
            if m.block:
                self.blocks.setdefault(m.block[0], m.block[1])

    def children(self, prefix: str) -> list[str]:
        """The direct children of a container, in declaration order."""
        out: list[str] = []
        for name in self.order:
            if name.startswith(prefix + "."):
                child = prefix + "." + name[len(prefix) + 1:].split(".")[0]
                if child not in out:
                    out.append(child)
        return out

    def exists(self, full: str) -> bool:
        return full in self.leaves or bool(self.children(full)) or full in self.blocks


class FlowReader(FlowCalls):
    def __init__(self, source, classes: dict[str, ast.ClassDef], modules: list[RawModule],
                 env, blocks: dict[str, str] | None = None):
        self.source = source
        self.classes = classes
        self.tree = _Tree(modules)
        # every custom block __init__ made (name -> class), with layers read or not
        self.blocks = dict(blocks or {})
        self.visited: set[str] = set()
        self.ev = Evaluator(source, dict(env))
        self.flow = Flow()
        self.last: str = INPUT  # the node (layer name) the next plain layer must read
        self.used: dict[str, int] = {}  # module -> times called
        self.taken: set[str] = set(self.tree.leaves)
        self.stems: dict[str, int] = {}

    # -- entry -------------------------------------------------------------------------------
    def read(self, cls: ast.ClassDef) -> Flow:
        forward = method_of(cls, "forward")
        if forward is None:
            raise Stop(note("flow_no_forward", cls=cls.name))
        try:
            self._body(forward, "", cls, 0)
        except RecursionError:
            raise Stop(note("flow_stop", line=forward.lineno, why="it nests too deeply",
                            text="forward")) from None
        unread = [n for n in self.blocks if n not in self.visited]
        if unread:
            raise Stop(note("flow_block_unread", name=unread[0], cls=self.blocks[unread[0]],
                            count=len(unread)))
        unused = [n for n in self.tree.order if n not in self.used]
        if unused:
            self.flow.notes.append(note("flow_unused", names=", ".join(unused[:8])
                                        + (", ..." if len(unused) > 8 else ""),
                                        count=len(unused)))
        self.flow.notes.insert(0, note("flow_read", cls=cls.name,
                                       count=len(self.flow.modules)))
        return self.flow

    def _stop(self, node: ast.AST, why: str) -> Stop:
        return Stop(note("flow_stop", line=getattr(node, "lineno", 0), why=why,
                         text=short(self.source.segment(node), 60)))

    # -- statements --------------------------------------------------------------------------
    def _body(self, fn: ast.FunctionDef, prefix: str, cls: ast.ClassDef, depth: int,
              arg_node: str | None = None):
        """Read ``fn`` (a forward) with its first argument bound to the current node; returns
        the node it returns."""
        args = [a.arg for a in fn.args.args]
        if len(args) != 2 or fn.args.vararg or fn.args.kwonlyargs or fn.args.kwarg:
            raise self._stop(fn, "forward() takes other arguments than one input")
        env: dict[str, Any] = {args[1]: self.last if arg_node is None else arg_node}
        return self._statements(fn.body, env, prefix, depth)

    def _statements(self, body, env, prefix, depth):
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # a docstring
            if isinstance(stmt, ast.Pass):
                continue
            if isinstance(stmt, ast.Return):
                if stmt.value is None:
                    raise self._stop(stmt, "it returns nothing")
                return self._value(stmt.value, env, prefix, depth)
            if isinstance(stmt, ast.If):
                branch = self._decide(stmt.test, prefix)
                if branch is None:
                    raise self._stop(stmt, "the condition depends on the data or the mode")
                result = self._statements(stmt.body if branch else stmt.orelse, env, prefix,
                                          depth)
                if result is not None:
                    return result
                continue
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                self._assign(stmt.targets[0], stmt.value, env, prefix, depth, stmt)
                continue
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self._assign(stmt.target, stmt.value, env, prefix, depth, stmt)
                continue
            if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                merged = ast.BinOp(left=ast.Name(stmt.target.id, ast.Load()), op=stmt.op,
                                   right=stmt.value, lineno=stmt.lineno,
                                   col_offset=stmt.col_offset, end_lineno=stmt.end_lineno,
                                   end_col_offset=stmt.end_col_offset)
                env[stmt.target.id] = self._value(merged, env, prefix, depth)
                continue
            kind = {ast.For: "a loop", ast.While: "a loop", ast.With: "a with block",
                    ast.Try: "a try block"}.get(type(stmt), "a statement it does not know")
            raise self._stop(stmt, f"forward() has {kind} here")
        return None

    def _assign(self, target, value, env, prefix, depth, stmt):
        if isinstance(target, ast.Name):
            env[target.id] = self._value(value, env, prefix, depth)
            return
        if isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
                all(isinstance(e, ast.Name) for e in target.elts):
            out = self._value(value, env, prefix, depth, want_indices=True)
            if not isinstance(out, tuple):
                raise self._stop(stmt, "only a max pool's (output, indices) is unpacked")
            env[target.elts[0].id], env[target.elts[1].id] = out
            return
        raise self._stop(stmt, "it assigns to something other than a name")

    def _decide(self, test: ast.AST, prefix: str) -> bool | None:
        """``if self.downsample is not None:`` is decided by whether __init__ made it."""
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and \
                isinstance(test.comparators[0], ast.Constant) and \
                test.comparators[0].value is None:
            attr = self._self_attr(test.left)
            if attr is not None:
                present = self.tree.exists(self._join(prefix, attr))
                if isinstance(test.ops[0], ast.IsNot):
                    return present
                if isinstance(test.ops[0], ast.Is):
                    return not present
        return None  # if self.use_res_connect: a value of __init__, not read here

    # -- expressions -------------------------------------------------------------------------
    def _value(self, node, env, prefix, depth, want_indices: bool = False):
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise self._stop(node, f"{node.id} is not a tensor forward() made")
            return env[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
            a = self._value(node.left, env, prefix, depth)
            b = self._value(node.right, env, prefix, depth)
            return self._merge("Add" if isinstance(node.op, ast.Add) else "Multiply", [a, b],
                               node, {})
        if isinstance(node, ast.Call):
            return self._call(node, env, prefix, depth, want_indices)
        raise self._stop(node, "the expression is not a layer, a merge or a reshape")

    def _call(self, call: ast.Call, env, prefix, depth, want_indices):
        func = call.func
        attr = self._self_attr(func)
        if attr is not None:
            return self._module_call(self._join(prefix, attr), call, env, prefix, depth,
                                     want_indices)
        name = dotted(func) or ""
        head, _, last = name.rpartition(".")
        if head in ("F", "torch", "nn.functional", "torch.nn.functional"):
            return self._function(last, call, env, prefix, depth, want_indices)
        if isinstance(func, ast.Attribute):  # a tensor method: x.view(...), x.relu()
            return self._method(func.attr, func.value, call, env, prefix, depth)
        raise self._stop(call, f"{name or 'this call'} is not a layer the reader knows")

    def _module_call(self, full, call, env, prefix, depth, want_indices):
        if not call.args:
            raise self._stop(call, "the module is called without an input")
        x = self._value(call.args[0], env, prefix, depth)
        if full in self.tree.leaves:
            raw = self.tree.leaves[full]
            extra = call.args[1:] + [k.value for k in call.keywords]
            if raw.type.startswith("MaxUnpool"):
                if not any(isinstance(self._peek(e, env), Indices) for e in extra):
                    raise self._stop(call, "the unpool is given no pool's indices")
            elif extra:
                raise self._stop(call, "the module is called with more than its input")
            return self._emit_module(raw, x, call, want_indices)
        if full in self.tree.blocks and self.tree.blocks[full] in self.classes:
            cls = self.classes[self.tree.blocks[full]]
            if method_of(cls, "forward") is not None:
                if depth >= MAX_INLINE:
                    raise self._stop(call, "custom blocks nest too deeply")
                if len(call.args) != 1 or call.keywords:
                    raise self._stop(call, "the block is called with more than its input")
                self._need(x, call)
                self.visited.add(full)
                return self._body(method_of(cls, "forward"), full, cls, depth + 1, x)
        children = self.tree.children(full)
        if full in self.tree.blocks:  # a block without forward(): a container of its own
            self.visited.add(full)
        if children:  # a container: its children in order
            if len(call.args) != 1 or call.keywords:
                raise self._stop(call, "the container is called with more than its input")
            node = x
            for child in children:
                fake = ast.Call(func=ast.Attribute(ast.Name("self", ast.Load()), "_", ast.Load()),
                                args=[ast.Name("__x__", ast.Load())], keywords=[],
                                lineno=call.lineno, col_offset=call.col_offset,
                                end_lineno=call.end_lineno, end_col_offset=call.end_col_offset)
                node = self._module_call(child, fake, {"__x__": node}, prefix, depth, False)
            return node
        raise self._stop(call, "self.{attr} is no module __init__ made".format(
            attr=full[len(prefix) + 1:] if prefix else full))

    def _peek(self, node, env):
        return env.get(node.id) if isinstance(node, ast.Name) else None

    # -- emitting layers -----------------------------------------------------------------------
    def _need(self, x, node) -> None:
        if isinstance(x, Indices):
            raise self._stop(node, "a pool's indices are used as a tensor")
        if x != self.last:
            raise self._stop(node, "this layer reads {what}, not the output of the layer "
                                   "before it; the stack can only branch at a merge (+, "
                                   "torch.cat, *)".format(what="the input" if x == INPUT
                                                          else f"the output of {x}"))

    def _emit_module(self, raw: RawModule, x, call, want_indices):
        self._need(x, call)
        count = self.used.get(raw.name, 0) + 1
        self.used[raw.name] = count
        name = raw.name
        if count > 1:
            name = f"{raw.name}_{count}"
            name = name if name not in self.taken else self._fresh(name)
            self.taken.add(name)
            self.flow.notes.append(note("flow_shared", line=call.lineno, name=raw.name,
                                        copy=name))
        self.flow.modules.append(RawModule(name, raw.type, list(raw.args), dict(raw.kwargs),
                                           raw.line, None))
        self.last = name
        if want_indices and (raw.kwargs.get("return_indices") is True or (
                len(raw.args) > 4 and raw.type.startswith("MaxPool") and raw.args[4] is True)):
            return name, Indices(name)
        return name

    def _known(self, type_: str, node) -> None:
        if type_ not in CATALOGUE:
            raise self._stop(node, f"{type_} is not a layer type convexplorer has")

    def _emit(self, type_: str, stem: str, kwargs: dict, x, call) -> str:
        self._known(type_, call)
        self._need(x, call)
        name = self._fresh(stem)
        self.flow.modules.append(RawModule(name, type_, [], kwargs, call.lineno, None))
        self.last = name
        return name

    def _merge(self, type_: str, parts: list, node, kwargs: dict) -> str:
        """A merge reads the layer before it and takes the other parts by name (``from``)."""
        self._known(type_, node)
        if any(isinstance(p, Indices) for p in parts):
            raise self._stop(node, "a pool's indices are used as a tensor")
        if self.last not in parts:
            raise self._stop(node, "neither side is the output of the layer just before; the "
                                   "stack merges the previous layer with earlier ones")
        if type_ == "Concat" and parts[0] != self.last:
            raise self._stop(node, "torch.cat puts an earlier output first; the stack's Concat "
                                   "puts the layer just before first")
        others = list(parts)
        others.remove(self.last)
        stem = {"Add": "add", "Multiply": "mul", "Concat": "cat"}[type_]
        source = others if type_ == "Concat" else others[0]
        if type_ != "Concat" and len(others) != 1:
            raise self._stop(node, "a merge of more than two tensors")
        name = self._fresh(stem)
        self.flow.modules.append(RawModule(name, type_, [], {"from": source, **kwargs},
                                           getattr(node, "lineno", 0), None))
        self.last = name
        return name

    def _fresh(self, stem: str) -> str:
        k = self.stems.get(stem, 0)
        while True:
            k += 1
            name = f"{stem}{k}" if not stem[-1].isdigit() else f"{stem}_{k}"
            if name not in self.taken:
                break
        self.stems[stem] = k
        self.taken.add(name)
        return name

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _self_attr(node) -> str | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "self":
            return node.attr
        return None

    @staticmethod
    def _join(prefix: str, attr: str) -> str:
        return f"{prefix}.{attr}" if prefix else attr


def read_flow(source, classes, cls: ast.ClassDef, modules: list[RawModule], env,
              blocks: dict[str, str] | None = None) -> Flow:
    """The layers of ``cls`` (already read from __init__ as ``modules``; ``blocks`` every
    custom block made, by name) in the order its forward() runs them; Stop when forward()
    cannot be followed."""
    return FlowReader(source, classes, modules, env, blocks).read(cls)
