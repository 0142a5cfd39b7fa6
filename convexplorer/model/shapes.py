"""Shape inference by formula: each layer's output shape, parameters, multiply-accumulates,
receptive field and its output-size formula with the user's numbers put in.

Pure Python, so it is instant at any input size and needs neither torch nor Qt; the engine's
meta-device inference (``engine.meta``) checks it against torch itself, and tests hold them equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import merges
from .catalogue import CATALOGUE, LayerType, auto_value
from .shape_rules import RF_RULES, RULES, Fail
from .spec import LayerSpec, layer_label
from .validate import Problem, check_layer, divisors, expand, or_list
from .weight_checks import check_weights


@dataclass(frozen=True)
class ReceptiveField:
    """Per spatial dimension of the input: how many input positions one output unit sees
    (``size``) and how far apart neighbouring output units are on the input (``jump``)."""

    size: tuple[float, ...]
    jump: tuple[float, ...]

    def __str__(self) -> str:
        def f(x: float) -> str:
            return f"{x:g}"
        size = "x".join(f(s) for s in self.size)
        if not any(self.jump):  # after Flatten/Linear every output sees the whole input
            return f"whole input ({size})"
        return size + " (jump " + "x".join(f(j) for j in self.jump) + ")"


@dataclass(frozen=True)
class Note:
    """Something a layer does that the user may not expect, though torch accepts it (so the
    stack still runs): a warning, not a problem. ``action`` names a one-step fix the window
    offers (``INSERT_FLATTEN``: a Flatten before the layer)."""

    layer: int
    label: str
    message: str
    fix: str = ""
    action: str = ""

    def __str__(self) -> str:
        return f"{self.label}: {self.message}" + (f"; {self.fix}" if self.fix else "")

    @property
    def short(self) -> str:
        return self.message + (f"; {self.fix}" if self.fix else "")


INSERT_FLATTEN = "insert_flatten"

# Messages: whole sentences with named placeholders, for translation.
UNPOOL_NO_POOL = "needs the indices of an earlier MaxPool{dims}d with return_indices=True"
UNPOOL_NO_POOL_FIX = "add one, or set return_indices=True on a MaxPool{dims}d before it"
UNPOOL_NEAREST_FIX = ("set return_indices=True on {nearest}, the nearest MaxPool{dims}d before "
                      "it, so that it pairs with that one")
UNPOOL_SHAPE = "gets {shape} but the indices of {pool} are {indices}"
UNPOOL_SHAPE_FIX = "it pairs with {pool}, so the layers between them must keep the shape"
UNPOOL_SKIPS = ("pairs with {pool}, because the nearer {nearest} has return_indices=False, and "
                "gets {shape} but the indices of {pool} are {indices}")
UNPOOL_SKIPS_NOTE = ("pairs with {pool}, not with the nearer {nearest}, which has "
                     "return_indices=False")
UNPOOL_SKIPS_NOTE_FIX = "set return_indices=True on {nearest} if this unpool should undo it"
UNPOOL_KERNEL = ("kernel_size/stride/padding do not undo {pool} (would give {got}, the pool's "
                 "input is {want})")
UNPOOL_KERNEL_FIX = "use the pool's kernel_size, stride and padding"
UNPOOL_FORMULA = "({n}-1)*{s} - 2*{p} + {k} = {got}; restores the input size {want} of {pool}"
LINEAR_ON_MAP = ("acts on the last dimension only: it gets {shape}, treats each of its {rows} "
                 "rows of {features} values as a separate input and gives {out}")
LINEAR_ON_MAP_FIX = "insert a Flatten before it so that it sees every value of a batch item"


@dataclass
class LayerInfo:
    index: int
    spec: LayerSpec
    label: str
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)  # resolved: auto values filled in
    params: int = 0
    macs: int = 0
    receptive_field: ReceptiveField | None = None
    formula: list[str] = field(default_factory=list)  # one line per spatial dimension
    indices_from: int | None = None  # MaxUnpool: index of the MaxPool whose indices it uses
    unpool_size: tuple[int, ...] | None = None  # MaxUnpool: output_size passed to torch
    sources: tuple[int | None, ...] = ()  # merges: the layers ``from`` names (None: the input)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # warnings: torch accepts it, it runs

    @property
    def ok(self) -> bool:
        return self.output_shape is not None and not self.problems


@dataclass
class ShapeReport:
    input_shape: tuple[int, ...]
    layers: list[LayerInfo]
    input_problems: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return self.input_problems + [p for info in self.layers for p in info.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def notes(self) -> list[Note]:
        return [n for info in self.layers for n in info.notes]

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.layers)

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.layers)


def fmt_shape(shape: tuple[int, ...] | None) -> str:
    """A shape as torch prints it: torch.Size([1, 10, 24, 24])."""
    if shape is None:
        return "?"
    return "torch.Size([" + ", ".join(str(s) for s in shape) + "])"


_RANK_NAMES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _rank_name(lt: LayerType) -> str:
    return _RANK_NAMES[lt.dims]


SUGGESTIONS = 8  # values a fix suggests at most ("try 1, 2, 4 or 8")

# Tensors with this many values overflow torch's size arithmetic (bytes in an int64), even on
# the meta device; far beyond any real memory anyway.
TOO_MANY = 2**59


_Fail = Fail  # a layer that cannot take what arrives (shape_rules' rules raise it too)


def infer(layers, input_shape: tuple[int, ...]) -> ShapeReport:
    """Infer every layer's output from ``input_shape``. Never raises: problems are data."""
    input_shape = tuple(input_shape)
    report = ShapeReport(input_shape, [])
    if len(input_shape) < 2 or any(not _is_size(s) for s in input_shape):
        report.input_problems.append(Problem(
            None, "input", "shape",
            f"shape {list(input_shape)} is not valid: it needs 2 or more whole sizes, each at "
            "least 1", "give (N, C, L), (N, C, H, W) or (N, C, D, H, W), e.g. [1, 1, 28, 28]"))
    elif math.prod(input_shape) >= TOO_MANY:
        report.input_problems.append(Problem(
            None, "input", "shape", f"shape {list(input_shape)} has {math.prod(input_shape):.3g} "
            "values, more than torch can hold", "use a smaller input shape"))
    spatial = max(len(input_shape) - 2, 1)
    rf: ReceptiveField | None = ReceptiveField((1.0,) * spatial, (1.0,) * spatial)
    shape: tuple[int, ...] | None = None if report.input_problems else input_shape
    pools: list[int] = []  # stack of unmatched MaxPool(return_indices=True) layer indices
    for i, spec in enumerate(layers):
        label = layer_label(i, spec)
        info = LayerInfo(i, spec, label, input_shape=shape)
        report.layers.append(info)
        lt = spec.layer_type
        info.problems = check_layer(i, _with_arriving_channels(spec, lt, shape), label)
        if not info.problems and lt is not None and lt.is_merge:
            try:  # references are checked even when the shapes are unknown
                info.sources = merges.resolve(layers, i, spec.value("from"))
            except merges.MergeProblem as fail:
                info.problems.append(Problem(i, label, fail.field, fail.message, fail.fix))
        if info.problems or shape is None or lt is None:
            shape = None
            continue
        try:
            if lt.is_merge:
                _merge(info, lt, shape, report)
            else:
                _infer_layer(info, lt, shape, report, pools)
            _check_size(info)
        except (_Fail, merges.MergeProblem) as fail:
            info.problems.append(Problem(i, label, fail.field, fail.message, fail.fix))
            info.output_shape = None
        shape = info.output_shape
        if shape is not None and rf is not None:
            rf = (_merge_rf(rf, info, report) if lt.is_merge
                  else _next_rf(rf, info, lt, input_shape))
            info.receptive_field = rf
    check_weights(report)  # a weight source that does not fit its layer (model.weight_checks)
    return report


