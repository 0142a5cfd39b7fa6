"""What every panel shares: the panel protocol with lazy redraws, colour maps, a layer chooser,
single maps with overlays (``MapView``) and PNG export of numpy RGB images."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from ...engine.results import RunResult
from ...model.shapes import ShapeReport, fmt_shape, infer
from .data import blend, to_rgb
from .value_labels import ValueLabels

# Shown name -> pyqtgraph colour map name ("gray" is built here).
COLORMAPS = {"viridis": "viridis", "magma": "magma", "gray": "gray",
             "diverging (blue-white-red)": "CET-D1"}
DIVERGING = "diverging (blue-white-red)"
_CACHE: dict[str, pg.ColorMap] = {}
_LUTS: dict[tuple[str, str], np.ndarray] = {}


def colormap(name: str) -> pg.ColorMap:
    key = COLORMAPS.get(name, name)
    if key not in _CACHE:
        _CACHE[key] = (pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)]) if key == "gray"
                       else pg.colormap.get(key))
    return _CACHE[key]


def lut(name: str) -> np.ndarray:
    """256 x 4 uint8 lookup table: the same colours on screen and in exported PNGs."""
    key = ("lut", name)
    if key not in _LUTS:
        _LUTS[key] = colormap(name).getLookupTable(nPts=256, alpha=True)
    return _LUTS[key]


def index_lut(name: str) -> np.ndarray:
    """256 x 4 uint8 colour table for ``data.quantize``'d images: entry 0 transparent (NaN,
    the gaps), entries 1..255 the colour map from low to high."""
    key = ("index", name)
    if key not in _LUTS:
        table = np.zeros((256, 4), dtype=np.uint8)
        table[1:] = colormap(name).getLookupTable(nPts=255, alpha=True)
        _LUTS[key] = table
    return _LUTS[key]


def index_table(name: str) -> list[int]:
    """``index_lut(name)`` as QImage's colour table (0xAARRGGBB), made once per map."""
    key = ("table", name)
    if key not in _LUTS:
        c = index_lut(name).astype(np.uint32)
        _LUTS[key] = ((c[:, 3] << 24) | (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]).tolist()
    return _LUTS[key]


def save_rgb(rgb: np.ndarray, path) -> bool:
    """Save an (H, W, 3) uint8 array as PNG."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy().save(str(path), "PNG")


class Panel(QWidget):
    """Base of the result panels (see ``gui.panels`` for the protocol). A panel redraws only
    while it is visible: new results mark it stale and it catches up when it is shown, so a
    run does not redraw hidden tabs."""

    title = ""
    objectiveRequested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: RunResult | None = None
        self.report: ShapeReport | None = None
        self.selection: int | None = None
        self._pending: int | None = None
        self._pending_mark: tuple | None = None  # (chooser, its picks) while still pending
        self._stale = False

    def set_result(self, result: RunResult | None, report: ShapeReport | None) -> None:
        if report is None and result is not None:
            report = infer(result.config.layers, result.input.shape)
        self.result, self.report = result, report
        self.refresh()

    def set_selection(self, index: int | None) -> None:
        self.selection = index
        self._pending = index
        self._pending_mark = None
        self.refresh()

    def _follow_selection(self, chooser: LayerChooser, key=None) -> None:
        """Point ``chooser`` at the stack's newly selected layer (``key`` maps the layer index
        to a chooser key), once per selection, so the panel's own choice is kept otherwise.
        A layer the result does not hold yet (one just added, its run still to come) stays
        pending until a result has it, unless the user picks another item meanwhile."""
        if self._pending is None:
            return
        mark = self._pending_mark
        if mark is not None and mark[0] is chooser and mark[1] != chooser.picks:
            self._pending = self._pending_mark = None  # the user's own pick wins
            return
        chooser.blockSignals(True)
        found = chooser.select_key(self._pending if key is None else key(self._pending))
        chooser.blockSignals(False)
        if found:
            self._pending = self._pending_mark = None
        else:
            self._pending_mark = (chooser, chooser.picks)

    def refresh(self) -> None:
        """Redraw now if visible, else when next shown."""
        self._stale = True
        if self.isVisible():
            self.ensure_fresh()

    def ensure_fresh(self) -> None:
        if self._stale:
            self._stale = False
            self._redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ensure_fresh()

    def _redraw(self) -> None:
        raise NotImplementedError

    def export_rgb(self) -> np.ndarray | None:
        """What the panel shows, at data resolution (None: nothing to export)."""
        return None

    def slide(self, width: int):
        """What the panel shows, for ``slides.export_slide`` (None: the panel as drawn)."""
        return None

    def export_image(self, path) -> bool:
        self.ensure_fresh()
        rgb = self.export_rgb()
        if rgb is None:
            return self.grab().save(str(path), "PNG")
        return save_rgb(rgb, path)


MAX_POSITIONS = 64  # a 1-D strip at most this long gets a row of position numbers
CHOOSER_FRAME = 40  # pixels of a combo box beside its text: frame and arrow


class LayerChooser(QComboBox):
    """A combo box of (key, text) items that keeps its key across repopulating."""

    keyChanged = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        # The box asks for the width of the longest item it has ever held (see sizeHint):
        # sized to its current items, it would re-lay out its panel, and the window with its
        # docks, whenever an edit changes a shape in an item's text (64 -> 128 channels).
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._width = 0
        self._items: list = []
        self.picks = 0  # changes made with signals on: the user's (panels block their own)
        self.currentIndexChanged.connect(self._on_index_changed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._width), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """As narrow as about 24 characters, so a narrow window can still fit the box (it
        asks for its items' width when there is room)."""
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.fontMetrics().averageCharWidth() * 24 + CHOOSER_FRAME),
                     hint.height())

    def set_items(self, items: list[tuple[object, str]]) -> None:
        if self._items == items:  # repopulating would re-measure and re-lay out the bar
            return
        self._items = list(items)
        keep = self.key()
        self.blockSignals(True)
        self.clear()
        for key, text in items:
            self.addItem(text, key)
        at = self.findData(keep)
        self.setCurrentIndex(at if at >= 0 else (0 if items else -1))
        self.blockSignals(False)
        widest = max((self.fontMetrics().horizontalAdvance(text) for _, text in items), default=0)
        if widest + CHOOSER_FRAME > self._width:  # it only ever grows
            self._width = widest + CHOOSER_FRAME
            self.updateGeometry()
        self.setToolTip(self.currentText())

    def key(self):
        return self.currentData() if self.count() else None

    def keys(self) -> list:
        return [self.itemData(i) for i in range(self.count())]

    def select_key(self, key) -> bool:
        at = self.findData(key)
        if at >= 0:
            self.setCurrentIndex(at)
        return at >= 0

    def _on_index_changed(self, _index: int) -> None:
        self.picks += 1
        self.setToolTip(self.currentText())  # the whole text, where the box cuts it short
        self.keyChanged.emit(self.key())


