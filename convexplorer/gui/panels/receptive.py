"""Receptive field: which positions of the input, and of every layer on the way, influence one
output unit. Measured, not assumed: the run back-propagates from that unit alone and every
position with a nonzero gradient is lit; the theoretical box (from the layers' kernel sizes,
strides, padding and dilation) is drawn on top, so dilation's holes and stride's gaps show as
dark positions inside the box. A volume (N, C, D, H, W) shows each stage's depth slice through
the middle of its box, and the unit's layer at the slice its slider picks."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ...model.explain import Box, receptive_boxes
from ...model.shapes import fmt_shape
from ...model.spec import Objective
from .base import DepthSlider, LayerChooser, MapView, Panel, UnitBoxes
from .data import hstack_rgb, influence, influence_display

COLUMNS = 4
BOX_TINT = np.array([0, 229, 255, 70], dtype=np.uint8)  # dark positions inside the box
HINT = ("Click a unit in the last map (or set it above and press Show): the run then "
        "back-propagates from that one value, and every position with a nonzero gradient "
        "lights up. The cyan box is the theoretical receptive field; dark positions inside it "
        "are not read (dilation holes, stride gaps) or their path is blocked (a ReLU at 0, a "
        "max-pool loser).")


def box2(box: Box) -> Box:
    """A box on a map as drawn: a 1-D box covers the one row of its 1 x L strip; a 3-D box
    its (H, W) part, on a depth slice."""
    if len(box) == 3:
        return box[1:]
    return box if len(box) == 2 else ((0, 0), box[0])


def box_overlay(strength: np.ndarray, box: Box) -> np.ndarray:
    """RGBA tint on the positions inside the box ((first, last) per dimension) that have no
    influence, so holes and gaps stand out from the lit positions."""
    rgba = np.zeros((*strength.shape, 4), dtype=np.uint8)
    (y0, y1), (x0, x1) = box2(box)
    inside = rgba[y0:y1 + 1, x0:x1 + 1]
    inside[strength[y0:y1 + 1, x0:x1 + 1] == 0] = BOX_TINT
    return rgba


class ReceptiveFieldPanel(Panel):
    title = "Receptive field"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.chooser = LayerChooser()
        self.units = UnitBoxes()
        self.batch_box, self.channel_box = self.units.batch_box, self.units.channel_box
        self.position_boxes = self.units.position_boxes
        self.show_button = QPushButton("Show")
        self.depth = DepthSlider(label=self.tr("depth of the last map"))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Unit of:"))
        for w in (self.chooser, self.units, self.show_button, self.depth):
            bar.addWidget(w)
        bar.addStretch(1)
        self.plot = pg.GraphicsLayoutWidget()
        self.views: list[MapView] = []
        self.stages: list[dict] = []
        self.summary = QLabel(HINT)
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)
        self.chooser.keyChanged.connect(lambda _k: self.refresh())
        self.units.changed.connect(self.refresh)
        self.depth.changed.connect(self.refresh)
        self.show_button.clicked.connect(self._on_show_clicked)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    def set_result(self, result, report) -> None:
        if result is not None and result.objective.kind == "unit" and result.layers:
            self._sync(result)
        super().set_result(result, report)

    def _sync(self, result) -> None:
        """Point the controls at the unit the run back-propagated from."""
        obj = result.objective
        layer = obj.layer if obj.layer >= 0 else len(result.layers) - 1
        self._fill_chooser(result)
        self._pending = None  # the unit asked for wins over an older stack selection
        self.chooser.blockSignals(True)
        self.chooser.select_key(layer)
        self.chooser.blockSignals(False)
        self.units.fit(result.layers[layer].output_shape)
        self.units.set_unit(obj.batch, obj.channel, obj.position)
        if len(obj.position) == 3:
            self.depth.fit(result.layers[layer].output_shape[2])
            self.depth.set_value(obj.position[0])

    def set_unit(self, unit) -> None:
        """A value picked elsewhere (the Values table, the Activations grid): point the
        controls at it, ready for Show."""
        result = self.result
        if unit is None or unit.layer is None or result is None or \
                unit.layer >= len(result.layers):
            return
        shape = result.layers[unit.layer].output_shape
        if len(shape) not in (3, 4) or len(unit.position) != len(shape) - 2:
            return
        self._fill_chooser(result)
        self._pending = None  # the picked unit wins over an older stack selection
        self.chooser.blockSignals(True)
        self.chooser.select_key(unit.layer)
        self.chooser.blockSignals(False)
        self.units.fit(shape)
        self.units.set_unit(unit.batch, unit.channel, unit.position)
        self.refresh()

    def _fill_chooser(self, result) -> None:
        self.chooser.set_items([(lr.index, f"{lr.label}  {fmt_shape(lr.output_shape)}")
                                for lr in result.layers if len(lr.output_shape) in (3, 4, 5)])

    # -- the unit and its stages ----------------------------------------------------------------
    def unit(self) -> Objective | None:
        key = self.chooser.key()
        if key is None:
            return None
        return Objective(kind="unit", layer=key, batch=self.units.batch,
                         channel=self.units.channel, position=self.units.position)

    def _shown_unit(self) -> Objective | None:
        """The result's unit objective if it is the unit the controls point at."""
        obj = self.result.objective
        if obj.kind != "unit" or not self.result.layers:
            return None
        layer = obj.layer if obj.layer >= 0 else len(self.result.layers) - 1
        mine = self.unit()
        if mine is None or (layer, obj.batch, obj.channel) != (mine.layer, mine.batch,
                                                              mine.channel):
            return None
        return Objective("unit", layer, obj.batch, obj.channel, tuple(obj.position))

    def _redraw(self) -> None:
        if self.result is None:
            self.chooser.set_items([])
            self._set_stages([])
            return
        self._fill_chooser(self.result)
        self._follow_selection(self.chooser)
        key = self.chooser.key()
        if key is None:
            self._set_stages([])
            self.summary.setText("No layer has a spatial output (N, C, H, W) or (N, C, L).")
            return
        shape = self.result.layers[key].output_shape
        self.units.fit(shape)
        self.depth.fit(shape[2] if len(shape) == 5 else None)
        obj = self._shown_unit()
        b, c = self.units.batch, self.units.channel
        stages = []
        if obj is not None:
            boxes = receptive_boxes(self.report, obj.layer, obj.position)
            grads = [("input", self.result.grad_input)] + [
                (lr.label, lr.grad_output) for lr in self.result.layers[:obj.layer]]
            for (name, grad), box in zip(grads, boxes):
                if grad is not None and grad.ndim in (3, 4, 5) and box is not None:
                    strength = influence(grad, obj.batch)
                    stage = {"name": name, "strength": strength, "plane": strength,
                             "box": box, "nonzero": int((strength > 0).sum())}
                    if strength.ndim == 3:  # a volume: the slice through the box's middle
                        stage["depth"] = (box[0][0] + box[0][1]) // 2
                        stage["plane"] = strength[stage["depth"]]
                    stages.append(stage)
        lr = self.result.layers[key]
        pick = lr.activation[b, c]
        unit = obj.position if obj is not None else None
        if pick.ndim == 3:  # a volume: the slice the slider picks, the unit on its own
            depth = self.depth.value
            pick = pick[depth]
            unit = tuple(unit[1:]) if unit is not None and unit[0] == depth else None
        stages.append({"name": lr.label, "pick": pick, "unit": unit})
        self._set_stages(stages)
        self.summary.setText(self._describe(obj, stages) if obj is not None else HINT)

    def _set_stages(self, stages: list[dict]) -> None:
        if len(stages) != len(self.views):
            self.plot.ci.clear()
            self.views = [MapView(self.plot.ci, i // COLUMNS, i % COLUMNS)
                          for i in range(len(stages))]
        self.stages = stages
        for view, st in zip(self.views, stages):
            if "pick" in st:
                view.set_map(st["pick"], "viridis")
                # two lines: one line each, four columns did not fit the default window
                view.set_title(self.tr("{layer}<br>click a unit").format(
                    layer=escape(st["name"])))
                if st["unit"] is not None:
                    y, x = ((0,) * (2 - len(st["unit"]))) + tuple(st["unit"])
                    view.add_rect(y, x, 1, 1, "#ff1744", 3)
                continue
            strength = st["plane"]
            view.set_map(influence_display(strength), "magma", (0.0, 1.0))
            view.set_overlay(box_overlay(strength, st["box"]))
            if "depth" in st:
                view.set_title(self.tr("{layer}<br>{count} influencing; depth {depth}").format(
                    layer=escape(st["name"]), count=st["nonzero"], depth=st["depth"]))
            else:
                view.set_title(self.tr("{layer}<br>{count} influencing").format(
                    layer=escape(st["name"]), count=st["nonzero"]))
            (y0, y1), (x0, x1) = box2(st["box"])
            view.add_rect(y0, x0, y1 - y0 + 1, x1 - x0 + 1, "#00e5ff", 2)

    def _describe(self, obj: Objective, stages: list[dict]) -> str:
        info = self.report.layers[obj.layer]
        where = ", ".join(str(i) for i in (obj.batch, obj.channel, *obj.position))
        lines = [f"<b>{escape(info.label)} output[{where}]</b>: receptive field on the input "
                 f"{info.receptive_field} (LayerInfo.receptive_field)."]
        for st in stages[:-1]:
            box = st["box"]
            area = int(np.prod([hi - lo + 1 for lo, hi in box]))
            spans = " x ".join(f"{lo}\u2013{hi}" for lo, hi in box)
            inside = st["strength"][tuple(slice(lo, hi + 1) for lo, hi in
                                          (box if len(box) == 3 else box2(box)))]
            dark = area - int((inside > 0).sum())
            lines.append(f"{escape(st['name'])}: {st['nonzero']} positions with nonzero "
                         f"gradient; box {spans} ({area} positions)"
                         + (f", {dark} of them dark" if dark else ""))
        return "<br>".join(lines) + "<br>" + escape(HINT)

    def _on_show_clicked(self) -> None:
        unit = self.unit() if self.result is not None else None
        if unit is not None:
            self.objectiveRequested.emit(unit)

    def _on_scene_mouse_clicked(self, event) -> None:
        if not self.views:
            return
        hit = self.views[-1].hit(event.scenePos())
        if hit is None:
            return
        values = self.stages[-1]["pick"]
        position = hit if values.ndim == 2 else hit[1:]
        if self.depth.depth is not None:  # a slice of a volume: its depth first
            position = (self.depth.value, *position)
        self.units.set_unit(self.units.batch, self.units.channel, position)
        self._on_show_clicked()

    def slide(self, width: int):
        """Every stage's map for a slide, captioned; the title names the unit."""
        from .slides import MapFigure, Slide

        self.ensure_fresh()
        figures = [MapFigure(v.rgb(), st["name"]) for v, st in zip(self.views, self.stages)
                   if v.values is not None]
        if not figures or self.result is None:
            return None
        unit = self.unit()
        info = self.report.layers[unit.layer] if self.report is not None else None
        where = ", ".join(str(i) for i in (unit.batch, unit.channel, *unit.position))
        title = self.tr("Receptive field of {layer} output[{where}]: {field}").format(
            layer=info.label if info else "", where=where,
            field=str(info.receptive_field) if info else "")
        return Slide(title, figures)

    def export_rgb(self):
        rgbs = [v.rgb() for v in self.views if v.values is not None]
        return hstack_rgb(rgbs) if rgbs else None
