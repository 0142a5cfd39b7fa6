"""Read the modules out of Python code without running it: ``nn.Sequential(...)`` expressions,
the ``OrderedDict([...])`` form, and classes' ``self.x = nn.Conv2d(...)`` lines.

Of several classes, the one the others are built into is read (or the one asked for), and a
class of the text used inside it is read in its place, with its arguments: ``BasicBlock(64,
128, 2)`` gives BasicBlock's layers, named ``layer2.0.conv1``. Names bound once to literals
(``ngf = 64``, a constructor default) are read as their values, and the notes say so.
``forward()`` is not read: the notes say what it does that the stack will not (functional calls,
a module called twice, custom modules that may branch).
"""

from __future__ import annotations

import ast

from .import_notes import Note, note, short, where
from .pytorch_ast import (
    class_name,
    dotted,
    init_of,
    makes_modules,
    method_of,
    single_assignment,
    stores,
)
from .pytorch_flow import Stop, read_flow
from .pytorch_forward import forward_notes
from .pytorch_names import bind_arguments, class_attributes, module_constants
from .pytorch_raw import (
    CONTAINERS,
    MAX_LAYERS,
    PASS_THROUGH,
    Blocks,
    Parsed,
    ParseError,
    RawModule,
)
from .pytorch_values import Binding, Evaluator, Opaque, Source

MAX_CLASS_DEPTH = 20  # classes built from classes built from ...
# Calls in __init__ that make values, not modules (self.x = int(...) says nothing is missing).
_NOT_MODULES = frozenset({"int", "float", "round", "max", "min", "len", "list", "tuple", "dict",
                          "set", "str", "bool", "sum", "abs", "getattr", "range", "isinstance",
                          "super", "print"})


