"""PyTorch code in: ``print(model)`` output or ``nn.Sequential(...)`` code -> a Config.

The text is parsed (``model.pytorch_parse``, with ``ast``), never executed. Positional arguments
map onto torch's parameter names through the catalogue (``LayerType.params`` is in torch's
positional order). Values are kept as written (``kernel_size=(5, 5)`` stays a tuple), except:
keywords equal to torch's default are left out (print(model) always shows ``stride=(1, 1)``),
and a one-element tuple such as ``(3,)`` (print's form for 1-D pools) becomes ``3``.

Modules that are not in the catalogue are named in a note and skipped. Where the modules do not
chain (a Linear after a conv map: ``forward()`` flattened it), the missing layer comes back as
a Suggestion to insert. Code out lives in ``model.pytorch_export``. No Qt and no torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .catalogue import CATALOGUE, LayerType, Param
from .pytorch_parse import Opaque, ParseError, RawModule, parse
from .shapes import fmt_shape, infer
from .spec import Config, InputSpec, LayerSpec, freeze

# Input sizes tried, in order, when no input shape is given: the first one that lets the most
# layers through wins (28: MNIST, 32: CIFAR, 224: ImageNet).
SIZES_2D = {1: (28, 32, 64, 96, 128, 224, 256, 299, 512),
            3: (32, 224, 28, 64, 96, 128, 256, 299, 512)}
SIZES_1D = (64, 128, 256, 512, 1024, 4096, 16000)


# What print(model) leaves out of a module's line (torch's extra_repr does not show them).
_HIDDEN = {"AvgPool": ("ceil_mode", "count_include_pad", "divisor_override"),
           "AdaptiveMaxPool": ("return_indices",), "MaxPool": ("return_indices",)}


class ImportError_(ValueError):  # noqa: N801 - the trailing _ keeps it apart from the builtin
    """Text that gives no layers at all; the message says what was expected."""


@dataclass(frozen=True)
class Suggestion:
    """A layer to insert so the stack chains: ``spec`` goes before layer ``index`` of the
    imported config (indices of the config as imported, before any insertion)."""

    message: str
    index: int
    spec: LayerSpec


@dataclass
class ImportResult:
    config: Config  # the layers as written (nothing inserted)
    notes: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()
    shape_guessed: bool = False
    kind: str = "code"  # "print" (print(model) output) or "code"

    @property
    def fixed_config(self) -> Config:
        """The config with the suggested layers inserted."""
        return apply_suggestions(self.config, self.suggestions)


def apply_suggestions(config: Config, suggestions) -> Config:
    layers = list(config.layers)
    for s in sorted(suggestions, key=lambda s: s.index, reverse=True):
        layers.insert(s.index, s.spec)
    return config.with_layers(layers)


# -- values ------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equal, with True never equal to 1 (bool is an int in Python)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def is_default(p: Param, value: Any) -> bool:
    """Whether ``value`` means torch's default for ``p`` (``(1, 1)`` is stride 1)."""
    if p.required or p.auto:
        return False
    if _same(value, p.default):
        return True
    return (p.is_size and isinstance(value, tuple) and len(value) > 0
            and all(_same(v, p.default) for v in value))


def canonical(p: Param, value: Any, lt: LayerType) -> Any:
    value = freeze(value)
    if p.is_size and isinstance(value, tuple) and len(value) == 1 and lt.dims == 1:
        return value[0]
    return value


# -- text -> specs -----------------------------------------------------------------------------


def _label(raw: RawModule) -> str:
    return f"line {raw.line}: {raw.name or raw.type} ({raw.type})" if raw.name else \
        f"line {raw.line}: {raw.type}"


def _to_spec(raw: RawModule, notes: list[str]) -> LayerSpec | None:
    lt = CATALOGUE.get(raw.type)
    label = _label(raw)
    if lt is None:
        notes.append(f"{label}: skipped, convexplorer does not support {raw.type}")
        return None
    params: dict[str, Any] = {}

    def put(p: Param, value: Any) -> None:
        if isinstance(value, Opaque):
            fallback = "left on auto" if p.auto else ("set it in the form" if p.required
                                                     else "torch's default is used")
            notes.append(f"{label}: {p.name}={value.text} is not a literal value; {fallback}")
            return
        value = canonical(p, value, lt)
        if not is_default(p, value):
            params[p.name] = value

    positional = [p for p in lt.params if not p.keyword_only]
    for i, value in enumerate(raw.args):
        if i >= len(positional):
            notes.append(f"{label}: {len(raw.args)} positional arguments, but {raw.type} takes "
                         f"at most {len(positional)}; the extra ones are ignored")
            break
        put(positional[i], value)
    given = {p.name for p in positional[:len(raw.args)]}
    for key, value in raw.kwargs.items():
        if key in ("device", "dtype"):
            notes.append(f"{label}: {key}= is ignored (convexplorer picks the device)")
        elif key not in lt.param_names:
            notes.append(f"{label}: unknown keyword {key!r}, ignored; {raw.type} takes "
                         + ", ".join(lt.param_names))
        elif key in given:
            notes.append(f"{label}: {key} given twice; the keyword is used")
            put(lt.param(key), value)
        else:
            put(lt.param(key), value)
    return LayerSpec.make(raw.type, raw.name).with_params(**params)  # in torch's order


