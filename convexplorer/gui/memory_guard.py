"""Ask before a run that needs a lot of memory.

The estimate comes from the inferred shapes (``model.memory.estimate_bytes``: the peak of a
run, from its input as decoded, outputs, gradients, pooling indices, parameters, the largest
layer's working memory and image), so it costs nothing and needs no torch. Above the limit
(2 GiB, or ``CONVEXPLORER_MEMORY_LIMIT_MB``) the window does not start the run; a banner shows the
estimate with a "Run anyway" button. Nothing blocks: the user may keep editing instead.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ..model.memory import LIMIT_ENV, over_limit_message

STYLE = ("QFrame#memoryBanner { background: #fff4e0; border: 1px solid #e0b060; }"
         " QFrame#memoryBanner QLabel { color: #6b4a00; }")


class MemoryBanner(QFrame):
    """A hidden bar above the results: "This run needs about 3.1 GiB ... [Run anyway]"."""

    runAnywayRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("memoryBanner")
        self.setStyleSheet(STYLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        self.label = QLabel(self)
        self.label.setObjectName("memoryMessage")
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.run_button = QPushButton("Run &anyway", self)
        self.run_button.setObjectName("runAnyway")
        self.run_button.setToolTip("Run this stack although it may need more memory than the "
                                   "limit (the app stays usable if torch runs out of memory)")
        self.run_button.clicked.connect(self.runAnywayRequested)
        layout.addWidget(self.run_button)
        self.estimate = 0
        self.setVisible(False)

    def ask(self, estimate: int, limit: int) -> None:
        """Show the question for a run needing ``estimate`` bytes."""
        self.estimate = estimate
        self.label.setText(f"\u26a0 Not run yet: {over_limit_message(estimate, limit)} \u2014 "
                           f"or run it anyway. (The limit is set by {LIMIT_ENV}.)")
        self.setVisible(True)

    @property
    def text(self) -> str:
        return self.label.text()