class CodeReader:
    def __init__(self, text: str, tree: ast.Module, asked: str | None = None):
        self.source = Source(text)
        self.tree = tree
        self.asked = asked
        self.notes: list[Note] = []
        self.blocks = Blocks()
        self.out: list[RawModule] = []
        self.work = 0  # module calls looked at, expansions included: capped like the layers
        self.used: dict[str, Binding] = {}  # names read as values, for the notes
        self.env = module_constants(self.tree, self.source)
        self.classes = {c.name: c for c in tree.body
                        if isinstance(c, ast.ClassDef) and init_of(c) is not None}
        self.read_classes: list[ast.ClassDef] = []

    # -- the text as a whole ---------------------------------------------------------------
    def read(self) -> Parsed:
        if self.classes:
            return self._read_model_class()
        if self.asked:
            raise ParseError(note("no_class_at_all", name=self.asked))
        return self._read_module_level()

    def _read_module_level(self) -> Parsed:
        symbols: dict[str, ast.AST] = {}
        roots: list[tuple[str | None, ast.AST]] = []
        title = None
        for stmt in self.tree.body:
            name, call = None, None
            if isinstance(stmt, ast.Expr) and class_name(stmt.value):
                call = stmt.value
            else:
                target, value = single_assignment(stmt)
                if isinstance(target, ast.Name) and class_name(value):
                    name, call = target.id, value
                elif isinstance(stmt, ast.For | ast.While | ast.If | ast.With | ast.Try) \
                        and makes_modules(stmt):
                    self.notes.append(note("loop_or_condition", line=stmt.lineno))
            if call is None:
                continue
            if name:
                symbols[name] = call
                title = name
            roots.append((name, call))
        if not roots:
            raise ParseError(note("no_modules"))
        used = {n.id for _, call in roots for n in ast.walk(call)
                if isinstance(n, ast.Name) and n.id in symbols}
        roots = [(n, c) for n, c in roots if n not in used]
        single = len(roots) == 1
        ev = Evaluator(self.source, self.env)
        for name, call in roots:
            self._module(call, None if single else name, ev, None, symbols, 0, ())
        self._note_names(ev)
        return Parsed("code", self.out, self.notes + self.blocks.notes(), title)

    # -- classes ---------------------------------------------------------------------------
    def _pick_class(self) -> ast.ClassDef:
        names = list(self.classes)
        if self.asked:
            if self.asked not in self.classes:
                raise ParseError(note("no_class", name=self.asked, classes=", ".join(names)))
            if len(names) > 1:
                others = ", ".join(n for n in names if n != self.asked)
                self.notes.append(note("class_asked", name=self.asked, others=others))
            return self.classes[self.asked]
        used_by_others = set()
        for name, cls in self.classes.items():
            for node in ast.walk(cls):
                if isinstance(node, ast.Name) and node.id in self.classes and node.id != name:
                    used_by_others.add(node.id)
        outer = [n for n in names if n not in used_by_others] or names[-1:]
        if len(outer) == 1:
            if len(names) > 1:
                self.notes.append(note("class_outermost", name=outer[0],
                                       classes=", ".join(names)))
            return self.classes[outer[0]]
        built = [n for n in outer if self._instantiation(n) is not None]
        pick = (built or outer)[-1]
        self.notes.append(note("class_several", name=pick, classes=", ".join(outer)))
        return self.classes[pick]

    def _instantiation(self, name: str) -> ast.Call | None:
        """The module-level call that builds the model (``model = Net(10)``), if there is one."""
        for stmt in self.tree.body:
            value = stmt.value if isinstance(stmt, ast.Expr | ast.Assign | ast.AnnAssign) \
                else None
            if isinstance(value, ast.Call) and dotted(value.func) == name:
                return value
        return None

    def _read_model_class(self) -> Parsed:
        cls = self._pick_class()
        call = self._instantiation(cls.name)
        ev = Evaluator(self.source, self.env)
        self._read_class(cls, call, ev, None, None, 0, (cls.name,))
        self.flatten_checks: dict[str, int] = {}
        try:
            blocks = {name: c for c, names in self.blocks.by_class.items() for name in names}
            flow = read_flow(self.source, self.classes, cls, self.out, self.env, blocks)
        except Stop as stop:
            self.notes += [stop.note, note("flow_fallback")] + forward_notes(self.read_classes)
        else:
            self.out = flow.modules
            self.flatten_checks = flow.flatten_checks
            self.blocks = Blocks()  # the custom blocks' forward() were read too
            self.notes += flow.notes
        self._note_names(ev, cls.name, call)
        if not self.out and not any(n.key not in ("class_outermost", "class_several",
                                                   "class_asked") for n in self.notes):
            raise ParseError(note("no_modules"))
        return Parsed("code", self.out, self.notes + self.blocks.notes(), cls.name,
                      tuple(self.classes), cls.name, self.flatten_checks)

    def _read_class(self, cls: ast.ClassDef, call: ast.Call | None, caller: Evaluator,
                    prefix: str | None, block, depth: int, chain: tuple[str, ...]) -> None:
        """The modules of one class's __init__, read statement by statement: a name holds
        the value of its last assignment until a loop or condition may change it."""
        init = init_of(cls)
        assert init is not None
        if cls not in self.read_classes:
            self.read_classes.append(cls)
        env = dict(self.env)
        bound, used = bind_arguments(cls, init, call, caller, self.source, self.env)
        env.update(bound)
        self.used.update(used)
        ev = Evaluator(self.source, env, self_attrs=class_attributes(cls, init, self.source,
                                                                      self.env))
        local_modules: dict[str, ast.AST] = {}
        for stmt in init.body:
            target, value = single_assignment(stmt)
            if isinstance(target, ast.Attribute) and dotted(target.value) == "self":
                full = f"{prefix}.{target.attr}" if prefix else target.attr
                if self._is_module(value, local_modules):
                    self._module(value, full, ev, block, local_modules, depth, chain)
                elif isinstance(value, ast.Call) and self._builder(value):
                    self.notes.append(note("built_by_call", line=stmt.lineno, attr=target.attr,
                                           text=short(self.source.segment(value))))
                continue
            if isinstance(target, ast.Name):
                env.pop(target.id, None)
                local_modules.pop(target.id, None)
                if self._is_module(value, local_modules):
                    local_modules[target.id] = value
                else:
                    v = ev.value(value)
                    if not isinstance(v, Opaque):
                        env[target.id] = Binding(v, "local", cls.name)
                continue
            for name in stores([stmt]):  # no longer one known value
                env.pop(name, None)
                local_modules.pop(name, None)
            parent = self._super_init(cls, stmt)
            if parent is not None:
                self._read_parent(cls, parent, ev, prefix, block, local_modules, depth, chain)
            elif self._add_module(stmt):
                assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                key = ev.value(stmt.value.args[0])
                name = str(key) if isinstance(key, str) else None
                full = f"{prefix}.{name}" if prefix and name else (name or prefix)
                self._module(stmt.value.args[1], full, ev, block, local_modules, depth, chain)
            elif isinstance(stmt, ast.For | ast.While | ast.If | ast.With | ast.Try) \
                    and makes_modules(stmt):
                self.notes.append(note("loop_or_condition", line=stmt.lineno))
        origins = ("module", "class", "default") if depth == 0 else ("module", "class")
        self.used.update({k: b for k, b in ev.used.items() if b.origin in origins})

    def _super_init(self, cls: ast.ClassDef, stmt: ast.stmt) -> ast.Call | None:
        """``super().__init__(...)`` or ``Base.__init__(self, ...)`` where the base holds
        layers (a class of the text, or nn.Sequential): as a call of the base, without self."""
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "__init__"):
            return None
        owner = call.func.value
        if isinstance(owner, ast.Call) and dotted(owner.func) == "super":
            args = call.args
        elif isinstance(owner, ast.Name) and any(dotted(b) == owner.id for b in cls.bases):
            args = call.args[1:]
        else:
            return None
        if self._base(cls) is None:
            return None
        return ast.Call(func=call.func, args=args, keywords=call.keywords, lineno=call.lineno,
                        col_offset=call.col_offset, end_lineno=call.end_lineno,
                        end_col_offset=call.end_col_offset)

    def _base(self, cls: ast.ClassDef) -> str | None:
        """The base class whose __init__ makes layers: one of the text's, or a container."""
        for base in cls.bases:
            name = dotted(base) or ""
            if name in self.classes and name != cls.name:
                return name
            if name.split(".")[-1] in CONTAINERS:
                return name.split(".")[-1]
        return None

    def _read_parent(self, cls, call: ast.Call, ev, prefix, block, local_modules, depth, chain):
        base = self._base(cls)
        if base in CONTAINERS:  # class Block(nn.Sequential): super().__init__(conv, bn, ...)
            if call.args or call.keywords:
                self._container(call, base, prefix, ev, block, local_modules, depth, chain)
            return
        assert base is not None
        if base in chain or depth >= MAX_CLASS_DEPTH:
            self.notes.append(note("class_cycle", line=call.lineno, cls=base))
            return
        self._read_class(self.classes[base], call, ev, prefix, block, depth + 1,
                         chain + (base,))

    @staticmethod
    def _add_module(stmt: ast.stmt) -> bool:
        """``self.add_module("conv1", nn.Conv2d(...))``"""
        return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and dotted(stmt.value.func) == "self.add_module" and len(stmt.value.args) == 2)

    def _is_module(self, node: ast.AST | None, local_modules) -> bool:
        if isinstance(node, ast.Name):
            return node.id in local_modules
        return class_name(node) is not None or (
            isinstance(node, ast.Call) and dotted(node.func) in self.classes)

    @staticmethod
    def _builder(call: ast.Call) -> bool:
        """A call that may build modules but is not read: a method or a helper function."""
        name = dotted(call.func) or ""
        head = name.split(".")[0]
        return bool(name) and name not in _NOT_MODULES and head not in ("torch", "F", "math",
                                                                       "np", "numpy")

    # -- modules ---------------------------------------------------------------------------
    def _module(self, node: ast.AST, name: str | None, ev: Evaluator, block, symbols,
                depth: int, chain: tuple[str, ...]) -> None:
        self.work += 1
        line = getattr(node, "lineno", 0)
        if self.work > 4 * MAX_LAYERS or len(self.out) > MAX_LAYERS:
            raise ParseError(note("too_many_layers", line=line, limit=MAX_LAYERS))
        if isinstance(node, ast.Name) and node.id in symbols:
            self._module(symbols[node.id], name or node.id, ev, block, symbols, depth, chain)
            return
        cls = class_name(node)
        callee = dotted(node.func) if isinstance(node, ast.Call) else None
        if callee in self.classes:
            cls = callee
        if cls is None and isinstance(node, ast.ListComp | ast.GeneratorExp | ast.DictComp):
            self.notes.append(note("loop_or_condition", line=line))
            return
        if cls is None:
            self.notes.append(note("not_module_call", line=line,
                                   text=short(self.source.segment(node), 50)))
            return
        assert isinstance(node, ast.Call)
        if cls in self.classes:
            self._expand(self.classes[cls], node, name, ev, block, depth, chain)
        elif cls in CONTAINERS + PASS_THROUGH:
            self._container(node, cls, name, ev, block, symbols, depth, chain)
        else:
            self.out.append(self._raw(node, cls, name, ev, block))

    def _expand(self, cls: ast.ClassDef, call: ast.Call, name, ev, block, depth, chain) -> None:
        line = call.lineno
        if cls.name in chain:
            self.notes.append(note("class_cycle", line=line, cls=cls.name))
            return
        if depth >= MAX_CLASS_DEPTH:
            self.notes.append(note("class_too_deep", line=line, cls=cls.name,
                                   limit=MAX_CLASS_DEPTH))
            return
        full = name or cls.name
        if method_of(cls, "forward") is not None or self._base(cls) not in CONTAINERS:
            block = (full, cls.name)  # its forward() is its own: it may branch
            self.blocks.add(cls.name, full)
        self._read_class(cls, call, ev, name, block, depth + 1, chain + (cls.name,))

    def _raw(self, call: ast.Call, cls: str, name, ev: Evaluator, block) -> RawModule:
        line = call.lineno
        args = []
        for a in call.args:
            if isinstance(a, ast.Starred):
                self.notes.append(note("starred_arg", line=line, type=cls,
                                       text=short(self.source.segment(a.value))))
                continue
            args.append(ev.value(a))
        kwargs = {}
        for k in call.keywords:
            if k.arg is None:
                self.notes.append(note("kwargs_arg", line=line, type=cls))
                continue
            kwargs[k.arg] = ev.value(k.value)
        return RawModule(name, cls, args, kwargs, line, block)

    def _container(self, call: ast.Call, cls: str, name, ev, block, symbols, depth, chain):
        items: list[tuple[str | None, ast.AST]] = []
        for k, arg in enumerate(call.args):
            pairs = self._ordered_items(arg, ev)
            if pairs is not None:
                items.extend(pairs)
            elif isinstance(arg, ast.List | ast.Tuple):  # ModuleList([...])
                items.extend((str(j), e) for j, e in enumerate(arg.elts))
            elif isinstance(arg, ast.Starred):
                self.notes.append(note("starred_items", line=arg.lineno,
                                       text=short(self.source.segment(arg.value))))
            else:
                items.append((str(k), arg))
        if not items and not any(isinstance(a, ast.Starred) for a in call.args):
            key = "holds_nothing" if cls in ("ModuleList", "ModuleDict") else "passes_through"
            self.notes.append(note(key, where=where(call.lineno, name, cls), type=cls))
            return
        for child_name, node in items:
            full = f"{name}.{child_name}" if name and child_name is not None else child_name
            self._module(node, full, ev, block, symbols, depth, chain)

    def _ordered_items(self, node: ast.AST, ev: Evaluator):
        """The (name, module) pairs of ``OrderedDict([("a", m), ...])`` or ``{"a": m}``."""
        if isinstance(node, ast.Dict):
            keys = [ev.value(k) if k is not None else None for k in node.keys]
            return [(str(k), v) for k, v in zip(keys, node.values)]
        if not (isinstance(node, ast.Call) and (dotted(node.func) or "").endswith("OrderedDict")):
            return None
        pairs: list[tuple[str | None, ast.AST]] = []
        if node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            for item in node.args[0].elts:
                if isinstance(item, ast.Tuple) and len(item.elts) == 2:
                    key = ev.value(item.elts[0])
                    pairs.append((key if isinstance(key, str) else None, item.elts[1]))
        pairs += [(k.arg, k.value) for k in node.keywords if k.arg]
        return pairs

    # -- what forward() does, and the names read -------------------------------------------
    def _note_names(self, ev: Evaluator, root: str | None = None,
                    built: ast.Call | None = None) -> None:
        used = dict(self.used)
        used.update({k: b for k, b in ev.used.items() if b.origin in ("module", "class")})
        pairs = [f"{k}={b.value!r}" for k, b in used.items() if b.origin in ("module", "class")]
        if pairs:
            self.notes.append(note("names_resolved", pairs=", ".join(pairs)))
        defaults = [f"{k}={b.value!r}" for k, b in used.items()
                    if b.origin == "default" and b.owner == root]
        if defaults and built is not None:
            self.notes.append(note("defaults_built", cls=root, pairs=", ".join(defaults),
                                   line=built.lineno))
        elif defaults:
            self.notes.append(note("defaults_used", cls=root, pairs=", ".join(defaults)))
