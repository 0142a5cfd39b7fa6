"""The channel grid: every channel of one batch item, for activations, gradients and kernels.

2-D maps are laid out as one mosaic image (one item, reused; NaN gaps draw transparent), paged
at 64 channels and block-averaged for display when a page exceeds about two million pixels;
hover and export always use the full-resolution data. 1-D maps are curves, one band per
channel; a vector (N, F) is a bar chart. Colour map, shared or per-channel scaling and a colour
bar; a hover read-out in PyTorch's indexing; clicks report (channel, position).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers ImageExporter)
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .base import COLORMAPS, DIVERGING, colormap, index_table, lut, pen, save_rgb
from .channel_labels import ChannelLabels
from .data import (
    MAX_PAGE,
    Mosaic,
    compose,
    downsample,
    kind_of,
    label_band_for,
    page_layout,
    quantize,
    scale,
    to_rgb,
)
from .indexed_image import IndexedImageItem
from .value_labels import ValueLabels

BAND = 1.25  # height of one curve band (the curve uses 0..1 of it)
MAX_BARS = 2048  # above this a vector is drawn as a curve
MAX_MARKERS = 64  # curves at most this long get a marker at each position
MAX_VALUES = 512  # points (positions x channels) that may get their value written


class IntegerAxis(pg.AxisItem):
    """An axis of positions or features: ticks only at whole numbers (never 0.2, 0.8)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph override
        levels = [(max(1.0, float(round(spacing))), offset)
                  for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                  if spacing >= 0.99]
        return levels or [(1.0, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        return [str(int(round(v))) for v in values]


class ChannelGrid(QWidget):
    unitHovered = Signal(str)
    unitClicked = Signal(int, tuple)  # channel (feature for vectors), position in the map
    unitDoubleClicked = Signal(int, tuple)

    def __init__(self, parent=None, cmap: str = "viridis", controls: bool = True):
        super().__init__(parent)
        self.item: np.ndarray | None = None
        self.name = ""
        self.prefix: tuple[int, ...] = ()
        self.words: tuple[str, ...] = ("channel",)
        self.kind = "image"
        self.mosaic: Mosaic | None = None
        self.levels = (0.0, 1.0)
        self.page = 0
        self._values: np.ndarray | None = None
        self._geometry = None
        self._home: QRectF | None = None  # the whole page, until the user zooms or pans
        self._zoomed = False
        self.offset = 0
        self.depth: int | None = None  # the depth slice of a volume the item is
        self.first_label = 0

        self.cmap_box = QComboBox()
        self.cmap_box.addItems(list(COLORMAPS))
        self.cmap_box.setCurrentText(cmap)
        self.cmap_box.setToolTip("Colour map. The diverging map keeps 0 white: use it for "
                                 "signed values such as gradients and weights.")
        self.scale_box = QComboBox()
        self.scale_box.addItems(["shared scale", "per-channel scale"])
        self.scale_box.setToolTip("Shared: one colour scale for all channels, so they compare. "
                                  "Per channel: each channel uses the full colour range.")
        self.page_box = QSpinBox()
        self.page_box.setMinimum(1)
        self.page_box.setPrefix("page ")
        self.page_label = QLabel()
        # its text changes with every shape ("61 channels", "channels 0-63 of 128"): it must
        # not change the grid's minimum width, or each edit would re-lay out the window
        self.page_label.setMinimumWidth(1)
        bar = QHBoxLayout()
        for w in (self.cmap_box, self.scale_box, self.page_box, self.page_label):
            bar.addWidget(w)
        bar.addStretch(1)

        # No context menus (enableMenu=False builds none: each costs a few ms to make).
        self.image_widget = pg.GraphicsLayoutWidget()
        self.view = self.image_widget.addViewBox(row=0, col=0, lockAspect=True, invertY=True,
                                                 enableMenu=False)
        self.image = IndexedImageItem()
        self.view.addItem(self.image)
        # a small grid beside a big one has no colour bar: the read-out gives the values
        self.colorbar: pg.ColorBarItem | None = None
        self._bar_cmap = cmap
        if controls:
            self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=colormap(cmap), width=14,
                                            interactive=False, colorMapMenu=False)
            self.image_widget.addItem(self.colorbar, row=0, col=1)
        self.channel_labels = ChannelLabels()  # the channel numbers, one item for all
        self.view.addItem(self.channel_labels)
        self._mark = QGraphicsRectItem()
        self._mark.setPen(pen("#ff3030", 2))
        self._mark.setZValue(10)
        self._mark.hide()
        self.view.addItem(self._mark)

        # curves and bars (1-D maps, vectors): built on first use, most grids never need them
        self.plot_widget: pg.GraphicsLayoutWidget | None = None
        self.plot: pg.PlotItem | None = None
        self.curve: pg.PlotDataItem | None = None
        self.bars: pg.BarGraphItem | None = None

        self.stack = QStackedWidget()
        self.stack.addWidget(self.image_widget)
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if controls:
            layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.readout)

        self.cmap_box.currentTextChanged.connect(self._on_style_changed)
        self.scale_box.currentIndexChanged.connect(self._on_style_changed)
        self.page_box.valueChanged.connect(self._on_page_changed)
        self.view.sigRangeChangedManually.connect(self._on_view_zoomed)
        self.view.sigResized.connect(self._on_view_resized)
        self._connect_mouse(self.image_widget)

    def _connect_mouse(self, widget: pg.GraphicsLayoutWidget) -> None:
        widget.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        widget.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    def _ensure_plot(self) -> pg.PlotItem:
        """The curve/bar plot, built the first time a 1-D map or a vector is shown."""
        if self.plot is None:
            self.plot_widget = pg.GraphicsLayoutWidget()
            self.plot = self.plot_widget.addPlot(
                row=0, col=0, enableMenu=False, axisItems={"bottom": IntegerAxis("bottom")})
            self.curve = pg.PlotDataItem(pen=pg.mkPen("#4fc3f7", width=1.5), connect="finite",
                                         autoDownsample=True, clipToView=True)
            self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.8, brush="#4fc3f7")
            self.values_text = ValueLabels()  # each point's value, where it fits
            self.values_text.colour = QColor(220, 220, 220)
            self.plot.addItem(self.curve)
            self.plot.addItem(self.bars)
            self.plot.addItem(self.values_text, ignoreBounds=True)  # not part of the range
            self.stack.addWidget(self.plot_widget)
            self._connect_mouse(self.plot_widget)
        return self.plot

    # -- data ------------------------------------------------------------------------------
    @property
    def per_channel(self) -> bool:
        return self.scale_box.currentIndex() == 1

    @property
    def cmap(self) -> str:
        return self.cmap_box.currentText()

    @property
    def pages(self) -> int:
        if self.item is None or self.kind == "vector":
            return 1
        return -(-self.item.shape[0] // MAX_PAGE)

    def set_data(self, item: np.ndarray | None, name: str = "", prefix: tuple[int, ...] = (),
                 words: tuple[str, ...] = ("channel",), offset: int = 0,
                 first_label: int | None = None, depth: int | None = None) -> None:
        """Show one batch item: (C, H, W), (C, L) or (F,). ``name`` and ``prefix`` make the
        read-out's index (``name[prefix..., channel, y, x]``); ``words`` name the prefix
        indices and the channel axis; ``offset`` is the number of the item's first channel
        (when showing a slice of channels); ``first_label`` the number its first channel is
        labelled with, where that differs (a grouped conv's kernels: the input channel each
        one sees); ``depth`` the depth slice of a volume the item is (in the read-out's index
        after the channel)."""
        old = None if self.item is None else self.item.shape[0]
        self.depth = depth
        self.item, self.name, self.prefix, self.words = item, name, tuple(prefix), words
        self.offset = offset
        self.first_label = offset if first_label is None else first_label
        if item is None:
            self.image.clear()
            if self.plot is not None:
                self.curve.setData([], [])
                self.bars.setOpts(x=[], height=[])
            self.readout.setText(" ")
            self._mark.hide()
            return
        self.kind = kind_of(item)
        if old != item.shape[0]:
            self.page = 0
        self._redraw()

    def set_page(self, page: int) -> None:
        self.page_box.setValue(page + 1)

    def _on_view_zoomed(self, *_):
        self._zoomed = True

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._home is not None and not self._zoomed:
            self.view.setRange(self._home, padding=0.02)

    def _on_view_resized(self, *_) -> None:
        m = self.mosaic
        if self.item is not None and self.kind == "image" and m is not None and \
                m.top != m.factor * self._label_band(m):
            self._draw_image()  # the numbers' band follows the view's size

    def _on_style_changed(self, *_):
        self._redraw()

    def _on_page_changed(self, value: int) -> None:
        if value - 1 != self.page:
            self.page = value - 1
            self._redraw()

    def _redraw(self) -> None:
        if self.item is None:
            return
        self.page = min(self.page, self.pages - 1)
        self.page_box.blockSignals(True)
        self.page_box.setMaximum(self.pages)
        self.page_box.setValue(self.page + 1)
        self.page_box.blockSignals(False)
        self.page_box.setVisible(self.pages > 1)
        diverging = self.cmap == DIVERGING
        page = slice(0, None) if self.kind == "vector" else \
            slice(self.page * MAX_PAGE, (self.page + 1) * MAX_PAGE)
        if self.per_channel:  # only this page's channels need rescaling
            self._values, self.levels = scale(self.item[page], True, diverging)
        else:
            values, self.levels = scale(self.item, False, diverging)
            self._values = values[page]
        if self.colorbar is not None:
            if self._bar_cmap != self.cmap:  # rebuilding the bar's gradient costs a paint
                self._bar_cmap = self.cmap
                self.colorbar.setColorMap(colormap(self.cmap))
            if self.colorbar.levels() != tuple(self.levels):
                self.colorbar.setLevels(self.levels)
            what = "each channel's own range" if self.per_channel else "one scale for all"
            self.colorbar.setToolTip(f"{self.levels[0]:.4g} to {self.levels[1]:.4g} ({what})")
        if self.kind == "image":
            self.stack.setCurrentWidget(self.image_widget)
            self._draw_image()
        else:
            self._ensure_plot()
            self.stack.setCurrentWidget(self.plot_widget)
            self._draw_plot()

    def _draw_image(self) -> None:
        c, h, w = self.item.shape
        m = page_layout(c, h, w, self.page)
        m = replace(m, top=m.factor * self._label_band(m))
        self.mosaic = m
        last = m.first + m.count - 1
        self.page_label.setText(f"channels {m.first}\u2013{last} of {c}" if self.pages > 1
                                else f"{c} channel{'s' if c != 1 else ''}")
        # indices into a colour table (gaps transparent): drawn without a per-pixel lookup
        indices = quantize(downsample(self._values, m.factor), self.levels)
        self.image.set_image(compose(indices, replace(m, factor=1, top=m.top // m.factor),
                                     fill=0),
                             index_table(self.cmap))
        height, width = m.size
        self.image.set_rect(QRectF(0, 0, width, height))
        if self._geometry != (m, c, self.first_label):
            self._geometry = (m, c, self.first_label)
            self._home = QRectF(0, 0, width, height)
            self._zoomed = False
            self.view.setRange(self._home, padding=0.02)
            self._place_labels(m)
            self._mark.hide()

    def _label_band(self, m: Mosaic) -> int:
        """Display pixels of band above each map for its number, at the view's size."""
        rect = self.view.boundingRect()
        return label_band_for(m, rect.width(), rect.height(),
                              QFontMetricsF(self.image_widget.font()).height())

    def _place_labels(self, m: Mosaic) -> None:
        if m.count <= 1 or m.count > MAX_PAGE:
            self.channel_labels.set_labels([], QRectF(), 0.0)
            return
        labels = []
        for ch in range(m.first, m.first + m.count):
            y, x = m.origin(ch)
            labels.append((x, y, str(ch + self.first_label)))
        height, width = m.size
        self.channel_labels.set_labels(labels, QRectF(0, 0, width, height), float(m.w),
                                       float(m.top))

    def _draw_plot(self) -> None:
        item = self._values
        lo, hi = self.levels
        bars = self.kind == "vector" and item.shape[0] <= MAX_BARS
        self.bars.setVisible(bars)
        left = self.plot.getAxis("left")
        if self.kind == "vector":
            self.page_label.setText(f"{item.shape[0]} features")
            x = np.arange(item.shape[0])
            if bars:
                self.bars.setOpts(x=x, height=item, width=0.8)
                self.curve.setData([], [])
            else:
                self.curve.setData(x, item)
            self._write_values(x, np.maximum(item, 0), self.item, (1.0, max(hi - lo, 1e-12)),
                               lines=2.0)
            left.setTicks(None)
            self.plot.setLabel("bottom", "feature")
            self.plot.autoRange()
            if item.shape[0] <= MAX_MARKERS:  # whole bars, room for their values above
                top, bottom = max(float(item.max()), 0.0), min(float(item.min()), 0.0)
                self.plot.setRange(xRange=(-0.6, item.shape[0] - 0.4),
                                   yRange=(bottom, top + 0.12 * ((top - bottom) or 1.0)),
                                   padding=0)
            return
        c, length = self.item.shape
        first = self.page * MAX_PAGE
        count = item.shape[0]
        self.page_label.setText(f"channels {first}\u2013{first + count - 1} of {c}"
                                if self.pages > 1 else f"{c} channel{'s' if c != 1 else ''}")
        t = (item - lo) / ((hi - lo) or 1.0)
        base = (count - 1 - np.arange(count))[:, None] * BAND
        y = np.concatenate([base + t, np.full((count, 1), np.nan)], axis=1).ravel()
        x = np.tile(np.append(np.arange(length, dtype=float), np.nan), count)
        marked = length <= MAX_MARKERS
        self.curve.setData(x, y, symbol="o" if marked else None, symbolSize=6,
                           symbolPen=None, symbolBrush="#4fc3f7")
        first_shown = self.page * MAX_PAGE
        raw = self.item[first_shown:first_shown + count]
        self._write_values(np.tile(np.arange(length, dtype=float), count),
                           (base + t).ravel(), raw, (1.0, BAND), lines=4.0)
        step = max(1, count // 16)
        left.setTicks([[((count - 1 - i) * BAND + 0.5, f"c{first + i + self.first_label}")
                        for i in range(0, count, step)]])
        self.plot.setLabel("bottom", "position")
        self.plot.autoRange()
        if marked:  # whole markers at the ends, room for the values above the top curve
            self.plot.setRange(xRange=(-0.3, length - 0.7),
                               yRange=(-0.05, count * BAND + 0.1), padding=0)

    def _write_values(self, xs, ys, raw: np.ndarray, spacing, lines: float) -> None:
        """Each point's value above it, drawn where neighbours leave room (few points)."""
        if raw.size > MAX_VALUES:
            self.values_text.clear()
            return
        self.values_text.set_labels(xs, ys, [f"{v:.3g}" for v in raw.ravel()], spacing,
                                    above=True, lines=lines)

    # -- read-out and clicks --------------------------------------------------------------------
    def unit_at(self, scene_pos) -> tuple[int, tuple[int, ...]] | None:
        """(channel, position) under a scene position of the visible view."""
        hit = self._local_unit_at(scene_pos)
        return None if hit is None else (hit[0] + self.offset, hit[1])

    def _local_unit_at(self, scene_pos) -> tuple[int, tuple[int, ...]] | None:
        if self.item is None:
            return None
        if self.kind == "image":
            if self.mosaic is None or not self.view.sceneBoundingRect().contains(scene_pos):
                return None
            p = self.view.mapSceneToView(scene_pos)
            return self.mosaic.hit(p.y(), p.x())
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        i = int(round(p.x()))
        if self.kind == "vector":
            return (i, ()) if 0 <= i < self.item.shape[0] else None
        c, length = self.item.shape
        first = self.page * MAX_PAGE
        count = min(MAX_PAGE, c - first)
        band = count - 1 - int(np.floor(p.y() / BAND))
        if 0 <= band < count and 0 <= i < length:
            return first + band, (i,)
        return None

    def scene_pos(self, channel: int, position: tuple[int, ...] = ()):
        """Scene position of a unit's centre (what a click there would hit)."""
        channel -= self.offset
        if self.kind == "image":
            y, x = self.mosaic.origin(channel)
            return self.view.mapViewToScene(pg.Point(x + position[1] + 0.5,
                                                     y + position[0] + 0.5))
        if self.kind == "vector":
            return self.plot.getViewBox().mapViewToScene(pg.Point(channel, 0.5 *
                                                                   float(self.item[channel])))
        count = min(MAX_PAGE, self.item.shape[0] - self.page * MAX_PAGE)
        band = channel - self.page * MAX_PAGE
        return self.plot.getViewBox().mapViewToScene(
            pg.Point(position[0], (count - 1 - band) * BAND + 0.5))

    def readout_text(self, channel: int, position: tuple[int, ...]) -> str:
        value = float(self.item[(channel - self.offset, *position)])
        depth = () if self.depth is None else (self.depth,)
        index = ", ".join(str(i) for i in (*self.prefix, channel, *depth, *position))
        label = channel - self.offset + self.first_label
        names = [f"{w} {i}" for w, i in zip(self.words, (*self.prefix, label))]
        names += [f"depth {d}" for d in depth]
        axes = ("y", "x") if len(position) == 2 else ("position",)
        names += [f"{a} {p}" for a, p in zip(axes, position)]
        return f"{self.name}[{index}] = {value:.6g}    ({', '.join(names)})"

    def _on_scene_mouse_moved(self, scene_pos) -> None:
        hit = self.unit_at(scene_pos)
        if hit is not None:
            text = self.readout_text(*hit)
            self.readout.setText(text)
            self.unitHovered.emit(text)

    def _on_scene_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self.unit_at(event.scenePos())
        if hit is None:
            return
        self.readout.setText(self.readout_text(*hit))
        if event.double():
            self.unitDoubleClicked.emit(*hit)
        else:
            self.unitClicked.emit(*hit)

    def mark(self, channel: int | None, position: tuple[int, ...] = ()) -> None:
        """Outline one unit (or a whole channel when ``position`` is empty) in image mode."""
        m = self.mosaic
        if channel is not None:
            channel -= self.offset
        if channel is None or self.kind != "image" or m is None or \
                not m.first <= channel < m.first + m.count:
            self._mark.hide()
            return
        y, x = m.origin(channel)
        if position:
            self._mark.setRect(QRectF(x + position[1], y + position[0], 1, 1))
        else:
            self._mark.setRect(QRectF(x - 0.5, y - 0.5, m.w + 1, m.h + 1))
        self._mark.show()

    # -- export -----------------------------------------------------------------------------
    def export_rgb(self) -> np.ndarray | None:
        """The current page at data resolution (one pixel per value, 1-pixel gaps)."""
        if self.item is None or self.kind != "image":
            return None
        full = replace(self.mosaic, factor=1, top=0)
        return to_rgb(compose(self._values, full), self.levels, lut(self.cmap))

    def slide_figure(self, width: int, caption: str = ""):
        """The current page for a slide (``slides``): the maps, or the plot drawn ``width``
        pixels wide; None if nothing is shown."""
        from .slides import GridFigure, ImageFigure

        if self.item is None:
            return None
        if self.kind == "image":
            return GridFigure(self._values, replace(self.mosaic, factor=1, top=0), self.cmap,
                              tuple(self.levels), self.first_label, caption)
        # as wide as the slide allows, at most about 0.6 of the slide's width high
        inner = width * (1 - 2 / 80)
        aspect = self.plot.height() / max(self.plot.width(), 1)
        exporter = pg.exporters.ImageExporter(self.plot)
        exporter.parameters()["width"] = int(min(inner, 0.6 * width / max(aspect, 1e-3)))
        return ImageFigure(exporter.export(toBytes=True), caption)

    def export_image(self, path) -> bool:
        rgb = self.export_rgb()
        if rgb is not None:
            return save_rgb(rgb, path)
        if self.item is None:
            return False
        exporter = pg.exporters.ImageExporter(self.plot)
        exporter.parameters()["width"] = max(640, min(4096, self.item.shape[-1] * 4))
        return bool(exporter.export(str(path)))