def _source(report: ShapeReport, source: int | None) -> LayerInfo | None:
    return None if source is None else report.layers[source]


def _merge(info: LayerInfo, lt: LayerType, shape, report: ShapeReport) -> None:
    """Add, Concat, Multiply: the previous output joined with the outputs ``from`` names
    (model.merges). No parameters; no multiply-adds (element-wise, like an activation)."""
    info.kwargs = {p.name: info.spec.value(p.name) for p in lt.params}
    inputs = []
    for token, source in zip(merges.tokens(info.kwargs["from"]), info.sources):
        src = _source(report, source)
        inputs.append((token, report.input_shape if src is None else src.output_shape))
    info.output_shape, info.formula = merges.merge_shape(lt.name, info.kwargs, shape, inputs)


def _merge_rf(rf: ReceptiveField, info: LayerInfo, report: ShapeReport) -> ReceptiveField:
    """The union of the receptive fields that meet in a merge (``merges.union_field``)."""
    start = ReceptiveField((1.0,) * len(rf.size), (1.0,) * len(rf.size))
    fields = [(rf.size, rf.jump, info.input_shape)]
    for source in info.sources:
        src = _source(report, source)
        field_ = start if src is None else src.receptive_field
        shape = report.input_shape if src is None else src.output_shape
        if field_ is not None:
            fields.append((field_.size, field_.jump, shape))
    size, jump = merges.union_field(fields, info.output_shape)
    return ReceptiveField(size, jump)


