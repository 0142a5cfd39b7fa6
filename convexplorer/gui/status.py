"""The status bar's permanent fields: run state (with a Stop button while a run is waiting or
running), timings, the memory estimate and the device."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton

from ..model.memory import LIMIT_ENV, fmt_bytes

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's largest widget size
STOP_DELAY_MS = 300  # a run this old gets a Stop button

STATE_COLORS = {
    "idle": "#888888",
    "waiting": "#b07d00",
    "running": "#1f5f99",
    "ready": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#888888",
    "invalid": "#c62828",
    "held": "#b07d00",
}
DETAIL_STATES = ("failed", "invalid", "cancelled", "held")


class RunStatus:
    """Device, state (running / ready / failed / cancelled / invalid / held), time and the
    memory estimate. ``stop_button`` shows once a run has waited or run for
    ``STOP_DELAY_MS``; the window connects it."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.state_label = QLabel(bar)
        self.state_label.setObjectName("runState")
        self.stop_button = QToolButton(bar)
        self.stop_button.setObjectName("stopRun")
        self.stop_button.setText("Stop")
        self.stop_button.setToolTip("Cancel the run in progress (Esc); the panels keep the last "
                                    "finished run")
        self.stop_button.setAutoRaise(True)
        self.stop_button.setVisible(False)
        # Stop appears once a run has taken a moment: most runs end sooner, and a button that
        # flashed up for each would make the bar flicker and re-lay out the window.
        self._stop_delay = QTimer(bar)
        self._stop_delay.setSingleShot(True)
        self._stop_delay.setInterval(STOP_DELAY_MS)
        self._stop_delay.timeout.connect(lambda: self.stop_button.setVisible(
            self.state in ("waiting", "running")))
        self.time_label = QLabel(bar)
        self.time_label.setObjectName("runTime")
        self.memory_label = QLabel(bar)
        self.memory_label.setObjectName("runMemory")
        self.device_label = QLabel(bar)
        self.device_label.setObjectName("runDevice")
        for w in (self.state_label, self.stop_button, self.time_label, self.memory_label,
                  self.device_label):
            if isinstance(w, QLabel):
                w.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(w)
        # Fixed sizes for the fields that change on every run, so a new state or time does
        # not re-lay out (and repaint) the status bar and the window around it.
        self.state_label.setText("\u25cf cancelled")  # the widest state without a message
        self._state_width = self.state_label.sizeHint().width()
        self.state_label.setFixedHeight(self.state_label.sizeHint().height())
        self.time_label.setText("forward 9999.9 ms \u00b7 backward 9999.9 ms \u00b7 total 99999 ms")
        self.time_label.setFixedSize(self.time_label.sizeHint())
        self.time_label.setText("")
        self.state = "idle"
        self.set_state("idle")

    def set_state(self, state: str, message: str = "") -> None:
        self.state = state
        color = STATE_COLORS.get(state, "#888888")
        text = state if state != "ready" else "ready"
        shown = message if len(message) < 90 else message[:87] + "\u2026"
        detail = f" \u2014 {shown}" if shown and state in DETAIL_STATES else ""
        self.state_label.setText(f"<span style='color:{color}'>\u25cf</span> {text}{detail}")
        self.state_label.setToolTip(message)
        if detail:  # a message: as wide as it needs
            self.state_label.setMinimumWidth(0)
            self.state_label.setMaximumWidth(QWIDGETSIZE_MAX)
        else:
            self.state_label.setFixedWidth(self._state_width)
        if state in ("waiting", "running"):
            if not self.stop_button.isVisible():
                self._stop_delay.start()
        else:
            self._stop_delay.stop()
            self.stop_button.setVisible(False)

    def set_memory(self, estimate: int | None, limit: int | None) -> None:
        """Show a run's estimated memory (None: unknown, the stack has a problem)."""
        if estimate is None:
            self.memory_label.setText("")
            self.memory_label.setToolTip("")
            return
        over = limit is not None and estimate > limit
        color = "#b07d00" if over else "#555555"
        self.memory_label.setText(f"<span style='color:{color}'>memory \u2248 "
                                  f"{fmt_bytes(estimate)}</span>")
        limit_text = (f"Runs above {fmt_bytes(limit)} ask first" if limit is not None
                      else "No limit is set")
        self.memory_label.setToolTip(
            "Estimated peak memory of a run, from the shapes: the input as decoded, every "
            "layer's output and gradient (float32), pooling indices, the parameters with their "
            "gradients, the largest layer's working memory and its image. "
            f"{limit_text} ({LIMIT_ENV}).")

    def set_device(self, name: str) -> None:
        self.device_label.setText(f"device: {name}")

    def set_result(self, result) -> None:
        self.device_label.setText(f"device: {result.device}")
        self.time_label.setText(f"forward {result.forward_ms:.1f} ms \u00b7 backward "
                                f"{result.backward_ms:.1f} ms \u00b7 total "
                                f"{result.total_ms:.0f} ms")

    @property
    def text(self) -> str:
        """Everything the permanent fields show, as plain text (for tests)."""
        from PySide6.QtGui import QTextDocumentFragment

        parts = [QTextDocumentFragment.fromHtml(lbl.text()).toPlainText()
                 for lbl in (self.state_label, self.time_label, self.memory_label,
                             self.device_label)]
        return " | ".join(p for p in parts if p)