def _dedupe(specs: list[LayerSpec], notes: list[str]) -> list[LayerSpec]:
    """Python semantics for a repeated name (a dict key, a module attribute): the last module
    takes the first one's place."""
    out: list[LayerSpec] = []
    where: dict[str, int] = {}
    for spec in specs:
        if spec.name is not None and spec.name in where:
            notes.append(f"{spec.name}: the name is used twice; the later {spec.type} replaces "
                         "the earlier one, as in Python")
            out[where[spec.name]] = spec
            continue
        if spec.name is not None:
            where[spec.name] = len(out)
        out.append(spec)
    # a name equal to the layer's index is what nn.Sequential calls an unnamed layer
    return [s.renamed(None) if s.name == str(i) else s for i, s in enumerate(out)]


def _link_unpools(specs: list[LayerSpec], notes: list[str]) -> list[LayerSpec]:
    """print(model) never shows return_indices; a MaxUnpool proves its MaxPool had it."""
    specs = list(specs)
    pending: list[int] = []
    for i, spec in enumerate(specs):
        if spec.type.startswith("MaxPool"):
            pending.append(i)
        elif spec.type.startswith("MaxUnpool"):
            pool_type = spec.type.replace("MaxUnpool", "MaxPool")
            match = next((j for j in reversed(pending) if specs[j].type == pool_type), None)
            if match is not None:
                pending.remove(match)
                if not specs[match].value("return_indices"):
                    specs[match] = specs[match].with_params(return_indices=True)
                    notes.append(f"{specs[match].name or match} ({pool_type}): return_indices="
                                 f"True set, since {spec.name or i} ({spec.type}) uses its indices "
                                 "(print(model) does not show return_indices)")
    return specs


# -- input shape and gaps ----------------------------------------------------------------------


def _candidate_shapes(layers: list[LayerSpec]) -> list[tuple[int, ...]]:
    for spec in layers:
        lt = spec.layer_type
        if lt is None:
            continue
        auto = lt.auto_param
        if lt.dims is not None:
            c = spec.value(auto.name) if auto is not None and spec.is_set(auto.name) else 1
            c = c if isinstance(c, int) and not isinstance(c, bool) and c > 0 else 1
            if lt.dims == 1:
                shapes = [(1, c, n) for n in SIZES_1D]
                return ([(2, c)] + shapes) if lt.name == "BatchNorm1d" else shapes
            return [(1, c, n, n) for n in SIZES_2D.get(c, SIZES_2D[1])]
        if lt.name == "Linear":
            f = spec.value("in_features")
            return [(1, f if isinstance(f, int) and not isinstance(f, bool) and f > 0 else 1)]
    return [(1, 1, 28, 28)]


def find_gaps(layers, shape) -> tuple[list[Suggestion], list[str]]:
    """Layers missing between modules that do not chain, found by shape inference: a Linear
    whose in_features is what a Flatten of the conv map before it would give."""
    work = list(layers)
    suggestions: list[Suggestion] = []
    notes: list[str] = []
    names = {s.name for s in layers if s.name}
    for _ in range(len(layers)):
        report = infer(work, shape)
        bad = next((info for info in report.layers if info.problems), None)
        if bad is None or bad.input_shape is None:
            break
        spec, shp = bad.spec, bad.input_shape
        original = bad.index - len(suggestions)
        if spec.type == "Linear" and len(shp) >= 3 and spec.is_set("in_features"):
            flat, want = math.prod(shp[1:]), spec.value("in_features")
            if flat != want:
                notes.append(f"{bad.label}: in_features={want}, but a Flatten here would give "
                             f"{flat} features from {fmt_shape(shp)}; forward() probably does "
                             "more (add those layers), or the input shape differs")
                break
            name = _unique("flatten", names)
            names.add(name)
            suggestions.append(Suggestion(
                f"insert a Flatten before {bad.label}: it gives the {flat} features it expects "
                f"from {fmt_shape(shp)}", original, LayerSpec.make("Flatten", name)))
            work.insert(bad.index, suggestions[-1].spec)
            continue
        lt = spec.layer_type
        if lt is not None and lt.dims is not None and len(shp) == 2:
            notes.append(f"{bad.label}: gets {fmt_shape(shp)} from a Linear/Flatten; the model "
                         "reshapes it in forward() (nn.Unflatten, not supported here)")
        break
    return suggestions, notes


