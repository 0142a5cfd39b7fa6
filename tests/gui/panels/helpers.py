"""Helpers for the panel tests: real results from the engine (tests may use torch; the panels
never do), PNG pixels, and mouse actions on pyqtgraph views."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from convexplorer.model.config_io import load_config
from convexplorer.model.spec import Config, InputSpec, LayerSpec, Objective

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
L = LayerSpec.make


def run_layers(layers, shape, objective: Objective | None = None, seed: int = 0):
    """Run ``layers`` (LayerSpecs) on random input of ``shape``."""
    from convexplorer.engine.run import run

    config = Config(layers=tuple(layers), input=InputSpec(source="random", shape=tuple(shape),
                                                          seed=seed))
    return run(config, objective=objective)


def run_example(name: str, objective: Objective | None = None):
    from convexplorer.engine.run import run

    return run(load_config(EXAMPLES / name), base_dir=EXAMPLES, objective=objective)


def load_png(path) -> QImage:
    image = QImage(str(path))
    assert not image.isNull()
    return image


def pixel(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def close(a, b, tol: int = 2) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


def show(qtbot, widget, size=(1100, 750)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click_scene(qtbot, graphics_view, scene_pos, double: bool = False) -> None:
    """Click (or double-click) a pyqtgraph GraphicsView at a scene position. A double click is
    sent as a window system sends it: press, release, double-click, release (QTest's
    mouseDClick leaves out the last release, which pyqtgraph waits for)."""
    viewport = graphics_view.viewport()
    pos = graphics_view.mapFromScene(scene_pos)
    left = Qt.MouseButton.LeftButton
    qtbot.mouseClick(viewport, left, pos=pos)
    if double:
        event = QMouseEvent(QEvent.Type.MouseButtonDblClick, QPointF(pos),
                            viewport.mapToGlobal(QPointF(pos)), left, left,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
        qtbot.mouseRelease(viewport, left, pos=pos)


def hover_scene(qtbot, graphics_view, scene_pos, until=None) -> None:
    """Move the mouse to a scene position. pyqtgraph drops moves closer than 10 ms apart, so
    with ``until`` the move repeats until that condition holds."""
    pos = graphics_view.mapFromScene(scene_pos)
    jiggle = [0]

    def moved() -> bool:
        jiggle[0] ^= 1  # Qt drops a move to where the mouse already is
        qtbot.mouseMove(graphics_view.viewport(), pos + QPoint(jiggle[0], 0))
        return until is None or until()

    qtbot.waitUntil(moved)
