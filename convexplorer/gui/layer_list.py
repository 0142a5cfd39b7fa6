"""The layer stack: one row per layer (name, type, key parameters, output shape), a palette to
add layers grouped as the catalogue groups them, and buttons for the window's layer actions.

The list shows what the pipeline holds and owns no state: it asks for changes through signals
(``layerSelected``, ``moveRequested``, ``addRequested``) and is refilled from the pipeline.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..model.catalogue import CATALOGUE, GROUPS, types_in_group
from ..model.merges import sources
from ..model.shapes import LayerInfo, ShapeReport, fmt_shape
from ..model.spec import Config, LayerSpec, shown_name

TITLE_ROLE = Qt.ItemDataRole.UserRole + 1  # (index, name or None, type)
PARAMS_ROLE = Qt.ItemDataRole.UserRole + 2  # key parameters, e.g. "out_channels=10, ..."
SHAPE_ROLE = Qt.ItemDataRole.UserRole + 3  # "torch.Size([1, 10, 24, 24])" or "?"
INVALID_ROLE = Qt.ItemDataRole.UserRole + 4  # bool
NOTE_ROLE = Qt.ItemDataRole.UserRole + 5  # bool: runs, with a warning (model.shapes.Note)

ERROR_COLOR = QColor("#c62828")
NOTE_COLOR = QColor("#e08a00")
ACCENT_COLOR = QColor("#1f5f99")
# skip connections, drawn as arcs left of the rows: one colour per merge type
ARC_COLORS = {"Add": QColor("#2e7d32"), "Concat": QColor("#6a1b9a"),
              "Multiply": QColor("#c05600")}
LANE = 7  # pixels between nested arcs

# Values for the required parameters of a newly added layer (the catalogue has no default for
# them): small, common choices that run at once on the default input.
NEW_LAYER_PARAMS: dict[str, dict[str, Any]] = {
    "Conv1d": {"out_channels": 8, "kernel_size": 3},
    "Conv2d": {"out_channels": 8, "kernel_size": 3},
    "ConvTranspose1d": {"out_channels": 8, "kernel_size": 2, "stride": 2},
    "ConvTranspose2d": {"out_channels": 8, "kernel_size": 2, "stride": 2},
    "MaxPool1d": {"kernel_size": 2},
    "MaxPool2d": {"kernel_size": 2},
    "AvgPool1d": {"kernel_size": 2},
    "AvgPool2d": {"kernel_size": 2},
    "AdaptiveMaxPool1d": {"output_size": 4},
    "AdaptiveMaxPool2d": {"output_size": 4},
    "AdaptiveAvgPool1d": {"output_size": 4},
    "AdaptiveAvgPool2d": {"output_size": 4},
    "MaxUnpool1d": {"kernel_size": 2},
    "MaxUnpool2d": {"kernel_size": 2},
    "Linear": {"out_features": 10},
    "Conv3d": {"out_channels": 8, "kernel_size": 3},
    "ConvTranspose3d": {"out_channels": 8, "kernel_size": 2, "stride": 2},
    "MaxPool3d": {"kernel_size": 2},
    "AvgPool3d": {"kernel_size": 2},
    "AdaptiveMaxPool3d": {"output_size": 4},
    "AdaptiveAvgPool3d": {"output_size": 4},
    "MaxUnpool3d": {"kernel_size": 2},
    "Softmax": {"dim": 1},
    "LogSoftmax": {"dim": 1},
    **{f"{kind}{d}d": {"padding": 1} for kind in ("ZeroPad", "ReflectionPad", "ReplicationPad")
       for d in (1, 2)},
    "ConstantPad1d": {"padding": 1, "value": 0.5},
    "ConstantPad2d": {"padding": 1, "value": 0.5},
    "GroupNorm": {"num_groups": 1},
    "LocalResponseNorm": {"size": 3},
    "Upsample": {"scale_factor": 2.0},
    "PixelShuffle": {"upscale_factor": 2},
    "PixelUnshuffle": {"downscale_factor": 2},
    "LPPool1d": {"norm_type": 2.0, "kernel_size": 2},
    "LPPool2d": {"norm_type": 2.0, "kernel_size": 2},
    "Unflatten": {"dim": 1, "unflattened_size": (1, -1)},
    # the window picks a fitting earlier layer (model.merges.default_from)
    "Add": {"from": "input"},
    "Concat": {"from": ("input",)},
    "Multiply": {"from": "input"},
}


def new_layer_spec(type_name: str) -> LayerSpec:
    """A new layer of ``type_name`` with the required parameters filled in."""
    return LayerSpec.make(type_name, **NEW_LAYER_PARAMS.get(type_name, {}))


def fmt_value(value: Any) -> str:
    """A parameter value as torch prints it in a module's repr."""
    if isinstance(value, tuple):
        inner = ", ".join(fmt_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params_text(spec: LayerSpec) -> str:
    """The layer's key parameters that differ from torch's default, e.g. "out_channels=10,
    kernel_size=5" (required ones always)."""
    lt = spec.layer_type
    if lt is None:
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in spec.params)
    parts = []
    for name in lt.key_params:
        p = lt.param(name)
        value = spec.value(name)
        if p.auto and not spec.is_set(name):
            continue  # follows the layer before: its shape says it
        if p.is_reference and isinstance(value, tuple):  # as the config writes it
            parts.append(f"{name}=[{', '.join(fmt_value(v) for v in value)}]")
        elif p.required or (spec.is_set(name) and value != p.default):
            parts.append(f"{name}={fmt_value(value)}")
    return ", ".join(parts)