def _unique(base: str, taken) -> str:
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _score(layers, shape) -> int:
    """How many layers (with the suggested insertions) infer without a problem, in order."""
    suggestions, _ = find_gaps(layers, shape)
    work = list(apply_suggestions(Config(layers=tuple(layers)), suggestions).layers)
    n = 0
    for info in infer(work, shape).layers:
        if info.problems:
            break
        n += 1
    return n


def guess_shape(layers) -> tuple[int, ...]:
    """An input shape for a stack without one: N=1, C from the first layer, and the first of
    the usual sizes that lets the most layers through."""
    candidates = _candidate_shapes(list(layers))
    best = max(candidates, key=lambda s: (_score(layers, s), -candidates.index(s)))
    return best


def _input_for(shape: tuple[int, ...]) -> InputSpec:
    """A bundled sample image where the shape is one grayscale or RGB picture, else random."""
    if len(shape) == 4 and shape[0] == 1 and shape[1] in (1, 3):
        return InputSpec(source="image", path="sample:digit7.png" if shape[1] == 1
                         else "sample:shapes.png", size=tuple(shape[2:]),
                         mode="L" if shape[1] == 1 else "RGB")
    if len(shape) == 3:
        return InputSpec(source="signal", shape=tuple(shape), signal="chirp")
    return InputSpec(source="random", shape=tuple(shape))


def _check_shape(shape) -> tuple[int, ...]:
    shape = tuple(shape)
    if not 2 <= len(shape) <= 5 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                                       for s in shape):
        raise ImportError_(f"input shape {list(shape)}: give 2 to 5 sizes of at least 1, "
                           "e.g. 1 1 28 28 (N, C, H, W)")
    return shape


# -- the entry point ---------------------------------------------------------------------------


def import_text(text: str, shape=None, *, name: str | None = None) -> ImportResult:
    """Layers from print(model) output or PyTorch code. Raises ImportError_ when the text gives
    no supported layer at all; everything else comes back as notes and suggestions."""
    try:
        parsed = parse(text)
    except ParseError as exc:
        raise ImportError_(str(exc)) from None
    notes = list(parsed.notes)
    specs = [s for s in (_to_spec(raw, notes) for raw in parsed.modules) if s is not None]
    if not specs:
        found = ", ".join(dict.fromkeys(raw.type for raw in parsed.modules)) or "none"
        raise ImportError_(f"no supported layers found (modules: {found}); supported: "
                           + ", ".join(CATALOGUE))
    specs = _dedupe(specs, notes)
    if parsed.kind == "print":
        specs = _link_unpools(specs, notes)
        hidden = sorted({f"{s.type}'s {', '.join(_HIDDEN[k])}" for s in specs
                         for k in _HIDDEN if s.type.startswith(k)})
        if hidden:
            notes.append("print(model) does not show " + "; ".join(hidden)
                         + ": check them in the form")
        if parsed.title not in (None, "Sequential"):
            notes.append(f"print(model) lists the modules of {parsed.title}, not what its "
                         "forward() does: functional calls (F.relu, torch.flatten, x.view...) "
                         "are not in it, and modules are in the order they were defined")
    guessed = shape is None
    shape = guess_shape(specs) if guessed else _check_shape(shape)
    if guessed:
        notes.append(f"input shape guessed: {fmt_shape(shape)}; give the real one if it differs")
    suggestions, gap_notes = find_gaps(specs, shape)
    notes += [s.message for s in suggestions] + gap_notes
    config = Config(layers=tuple(specs), input=_input_for(shape),
                    name=name or parsed.title or "imported")
    report = infer(apply_suggestions(config, suggestions).layers, shape)
    gap_labels = {n.split(":")[0] for n in gap_notes}
    for problem in report.problems:
        if problem.label not in gap_labels:
            notes.append(str(problem))
    return ImportResult(config, notes, suggestions, shape, guessed, parsed.kind)
