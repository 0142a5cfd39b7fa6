"""Explain: how the selected convolution or pooling layer gets its output size, with the user's
own numbers, plus small drawings: the kernel's footprint with and without dilation, which input
channels feed which output channels (groups), and how the windows cover the input (ceil_mode's
extra window, input rows/columns never read). Works from the shape report alone, before any run.
"""

from __future__ import annotations

import re
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QFontDatabase, QFontMetricsF
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...model.explain import Dim, explain, footprint, group_blocks, window_dims
from ...model.explain_more import has_explanation
from .base import LayerChooser, Panel

MAX_WINDOWS = 32  # window rows drawn in a coverage strip (first 8 and the last ones beyond)
MAX_STRIP = 1024  # input positions drawn in a coverage strip (the last ones of long inputs)
MAX_NODES = 64  # channels drawn one by one in the groups diagram
# Coverage strip colours.
PAD, READ, UNREAD, OUTSIDE = (110, 110, 110), (70, 170, 100), (230, 50, 50), (25, 25, 25)
TAP, HOLE, EXTRA = (80, 140, 240), (45, 60, 90), (255, 150, 0)


OPERATOR = re.compile(r"(?= [-+/] )")  # second-choice breaks: before a binary operator


def wrap_formula(line: str, width: int) -> list[str]:
    """``line`` of a worked formula (``H_out = A = B``, or a continuation ``      = B``) in lines
    of at most ``width`` characters, broken before an ``=`` and continued under the first one.
    Only a part between two ``=`` that is too long by itself is broken again, before a ``+``,
    ``-`` or ``/``, never inside a term."""
    if len(line) <= width:
        return [line]
    indent = len(line) - len(line.lstrip(" "))
    body = line[indent:]
    if body.startswith("= "):
        head, parts, column = "", body[2:].split(" = "), indent
    else:
        head, *parts = body.split(" = ")
        column = indent + len(head) + 1
    if not parts:  # no "=" at all (a merge's torch.cat(...)): only the operators break it
        head, parts, column = "", [body], indent
        lines = [" " * indent + body]
        return _break_at_operators(lines, width, column)
    first = parts.pop(0)
    lines = [" " * indent + (f"{head} = {first}" if head else f"= {first}")]
    if column > width // 3:  # a long left side: break after it, continue less indented
        column = indent + 4
        if len(lines[0]) > width:
            lines = [" " * indent + head, " " * column + "= " + first]
    for part in parts:
        joined = f"{lines[-1]} = {part}"
        if len(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(" " * column + "= " + part)
    return _break_at_operators(lines, width, column)


def _break_at_operators(lines: list[str], width: int, column: int) -> list[str]:
    """Break lines still longer than ``width`` before a binary operator, never mid-term."""
    out = []
    for text in lines:  # a part longer than the width by itself
        pieces = OPERATOR.split(text)
        current = pieces[0]
        for piece in pieces[1:]:
            if len(current) + len(piece) <= width:
                current += piece
            else:
                out.append(current)
                current = " " * (column + 4) + piece.lstrip(" ")
        out.append(current)
    return out


def sections_html(sections, width: int | None = None, font: str = "") -> str:
    """The sections as HTML. Formulas are laid out here, ``width`` characters a line (None:
    as they are), so that they break at their ``=`` signs, never mid-expression."""
    parts = []
    style = f' style="{font}"' if font else ""
    for sec in sections:
        parts.append(f"<h3>{escape(sec.title)}</h3>")
        if sec.code:
            lines = [w for line in sec.code
                     for w in (wrap_formula(line, width) if width else [line])]
            parts.append(f"<pre{style}>" + escape("\n".join(lines)) + "</pre>")
        parts += [f"<p>{escape(t)}</p>" for t in sec.text]
    return "\n".join(parts)


def footprint_image(k: tuple[int, ...], d: tuple[int, ...]) -> np.ndarray:
    """1 at the kernel's taps, 0.2 in the holes, over the dilated span ((1, span) for 1-D)."""
    rows = [footprint(kk, dd) for kk, dd in zip(k, d)]
    if len(rows) == 1:
        rows = [[0]] + rows
    out = np.full((rows[0][-1] + 1, rows[1][-1] + 1), 0.2, dtype=np.float32)
    out[np.ix_(rows[0], rows[1])] = 1.0
    return out


def coverage_strip(dim: Dim) -> tuple[np.ndarray, int]:
    """RGB rows: the padded input (padding grey, read green, never read red), then one row per
    window with its taps (ceil's extra window in orange). Returns the image and the input
    position of its first column (a long input shows its last MAX_STRIP positions)."""
    extra = dim.out > dim.floor_out
    last_tap = max(dim.taps(dim.out - 1)[-1], dim.n + dim.pr - 1)
    left = max(-dim.pl, last_tap + 1 - MAX_STRIP)  # long inputs: the end, where it matters
    width = last_tap - left + 1
    counts = dim.coverage()
    first = max(0, -(-(left + dim.pl - dim.eff + 1) // dim.s))  # first window reaching left
    windows = list(range(first, dim.out))
    if len(windows) > MAX_WINDOWS:
        windows = windows[:8] + windows[-(MAX_WINDOWS - 8):]
    img = np.zeros((1 + len(windows), width, 3), dtype=np.uint8)
    img[:] = OUTSIDE
    x = np.arange(left, left + width)
    row = img[0]
    row[(x < 0) | ((x >= dim.n) & (x < dim.n + dim.pr))] = PAD
    inside = (x >= 0) & (x < dim.n)
    read = np.zeros(width, dtype=bool)
    read[inside] = np.asarray(counts)[x[inside]] > 0
    row[inside & read] = READ
    row[inside & ~read] = UNREAD
    for r, o in enumerate(windows, start=1):
        taps = np.array(dim.taps(o)) - left
        taps = taps[taps >= 0]
        img[r, taps[0]:taps[-1] + 1] = HOLE
        img[r, taps] = EXTRA if extra and o == dim.out - 1 else TAP
    return img, left


class ExplainPanel(Panel):
    title = "Explain"
    follows_edits = True  # explains from the shapes alone: the window updates it on every edit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.chooser = LayerChooser()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Layer:"))
        bar.addWidget(self.chooser)
        bar.addStretch(1)
        self.text = QTextBrowser()
        self.plot = pg.GraphicsLayoutWidget()
        self.legend = QLabel("Window strips: grey padding, green read, red never read, orange "
                             "the extra window ceil_mode adds. Footprints: the same weights, "
                             "spread out by dilation.")
        self.legend.setWordWrap(True)
        drawings = QWidget()
        dl = QVBoxLayout(drawings)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.plot, 1)
        dl.addWidget(self.legend)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.text)
        splitter.addWidget(drawings)
        splitter.setSizes([520, 480])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self.strips: list[np.ndarray] = []
        self._sections = None  # shown, laid out again when the width changes
        self._width = 0
        self.text.viewport().installEventFilter(self)
        self.chooser.keyChanged.connect(lambda _k: self.refresh())

    # -- the text, its formulas laid out for the width --------------------------------------
    def formula_width(self) -> int:
        """How many characters of the formula font fit on a line of the text."""
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        char = QFontMetricsF(font).horizontalAdvance("0") or 8.0
        margin = 2 * self.text.document().documentMargin() + 4
        return max(20, int((self.text.viewport().width() - margin) / char))

    def _show_sections(self, sections) -> None:
        self._sections, self._width = sections, self.formula_width()
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml(sections_html(sections, self._width,
                                        f"font-family: '{font.family()}'; "
                                        f"font-size: {font.pointSizeF():g}pt"))
        self.text.verticalScrollBar().setValue(scroll)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and self._sections is not None and \
                self.formula_width() != self._width:
            self._show_sections(self._sections)
        return False

    def _explainable(self) -> list:
        if self.report is None:
            return []
        return [info for info in self.report.layers
                if info.spec.layer_type is not None and (info.spec.layer_type.is_window
                                                        or info.spec.layer_type.is_adaptive
                                                        or has_explanation(info.spec.type)
                                                        or info.spec.layer_type.is_merge)]

    def _redraw(self) -> None:
        self.chooser.set_items([(i.index, i.label) for i in self._explainable()])
        self._follow_selection(self.chooser)
        self.plot.ci.clear()
        self.strips = []
        self._sections = None
        if self.report is None:
            self.text.setHtml("<p>No layers yet.</p>")
            return
        sel = self.selection
        if sel is not None and 0 <= sel < len(self.report.layers) and \
                self.chooser.findData(sel) < 0:
            info = self.report.layers[sel]
            self.text.setHtml(f"<p><b>{escape(info.label)}</b> has no sliding window to "
                              "explain. Select a convolution, pooling, padding, normalization "
                              "or resampling layer.</p>")
            return
        key = self.chooser.key()
        if key is None:
            self.text.setHtml("<p>Add a convolution or pooling layer to see how its output "
                              "size comes about.</p>")
            return
        info = self.report.layers[key]
        if info.output_shape is None:
            problems = "".join(f"<p>{escape(str(p))}</p>" for p in info.problems)
            self.text.setHtml(f"<h3>{escape(info.label)}</h3>{problems}")
            return
        self._show_sections(explain(info, self.report))
        self._draw(info)

    # -- drawings -------------------------------------------------------------------------------
    def _draw(self, info) -> None:
        dims = window_dims(info)
        row = 0
        if dims is not None:
            k = tuple(d.k for d in dims)
            ds = tuple(d.d for d in dims)
            shown = ds if any(x > 1 for x in ds) else tuple(2 for _ in dims)
            note = "" if shown == ds else " if set"
            self._image(row, 0, footprint_image(k, (1,) * len(k)), "dilation 1")
            if "dilation" in info.kwargs:  # AvgPool has none
                self._image(row, 1, footprint_image(k, shown), f"dilation {shown}{note}")
            row += 2
            for dim in dims:
                strip, left = coverage_strip(dim)
                self.strips.append(strip)
                self._strip(row, strip, left, f"windows along {dim.axis}")
                row += 2
        kw = info.kwargs
        if info.spec.layer_type.is_conv:
            self._groups(row, kw["in_channels"], kw["out_channels"], kw["groups"])

    def _image(self, row: int, col: int, values: np.ndarray, title: str) -> None:
        self.plot.ci.addLabel(title, row=row, col=col, size="9pt")
        view = self.plot.ci.addViewBox(row=row + 1, col=col, lockAspect=True, invertY=True,
                                       enableMenu=False)
        item = pg.ImageItem(values, axisOrder="row-major", levels=(0, 1))
        item.setColorMap(pg.colormap.get("CET-L1"))
        view.addItem(item)
        for y in range(values.shape[0] + 1):
            view.addItem(pg.PlotCurveItem([0, values.shape[1]], [y, y], pen=(90, 90, 90)))
        for x in range(values.shape[1] + 1):
            view.addItem(pg.PlotCurveItem([x, x], [0, values.shape[0]], pen=(90, 90, 90)))

    def _strip(self, row: int, strip: np.ndarray, left: int, title: str) -> None:
        self.plot.ci.addLabel(title, row=row, col=0, colspan=2, size="9pt")
        p = self.plot.ci.addPlot(row=row + 1, col=0, colspan=2, enableMenu=False)
        p.invertY(True)
        p.hideAxis("left")
        p.setLabel("bottom", "input position")
        item = pg.ImageItem(strip, axisOrder="row-major")
        item.setRect(QRectF(left, 0, strip.shape[1], strip.shape[0]))
        p.addItem(item)

    def _groups(self, row: int, ic: int, oc: int, groups: int) -> None:
        self.plot.ci.addLabel(f"groups={groups}: in (left) \u2192 out (right)", row=row, col=0,
                              colspan=2, size="9pt")
        p = self.plot.ci.addPlot(row=row + 1, col=0, colspan=2, enableMenu=False)
        p.hideAxis("left")
        p.hideAxis("bottom")
        p.invertY(True)
        blocks = group_blocks(ic, oc, groups)
        one_by_one = ic <= MAX_NODES and oc <= MAX_NODES

        def ys(n):
            return np.linspace(0, 1, n) if n > 1 else np.array([0.5])
        yi, yo = ys(ic), ys(oc)
        for g, (ins, outs) in enumerate(blocks[:MAX_NODES]):
            colour = pg.intColor(g, hues=max(min(groups, MAX_NODES), 1))
            if one_by_one:
                a, b = np.meshgrid(yi[list(ins)], yo[list(outs)])
                xs = np.tile([0.0, 1.0], a.size)
                yy = np.column_stack([a.ravel(), b.ravel()]).ravel()
                p.addItem(pg.PlotCurveItem(xs, yy, connect="pairs", pen=pg.mkPen(colour)))
            else:
                span_i = [yi[ins[0]], yi[ins[-1]]]
                span_o = [yo[outs[0]], yo[outs[-1]]]
                p.addItem(pg.PlotCurveItem([0, 1, 1, 0, 0], span_i[:1] + span_o + span_i[::-1],
                                           pen=pg.mkPen(colour)))
        if one_by_one:
            p.addItem(pg.ScatterPlotItem(np.zeros(ic), yi, size=8, brush="w"))
            p.addItem(pg.ScatterPlotItem(np.ones(oc), yo, size=8, brush="w"))
        else:
            p.addItem(pg.TextItem(f"{ic} in, {oc} out: drawn by group", anchor=(0, 1)))