def drop_destination(src: int, row: int, count: int) -> int:
    """Where layer ``src`` ends up when dropped before row ``row`` (``count``: no row, the
    end)."""
    row = max(0, min(row, count))
    return row - 1 if row > src else row


def build_palette_menu(menu: QMenu, on_add, parent: QWidget | None = None) -> None:
    """Fill ``menu`` with one section per catalogue group, one action per layer type."""
    menu.setToolTipsVisible(True)
    for group, title in GROUPS:
        menu.addSection(title)
        for lt in types_in_group(group):
            action = menu.addAction(lt.name)
            action.setObjectName(f"add_{lt.name}")
            action.setToolTip(lt.help)
            action.setStatusTip(lt.help)
            action.triggered.connect(lambda _=False, name=lt.name: on_add(name))


class LayerPalette(QTreeWidget):
    """Every layer type, grouped as the catalogue groups them; double-click (or Enter) adds
    one after the selected layer."""

    addRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setIndentation(12)
        self.setUniformRowHeights(True)
        bold = QFont(self.font())
        bold.setBold(True)
        dim = self.palette().color(QPalette.ColorRole.PlaceholderText)
        for group, title in GROUPS:
            top = QTreeWidgetItem([title])
            top.setFont(0, bold)
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            top.setFirstColumnSpanned(False)
            self.addTopLevelItem(top)
            for lt in types_in_group(group):
                child = QTreeWidgetItem([lt.name, lt.help])
                child.setData(0, Qt.ItemDataRole.UserRole, lt.name)
                child.setToolTip(0, f"nn.{lt.name}: {lt.help}\n\nDouble-click to add it after "
                                    "the selected layer.")
                child.setToolTip(1, child.toolTip(0))
                child.setForeground(1, dim)
                top.addChild(child)
        self.expandAll()
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, self.columnWidth(0) + 8)
        self.itemActivated.connect(self._on_activated)

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if name:
            self.addRequested.emit(name)

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, Qt.ItemDataRole.UserRole) == type_name:
                    return top.child(j)
        return None


