"""Helpers shared by the window tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QPoint, Qt

from convexplorer.gui.app import default_config
from convexplorer.gui.main_window import MainWindow
from convexplorer.gui.runner import THREAD_PREFIX

RESULT_TIMEOUT_MS = 60_000  # the first threaded run imports torch


def runner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


def open_window(qtbot, config=None, *, sync: bool) -> MainWindow:
    """A shown window on ``config`` (default: the bundled example) with its first result
    drawn."""
    window = MainWindow(config or default_config(), sync=sync)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        window.show()
    return window


def click_row(qtbot, window: MainWindow, row: int) -> None:
    """Click layer ``row`` in the stack list."""
    view = window.layer_list.view
    rect = view.visualItemRect(view.item(row))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def type_into_spin(qtbot, spin, text: str) -> None:
    """Replace a spin box's text by typing, as a user does."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)


def palette_add(qtbot, window: MainWindow, type_name: str) -> None:
    """Double-click a layer type in the palette."""
    tree = window.palette_tree
    item = tree.item_for(type_name)
    tree.scrollToItem(item)
    pos: QPoint = tree.visualItemRect(item).center()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def shapes_row(window: MainWindow, layer: int) -> dict[str, str]:
    """The shapes table's cells of layer ``layer``, by column title."""
    from convexplorer.gui.shapes_table import COLUMNS

    row = window.shapes.layer_row(layer)
    return {c: window.shapes.cell_text(row, c) for c in COLUMNS}
