"""PyTorch code in: ``print(model)`` output or ``nn.Sequential(...)`` code -> a Config.

The text is parsed (``model.pytorch_parse``, with ``ast``), never executed. Positional arguments
map onto torch's parameter names through the catalogue (``LayerType.params`` is in torch's
positional order). Values are kept as written (``kernel_size=(5, 5)`` stays a tuple), except:
keywords equal to torch's default are left out (print(model) always shows ``stride=(1, 1)``),
and a one-element tuple such as ``(3,)`` (print's form for 1-D pools) becomes ``3``. Absurd
numbers (``1e309``, a 5,000-digit int, more channels than ``FIELD_LIMITS`` allows) are refused.

Modules that are not in the catalogue are named in a note and skipped. Where the modules do not
chain (a Linear after a conv map: ``forward()`` flattened it), the missing layer comes back as
a Suggestion to insert; where a custom module's branches explain the break, a note says so
instead of a fix. Notes are written for their reader (``audience``: the window or the command
line). Code out lives in ``model.pytorch_export``. No Qt and no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalogue import CATALOGUE, LayerType, Param, some_types
from .import_notes import WINDOW, Note, NoteError, note, where
from .pytorch_gaps import (
    SIZES_1D,
    SIZES_2D,
    Suggestion,
    apply_suggestions,
    branch_block,
    branch_note,
    find_gaps,
    guess_shape,
)
from .pytorch_parse import Opaque, ParseError, RawModule, parse
from .pytorch_values import out_of_range
from .shapes import fmt_shape, infer
from .spec import Config, InputSpec, LayerSpec, freeze, layer_label
from .validate import check_layer

__all__ = ["SIZES_1D", "SIZES_2D", "ImportError_", "ImportResult", "Suggestion",
           "apply_suggestions", "canonical", "find_gaps", "guess_shape", "import_text",
           "is_default"]

# What print(model) leaves out of a module's line (torch's extra_repr does not show them).
_HIDDEN = {"AvgPool": ("ceil_mode", "count_include_pad", "divisor_override"),
           "AdaptiveMaxPool": ("return_indices",), "MaxPool": ("return_indices",),
           "PReLU": ("init",), "Upsample": ("align_corners", "recompute_scale_factor")}


class ImportError_(NoteError):  # noqa: N801 - the trailing _ keeps it apart from the builtin
    """Text that gives no layers at all, or a value the import refuses; the message says what
    was expected. ``notes`` say why no module came of the text (a loop, a helper call...)."""

    def __init__(self, message: Note, notes=()):
        super().__init__(message)
        self.notes: list[Note | Any] = list(notes)

    def notes_text(self, audience: str = WINDOW) -> list[str]:
        return _render(self.notes, audience)


@dataclass
class ImportResult:
    config: Config  # the layers as written (nothing inserted)
    notes: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()
    shape_guessed: bool = False
    kind: str = "code"  # "print" (print(model) output) or "code"
    classes: tuple[str, ...] = ()  # code: the classes with layers in the text
    class_name: str | None = None  # code: the class that was read
    # config index -> what to do about the layer where the chain breaks (the fix to insert, or
    # why there is none): shown in place of shape inference's generic "set in_channels to ..."
    advice: dict[int, str] = field(default_factory=dict)

    @property
    def fixed_config(self) -> Config:
        """The config with the suggested layers inserted."""
        return apply_suggestions(self.config, self.suggestions)

    def fixed_origins(self) -> list[int | None]:
        """For each layer of ``fixed_config``: its index in ``config`` (None: inserted)."""
        origins: list[int | None] = list(range(len(self.config.layers)))
        for s in sorted(self.suggestions, key=lambda s: s.index, reverse=True):
            origins.insert(s.index, None)
        return origins


def _render(notes, audience: str) -> list[str]:
    return [n.text(audience) if isinstance(n, Note) else str(n) for n in dict.fromkeys(notes)]


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


def _to_spec(raw: RawModule, notes: list) -> LayerSpec | None:
    lt = CATALOGUE.get(raw.type)
    label = where(raw.line, raw.name, raw.type)
    if lt is None:
        notes.append(note("unsupported", where=label, type=raw.type))
        return None
    params: dict[str, Any] = {}

    def put(p: Param, value: Any) -> None:
        if isinstance(value, Opaque):
            key = "not_literal_auto" if p.auto else ("not_literal_required" if p.required
                                                    else "not_literal_default")
            notes.append(note(key, where=label, param=p.name, text=value.text))
            return
        bad = out_of_range(p.name, value)
        if bad is not None:
            raise ImportError_(note("out_of_range", where=label, param=p.name, text=bad[0],
                                    limit=bad[1]))
        value = canonical(p, value, lt)
        if not is_default(p, value):
            params[p.name] = value

    positional = [p for p in lt.params if not p.keyword_only]
    for i, value in enumerate(raw.args):
        if i >= len(positional):
            notes.append(note("too_many_positional", where=label, count=len(raw.args),
                              type=raw.type, most=len(positional)))
            break
        put(positional[i], value)
    given = {p.name for p in positional[:len(raw.args)]}
    for key, value in raw.kwargs.items():
        if key in ("device", "dtype"):
            notes.append(note("device_ignored", where=label, param=key))
        elif key not in lt.param_names:
            notes.append(note("unknown_keyword", where=label, param=key, type=raw.type,
                              valid=", ".join(lt.param_names)))
        elif key in given:
            notes.append(note("keyword_twice", where=label, param=key))
            put(lt.param(key), value)
        else:
            put(lt.param(key), value)
    return LayerSpec.make(raw.type, raw.name).with_params(**params)  # in torch's order


def _dedupe(specs: list[LayerSpec], notes: list) -> list[LayerSpec]:
    """Python semantics for a repeated name (a dict key, a module attribute): the last module
    takes the first one's place."""
    out: list[LayerSpec] = []
    at: dict[str, int] = {}
    for spec in specs:
        if spec.name is not None and spec.name in at:
            notes.append(note("name_twice", name=spec.name, type=spec.type))
            out[at[spec.name]] = spec
            continue
        if spec.name is not None:
            at[spec.name] = len(out)
        out.append(spec)
    # a name equal to the layer's index is what nn.Sequential calls an unnamed layer
    return [s.renamed(None) if s.name == str(i) else s for i, s in enumerate(out)]