def _with_arriving_channels(spec: LayerSpec, lt: LayerType | None, shape) -> LayerSpec:
    """A conv whose in_channels is on auto, checked with the channels that arrive, so that a
    groups problem names both channel counts (and its fix divides both), as when pinned."""
    if lt is None or not lt.is_conv or shape is None or len(shape) < 2 or \
            spec.is_set("in_channels"):
        return spec
    return spec.with_params(in_channels=shape[1])


def _is_size(s: Any) -> bool:
    return isinstance(s, int) and not isinstance(s, bool) and s >= 1


def _check_size(info: LayerInfo) -> None:
    """Sizes beyond what torch can index (it refuses them even on the meta device)."""
    if math.prod(info.output_shape) >= TOO_MANY:
        raise _Fail(None, f"output {fmt_shape(info.output_shape)} has "
                          f"{math.prod(info.output_shape):.3g} values, more than torch can hold",
                    "use smaller sizes")
    if info.params >= TOO_MANY:
        raise _Fail(None, f"{info.params:.3g} parameters, more than torch can hold",
                    "use fewer channels or features, or a smaller kernel")


def _infer_layer(info: LayerInfo, lt: LayerType, shape, report: ShapeReport, pools) -> None:
    spec = info.spec
    kw = {p.name: spec.value(p.name) for p in lt.params}
    info.kwargs = kw
    dims = lt.dims
    if dims is not None:
        ranks = (2, 3) if lt.name == "BatchNorm1d" else (dims + 2,)
        if len(shape) not in ranks:
            want = "(N, C) or (N, C, L)" if lt.name == "BatchNorm1d" else _rank_name(lt)
            raise _Fail(None, f"expects a {'/'.join(str(r) for r in ranks)}-D input {want}, but "
                              f"gets {fmt_shape(shape)}",
                        _rank_fix(lt, shape))
    auto = lt.auto_param
    if auto is not None:
        arriving = auto_value(auto.name, shape)
        what = "features" if auto.name == "in_features" else "channels"
        if auto.name == "normalized_shape":  # pinned, LayerNorm's rule checks it
            if not spec.is_set(auto.name):
                kw[auto.name] = arriving
        elif spec.is_set(auto.name):
            if kw[auto.name] != arriving:
                raise _Fail(auto.name, f"{auto.name}={kw[auto.name]} but the previous layer gives "
                                       f"{arriving} {what}",
                            f"set {auto.name} to {arriving}, or clear it to follow automatically")
        else:
            kw[auto.name] = arriving
    if lt.is_conv:
        _conv(info, lt, kw, shape)
    elif lt.is_unpool:
        _unpool(info, lt, kw, shape, report, pools)
    elif lt.is_window:
        _pool(info, lt, kw, shape)
        if kw.get("return_indices") and lt.name.startswith("MaxPool"):
            pools.append(info.index)
    elif lt.name in RULES:  # the types of issue 14 (model.shape_rules)
        RULES[lt.name](info, kw, shape)
    elif lt.is_adaptive:
        out = tuple(shape[2 + j] if o is None else o for j, o in enumerate(expand(kw["output_size"],
                                                                                dims)))
        info.output_shape = shape[:2] + out
        info.formula = [f"output_size {o}" for o in out]
    elif lt.name.startswith("BatchNorm"):
        per_channel = shape[0] * math.prod(shape[2:])
        if per_channel <= 1:
            raise _Fail(None, f"needs more than 1 value per channel in training mode, got "
                              f"{fmt_shape(shape)}", "use a batch of 2 or more")
        c = kw["num_features"]
        info.params = (c if kw["affine"] else 0) + (c if kw["affine"] and kw["bias"] else 0)
        info.output_shape = shape
    elif lt.name == "Flatten":
        rank = len(shape)
        s, e = kw["start_dim"], kw["end_dim"]
        s2, e2 = s + rank if s < 0 else s, e + rank if e < 0 else e
        if not (0 <= s2 < rank) or not (0 <= e2 < rank):
            raise _Fail("start_dim" if not (0 <= s2 < rank) else "end_dim",
                        f"dimension out of range for a {rank}-D input {fmt_shape(shape)}",
                        f"use -{rank} to {rank - 1}")
        if s2 > e2:
            raise _Fail("start_dim", f"start_dim={s} comes after end_dim={e}",
                        "make start_dim <= end_dim")
        info.output_shape = shape[:s2] + (math.prod(shape[s2:e2 + 1]),) + shape[e2 + 1:]
    elif lt.name == "Linear":
        fin, fout = kw["in_features"], kw["out_features"]
        info.params = fin * fout + (fout if kw["bias"] else 0)
        info.output_shape = shape[:-1] + (fout,)
        info.macs = math.prod(shape[:-1]) * fin * fout
        if len(shape) > 2:  # torch accepts it, but after a conv map it is rarely meant
            info.notes.append(Note(
                info.index, info.label,
                LINEAR_ON_MAP.format(shape=fmt_shape(shape), rows=math.prod(shape[:-1]),
                                     features=fin, out=fmt_shape(info.output_shape)),
                LINEAR_ON_MAP_FIX, INSERT_FLATTEN))
    else:  # element-wise activations and Dropout
        info.output_shape = shape


