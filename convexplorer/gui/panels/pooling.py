"""Pooling indices: where each maximum of a MaxPool (return_indices=True) came from, how many
windows each input position won, the window and winner of a picked output cell, where a
following MaxUnpool puts values back, and the pool input's gradient (nonzero only at winners).
Volumes (N, C, D, H, W) show one depth slice of the pool's input and one of its indices, each
with its slider; picking a cell moves the input's slider to the winner's slice.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from ...model.explain import window_taps
from ...model.shapes import fmt_shape
from .base import DIVERGING, DepthSlider, LayerChooser, MapView, Panel, UnitBoxes
from .data import hstack_rgb, unravel, win_counts, win_overlay

MAX_LABELS = 4096  # cells numbered per map (when zoomed in); bigger maps rely on hover
HINT = ("Click a cell of the indices map to see its window and its winner. Yellow: the "
        "position won 1 window, orange 2, red 3 or more.")


class PoolingPanel(Panel):
    title = "Pooling indices"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.chooser = LayerChooser()
        self.units = UnitBoxes()
        self.batch_box, self.channel_box = self.units.batch_box, self.units.channel_box
        self.in_depth = DepthSlider(label=self.tr("input depth"))
        self.out_depth = DepthSlider(label=self.tr("indices depth"))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Pool:"))
        bar.addWidget(self.chooser)
        bar.addWidget(self.units)
        bar.addWidget(self.in_depth)
        bar.addWidget(self.out_depth)
        bar.addStretch(1)
        self.empty = QLabel("No pooling layer returns indices. Set return_indices=True on a "
                            "MaxPool (or AdaptiveMaxPool) layer to see where each maximum "
                            "comes from.")
        self.empty.setWordWrap(True)
        self.plot = pg.GraphicsLayoutWidget()
        ci = self.plot.ci
        self.input_view = MapView(ci, 0, 0)
        self.indices_view = MapView(ci, 0, 1)
        self.grad_view = MapView(ci, 0, 2)
        self.unpool_view = MapView(ci, 0, 3)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.details = QLabel(HINT)
        self.details.setWordWrap(True)
        self.readout = QLabel(" ")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.summary)
        layout.addWidget(self.details)
        self.cell: tuple[int, ...] | None = None
        self.counts: np.ndarray | None = None  # windows won per input position (all of it)
        self._full: dict[str, np.ndarray | None] = {}  # one channel, every depth
        self._maps: dict[str, np.ndarray | None] = {}  # what the views show: one slice
        self._shown_counts: np.ndarray | None = None
        self._names: dict[str, str] = {}
        self.chooser.keyChanged.connect(self._on_source_changed)
        self.units.changed.connect(self._on_source_changed)
        self.in_depth.changed.connect(self._on_depth_changed)
        self.out_depth.changed.connect(self._on_depth_changed)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.plot.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

    # -- which pool ---------------------------------------------------------------------------
    def _pools(self) -> list:
        return [] if self.result is None else [lr for lr in self.result.layers
                                               if lr.indices is not None]

    def _pool_of(self, index: int) -> int:
        """The pool to show for a selected layer: a MaxUnpool shows the pool it undoes."""
        if 0 <= index < len(self.result.layers):
            source = self.result.layers[index].indices_from
            return index if source is None else source
        return index

    def _on_source_changed(self, *_):
        self.cell = None
        self.refresh()

    def _on_depth_changed(self) -> None:
        if self._full:
            self._show_maps()
            if self.cell is not None:
                self._mark(self.cell)

    def _pool_input(self, i: int, grads: bool = False):
        if i == 0:
            return self.result.grad_input if grads else self.result.input
        prev = self.result.layers[i - 1]
        return prev.grad_output if grads else prev.activation

    def _redraw(self) -> None:
        pools = self._pools()
        self.chooser.set_items([(lr.index, lr.label) for lr in pools])
        if pools:
            self._follow_selection(self.chooser, self._pool_of)
        self.empty.setVisible(not pools)
        for widget in (self.plot, self.units, self.readout, self.summary, self.details):
            widget.setVisible(bool(pools))
        self.chooser.setEnabled(bool(pools))
        if not pools:  # nothing of an earlier result may stay on screen
            self._maps, self._full, self.cell, self.counts = {}, {}, None, None
            self.in_depth.fit(None)
            self.out_depth.fit(None)
            self.summary.setText("")
            self.readout.setText(" ")
            self.details.setText(HINT)
            for view in (self.input_view, self.indices_view, self.grad_view, self.unpool_view):
                view.set_map(None)
            return
        pool = self.result.layers[self.chooser.key()]
        self.units.fit(pool.indices.shape, position=False)
        b, ch = self.units.batch, self.units.channel
        inp = self._pool_input(pool.index)[b, ch]
        grad = self._pool_input(pool.index, grads=True)
        unpool = next((lr for lr in self.result.layers if lr.indices_from == pool.index), None)
        indices = pool.indices[b, ch]
        self.counts = win_counts(indices, inp.size).reshape(inp.shape)
        self._full = {"input": inp, "indices": indices,
                      "grad": None if grad is None else grad[b, ch],
                      "unpool": None if unpool is None else unpool.activation[b, ch]}
        volume = inp.ndim == 3
        self.in_depth.fit(inp.shape[0] if volume else None)
        self.out_depth.fit(indices.shape[0] if volume else None)
        src = "input" if pool.index == 0 else self.result.layers[pool.index - 1].label + \
            " output"
        self._names = {"input": src, "indices": f"{pool.label} indices", "grad": f"{src}.grad",
                       "unpool": "" if unpool is None else f"{unpool.label} output"}
        self._show_maps()
        self.summary.setText(f"<b>{escape(pool.label)} on {escape(src)}[{b}, {ch}]</b>: "
                             + escape(self._summary(pool.index, inp, self._full["grad"],
                                                    unpool)))
        fits = self.cell is not None and len(self.cell) == indices.ndim and all(
            c < n for c, n in zip(self.cell, indices.shape))
        if fits:
            self.pick(self.cell)
        else:
            self.cell = None
            self.details.setText(HINT)

    def _slice(self, key: str) -> np.ndarray | None:
        """The map of ``key`` as shown: a volume's slice at its slider."""
        a = self._full.get(key)
        if a is None or a.ndim != 3:
            return a
        return a[(self.out_depth if key == "indices" else self.in_depth).value]

    def _show_maps(self) -> None:
        """Draw the four maps (their current slices) from ``_full``."""
        inp, indices = self._slice("input"), self._slice("indices")
        size = self._full["input"].size
        counts = self.counts if self.counts.ndim < 3 else self.counts[self.in_depth.value]
        self._maps = {key: self._slice(key) for key in self._full}
        self._shown_counts = counts
        unpool = self._maps["unpool"]
        depth_in = f" [{self.in_depth.value}]" if self.in_depth.depth is not None else ""
        depth_out = f" [{self.out_depth.value}]" if self.out_depth.depth is not None else ""
        # Short titles keep the four columns equal; hover and the summary give full names.
        self.input_view.set_title("pool input, winners marked" + depth_in)
        self.input_view.set_map(inp, "gray")
        self.input_view.set_overlay(win_overlay(counts))
        self.indices_view.set_title("indices: click a cell" + depth_out)
        self.indices_view.set_map(indices.astype(np.float32), "viridis", (0, size - 1))
        if indices.size <= MAX_LABELS:  # numbers where they fit at the zoom; hover for all
            # dark numbers on the light end of viridis
            self.indices_view.set_cell_labels(indices.astype(str), indices > 0.6 * (size - 1))
            labels = np.where(counts > 1, counts.astype(str), "")
            self.input_view.set_cell_labels(labels, np.ones(counts.shape, dtype=bool))
        g = self._maps["grad"]
        self.grad_view.set_title("pool input .grad" + depth_in)
        m = float(np.abs(g).max()) if g is not None and g.size else 0.0
        self.grad_view.set_map(g, DIVERGING, (-m, m) if m > 0 else (-1.0, 1.0))
        self.unpool_view.set_title("" if unpool is None else
                                   "MaxUnpool: values put back" + depth_in)
        self.unpool_view.set_map(unpool, "gray")
        if unpool is not None:
            self.unpool_view.set_overlay(win_overlay(np.minimum(counts, 1)))
        self.unpool_view.view.setVisible(unpool is not None)

    def _summary(self, pool: int, inp: np.ndarray, grad: np.ndarray | None,
                 unpool) -> str:
        won = int((self.counts > 0).sum())
        multi = int((self.counts > 1).sum())
        text = (f"{won} of {inp.size} input positions won at least one of the "
                f"{self.counts.sum()} windows; {multi} won more than one")
        text += (" (windows overlap where stride < kernel_size)." if multi else
                 " (windows do not overlap, or no maximum is shared).")
        if multi and unpool is not None and unpool.index == pool + 1:
            text += (f" MaxUnpool sends each window's value back to its winner: at those "
                     f"{multi} positions several windows send the same value, so it does not "
                     "matter which write lands last.")
        elif multi and unpool is not None:
            text += (f" MaxUnpool sends each window's value back to its winner, and the layers "
                     f"between have changed those values: at those {multi} positions several "
                     "values land on one spot and one is kept. torch does not say which (on "
                     "CUDA it can change from run to run).")
        obj = self.result.objective
        after = (obj.layer if obj.layer >= 0 else len(self.result.layers) - 1) >= pool
        if grad is not None and not after:
            text += (" The objective is taken before this pool, so no gradient passes through "
                     "it; pick a later layer's output as the objective to see where it goes.")
        elif grad is not None:
            nz = grad != 0
            at_winners = int((nz & (self.counts > 0)).sum())
            text += (f" The pool input's .grad is nonzero at {int(nz.sum())} positions, "
                     f"{at_winners} of them winners: max pooling sends gradient only to the "
                     f"winners (a winner of several windows gets the sum).")
        return text

    # -- picking one output cell ----------------------------------------------------------------
    def pick(self, cell: tuple[int, ...]) -> None:
        """Highlight output ``cell``'s window and its winner on every map (in a volume, the
        input's slider moves to the winner's slice and the indices' to the cell's)."""
        if not self._maps:
            return
        self.cell = tuple(cell)
        full_in = self._full["input"]
        if full_in.ndim == 3:
            winner = unravel(int(self._full["indices"][self.cell]), full_in.shape)
            self.in_depth.set_value(winner[0])
            self.out_depth.set_value(self.cell[0])
            self._show_maps()
        self._mark(self.cell)

    def _mark(self, cell: tuple[int, ...]) -> None:
        pool = self.result.layers[self.chooser.key()]
        full_in, full_indices = self._full["input"], self._full["indices"]
        flat = int(full_indices[cell])
        winner = unravel(flat, full_in.shape)
        for view in (self.input_view, self.indices_view, self.grad_view, self.unpool_view):
            view.clear_marks("pick")
        volume = full_in.ndim == 3
        # what lies on the slices shown: the cell, the window and the winner (2-D parts)
        cell_here = not volume or cell[0] == self.out_depth.value
        win_here = not volume or winner[0] == self.in_depth.value
        plane_cell = cell[1:] if volume else cell
        y2 = (0,) * (2 - len(plane_cell))
        cy, cx = (*y2, *plane_cell)
        if cell_here:
            self.indices_view.add_rect(cy, cx, 1, 1, "#00e5ff", 3, group="pick")
        taps = window_taps(self.report.layers[pool.index], cell) if self.report else None
        if taps and volume and self.in_depth.value not in taps[0]:
            plane_taps = None  # the window does not reach the input slice shown
        else:
            plane_taps = taps[1:] if taps and volume else taps
        if plane_taps:
            taps2 = [[0]] * (2 - len(plane_taps)) + plane_taps
            self.input_view.add_rect(min(taps2[0]), min(taps2[1]), max(taps2[0]) -
                                     min(taps2[0]) + 1, max(taps2[1]) - min(taps2[1]) + 1,
                                     "#00e5ff", 2, group="pick")
            dilated = any(len(t) > 1 and t[1] - t[0] > 1 for t in taps2)
            if dilated and len(taps2[0]) * len(taps2[1]) <= 100:  # mark each tap
                for ty in taps2[0]:
                    for tx in taps2[1]:
                        self.input_view.add_rect(ty + 0.3, tx + 0.3, 0.4, 0.4, "#00e5ff", 1,
                                                 fill="#00e5ff", group="pick")
        plane_winner = winner[1:] if volume else winner
        wy, wx = (*((0,) * (2 - len(plane_winner))), *plane_winner)
        for view in (self.input_view, self.grad_view, self.unpool_view):
            if view.values is not None and win_here:
                view.add_rect(wy, wx, 1, 1, "#ff1744", 3, group="pick")
        value = float(pool.activation[(self.units.batch, self.units.channel, *cell)])
        idx = ", ".join(str(i) for i in (self.units.batch, self.units.channel, *cell))
        shape = full_in.shape
        if full_in.ndim == 3:
            formula = f"{winner[0]}*{shape[1]}*{shape[2]} + {winner[1]}*{shape[2]} + {winner[2]}"
        elif full_in.ndim == 2:
            formula = f"{winner[0]}*{shape[1]} + {winner[1]}"
        else:
            formula = str(flat)
        text = (f"<b>output[{idx}] = {value:.4g}</b> is the largest value of its window "
                f"(cyan). <b>indices[{idx}] = {flat}</b> = {formula}: the winner is input "
                f"position {winner} (red).")
        if volume:
            text += (f" The window spans depth slices {min(taps[0])}\u2013{max(taps[0])}; the "
                     f"input maps show slice {self.in_depth.value}." if taps else "")
        if taps:
            size = int(np.prod([len(t) for t in taps]))
            text += (f" In backward, this output's whole gradient goes to that one position; "
                     f"the other {size - 1} position(s) of the window get none from it.")
        if self._maps["unpool"] is not None:
            text += " MaxUnpool puts the value back at the same position."
        self.details.setText(text)

    def winners(self) -> list[tuple[int, ...]]:
        """Input positions marked as winners (won at least one window)."""
        return [tuple(int(i) for i in p) for p in np.argwhere(self.counts > 0)]

    def _view_hit(self, scene_pos):
        """(map name, full position in the channel) under a scene position."""
        for name, view in (("indices", self.indices_view), ("input", self.input_view),
                           ("grad", self.grad_view), ("unpool", self.unpool_view)):
            hit = view.hit(scene_pos) if view.view.isVisible() else None
            if hit is not None:
                values = self._full[name]
                if values.ndim == 3:  # a slice of a volume: its depth first
                    slider = self.out_depth if name == "indices" else self.in_depth
                    return name, (slider.value, *hit)
                return name, hit if values.ndim == 2 else hit[1:]
        return None

    def _on_scene_mouse_clicked(self, event) -> None:
        hit = self._view_hit(event.scenePos())
        if hit is not None and hit[0] == "indices":
            self.pick(hit[1])

    def _on_scene_mouse_moved(self, scene_pos) -> None:
        hit = self._view_hit(scene_pos)
        if hit is None:
            return
        name, pos = hit
        value = self._full[name][pos]
        where = ", ".join(str(i) for i in (self.units.batch, self.units.channel,
                                           *pos))
        if name == "indices":
            text = f"indices[{where}] = {int(value)} \u2192 input position " \
                   f"{unravel(int(value), self._full['input'].shape)}"
        else:
            text = f"{self._names[name]}[{where}] = {float(value):.6g}"
            if name == "input":
                text += f", won {int(self.counts[pos])} window(s)"
        self.readout.setText(text)

    def slide(self, width: int):
        """The maps side by side for a slide, with their numbers (the indices, win counts)
        and colour bars; the title names the pool, the channel and the indices' torch.Size."""
        from .slides import MapFigure, Slide

        self.ensure_fresh()
        if not self._maps or self.chooser.key() is None:
            return None
        pool = self.result.layers[self.chooser.key()]
        figures = []
        b, ch = self.units.batch, self.units.channel
        captions = {"input": self.tr("{array}[{batch}, {channel}], winners marked"),
                    "indices": self.tr("{array}[{batch}, {channel}]"),
                    "grad": self.tr("{array}[{batch}, {channel}]"),
                    "unpool": self.tr("{array}[{batch}, {channel}]: values put back")}
        for key, view in (("input", self.input_view), ("indices", self.indices_view),
                          ("grad", self.grad_view), ("unpool", self.unpool_view)):
            if view.values is None or not view.view.isVisible():
                continue
            texts = dark = None
            if view.cells.texts():
                texts, dark = self._cell_texts(view)
            caption = captions[key].format(array=self._names[key], batch=b, channel=ch)
            figures.append(MapFigure(view.rgb(), caption, texts, dark, view.cmap,
                                     view.levels))
        title = self.tr("{pool}, batch {batch}, channel {channel}: indices {shape}").format(
            pool=pool.label, batch=self.units.batch, channel=self.units.channel,
            shape=fmt_shape(pool.indices.shape))
        return Slide(title, figures)

    def _cell_texts(self, view):
        """The numbers written in ``view``'s cells, as a (rows, columns) array."""
        values = view.values
        if view is self.indices_view:
            texts = values.astype(np.int64).astype(str)
            return texts, values > 0.6 * (self._full["input"].size - 1)
        counts = self._shown_counts if self._shown_counts.ndim == 2 else self._shown_counts[None]
        return np.where(counts > 1, counts.astype(str), ""), np.ones(counts.shape, dtype=bool)

    def export_rgb(self):
        views = [v for v in (self.input_view, self.indices_view, self.grad_view,
                             self.unpool_view) if v.values is not None]
        return hstack_rgb([v.rgb() for v in views]) if views and self._maps else None
