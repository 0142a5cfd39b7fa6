"""How the picked output value is made: its window on the (padded) input channel, the kernel,
the products and partial sums, the bias, torch's value beside the recomputed one; previous /
next / play step the window over the output positions. A volume's input (N, C, D, H, W) shows
one depth slice, with a slider; a new unit opens on the slice through the middle of what it
reads."""

from __future__ import annotations

import math
from html import escape

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...engine.units import UnitError, breakdown, layer_input
from ...model.compute import Breakdown, map_size, position_number, step_unit, summarize_terms
from ...model.compute.text import num
from ...model.compute.window import pad_sources
from ...model.spec import Unit
from .base import DepthSlider
from .term_grids import PADDING, PLAIN, WINNER, Grid, TermGrids
from .window_map import WindowMap

GRID_KINDS = ("conv", "max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool",
              "lp_pool")
TABLE_KINDS = ("linear", "conv_transpose", "upsample")  # terms as a table (input x weight)
MERGE_KINDS = ("add", "concat", "multiply")  # values of several tensors: a table, no map

FULL_CHANNELS = 8  # input channels drawn in full (window, kernel, products); the rest as sums
PLAY_MS = 350  # a few positions per second
CROP = 8  # a map larger than this many cells a side is drawn around the window only
_CELL = "padding:1px 3px; text-align:right; white-space:nowrap;"