def pen(colour, width: float = 2.0) -> QPen:
    p = QPen(QColor(colour))
    p.setWidthF(width)
    p.setCosmetic(True)
    return p


class MapView:
    """One 2-D map (a 1-D signal shows as a 1 x L strip) with a title, an optional RGBA overlay
    and marks (rectangles, text), placed in a pyqtgraph GraphicsLayout."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str = ""):
        self.label = layout.addLabel(title, row=2 * row, col=col, size="9pt")
        self.view = layout.addViewBox(row=2 * row + 1, col=col, lockAspect=True, invertY=True,
                                      enableMenu=False)  # no menu built: saves a few ms each
        self.view.setBackgroundColor((48, 48, 48))  # so a black map still shows its extent
        self.image = pg.ImageItem(axisOrder="row-major")
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.view.addItem(self.overlay)
        self.cells = ValueLabels()  # numbers in the cells, where they fit
        self.positions = ValueLabels()  # a 1-D strip's positions, in a row below it
        self.positions.colour = QColor(170, 170, 170)
        self.view.addItem(self.cells, ignoreBounds=True)
        self.view.addItem(self.positions, ignoreBounds=True)
        self.values: np.ndarray | None = None
        self.levels = (0.0, 1.0)
        self.cmap = "gray"
        self.rgba: np.ndarray | None = None
        self._marks: list = []

    def set_title(self, text: str) -> None:
        self.label.setText(text, size="9pt")

    def set_map(self, values: np.ndarray | None, cmap: str = "gray", levels=None) -> None:
        self.clear_marks()
        self.cells.clear()
        self.positions.clear()
        self.values, self.cmap = values, cmap
        if values is None:
            self.image.clear()
            self.overlay.clear()
            self.rgba = None
            return
        if values.ndim == 1:
            values = values[None]
            self.values = values
        lo, hi = (float(np.nanmin(values)), float(np.nanmax(values))) if levels is None \
            else levels
        self.levels = (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)
        self.image.setImage(values, levels=self.levels, autoLevels=False)
        self.image.setColorMap(colormap(cmap))
        length = values.shape[1]
        if values.shape[0] == 1 and length > 1:
            # a 1-D strip: square cells while short, a band a sixth as high as it is long
            # when long (not tall bars), with its positions in a row below while they fit
            self.view.setAspectLocked(True, ratio=1.0 / max(1.0, length / 6))
            rows = 1.0
            if length <= MAX_POSITIONS:
                self.positions.set_labels(np.arange(length) + 0.5, np.full(length, 1.5),
                                          [str(i) for i in range(length)])
                rows = 2.0
            self.view.setRange(QRectF(0, 0, length, rows), padding=0.02)
        else:
            self.view.setAspectLocked(True)
            self.view.autoRange(padding=0.02)
        self.set_overlay(None)

    def set_cell_labels(self, texts: np.ndarray, dark: np.ndarray | None = None) -> None:
        """A number (or any short text) in each cell, drawn where it fits at the zoom."""
        self.cells.set_cells(texts if texts.ndim == 2 else texts[None],
                             None if dark is None else (dark if dark.ndim == 2 else dark[None]))

    def set_overlay(self, rgba: np.ndarray | None) -> None:
        self.rgba = rgba
        if rgba is None:
            self.overlay.clear()
        else:
            self.overlay.setImage(rgba if rgba.ndim == 3 else rgba[None], autoLevels=False,
                                  levels=(0, 255))

    def clear_marks(self, group: str | None = None) -> None:
        """Remove the marks of one group (all marks when None)."""
        keep = []
        for g, item in self._marks:
            if group is None or g == group:
                self.view.removeItem(item)
            else:
                keep.append((g, item))
        self._marks = keep

    def add_rect(self, y: float, x: float, h: float, w: float, colour="c",
                 width: float = 2.0, fill=None, group: str = "") -> QGraphicsRectItem:
        item = QGraphicsRectItem(QRectF(x, y, w, h))
        item.setPen(pen(pg.mkColor(colour), width))
        if fill is not None:
            item.setBrush(pg.mkBrush(fill))
        self.view.addItem(item)
        self._marks.append((group, item))
        return item

    def add_text(self, y: float, x: float, text: str, colour="w",
                 group: str = "") -> pg.TextItem:
        item = pg.TextItem(text, color=colour, anchor=(0.5, 0.5))
        item.setPos(x, y)
        self.view.addItem(item)
        self._marks.append((group, item))
        return item

    def marks(self, group: str | None = None) -> list:
        return [item for g, item in self._marks if group is None or g == group]

    def hit(self, scene_pos) -> tuple[int, int] | None:
        """(row, column) of the map under a scene position."""
        if self.values is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view.mapSceneToView(scene_pos)
        y, x = int(np.floor(p.y())), int(np.floor(p.x()))
        h, w = self.values.shape
        return (y, x) if 0 <= y < h and 0 <= x < w else None

    def scene_pos(self, y: float, x: float):
        """Scene position of the centre of a map cell (for clicks)."""
        return self.view.mapViewToScene(pg.Point(x + 0.5, y + 0.5))

    def rgb(self) -> np.ndarray | None:
        """The map and its overlay at data resolution."""
        if self.values is None:
            return None
        rgb = to_rgb(self.values, self.levels, lut(self.cmap))
        return blend(rgb, self.rgba) if self.rgba is not None else rgb


def arrays(result: RunResult, grads: bool = False) -> list[tuple[int, str, str, np.ndarray]]:
    """(key, chooser text, read-out name, array) for the input (key -1) and every layer's
    output, or their gradients (.grad) where the run has them."""
    suffix = ".grad" if grads else ""
    first = result.grad_input if grads else result.input
    out = []
    if first is not None:
        out.append((-1, f"input{suffix}  {fmt_shape(first.shape)}", f"input{suffix}", first))
    for lr in result.layers:
        a = lr.grad_output if grads else lr.activation
        if a is not None:
            out.append((lr.index, f"{lr.label} output{suffix}  {fmt_shape(a.shape)}",
                        f"{lr.label} output{suffix}", a))
    return out


class DepthSlider(QWidget):
    """Which depth slice of a volume (N, C, D, H, W) the maps show: a slider with the slice's
    number. Hidden for arrays without a depth (``fit(None)``)."""

    changed = Signal()

    def __init__(self, parent=None, label: str = "depth"):
        super().__init__(parent)
        self.title = QLabel(label)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(80)
        self.slider.setMaximumWidth(220)
        self.slider.setPageStep(1)
        self.slider.setToolTip(self.tr("Which slice of the depth dimension D of (N, C, D, H, W) "
                                       "the maps show; drag it to walk through the volume."))
        self.number = QLabel()
        self.number.setMinimumWidth(self.fontMetrics().horizontalAdvance("000 / 000"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.title)
        row.addWidget(self.slider)
        row.addWidget(self.number)
        self.slider.valueChanged.connect(self._on_value_changed)
        self.setVisible(False)
        self._depth: int | None = None

    def fit(self, depth: int | None) -> None:
        """Show slices 0..depth-1 (None: no depth, hidden); the value stays where it fits."""
        self._depth = depth
        self.setVisible(depth is not None)
        self.slider.blockSignals(True)
        self.slider.setMaximum(max((depth or 1) - 1, 0))
        self.slider.blockSignals(False)
        self._show_number()

    @property
    def depth(self) -> int | None:
        """The number of slices (None: the array has no depth)."""
        return self._depth

    @property
    def value(self) -> int:
        return self.slider.value()

    def set_value(self, value: int) -> None:
        """Move to slice ``value`` without emitting ``changed``."""
        self.slider.blockSignals(True)
        self.slider.setValue(int(value))
        self.slider.blockSignals(False)
        self._show_number()

    def _show_number(self) -> None:
        self.number.setText(f"{self.slider.value()} / {max((self._depth or 1) - 1, 0)}")

    def _on_value_changed(self, _value: int) -> None:
        self._show_number()
        self.changed.emit()


def depth_of(array: np.ndarray | None) -> int | None:
    """The depth D of a volume (N, C, D, H, W); None for other ranks."""
    return int(array.shape[2]) if array is not None and array.ndim == 5 else None


class SourceBar(QWidget):
    """Which array to show (input or a layer), which batch item and, for a volume, which
    depth slice."""

    changed = Signal()

    def __init__(self, parent=None, label: str = "Layer:"):
        super().__init__(parent)
        self.chooser = LayerChooser()
        self.batch_box = QSpinBox()
        self.batch_box.setPrefix("batch ")
        self.batch_box.setToolTip("Which item of the batch (dimension N) to show.")
        self.depth_slider = DepthSlider()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(label))
        row.addWidget(self.chooser)
        row.addWidget(self.batch_box)
        row.addWidget(self.depth_slider)
        row.addStretch(1)
        self.chooser.keyChanged.connect(lambda _key: self.changed.emit())
        self.batch_box.valueChanged.connect(lambda _value: self.changed.emit())
        self.depth_slider.changed.connect(self.changed.emit)

    @property
    def depth(self) -> int | None:
        """The depth slice shown (None: the array is no volume)."""
        return self.depth_slider.value if self.depth_slider.depth is not None else None

    @property
    def key(self):
        return self.chooser.key()

    @property
    def batch(self) -> int:
        return self.batch_box.value()

    def set_batches(self, n: int) -> None:
        self.batch_box.blockSignals(True)
        self.batch_box.setMaximum(max(n - 1, 0))
        self.batch_box.blockSignals(False)
        self.batch_box.setEnabled(n > 1)


class UnitBoxes(QWidget):
    """Spin boxes for one unit of a layer's output: batch, channel and position (depth, y, x
    for (N, C, D, H, W), y, x for (N, C, H, W), one position for (N, C, L)), bounded by the
    output's shape."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.batch_box = QSpinBox()
        self.batch_box.setPrefix("batch ")
        self.channel_box = QSpinBox()
        self.channel_box.setPrefix("channel ")
        self.position_boxes = [QSpinBox(), QSpinBox(), QSpinBox()]
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for box in (self.batch_box, self.channel_box, *self.position_boxes):
            row.addWidget(box)
            box.valueChanged.connect(lambda _v: self.changed.emit())
        self._positions = 0

    def fit(self, shape, batch: bool = True, channel: bool = True,
            position: bool = True) -> None:
        """Bound the boxes by ``shape`` and show the ones asked for."""
        spatial = tuple(shape[2:]) if position else ()
        self._positions = len(spatial)
        self.blockSignals(True)
        if shape:
            self.batch_box.setMaximum(shape[0] - 1)
            self.channel_box.setMaximum(shape[1] - 1 if len(shape) > 1 else 0)
        self.batch_box.setVisible(batch)
        self.channel_box.setVisible(channel and len(shape) > 1)
        for j, box in enumerate(self.position_boxes):
            box.setVisible(j < len(spatial))
            if j < len(spatial):
                box.setMaximum(spatial[j] - 1)
                box.setPrefix({1: ("position ",), 2: ("y ", "x "),
                               3: ("depth ", "y ", "x ")}[len(spatial)][j])
        self.blockSignals(False)

    def set_unit(self, batch: int, channel: int, position=()) -> None:
        self.blockSignals(True)
        self.batch_box.setValue(batch)
        self.channel_box.setValue(channel)
        for box, p in zip(self.position_boxes, position):
            box.setValue(p)
        self.blockSignals(False)

    @property
    def batch(self) -> int:
        return self.batch_box.value()

    @property
    def channel(self) -> int:
        return self.channel_box.value()

    @property
    def position(self) -> tuple[int, ...]:
        return tuple(b.value() for b in self.position_boxes[:self._positions])
