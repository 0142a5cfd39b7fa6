"""Where things sit in the window: the results tabs (with a banner for run problems) in the
middle, docks for the stack and palette (left), the layer form and input (right), and the
shapes table (bottom). Users may move the docks; View > Reset Layout puts them back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QTabWidget, QVBoxLayout, QWidget

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea

# key, title, window attribute holding the widget, area (in order: top to bottom)
DOCKS = (
    ("layers", "Layers", "layer_list", LEFT),
    ("palette", "Layer palette (double-click to add)", "palette_tree", LEFT),
    ("form", "Layer parameters", "form", RIGHT),
    ("input", "Input and device", "input_panel", RIGHT),
    ("shapes", "Shapes", "shapes", BOTTOM),
)

BANNER_STYLE = ("QLabel#runBanner { background: #fdecea; color: #8e1c1c; "
                "border: 1px solid #e3a5a5; padding: 5px; }")


def build_central(window) -> tuple[QLabel, QTabWidget]:
    """The central widget: a (hidden) banner above the results tabs."""
    central = QWidget(window)
    layout = QVBoxLayout(central)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    banner = QLabel(central)
    banner.setObjectName("runBanner")
    banner.setWordWrap(True)
    banner.setStyleSheet(BANNER_STYLE)
    banner.setVisible(False)
    layout.addWidget(banner)
    tabs = QTabWidget(central)
    tabs.setObjectName("resultTabs")
    tabs.setDocumentMode(True)
    layout.addWidget(tabs, 1)
    window.setCentralWidget(central)
    return banner, tabs


def build_docks(window) -> dict[str, QDockWidget]:
    docks = {}
    for key, title, attr, area in DOCKS:
        dock = QDockWidget(title, window)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(getattr(window, attr))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        window.addDockWidget(area, dock)
        docks[key] = dock
    window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
    window.setCorner(Qt.Corner.BottomRightCorner, RIGHT)
    return docks


def reset_layout(window) -> None:
    """Every dock back in its area, shown, at its default size."""
    d = window.docks
    for key, _title, _attr, area in DOCKS:
        dock = d[key]
        dock.setFloating(False)
        window.addDockWidget(area, dock)
        dock.show()
    window.resizeDocks([d["layers"], d["form"]], [330, 390], Qt.Orientation.Horizontal)
    window.resizeDocks([d["layers"], d["palette"]], [440, 330], Qt.Orientation.Vertical)
    window.resizeDocks([d["form"], d["input"]], [500, 270], Qt.Orientation.Vertical)
    window.resizeDocks([d["shapes"]], [230], Qt.Orientation.Vertical)