RANK_TWIN_FIX = "use {twin} for {what}"
RANK_VOLUME_FIX = ("use a 5-D input (N, C, D, H, W): random input with 5 sizes or a .npy "
                   "volume, or {twin} for {what}")
_WHAT = {1: "a 1-D signal (N, C, L)", 2: "an image (N, C, H, W)",
         3: "a volume (N, C, D, H, W)"}


def _rank_fix(lt: LayerType, shape) -> str:
    twin = f"{lt.name[:-2]}{len(shape) - 2}d"
    if twin not in CATALOGUE or twin == lt.name:
        twin = None
    if lt.dims == 2 and len(shape) == 3:
        return (f"use a 4-D input (N, C, H, W) such as an image, or "
                f"{lt.name.replace('2d', '1d')} for a 1-D signal")
    if lt.dims == 1 and len(shape) == 4:
        return f"use {lt.name.replace('1d', '2d')}, or Flatten the last dimensions first"
    if len(shape) == 2:
        return "this comes after a Flatten/Linear; move the layer before them"
    if lt.dims == 3 and twin is not None:
        return RANK_VOLUME_FIX.format(twin=twin, what=_WHAT[len(shape) - 2])
    if twin is not None:
        return RANK_TWIN_FIX.format(twin=twin, what=_WHAT[len(shape) - 2])
    return f"give the input {lt.dims + 2} dimensions"