class ComputeView(QWidget):
    """The breakdown of one output unit (``show_unit``); ``unitPicked`` when the user steps."""

    unitPicked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None
        self.report = None
        self.unit: Unit | None = None
        self.breakdown: Breakdown | None = None
        self._key = None
        self.header = QLabel(self.tr("Click a value of a layer's output to see how it is "
                                     "computed."))
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.prev_button = QPushButton("\u25c0")
        self.prev_button.setToolTip(self.tr("The previous output position (same batch item and "
                                            "channel)."))
        self.next_button = QPushButton("\u25b6")
        self.next_button.setToolTip(self.tr("The next output position."))
        self.play_button = QPushButton(self.tr("Play"))
        self.play_button.setCheckable(True)
        self.play_button.setToolTip(self.tr("Step through every output position, a few per "
                                            "second: the window moves over the input."))
        self.position_label = QLabel()
        self.channel_box = QComboBox()
        self.channel_box.setToolTip(self.tr("Which input channel the map shows."))
        self.channel_box.setVisible(False)
        self.depth = DepthSlider(label=self.tr("input depth"))
        nav = QHBoxLayout()
        for w in (self.prev_button, self.next_button, self.play_button, self.position_label):
            nav.addWidget(w)
        nav.addStretch(1)
        nav.addWidget(self.depth)
        nav.addWidget(self.channel_box)
        self.map = WindowMap()
        self.map_caption = QLabel()
        self.map_caption.setWordWrap(True)
        self.map_caption.setTextFormat(Qt.TextFormat.PlainText)
        self.map_box = map_box = QWidget()
        box = QVBoxLayout(map_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.map_caption)
        box.addWidget(self.map, 1)
        box.addStretch(0)
        self.grids = TermGrids()
        self.grids_scroll = QScrollArea()
        self.grids_scroll.setWidget(self.grids)
        self.grids_scroll.setWidgetResizable(False)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(map_box)
        split.addWidget(self.grids_scroll)
        split.addWidget(self.text)
        split.setSizes([250, 190, 150])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addLayout(nav)
        layout.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(lambda: self.step(1, wrap=True))
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.play_button.toggled.connect(self._on_play_toggled)
        self.channel_box.currentIndexChanged.connect(lambda _i: self._draw_map())
        self.depth.changed.connect(self._draw_map)
        self._set_nav(False)

    # -- what to show ------------------------------------------------------------------------
    def clear(self, message: str = "") -> None:
        self.breakdown = None
        self._key = None
        self.header.setText(escape(message) or self.tr("Click a value of a layer's output to "
                                                       "see how it is computed."))
        self.text.clear()
        self.grids.clear()
        self.map.clear()
        self.map_caption.setText("")
        self.channel_box.clear()
        self.depth.fit(None)
        self.position_label.setText("")
        self._set_nav(False)

    def show_unit(self, result, report, unit: Unit | None) -> None:
        """Compute and show ``unit`` of ``result`` (nothing again for the same pair)."""
        key = (id(result), unit)
        if key == self._key:
            return
        self.result, self.report, self.unit = result, report, unit
        if result is None or report is None or unit is None:
            self.clear()
            return
        if unit.layer is None:
            self.clear(self.tr("The input is data: it is not computed from anything. Pick a "
                               "value of a layer's output."))
            return
        if unit.layer >= len(result.layers) or unit.layer >= len(report.layers):
            self.clear()
            return
        try:
            b = breakdown(result, report, unit)
        except UnitError as exc:
            self.clear(str(exc))
            return
        self._key = key
        self.breakdown = b
        self._set_nav(True)
        shape = result.layers[unit.layer].output_shape
        self.position_label.setText(self.tr("position {number} of {count}").format(
            number=position_number(shape, unit.index) + 1, count=map_size(shape)))
        self.header.setText(self._header(b))
        self._fill_channels(b)
        self._fit_depth(b)
        self._draw_map()
        self.grids.set_rows(self._grid_rows(b))
        self.grids_scroll.setVisible(bool(self.grids.rows))
        if b.kind not in TABLE_KINDS + MERGE_KINDS or not len(b.data):  # plain text is quicker
            self.text.setPlainText("\n\n".join(b.lines))
        else:
            self.text.setHtml(self._html(b))

    def step(self, delta: int, wrap: bool = False) -> None:
        if self.unit is None or self.result is None or self.unit.layer is None:
            return
        shape = self.result.layers[self.unit.layer].output_shape
        nxt = step_unit(shape, self.unit.index, delta, wrap=wrap)
        if nxt is not None:
            self.unitPicked.emit(Unit.at(self.unit.layer, nxt))

    def _on_play_toggled(self, on: bool) -> None:
        self.play_button.setText(self.tr("Pause") if on else self.tr("Play"))
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def _set_nav(self, on: bool) -> None:
        for w in (self.prev_button, self.next_button, self.play_button):
            w.setEnabled(on)
        if not on and self.play_button.isChecked():
            self.play_button.setChecked(False)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.play_button.setChecked(False)  # no stepping behind the user's back
        super().hideEvent(event)

    # -- header and text ---------------------------------------------------------------------
    def _header(self, b: Breakdown) -> str:
        index = ", ".join(str(i) for i in b.unit)
        text = self.tr("<b>{layer} output[{index}] = {value}</b> (torch) · recomputed "
                       "{recomputed} · difference {difference:.1e}").format(
            layer=escape(b.layer), index=index, value=num(b.value),
            recomputed=num(b.recomputed), difference=b.difference)
        if str(self.result.device).startswith("cuda") and abs(b.difference) > 1e-5:
            text += "<br>" + escape(self.tr(
                "On a GPU, cuDNN may compute convolutions in TF32 (fewer digits than float32), "
                "as it does in your own scripts: differences near 1e-3 are expected."))
        return text

    def _html(self, b: Breakdown) -> str:
        parts = []
        if b.kind in TABLE_KINDS and len(b.data):
            parts.append(self._terms_html(b))
        if b.kind in MERGE_KINDS:
            parts.append(self._operands_html(b))
        parts.append("".join(f"<p>{escape(line)}</p>" for line in b.lines))
        return "".join(parts)

    def _grid_rows(self, b: Breakdown) -> list:
        if b.kind == "conv":
            return self._conv_rows(b)
        if b.kind in GRID_KINDS:
            return self._pool_rows(b)
        return []

    def _conv_rows(self, b: Breakdown) -> list:
        """Per input channel: window ⊙ kernel = products (the first FULL_CHANNELS)."""
        chans = list(b.channel_sums)
        k = len(b.data) // max(len(chans), 1)
        ks = tuple(len(w.positions) for w in b.window) or (k,)
        terms = b.data
        rows = []
        for i, c in enumerate(chans[:FULL_CHANNELS]):
            sl = slice(i * k, (i + 1) * k)
            pad = terms.padding[sl] if terms.padding is not None else np.zeros(k, bool)
            title = self.tr("input channel {channel}: window \u2299 kernel = products, "
                            "\u03a3 = {total}").format(channel=c, total=num(b.channel_sums[c]))
            if len(ks) == 3:  # a 3-D kernel: one row per kernel depth slice
                values, weights = terms.input_value[sl], terms.weight_value[sl]
                styles, products = np.where(pad, PADDING, PLAIN), terms.product[sl]
                per = ks[1] * ks[2]
                for t in range(ks[0]):
                    part = slice(t * per, (t + 1) * per)
                    rows.append((self.tr("input channel {channel}, kernel depth {depth}: window "
                                         "\u2299 kernel = products, \u03a3 = {total}").format(
                        channel=c, depth=t, total=num(float(products[part].sum()))), [
                        Grid(values[part].reshape(ks[1:]), styles[part]), "\u2299",
                        Grid(weights[part].reshape(ks[1:])), "=",
                        Grid(products[part].reshape(ks[1:]))]))
                continue
            rows.append((title, [
                Grid(terms.input_value[sl].reshape(ks), np.where(pad, PADDING, PLAIN)), "\u2299",
                Grid(terms.weight_value[sl].reshape(ks)), "=",
                Grid(terms.product[sl].reshape(ks))]))
        if len(chans) > FULL_CHANNELS:
            rest = ", ".join(f"{c}: {num(b.channel_sums[c])}" for c in chans[FULL_CHANNELS:])
            rows.append((self.tr("Partial sums of the other {count} input channels: "
                                 "{sums}.").format(count=len(chans) - FULL_CHANNELS, sums=rest),
                         []))
        return rows

    def _pool_rows(self, b: Breakdown) -> list:
        """A pool's window: its values, padding in grey, the winner in red."""
        values = b.data.input_value
        shape = tuple(len(w.positions) for w in b.window) if b.window else (len(values),)
        if math.prod(shape) != len(values):  # adaptive or clipped windows: one row
            shape = (len(values),)
        styles = np.zeros(len(values), np.int8)
        if b.data.padding is not None:
            styles[b.data.padding] = PADDING
        if b.reduce == "max" and len(values):
            styles[int(np.argmax(b.data.product))] = WINNER
        if len(shape) == 3:  # a 3-D window: one grid per depth slice
            per = shape[1] * shape[2]
            return [(self.tr("The window, depth slice {depth}:").format(depth=t), [
                Grid(values[t * per:(t + 1) * per].reshape(shape[1:]),
                     styles[t * per:(t + 1) * per].reshape(shape[1:]))])
                for t in range(shape[0])]
        return [(self.tr("The window:"), [Grid(values.reshape(shape), styles.reshape(shape))])]

    def _terms_html(self, b: Breakdown) -> str:
        summary = summarize_terms(b.data, 64)
        head = "".join(f"<th>{escape(h)}</th>" for h in (
            self.tr("input index"), self.tr("input value"), self.tr("weight index"),
            self.tr("weight value"), self.tr("product")))
        rows = []
        for t in summary.shown:
            cells = (
                "padding" if t.input_index is None else str(list(t.input_index)),
                num(t.input_value),
                "" if t.weight_index is None else str(list(t.weight_index)),
                "" if t.weight_value is None else num(t.weight_value), num(t.product))
            rows.append("<tr>" + "".join(f'<td nowrap style="{_CELL}">{escape(c)}</td>'
                                         for c in cells) + "</tr>")
        html = ('<table border="1" cellspacing="0" style="border-color:#999;"><tr>' + head
                + "</tr>" + "".join(rows) + "</table>")
        if not summary.complete:
            html += "<p>" + escape(self.tr("and {count} smaller products adding up to {rest}.")
                                   .format(count=summary.rest_count,
                                           rest=num(summary.rest_sum))) + "</p>"
        return html

    def _operands_html(self, b: Breakdown) -> str:
        """A merge's values: which tensor, which element, what value."""
        head = "".join(f"<th>{escape(h)}</th>" for h in (
            self.tr("tensor"), self.tr("element"), self.tr("value")))
        rows = []
        for name, index, value in zip(b.operands, b.data.input_index.tolist(),
                                      b.data.input_value.tolist()):
            cells = (name, str([i for i in index if i >= 0]), num(value))
            rows.append("<tr>" + "".join(f'<td nowrap style="{_CELL}">{escape(c)}</td>'
                                         for c in cells) + "</tr>")
        return ('<table border="1" cellspacing="0" style="border-color:#999;"><tr>' + head
                + "</tr>" + "".join(rows) + "</table>")

    # -- the map -----------------------------------------------------------------------------
    def _term_channels(self, b: Breakdown) -> list[int]:
        if b.kind in MERGE_KINDS:
            return []
        if b.channel_sums:
            return list(b.channel_sums)
        x = layer_input(self.result, self.unit.layer)
        if x.ndim < 3 or not len(b.data):
            return []
        idx = b.data.input_index
        src = b.data.source_index
        chans = set(idx[idx[:, 0] >= 0][:, 1].tolist())
        if src is not None:
            chans |= set(src[src[:, 0] >= 0][:, 1].tolist())
        if not chans and b.data.padding is not None:
            chans = {int(b.unit[1])} if b.unit[1] < x.shape[1] else set()
        return sorted(chans)

    def _fill_channels(self, b: Breakdown) -> None:
        keep = self.channel_box.currentData()
        chans = self._term_channels(b)
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        for c in chans:
            self.channel_box.addItem(self.tr("input channel {channel}").format(channel=c), c)
        at = self.channel_box.findData(keep)
        self.channel_box.setCurrentIndex(at if at >= 0 else 0)
        self.channel_box.setVisible(len(chans) > 1)
        self.channel_box.blockSignals(False)

    def _term_depths(self, b: Breakdown) -> list[int]:
        """The input depth slices a volume's unit reads (padding slices left out)."""
        data = b.data
        if data.padded_position is not None and b.window and len(b.window) == 3:
            depths = data.padded_position[:, 0] - b.window[0].pad_before
        else:
            idx = data.input_index
            if data.source_index is not None:
                idx = np.where(idx[:, :1] >= 0, idx, data.source_index)
            depths = idx[idx[:, 0] >= 0][:, 2] if idx.shape[1] == 5 else np.zeros(0, int)
        x = layer_input(self.result, self.unit.layer)
        return sorted({int(d) for d in depths if 0 <= d < x.shape[2]})

    def _fit_depth(self, b: Breakdown) -> None:
        """A volume's input: the slider over its depth, at the middle of what the unit reads."""
        x = layer_input(self.result, self.unit.layer)
        if x.ndim != 5:
            self.depth.fit(None)
            return
        self.depth.fit(x.shape[2])
        depths = self._term_depths(b)
        if depths:
            self.depth.set_value(depths[len(depths) // 2])

    def _draw_map(self) -> None:
        b = self.breakdown
        x = None if b is None else layer_input(self.result, self.unit.layer)
        # a vector's dot product (Linear on (N, F)) is its table of terms: no map
        shown = b is not None and not (b.kind == "linear" and x.ndim == 2) \
            and b.kind not in MERGE_KINDS
        self.map_box.setVisible(shown)
        if not shown:
            self.map.clear()
            return
        batch = b.unit[0]
        channel = self.channel_box.currentData()
        source = "input" if self.unit.layer == 0 else \
            f"{self.result.layers[self.unit.layer - 1].label} output"
        volume = x.ndim == 5
        depth = self.depth.value if volume else None
        if x.ndim >= 3:
            if channel is None:
                self.map.clear()
                return
            plane = x[batch, channel] if not volume else x[batch, channel, depth]
            where = f"{source}[{batch}, {channel}]" if not volume else \
                f"{source}[{batch}, {channel}, {depth}]"
        else:  # a vector (N, F)
            plane = x[batch]
            where = f"{source}[{batch}]"
        plane = np.atleast_2d(plane) if plane.ndim <= 2 else plane.reshape(-1, plane.shape[-1])
        one_d = x.ndim == 3 or x.ndim == 2
        pads = [(w.pad_before, w.pad_after) for w in b.window]
        depth_pad = pads[0][0] if volume and len(pads) == 3 else 0
        if volume:
            pads = pads[1:]
        if one_d:
            pads = [(0, 0)] + (pads or [(0, 0)])
        pads = (pads + [(0, 0), (0, 0)])[:2]
        padded, is_pad = self._padded(plane, pads, b)
        taps = []
        data = b.data
        for i in range(len(data)):
            in_channel = self._row_channel(data, i)
            if x.ndim >= 3 and in_channel is not None and in_channel != channel:
                continue
            pos = None
            if data.padded_position is not None:
                pos = tuple(int(p) for p in data.padded_position[i])
                if volume and len(pos) == 3:  # on the slice shown only
                    if pos[0] - depth_pad != depth:
                        continue
                    pos = pos[1:]
            elif data.input_index[i, 0] >= 0:
                pos = tuple(int(p) for p in data.input_index[i, 2:] if x.ndim >= 3) or (
                    int(data.input_index[i, -1]),)
                if volume and len(pos) == 3:
                    if pos[0] != depth:
                        continue
                    pos = pos[1:]
            if pos is None:
                continue
            if len(pos) == 1:
                pos = (0, pos[0] + (0 if data.padded_position is not None else pads[1][0]))
            elif data.padded_position is None:
                pos = (pos[0] + pads[0][0], pos[1] + pads[1][0])
            pad = bool(data.padding[i]) if data.padding is not None else False
            if 0 <= pos[0] < padded.shape[0] and 0 <= pos[1] < padded.shape[1]:
                taps.append((pos[0], pos[1], pad))
        winner = None
        if b.reduce == "max" and b.flat_index is not None and b.kind != "max_unpool":
            w = plane.shape[-1]
            r, c = divmod(int(b.flat_index), w)
            if volume:  # a flat index into (D, H, W): on this slice or not at all
                d, rest = divmod(int(b.flat_index), plane.shape[0] * w)
                r, c = divmod(rest, w)
            if not volume or d == depth:
                winner = (r + pads[0][0], c + pads[1][0])
        if b.window:
            caption = self.tr("What {layer} reads: {where}, with its padding (grey); the "
                              "window is outlined.").format(layer=b.layer, where=where)
        else:
            caption = self.tr("What {layer} reads: {where}; the values it uses are "
                              "outlined.").format(layer=b.layer, where=where)
        if volume:
            depths = self._term_depths(b)
            caption += " " + (self.tr("It reads depth slices {first} to {last}; this is slice "
                                      "{depth}.").format(first=depths[0], last=depths[-1],
                                                         depth=depth) if depths else
                              self.tr("It reads no input slice, only padding."))
        (r0, r1), (c0, c1) = self._crop(padded.shape, taps, winner)
        if (r1 - r0, c1 - c0) != padded.shape:
            taps = [(r - r0, c - c0, pad) for r, c, pad in taps
                    if r0 <= r < r1 and c0 <= c < c1]
            winner = None if winner is None else (winner[0] - r0, winner[1] - c0)
            padded, is_pad = padded[r0:r1, c0:c1], is_pad[r0:r1, c0:c1]
            caption += " " + self.tr("Shown around the window: padded rows {r0} to {r1}, "
                                     "columns {c0} to {c1}.").format(r0=r0, r1=r1 - 1, c0=c0,
                                                                      c1=c1 - 1)
        self.map_caption.setText(caption)
        self.map.set_plane(padded, is_pad, taps, winner=winner)

    @staticmethod
    def _crop(shape, taps, winner, most: int = CROP) -> tuple[tuple[int, int], ...]:
        """The part of a big map to draw: ``most`` cells a side around the window."""
        marks = [(r, c) for r, c, _p in taps] + ([winner] if winner else [])
        out = []
        for axis, n in enumerate(shape):
            if n <= most or not marks:
                out.append((0, n))
                continue
            lo = min(m[axis] for m in marks)
            hi = max(m[axis] for m in marks) + 1
            extra = max(most - (hi - lo), 0)
            start = max(0, min(lo - extra // 2, n - max(most, hi - lo)))
            out.append((start, min(n, max(start + most, hi))))
        return tuple(out)

    @staticmethod
    def _row_channel(data, i: int) -> int | None:
        """The input channel term ``i`` reads (None: a zero padding cell, on every map)."""
        if data.input_index[i, 0] >= 0 and data.input_index.shape[1] >= 3:
            return int(data.input_index[i, 1])
        if data.source_index is not None and data.source_index[i, 0] >= 0:
            return int(data.source_index[i, 1])
        return None

    def _padded(self, plane: np.ndarray, pads, b: Breakdown):
        """The channel with its padding, each padding cell holding what the layer reads there
        (zeros; reflect/replicate/circular copies; nothing for max pools)."""
        (pt, pb), (pl, pr) = pads
        h, w = plane.shape
        mode = "zeros"
        if b.kind == "conv" and self.report is not None:
            mode = self.report.layers[self.unit.layer].kwargs.get("padding_mode", "zeros")
        rows = np.arange(-pt, h + pb)
        cols = np.arange(-pl, w + pr)
        rsrc, rpad = pad_sources(rows, h, mode)
        csrc, cpad = pad_sources(cols, w, mode)
        is_pad = rpad[:, None] | cpad[None, :]
        padded = plane[np.ix_(np.maximum(rsrc, 0), np.maximum(csrc, 0))].astype(np.float64)
        if mode == "zeros":
            fill = np.nan if b.kind in ("max_pool",) else 0.0
            padded[is_pad] = fill
        return padded, is_pad
