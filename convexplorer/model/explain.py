"""What a convolution or pooling layer does, with the user's own numbers: the output-size
formula worked through, the kernel's footprint with and without dilation, which input channels
feed which output channels (groups), the extra window of ceil_mode and its start rule, and the
input rows/columns no window ever reads. Also the window geometry the panels draw: the taps of
one output position and the receptive-field box of a unit through the stack.

Everything comes from ``LayerInfo`` (``model.shapes``); no Qt, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .shapes import LayerInfo, ShapeReport, fmt_shape
from .validate import expand

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
WORDS = {"H": ("row", "rows"), "W": ("column", "columns"), "L": ("position", "positions"),
         "D": ("depth slice", "depth slices")}


@dataclass(frozen=True)
class Dim:
    """One spatial dimension of a sliding window: input size ``n``, kernel ``k``, stride ``s``,
    padding left/right ``pl``/``pr``, dilation ``d``, ``ceil`` mode and torch's output size."""

    axis: str
    n: int
    k: int
    s: int
    pl: int
    pr: int
    d: int = 1
    ceil: bool = False
    out: int = 0

    @property
    def eff(self) -> int:
        """How many input positions the (dilated) kernel spans."""
        return self.d * (self.k - 1) + 1

    @property
    def word(self) -> str:
        return WORDS[self.axis][1]

    def start(self, o: int) -> int:
        """First input position (negative: in the left padding) of output position ``o``."""
        return o * self.s - self.pl

    def taps(self, o: int) -> list[int]:
        """Input positions the kernel touches for output position ``o`` (padding included)."""
        return [self.start(o) + self.d * t for t in range(self.k)]

    @property
    def floor_out(self) -> int:
        return (self.n + self.pl + self.pr - self.eff) // self.s + 1

    @property
    def ceil_out(self) -> int:
        """The rounded-up count, before torch's rule that a window starts inside the input or
        the left padding."""
        return -(-(self.n + self.pl + self.pr - self.eff) // self.s) + 1

    def coverage(self) -> list[int]:
        """For every input position 0..n-1, how many taps of all windows read it."""
        taps = np.add.outer(np.arange(self.out) * self.s - self.pl,
                            np.arange(self.k) * self.d).ravel()
        taps = taps[(taps >= 0) & (taps < self.n)]
        return np.bincount(taps, minlength=self.n).tolist()

    def uncovered(self) -> list[int]:
        return [i for i, c in enumerate(self.coverage()) if c == 0]


def window_dims(info: LayerInfo) -> list[Dim] | None:
    """The sliding-window geometry of a Conv/MaxPool/AvgPool layer (None for other types,
    transposed convolutions, unpooling and layers whose shape could not be inferred)."""
    lt = info.spec.layer_type
    if (lt is None or not lt.is_window or lt.is_transpose or lt.is_unpool
            or info.output_shape is None or not info.kwargs):
        return None
    kw, nd = info.kwargs, lt.dims
    ks = expand(kw["kernel_size"], nd)
    stride = kw.get("stride")
    ss = expand(stride if stride is not None else kw["kernel_size"], nd)
    ds = expand(kw.get("dilation", 1), nd)
    pad = kw.get("padding", 0)
    out = []
    for j, axis in enumerate(AXES[nd]):
        k, d = ks[j], ds[j]
        if pad == "same":
            total = d * (k - 1)
            pl, pr = total // 2, total - total // 2
        else:
            pl = pr = 0 if pad == "valid" else expand(pad, nd)[j]
        out.append(Dim(axis, info.input_shape[2 + j], k, ss[j], pl, pr, d,
                       bool(kw.get("ceil_mode", False)), info.output_shape[2 + j]))
    return out


def footprint(k: int, d: int) -> list[int]:
    """Offsets of the kernel's taps from the window start: 0, d, 2d, ... (holes between)."""
    return [d * t for t in range(k)]


def span(lo: int, hi: int, word: str = "") -> str:
    """'rows 3\u20135', or 'row 3' (a plural word loses its s for one)."""
    if lo == hi:
        return f"{word[:-1] if word.endswith('s') else word} {lo}".strip()
    return f"{word} {lo}\u2013{hi}".strip()


def ranges(values: list[int], limit: int = 8) -> str:
    """1, 2, 3, 7 -> '1\u20133, 7' (at most ``limit`` runs, then how many in all)."""
    runs: list[tuple[int, int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    text = ", ".join(span(a, b) for a, b in runs[:limit])
    return text + (f", ... ({len(values)} in all)" if len(runs) > limit else "")


# -- groups ------------------------------------------------------------------------------------

def group_blocks(in_channels: int, out_channels: int, groups: int) -> list[tuple[range, range]]:
    """(input channels, output channels) of each group: output channels of a group only see
    the input channels of the same group."""
    gi, go = in_channels // groups, out_channels // groups
    return [(range(g * gi, (g + 1) * gi), range(g * go, (g + 1) * go)) for g in range(groups)]


def inputs_of(out_channel: int, in_channels: int, out_channels: int, groups: int) -> range:
    """The input channels that output channel ``out_channel`` sees."""
    g = out_channel // (out_channels // groups)
    return group_blocks(in_channels, out_channels, groups)[g][0]


# -- windows of one output position and receptive-field boxes ----------------------------------

def window_taps(info: LayerInfo, position: tuple[int, ...]) -> list[list[int]] | None:
    """For max/avg pools, convolutions and adaptive pools: the input positions (per spatial
    dimension, inside the input only) that output ``position`` reads."""
    lt = info.spec.layer_type
    if lt is not None and lt.is_adaptive and info.output_shape is not None:
        out = []
        for j, o in enumerate(position):
            n, m = info.input_shape[2 + j], info.output_shape[2 + j]
            out.append(list(range(o * n // m, -(-(o + 1) * n // m))))
        return out
    dims = window_dims(info)
    if dims is None:
        return None
    return [[t for t in dim.taps(o) if 0 <= t < dim.n] for dim, o in zip(dims, position)]


Box = tuple[tuple[int, int], ...]  # (first, last) per spatial dimension


def _back(info: LayerInfo, box: Box) -> Box | None:
    """The box on a layer's input that can influence ``box`` of its output."""
    lt = info.spec.layer_type
    ishape = info.input_shape
    if lt is None or len(ishape) != len(box) + 2 or len(info.output_shape) != len(box) + 2:
        return None
    whole = tuple((0, n - 1) for n in ishape[2:])
    from .explain_more import BACK  # the types of issue 14 (that module uses this one)

    if lt.name in BACK:
        return BACK[lt.name](info, box)
    if lt.dims is None:  # element-wise: the same positions
        return box
    if lt.name.startswith("BatchNorm"):
        return whole  # training mode: every position enters the batch statistics
    kw, nd, out = info.kwargs, lt.dims, []
    if lt.is_adaptive:
        for (lo, hi), n, m in zip(box, ishape[2:], info.output_shape[2:]):
            out.append((lo * n // m, -(-(hi + 1) * n // m) - 1))
        return tuple(out)
    dims = window_dims(info)
    if dims is not None:
        for (lo, hi), dim in zip(box, dims):
            out.append((max(dim.start(lo), 0), min(dim.start(hi) + dim.eff - 1, dim.n - 1)))
        return tuple(out)
    ks = expand(kw["kernel_size"], nd)
    stride = kw.get("stride")
    ss = expand(stride if stride is not None else kw["kernel_size"], nd)
    ps = expand(kw.get("padding", 0), nd)
    ds = expand(kw.get("dilation", 1), nd) if lt.is_transpose else (1,) * nd
    for (lo, hi), n, k, s, p, d in zip(box, ishape[2:], ks, ss, ps, ds):
        # input i paints output positions i*s - p .. i*s - p + d*(k-1)
        first = -(-(lo + p - d * (k - 1)) // s)
        out.append((max(first, 0), min((hi + p) // s, n - 1)))
    return tuple(out)


def receptive_boxes(report: ShapeReport, layer: int,
                    position: tuple[int, ...]) -> list[Box | None]:
    """The theoretical receptive field of unit ``position`` of ``layer``'s output, on the input
    (first entry) and on the output of every layer up to ``layer`` (the last entry is the unit
    itself). None where a stage has no matching positions (e.g. after Flatten) or does not lead
    to the unit. A merge passes the box back to the previous output and to every output its
    ``from`` names; where paths meet, the boxes are united (the smallest box holding both)."""
    boxes: list[Box | None] = [None] * (layer + 2)
    boxes[layer + 1] = tuple((p, p) for p in position)
    for j in range(layer, -1, -1):
        info = report.layers[j]
        box = boxes[j + 1]
        if box is None or info.output_shape is None or info.input_shape is None:
            continue
        if not info.sources:
            boxes[j] = _union(boxes[j], _back(info, box))
            continue
        for stage, shape, offset in _merge_inputs(report, info):
            boxes[stage] = _union(boxes[stage], _merge_back(info, box, shape, offset))
    return boxes


def _union(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None or len(a) != len(b):
        return b if a is None else a
    return tuple((min(x0, y0), max(x1, y1)) for (x0, x1), (y0, y1) in zip(a, b))


def _merge_inputs(report: ShapeReport, info: LayerInfo):
    """(stage, shape, offset along Concat's dim) of a merge's inputs: stage j is the output of
    layer j - 1 (0: the input)."""
    shapes = [(info.index, info.input_shape)] + [
        (0, report.input_shape) if s is None else (s + 1, report.layers[s].output_shape)
        for s in info.sources]
    rank = len(info.output_shape)
    dim = info.kwargs.get("dim", 1) if info.spec.type == "Concat" else None
    d = None if dim is None else (dim + rank if dim < 0 else dim)
    offset = 0
    for stage, shape in shapes:
        yield stage, shape, offset
        if d is not None and len(shape) == rank:
            offset += shape[d]


def _merge_back(info: LayerInfo, box: Box, shape, offset: int) -> Box | None:
    """The box on one input of a merge: the same positions, index 0 where the input is
    broadcast (size 1); for Concat along a spatial dimension, the part that is this input's."""
    out_shape = info.output_shape
    if len(shape) != len(box) + 2 or len(out_shape) != len(box) + 2:
        return None
    rank = len(out_shape)
    dim = info.kwargs.get("dim", 1) if info.spec.type == "Concat" else None
    d = None if dim is None else (dim + rank if dim < 0 else dim)
    out = []
    for k, (lo, hi) in enumerate(box):
        n = shape[2 + k]
        if d == 2 + k:
            lo, hi = max(lo - offset, 0), min(hi - offset, n - 1)
            if lo > hi:
                return None  # the unit lies in another input's part
        elif n == 1 and out_shape[2 + k] != 1:
            lo = hi = 0
        out.append((lo, hi))
    return tuple(out)


# -- the explanation itself ---------------------------------------------------------------------

@dataclass
class Section:
    """A heading, formula lines (shown in monospace) and plain-language paragraphs."""

    title: str
    code: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def _formula(dim: Dim) -> Section:
    a, n, k, s, d = dim.axis, dim.n, dim.k, dim.s, dim.d
    padded = n + dim.pl + dim.pr
    num = padded - dim.eff
    rnd = "ceil" if dim.ceil else "floor"
    pad = f"2*{dim.pl}" if dim.pl == dim.pr else f"{dim.pl} + {dim.pr}"
    raw = dim.ceil_out if dim.ceil else dim.floor_out
    code = [f"{a}_out = {rnd}(({a}_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1",
            f"      = {rnd}(({n} + {pad} - {d}*({k}-1) - 1) / {s}) + 1",
            f"      = {rnd}({num} / {s}) + 1 = {raw - 1} + 1 = {raw}"]
    if raw != dim.out:
        code.append(f"      -> {dim.out} (the last window would start in the right padding)")
    w1, w = WORDS[a]
    moves = -(-num // s) if dim.ceil else num // s
    text = [f"The kernel spans {d}*({k}-1)+1 = {dim.eff} {w}"
            + (f" (kernel_size {k} spread out by dilation {d})" if d > 1 else "")
            + f". The padded input has {n} + {dim.pl + dim.pr} = {padded} {w}. The first window "
            f"sits at the start and can move {num} {w} further, {s} at a time: {num}/{s} "
            f"rounded {'up' if dim.ceil else 'down'} is {moves} move(s). With the first "
            f"position that makes {raw} windows"
            + (f", less the one dropped by the start rule below: {dim.out}" if raw != dim.out
               else "") + f", so {dim.out} output {w if dim.out != 1 else w1}."]
    if num % s and not dim.ceil:
        rest = num % s
        text.append(f"{num} / {s} is not whole: floor drops the remainder of {rest} "
                    f"{w if rest != 1 else w1}, see below.")
    return Section(f"Output size along {a}: {n} \u2192 {dim.out}", code, text)


def _footprint(dims: list[Dim]) -> Section:
    sec = Section("Kernel footprint (dilation)")
    for dim in dims:
        taps = footprint(dim.k, dim.d)
        if dim.d == 1:
            sec.text.append(f"Along {dim.axis}: kernel_size {dim.k} reads {dim.k} neighbouring "
                            f"{dim.word} (offsets {ranges(taps)}).")
        else:
            holes = [i for i in range(dim.eff) if i not in taps]
            sec.text.append(f"Along {dim.axis}: dilation {dim.d} spreads the {dim.k} taps over "
                            f"{dim.eff} {dim.word} (offsets {', '.join(map(str, taps))}), "
                            f"skipping {ranges(holes)}. Without dilation the same {dim.k} "
                            f"weights would read offsets 0\u2013{dim.k - 1}.")
    total_k = math.prod(d.k for d in dims)
    total_e = math.prod(d.eff for d in dims)
    if total_e > total_k:
        sec.text.append(f"Each output sees a {'x'.join(str(d.eff) for d in dims)} area with only "
                        f"{total_k} weights per input channel: a wider view at no extra cost, "
                        f"but the {total_e - total_k} positions in the holes are not read by "
                        f"this output (a neighbouring output reads them).")
    return sec


def _groups(info: LayerInfo) -> Section:
    kw = info.kwargs
    ic, oc, g = kw["in_channels"], kw["out_channels"], kw["groups"]
    ks = expand(kw["kernel_size"], len(info.output_shape) - 2)
    wshape = (oc, ic // g) + tuple(ks)
    if info.spec.layer_type.is_transpose:
        wshape = (ic, oc // g) + tuple(ks)
    weights = math.prod(wshape)
    sec = Section(f"Channels and groups (groups={g})")
    sec.code.append(f"weight: {fmt_shape(wshape)} = {weights} weights")
    if g == 1:
        sec.text.append(f"groups=1: every one of the {oc} output channels sees all {ic} input "
                        f"channels.")
        return sec
    sec.text.append(f"groups={g} splits in_channels={ic} into {g} groups of {ic // g} and "
                    f"out_channels={oc} into {g} groups of {oc // g}. Each output channel "
                    f"sees only the input channels of its own group:")
    for i, (ins, outs) in enumerate(group_blocks(ic, oc, g)[:6]):
        sec.text.append(f"group {i}: output channels {span(outs[0], outs[-1])} \u2190 input "
                        f"channels {span(ins[0], ins[-1])}")
    if g > 6:
        sec.text.append(f"... and so on for all {g} groups.")
    sec.text.append(f"That is {g}x fewer weights and multiply-adds than groups=1 "
                    f"({weights * g} weights).")
    if g == ic:
        sec.text.append(f"groups = in_channels = {ic}: a depthwise convolution. Each input "
                        f"channel is filtered on its own ({oc // g} filter(s) per channel) and "
                        f"channels never mix; a following 1x1 convolution (pointwise) mixes "
                        f"them, as in MobileNet.")
    return sec


def _ceil(dim: Dim) -> Section | None:
    fl, ce = dim.floor_out, dim.ceil_out
    w = dim.word
    if not dim.ceil:
        if ce > fl and (fl * dim.s) < dim.n + dim.pl:
            return Section(f"ceil_mode along {dim.axis}", text=[
                f"ceil_mode=True would give {fl + 1} instead of {fl}: one more, partial window "
                f"starting at {w[:-1]} {dim.start(fl)}, covering the {w} floor leaves out."])
        return None
    sec = Section(f"ceil_mode along {dim.axis}")
    if ce == fl:
        sec.text.append(f"ceil_mode=True changes nothing here: {dim.n + dim.pl + dim.pr} - "
                        f"{dim.eff} = {dim.n + dim.pl + dim.pr - dim.eff} is a multiple of "
                        f"stride {dim.s}, so every window fits exactly.")
        return sec
    last = dim.start(ce - 1)
    rule = (f"The rule: a window must start inside the input or the left padding, i.e. "
            f"(out-1)*stride < {dim.axis}_in + padding: ")
    if dim.out == ce:
        end = last + dim.eff - 1
        inside = min(end, dim.n - 1)
        sec.text.append(f"ceil rounds {fl} up to {ce}: the extra window {ce - 1} starts at "
                        f"{w[:-1]} {last} and would reach {end}, past the last input "
                        f"{w[:-1]} {dim.n - 1}{' and the padding' if dim.pr else ''}; it is a "
                        f"partial window over {span(max(last, 0), inside, w)}. The part "
                        f"outside is left out (max pooling never picks it, average pooling "
                        f"does not count it).")
        sec.text.append(rule + f"{ce - 1}*{dim.s} = {(ce - 1) * dim.s} < {dim.n} + {dim.pl} "
                               f"= {dim.n + dim.pl}, so it is kept.")
    else:
        sec.text.append(f"ceil would round {fl} up to {ce}, but window {ce - 1} would start at "
                        f"{w[:-1]} {last}, in the right padding.")
        sec.text.append(rule + f"{ce - 1}*{dim.s} = {(ce - 1) * dim.s} >= {dim.n} + {dim.pl} "
                               f"= {dim.n + dim.pl}, so torch drops it: {dim.out} windows.")
    return sec


def _n(word: str, items: list) -> str:
    return word if len(items) != 1 else word[:-1]


def _are(items: list) -> str:
    return "are" if len(items) != 1 else "is"


def _uncovered(dims: list[Dim], pool: bool) -> Section:
    sec = Section("Input never read")
    for dim in dims:
        gone = dim.uncovered()
        w = dim.word
        if not gone:
            sec.text.append(f"Along {dim.axis}: every input {w[:-1]} is read by some window.")
            continue
        end = dim.taps(dim.out - 1)[-1]
        tail = [i for i in gone if i > end]
        between = [i for i in gone if i <= end]
        if tail:
            last = dim.taps(dim.out - 1)
            sec.text.append(
                f"Along {dim.axis}: input {_n(w, tail)} {ranges(tail)} {_are(tail)} never "
                f"read. The last window "
                f"covers {span(max(last[0], 0), min(last[-1], dim.n - 1), w)}, and stride "
                f"{dim.s} does not fit another one in ({dim.n + dim.pl + dim.pr - dim.eff} is "
                f"not a multiple of {dim.s}). Their values never reach the output and get zero "
                f"gradient. To use them: more padding"
                + (", ceil_mode=True" if pool else "") + ", or a stride that divides evenly.")
        if between:
            why = (f"stride {dim.s} is larger than the kernel's span {dim.eff}"
                   if dim.s > dim.eff else
                   f"dilation {dim.d} leaves holes that stride {dim.s} never fills")
            sec.text.append(f"Along {dim.axis}: input {_n(w, between)} {ranges(between)} "
                            f"{_are(between)} skipped between windows: {why}.")
    return sec


def explain(info: LayerInfo, report: ShapeReport | None = None) -> list[Section]:
    """The explanation of one layer, in sections (empty for types it does not cover).
    ``report``: the stack it is in, which a merge needs to name what it joins."""
    lt = info.spec.layer_type
    if lt is None or info.output_shape is None or not info.kwargs:
        return []
    if lt.is_merge:
        return [] if report is None else explain_merge(info, report)
    head = Section(f"{info.label}: {fmt_shape(info.input_shape)} \u2192 "
                   f"{fmt_shape(info.output_shape)}", text=[lt.help])
    from .explain_more import SECTIONS, explain_more  # that module uses this one

    if lt.name in SECTIONS:
        return [head] + explain_more(info)
    if lt.is_adaptive:
        head.text.append("Adaptive pooling picks its windows to hit output_size: output i "
                         "reads input floor(i*in/out) up to ceil((i+1)*in/out) - 1, so "
                         "windows can differ in size and overlap.")
        for j, (n, m) in enumerate(zip(info.input_shape[2:], info.output_shape[2:])):
            sizes = sorted({-(-(o + 1) * n // m) - o * n // m for o in range(m)})
            head.code.append(f"{AXES[lt.dims][j]}: {n} \u2192 {m}, window sizes "
                             f"{', '.join(map(str, sizes))}")
        return [head]
    if lt.is_transpose or lt.is_unpool:
        head.code = list(info.formula)
        if lt.is_transpose:
            head.text.append("A transposed convolution goes the other way: each input value "
                             "paints a (dilated) kernel-sized patch into the output, patches "
                             "stride apart and overlapping where stride < kernel_size; padding "
                             "then trims the output's edges.")
            return [head, _groups(info)]
        return [head]
    dims = window_dims(info)
    if dims is None:
        return []
    sections = [head] + [_formula(dim) for dim in dims] + [_footprint(dims)]
    if lt.is_conv:
        sections.append(_groups(info))
    sections += [s for s in (_ceil(dim) for dim in dims) if s is not None]
    sections.append(_uncovered(dims, pool=not lt.is_conv))
    return sections


# -- merges (skip connections) ------------------------------------------------------------------

JOINS = "It joins {inputs}. It has no parameters: nothing to learn, only an operation in forward()."
CAT_SIZES = "Along dimension {dim} the sizes add up: {sizes} = {total}."
CAT_CHANNELS = ("Along dimension 1 the sizes add up: {sizes} = {total} channels, so the next "
                "layer's filters see both parts side by side and can mix them.")
CAT_BACKWARD = ("Backward, the gradient is cut along the same dimension: each input gets the "
                "slice for its own part.")
STRETCHED = ("{name} {shape} is stretched to {out}: where its size is 1 (dimension {dims}) "
             "torch repeats its value for every position (broadcasting).")
GATE = ("{name} has one number per channel, which scales that channel's whole map: a gate, as "
        "in squeeze-and-excitation.")
RESIDUAL = ("In a residual block the layers between {skip} and this Add only learn what to add "
            "to it: if they give zeros, the block passes its input through unchanged.")
ADD_BACKWARD = ("Backward, the gradient of this output goes unchanged to both inputs: it "
                "reaches {skip} directly, and through the layers in between as well (the "
                "Gradients tab shows both paths).")
MUL_BACKWARD = ("Backward, each input's gradient is the output's gradient times the other input "
                "(the product rule): a gate near 0 blocks the gradient of what it multiplies.")


def _joined(info: LayerInfo, report: ShapeReport) -> list[tuple[str, tuple[int, ...]]]:
    """(what it is, shape) of a merge's inputs: the previous output, then ``from``'s."""
    before = "the input" if info.index == 0 else \
        f"{report.layers[info.index - 1].label} output"
    out = [(before, info.input_shape)]
    for s in info.sources:
        src = report.layers[s] if s is not None else None
        out.append(("the input", report.input_shape) if src is None
                   else (f"{src.label} output", src.output_shape))
    return out


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def explain_merge(info: LayerInfo, report: ShapeReport) -> list[Section]:
    """What an Add, Concat or Multiply does with these shapes, and where its gradient goes."""
    lt = info.spec.layer_type
    out = info.output_shape
    joined = _joined(info, report)
    inputs = _and_list([f"{name} {fmt_shape(shape)}" for name, shape in joined])
    head = Section(f"{info.label}: {fmt_shape(out)}", code=list(info.formula),
                   text=[lt.help, JOINS.format(inputs=inputs)])
    skip = joined[1][0] if len(joined) > 1 else "the earlier output"
    if lt.name == "Concat":
        dim = info.kwargs.get("dim", 1)
        d = dim + len(out) if dim < 0 else dim
        sizes = " + ".join(str(shape[d]) for _n, shape in joined)
        head.text.append((CAT_CHANNELS if d == 1 else CAT_SIZES).format(
            dim=d, sizes=sizes, total=out[d]))
        head.text.append(CAT_BACKWARD)
        return [head]
    for name, shape in joined:
        if tuple(shape) == tuple(out):
            continue
        lead = len(out) - len(shape)
        ones = [str(k + lead) for k, n in enumerate(shape) if n == 1 and out[k + lead] != 1]
        head.text.append(STRETCHED.format(name=name, shape=fmt_shape(shape), out=fmt_shape(out),
                                          dims=", ".join(ones or [str(k) for k in range(lead)])))
        if lt.name == "Multiply" and len(shape) > 2 and all(n == 1 for n in shape[2:]):
            head.text.append(GATE.format(name=name))
    if lt.name == "Add":
        head.text += [RESIDUAL.format(skip=skip), ADD_BACKWARD.format(skip=skip)]
    else:
        head.text.append(MUL_BACKWARD)
    return [head]