def _window_out(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> tuple[int, str]:
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    rnd = "ceil" if ceil else "floor"
    text = f"{rnd}(({n} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1"
    # with ceil_mode a window may hang over the end, even one larger than the whole input
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= n + p:
        # torch's rule: the last window must start inside the input or the left padding
        out -= 1
        text += " - 1 (the last window would start in the right padding)"
    return out, text + f" = {out}"


def _conv(info: LayerInfo, lt: LayerType, kw, shape) -> None:
    dims = lt.dims
    ic, oc, g = kw["in_channels"], kw["out_channels"], kw["groups"]
    if ic % g:
        ok = or_list([d for d in divisors(ic) if oc % d == 0][:SUGGESTIONS])
        raise _Fail("groups", f"groups={g} must divide in_channels={ic}", f"try {ok}")
    ks = expand(kw["kernel_size"], dims)
    ss = expand(kw["stride"], dims)
    ds = expand(kw["dilation"], dims)
    spatial = shape[2:]
    out = []
    info.formula = []
    if lt.is_transpose:
        ps = expand(kw["padding"], dims)
        ops = expand(kw["output_padding"], dims)
        for n, k, s, p, d, op in zip(spatial, ks, ss, ps, ds, ops):
            o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            info.formula.append(f"({n}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {o}")
            if o < 1:
                raise _Fail("padding", f"output size would be {o}",
                            "reduce padding, or increase kernel_size or stride")
            out.append(o)
        info.params = ic * (oc // g) * math.prod(ks) + (oc if kw["bias"] else 0)
        info.output_shape = (shape[0], oc) + tuple(out)
        info.macs = shape[0] * ic * math.prod(spatial) * (oc // g) * math.prod(ks)
        return
    pad = kw["padding"]
    for j, (n, k, s, d) in enumerate(zip(spatial, ks, ss, ds)):
        eff = d * (k - 1) + 1
        if pad == "same":
            # torch pads (eff-1)//2 before and the rest after
            _check_pad_mode(kw["padding_mode"], eff - 1 - (eff - 1) // 2, n, same=True)
            info.formula.append(f"'same': {n} (pads {eff - 1} in all)")
            out.append(n)
            continue
        p = 0 if pad == "valid" else expand(pad, dims)[j]
        _check_pad_mode(kw["padding_mode"], p, n)
        if eff > n + 2 * p:
            what = f"kernel {k}" if d == 1 else f"dilated kernel {eff} (kernel {k}, dilation {d})"
            raise _Fail("kernel_size", f"{what} is larger than the padded input {n + 2 * p}",
                        f"use kernel_size <= {(n + 2 * p - 1) // d + 1}, or more padding")
        o, text = _window_out(n, k, s, p, d, False)
        info.formula.append(text)
        out.append(o)
    info.params = oc * (ic // g) * math.prod(ks) + (oc if kw["bias"] else 0)
    info.output_shape = (shape[0], oc) + tuple(out)
    info.macs = math.prod(info.output_shape) * (ic // g) * math.prod(ks)


def _check_pad_mode(mode: str, p: int, n: int, same: bool = False) -> None:
    """reflect mirrors without the edge, so it needs padding < size; circular wraps once."""
    what = "padding='same' pads" if same else "padding"
    fix_more = "use padding_mode='zeros' or 'replicate', or a larger input"
    if mode == "reflect" and p >= n:
        raise _Fail("padding", f"padding_mode='reflect' needs less padding than the input size: "
                               f"{what} {p} on a side of an input of size {n}",
                    f"use padding below {n}, or {fix_more}" if not same else fix_more)
    if mode == "circular" and p > n:
        raise _Fail("padding", f"padding_mode='circular' needs padding no larger than the input "
                               f"size: {what} {p} on a side of an input of size {n}",
                    f"use padding up to {n}, or {fix_more}" if not same else fix_more)


def _pool(info: LayerInfo, lt: LayerType, kw, shape) -> None:
    dims = lt.dims
    ks = expand(kw["kernel_size"], dims)
    ss = expand(kw["stride"] if kw["stride"] is not None else kw["kernel_size"], dims)
    ps = expand(kw.get("padding", 0), dims)  # LPPool has no padding
    ds = expand(kw.get("dilation", 1), dims)
    out = []
    info.formula = []
    for n, k, s, p, d in zip(shape[2:], ks, ss, ps, ds):
        o, text = _window_out(n, k, s, p, d, kw["ceil_mode"])
        info.formula.append(text)
        if o < 1:
            eff = d * (k - 1) + 1
            what = f"kernel {k}" if d == 1 else f"dilated kernel {eff} (kernel {k}, dilation {d})"
            fix = f"use kernel_size <= {(n + 2 * p - 1) // d + 1}"
            if not kw["ceil_mode"] and _window_out(n, k, s, p, d, True)[0] >= 1:
                fix += ", or ceil_mode=True to let the last window hang over the edge"
            raise _Fail("kernel_size", f"{what} is larger than the padded input {n + 2 * p}",
                        fix)
        if lt.has_indices and d > 1:
            _check_padding_only_window(n, k, s, p, d, o)
        if lt.name == "AvgPool3d" and n < k:
            raise _Fail("kernel_size", AVG_POOL_3D_SMALL.format(kernel=k, size=n),
                        AVG_POOL_3D_SMALL_FIX.format(size=n))
        out.append(o)
    info.output_shape = shape[:2] + tuple(out)


AVG_POOL_3D_SMALL = ("kernel {kernel} is larger than the input size {size}: torch's avg_pool3d "
                     "needs every input size at least the kernel size, padding and ceil_mode "
                     "notwithstanding")
AVG_POOL_3D_SMALL_FIX = "use kernel_size <= {size}"

_WINDOWS_CHECKED = 10_000  # left-edge windows looked at (a middle window starts in the input)


def _check_padding_only_window(n: int, k: int, s: int, p: int, d: int, o: int) -> None:
    """A dilated max pool window whose taps all fall in the padding (they jump over a small
    input) makes torch write out of bounds in backward: torch 2.13 aborts the process (double
    free). Only windows that start in the left padding can miss the input; refuse the layer."""
    for i in range(min(o, _WINDOWS_CHECKED)):
        a = i * s - p  # the first tap, as an input position
        if a >= 0:
            return  # this and every later window start inside the input
        t0 = (-a + d - 1) // d  # the first tap at or after position 0 (a < 0)
        if t0 > k - 1 or a + d * t0 > n - 1:
            taps = ", ".join(str(a + d * t) for t in range(min(k, 6))) + (
                ", ..." if k > 6 else "")
            raise _Fail("dilation",
                        "window {window} reads only padding (input positions {taps}; the input "
                        "has 0 to {last}), which makes torch crash in backward".format(
                            window=i, taps=taps, last=n - 1),
                        "use less padding or a smaller dilation")


def _unpool(info: LayerInfo, lt: LayerType, kw, shape, report: ShapeReport, pools) -> None:
    dims = lt.dims
    pool_type = f"MaxPool{dims}d"
    match = None
    for j in range(len(pools) - 1, -1, -1):
        if report.layers[pools[j]].spec.type == pool_type:
            match = pools.pop(j)
            break
    # the nearest pool of this rank: if it lost return_indices, turning it on is the fix
    nearest = next((o for o in reversed(report.layers[:info.index])
                    if o.spec.type == pool_type), None)
    skipped = nearest if nearest is not None and nearest.index != match and \
        not nearest.kwargs.get("return_indices", nearest.spec.value("return_indices")) else None
    if match is None:
        raise _Fail(None, UNPOOL_NO_POOL.format(dims=dims),
                    UNPOOL_NEAREST_FIX.format(nearest=skipped.label, dims=dims) if skipped
                    else UNPOOL_NO_POOL_FIX.format(dims=dims))
    pool = report.layers[match]
    info.indices_from = match
    if shape != pool.output_shape:
        values = {"pool": pool.label, "shape": fmt_shape(shape),
                  "indices": fmt_shape(pool.output_shape), "dims": dims}
        if skipped is not None:
            raise _Fail(None, UNPOOL_SKIPS.format(nearest=skipped.label, **values),
                        UNPOOL_NEAREST_FIX.format(nearest=skipped.label, dims=dims))
        raise _Fail(None, UNPOOL_SHAPE.format(**values), UNPOOL_SHAPE_FIX.format(**values))
    ks = expand(kw["kernel_size"], dims)
    ss = expand(kw["stride"] if kw["stride"] is not None else kw["kernel_size"], dims)
    ps = expand(kw["padding"], dims)
    target = pool.input_shape[2:]
    info.formula = []
    for n, k, s, p, t in zip(shape[2:], ks, ss, ps, target):
        default = (n - 1) * s - 2 * p + k
        if not (default - s < t < default + s):
            raise _Fail("kernel_size",
                        UNPOOL_KERNEL.format(pool=pool.label, got=default, want=t),
                        UNPOOL_NEAREST_FIX.format(nearest=skipped.label, dims=dims) if skipped
                        else UNPOOL_KERNEL_FIX)
        info.formula.append(UNPOOL_FORMULA.format(n=n, s=s, p=p, k=k, got=default, want=t,
                                                  pool=pool.label))
    info.unpool_size = tuple(target)
    info.output_shape = shape[:2] + tuple(target)
    if skipped is not None:
        info.notes.append(Note(info.index, info.label,
                               UNPOOL_SKIPS_NOTE.format(pool=pool.label, nearest=skipped.label),
                               UNPOOL_SKIPS_NOTE_FIX.format(nearest=skipped.label)))


def _next_rf(rf: ReceptiveField, info: LayerInfo, lt: LayerType, input_shape) -> ReceptiveField:
    """Receptive field after this layer, on the input's spatial dimensions."""
    n = len(rf.size)
    whole = ReceptiveField(tuple(float(s) for s in input_shape[2:]) or (1.0,), (0.0,) * n)
    if lt.name == "Linear" or (lt.name == "Flatten" and len(info.output_shape) <= 2):
        return whole
    size, jump = list(rf.size), list(rf.jump)
    rule = RF_RULES.get(lt.name)
    if rule is not None:
        if len(info.input_shape) != n + 2 or len(info.output_shape) != n + 2:
            return rf
        return ReceptiveField(*map(tuple, rule(size, jump, info)))
    if lt.dims is None or not (lt.is_window or lt.is_adaptive) or len(rf.size) != lt.dims:
        return rf
    kw = info.kwargs
    if lt.is_adaptive:
        for j in range(n):
            i_n, o_n = info.input_shape[2 + j], info.output_shape[2 + j]
            k = math.ceil(i_n / o_n)
            size[j] += (k - 1) * jump[j]
            jump[j] *= i_n / o_n
        return ReceptiveField(tuple(size), tuple(jump))
    ks = expand(kw["kernel_size"], n)
    stride = kw.get("stride")
    ss = expand(stride if stride is not None else kw["kernel_size"], n)
    ds = expand(kw.get("dilation", 1), n)
    for j in range(n):
        eff = ds[j] * (ks[j] - 1) + 1
        if lt.is_transpose or lt.is_unpool:
            size[j] += (math.ceil(eff / ss[j]) - 1) * jump[j]
            jump[j] /= ss[j]
        else:
            size[j] += (eff - 1) * jump[j]
            jump[j] *= ss[j]
    return ReceptiveField(tuple(size), tuple(jump))