def _link_unpools(specs: list[LayerSpec], notes: list) -> list[LayerSpec]:
    """print(model) never shows return_indices; a MaxUnpool proves its MaxPool had it."""
    specs = list(specs)
    pending: dict[str, list[int]] = {}  # pool type -> indices not yet unpooled
    for i, spec in enumerate(specs):
        if spec.type.startswith("MaxPool"):
            pending.setdefault(spec.type, []).append(i)
        elif spec.type.startswith("MaxUnpool"):
            pool_type = spec.type.replace("MaxUnpool", "MaxPool")
            waiting = pending.get(pool_type)
            if waiting:
                match = waiting.pop()
                if not specs[match].value("return_indices"):
                    specs[match] = specs[match].with_params(return_indices=True)
                    notes.append(note("return_indices_set", pool=specs[match].name or match,
                                      pool_type=pool_type, unpool=spec.name or i,
                                      unpool_type=spec.type))
    return specs


# -- input ---------------------------------------------------------------------------------


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
        raise ImportError_(note("bad_shape", shape=str(list(shape))))
    return shape


# -- the entry point ---------------------------------------------------------------------------


def import_text(text: str, shape=None, *, name: str | None = None,
                class_name: str | None = None, audience: str = WINDOW) -> ImportResult:
    """Layers from print(model) output or PyTorch code. Raises ImportError_ when the text gives
    no supported layer at all, or a value past the import's bounds; everything else comes back
    as notes (written for ``audience``) and suggestions. ``class_name`` picks the class to read
    where the code defines several."""
    try:
        parsed = parse(text, class_name)
    except ParseError as exc:
        raise ImportError_(exc.note) from None
    notes: list = list(parsed.notes)
    specs: list[LayerSpec] = []
    blocks: dict[str, tuple[str, str]] = {}
    for raw in parsed.modules:
        spec = _to_spec(raw, notes)
        if spec is not None:
            specs.append(spec)
            if raw.block and raw.name:
                blocks[raw.name] = raw.block
    if not specs:
        if not parsed.modules:
            raise ImportError_(note("no_modules"), notes)
        found = ", ".join(dict.fromkeys(raw.type for raw in parsed.modules))
        raise ImportError_(note("no_supported", found=found, supported=some_types()))
    specs = _dedupe(specs, notes)
    if parsed.kind == "print":
        specs = _link_unpools(specs, notes)
        hidden = sorted({f"{s.type}({', '.join(_HIDDEN[k])})" for s in specs
                         for k in _HIDDEN if s.type.startswith(k)})
        if hidden:
            notes.append(note("print_hidden", params=", ".join(hidden)))
        if parsed.title not in (None, "Sequential"):
            notes.append(note("print_lists_modules", title=parsed.title))
    guessed = shape is None
    shape = guess_shape(specs) if guessed else _check_shape(shape)
    if guessed:
        notes.append(note("shape_guessed", shape=fmt_shape(shape)))
    suggestions, breaks = find_gaps(specs, shape, blocks)
    config = Config(layers=tuple(specs), input=_input_for(shape),
                    name=name or parsed.title or "imported")
    result = ImportResult(config, [], suggestions, shape, guessed, parsed.kind, parsed.classes,
                          parsed.class_name)
    chain: list = [s.note for s in suggestions] + list(breaks.values())
    origins = result.fixed_origins()
    for info in infer(result.fixed_config.layers, shape).layers:
        i = origins[info.index]
        for problem in info.problems:
            if i in breaks:
                continue
            intrinsic = problem in check_layer(info.index, info.spec, info.label)
            branch = branch_block(specs, i, blocks) if i is not None and not intrinsic \
                and info.input_shape is not None else None
            if branch is not None:
                breaks[i] = branch_note(*branch, layer_label(i, specs[i]), problem.message)
                chain.append(breaks[i])
            else:
                chain.append(problem)
    if parsed.flatten_checks:  # x.view(-1, k): does the Flatten give k features?
        report = infer(config.layers, shape)
        for info in report.layers:
            k = parsed.flatten_checks.get(info.spec.name or "")
            out = info.output_shape
            if k is not None and out is not None and (len(out) != 2 or out[1] != k):
                chain.append(note("flow_view", name=info.spec.name, features=k,
                                  shape=fmt_shape(out)))
    # the fixes first: what to do comes before what was skipped on the way
    result.notes = _render(chain + notes, audience)
    advice: dict[int, Note] = {s.target: s.note for s in suggestions if s.note is not None}
    advice.update(breaks)
    result.advice = {i: n.text(audience) for i, n in advice.items()}
    return result
