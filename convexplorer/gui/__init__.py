"""PySide6 + pyqtgraph views and the controller that wires them. Never touches a tensor."""