class LayerRowDelegate(QStyledItemDelegate):
    """Two lines per layer: index, name and type with the output shape on the right; the key
    parameters below. Invalid layers get a red bar and a warning icon."""

    PAD = 6

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        fm = QFontMetrics(option.font)
        return QSize(200, 2 * fm.height() + 2 * self.PAD + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = opt.icon.__class__()
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        i, name, type_name = index.data(TITLE_ROLE) or (index.row(), None, "?")
        params = index.data(PARAMS_ROLE) or ""
        shape = index.data(SHAPE_ROLE) or ""
        invalid = bool(index.data(INVALID_ROLE))
        noted = not invalid and bool(index.data(NOTE_ROLE))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        text_color = pal.color(QPalette.ColorRole.HighlightedText if selected
                               else QPalette.ColorRole.Text)
        dim = QColor(text_color)
        dim.setAlpha(150)
        painter.save()
        gutter = getattr(opt.widget, "gutter", 0)  # room for the skip arcs on the left
        r = opt.rect.adjusted(self.PAD + 4 + gutter, self.PAD, -self.PAD, -self.PAD)
        if invalid or noted:
            painter.fillRect(QRect(opt.rect.left() + gutter, opt.rect.top() + 2, 4,
                                   opt.rect.height() - 4),
                             ERROR_COLOR if invalid else NOTE_COLOR)
        fm = QFontMetrics(opt.font)
        line_h = fm.height()
        top = QRect(r.left(), r.top(), r.width(), line_h)
        bottom = QRect(r.left(), r.top() + line_h + 2, r.width(), line_h)
        # index badge
        painter.setPen(dim)
        badge_w = fm.horizontalAdvance("00") + 4
        painter.drawText(QRect(top.left(), top.top(), badge_w, line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, str(i))
        x = top.left() + badge_w
        # output shape, right-aligned
        mono = QFont(opt.font)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setFamily("DejaVu Sans Mono")
        mono.setPointSizeF(max(opt.font.pointSizeF() - 1, 6))
        mfm = QFontMetrics(mono)
        shape_text = mfm.elidedText(shape, Qt.TextElideMode.ElideLeft, int(r.width() * 0.72))
        shape_w = mfm.horizontalAdvance(shape_text)
        painter.setFont(mono)
        painter.setPen(ERROR_COLOR if invalid and not selected else text_color)
        painter.drawText(QRect(top.right() - shape_w, top.top(), shape_w, line_h),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shape_text)
        # name and type
        bold = QFont(opt.font)
        bold.setBold(True)
        avail = top.right() - shape_w - 8 - x
        painter.setFont(bold)
        painter.setPen(text_color)
        title = name or ""
        if title:
            title = QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideRight, avail)
            painter.drawText(QRect(x, top.top(), avail, line_h),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
            x += QFontMetrics(bold).horizontalAdvance(title) + 6
            avail = top.right() - shape_w - 8 - x
        painter.setFont(opt.font)
        painter.setPen(text_color if selected else (ERROR_COLOR if invalid else ACCENT_COLOR))
        painter.drawText(QRect(x, top.top(), max(avail, 0), line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(type_name, Qt.TextElideMode.ElideRight, max(avail, 0)))
        # key parameters
        small = QFont(opt.font)
        small.setPointSizeF(max(opt.font.pointSizeF() - 1, 6))
        painter.setFont(small)
        painter.setPen(dim)
        left = bottom.left() + badge_w
        if (invalid or noted) and style is not None:
            icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            icon.paint(painter, QRect(left, bottom.top(), line_h, line_h))
            left += line_h + 4
        painter.drawText(QRect(left, bottom.top(), bottom.right() - left, line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(small).elidedText(params or "(no parameters)",
                                                        Qt.TextElideMode.ElideRight,
                                                        bottom.right() - left))
        painter.restore()


class StackView(QListWidget):
    """The list itself; a drop asks for a move instead of moving items (the pipeline does)."""

    moveRequested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layerStack")
        self.setItemDelegate(LayerRowDelegate(self))
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setAlternatingRowColors(True)
        self.arcs: list[tuple[int, int, int, str]] = []  # (source row or -1, merge row, lane,
        # merge type): the skip connections drawn left of the rows
        self.gutter = 0

    def set_arcs(self, arcs: list[tuple[int, int, str]]) -> None:
        """The skip connections to draw: (source row, -1 for the input; merge row; type).
        Arcs that overlap get separate lanes, the longer ones outside."""
        lanes: list[list[tuple[int, int]]] = []
        placed = []
        for src, dst, kind in sorted(arcs, key=lambda a: (a[1] - a[0], a[1])):
            lane = next((k for k, spans in enumerate(lanes)
                         if all(dst <= a or src >= b for a, b in spans)), len(lanes))
            if lane == len(lanes):
                lanes.append([])
            lanes[lane].append((src, dst))
            placed.append((src, dst, lane, kind))
        gutter = len(lanes) * LANE + 8 if lanes else 0
        if placed != self.arcs or gutter != self.gutter:
            self.arcs, self.gutter = placed, gutter
            self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self.arcs or not self.count():
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        right = self.gutter - 2.0
        for src, dst, lane, kind in self.arcs:
            if dst >= self.count():
                continue
            target = self.visualItemRect(self.item(dst))
            if src < 0:  # the input: from the top of the list
                y0 = self.visualItemRect(self.item(0)).top() + 3.0
            elif src < self.count():
                y0 = float(self.visualItemRect(self.item(src)).center().y())
            else:
                continue
            y1 = float(target.center().y())
            x = right - 6.0 - lane * LANE
            bend = min(5.0, (y1 - y0) / 2)
            path = QPainterPath(QPointF(right, y0))
            path.lineTo(x + bend, y0)
            path.quadTo(x, y0, x, y0 + bend)
            path.lineTo(x, y1 - bend)
            path.quadTo(x, y1, x + bend, y1)
            path.lineTo(right, y1)
            colour = ARC_COLORS.get(kind, ACCENT_COLOR)
            painter.setPen(QPen(colour, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(right, y0), 2.0, 2.0)
            head = QPainterPath(QPointF(right + 1.5, y1))
            head.lineTo(right - 3.5, y1 - 3.5)
            head.lineTo(right - 3.5, y1 + 3.5)
            head.closeSubpath()
            painter.drawPath(head)
        painter.end()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        src = self.currentRow()
        target = self.indexAt(event.position().toPoint())
        if target.isValid():
            row = target.row()
            if self.dropIndicatorPosition() == QAbstractItemView.DropIndicatorPosition.BelowItem:
                row += 1
        else:
            row = self.count()
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        dst = drop_destination(src, row, self.count())
        if src >= 0 and dst != src:
            self.moveRequested.emit(src, dst)


class LayerList(QWidget):
    """Palette button, action buttons and the stack list."""

    layerSelected = Signal(int)
    moveRequested = Signal(int, int)
    addRequested = Signal(str)  # a layer type name

    def __init__(self, actions=(), parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        bar = QHBoxLayout()
        bar.setSpacing(2)
        self.add_button = QToolButton(self)
        self.add_button.setObjectName("addLayerButton")
        self.add_button.setText("Add layer")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_button.setToolTip("Add a torch.nn layer after the selected one")
        self.palette_menu = QMenu(self.add_button)
        build_palette_menu(self.palette_menu, self.addRequested.emit)
        self.add_button.setMenu(self.palette_menu)
        bar.addWidget(self.add_button)
        bar.addStretch(1)
        self.action_buttons = []
        for action in actions:
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            bar.addWidget(button)
            self.action_buttons.append(button)
        layout.addLayout(bar)
        self.view = StackView(self)
        layout.addWidget(self.view, 1)
        self.view.currentRowChanged.connect(self._on_view_row)
        self.view.moveRequested.connect(self.moveRequested)
        self._filling = False

    def _on_view_row(self, row: int) -> None:
        if not self._filling and row >= 0:
            self.layerSelected.emit(row)

    def row_text(self, row: int) -> str:
        item = self.view.item(row)
        return item.text() if item else ""

    def set_stack(self, config: Config, report: ShapeReport | None, selection: int | None) -> None:
        """Refill from the pipeline's config and the shape report of it."""
        self._filling = True
        try:
            infos = report.layers if report is not None else []
            while self.view.count() > len(config.layers):
                self.view.takeItem(self.view.count() - 1)
            for i, spec in enumerate(config.layers):
                item = self.view.item(i)
                if item is None:
                    item = QListWidgetItem()
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
                    self.view.addItem(item)
                info = infos[i] if i < len(infos) else None
                self._fill_item(item, i, spec, info)
            self.view.set_arcs([(-1 if s is None else s, i, spec.type)
                                for i, spec in enumerate(config.layers)
                                if spec.layer_type is not None and spec.layer_type.is_merge
                                for s in sources(config.layers, i)])
            if selection is not None and 0 <= selection < self.view.count():
                self.view.setCurrentRow(selection)
            else:
                self.view.clearSelection()
        finally:
            self._filling = False

    def _fill_item(self, item: QListWidgetItem, i: int, spec: LayerSpec,
                   info: LayerInfo | None) -> None:
        params = key_params_text(spec)
        if not spec.weights.is_init:  # where its weights come from, when not torch's init
            params = f"{params}; weights: {spec.weights.source}" if params else \
                f"weights: {spec.weights.source}"
        shape = fmt_shape(info.output_shape) if info is not None else "?"
        invalid = bool(info is not None and info.problems)
        shown = shown_name(spec.name) if spec.name else None
        item.setData(TITLE_ROLE, (i, shown, spec.type))
        item.setData(PARAMS_ROLE, params)
        item.setData(SHAPE_ROLE, shape)
        item.setData(INVALID_ROLE, invalid)
        item.setData(NOTE_ROLE, bool(info is not None and info.notes))
        name = f"{shown} " if shown else ""
        item.setText(f"{i} {name}{spec.type}({params}) -> {shape}")
        lt = CATALOGUE.get(spec.type)
        if invalid:
            tip = "\n".join(str(p) for p in info.problems)
        elif info is not None and info.input_shape is None:
            tip = "An earlier layer has a problem, so this shape is unknown."
        else:
            tip = lt.help if lt else ""
        if info is not None and info.notes and not invalid:
            tip = "\n".join([*(f"\u26a0 {n.short}" for n in info.notes), tip])
        item.setToolTip(tip)
