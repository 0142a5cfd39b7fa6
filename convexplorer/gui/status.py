"""The status bar's permanent fields: device, run state and timings."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

STATE_COLORS = {
    "idle": "#888888",
    "waiting": "#b07d00",
    "running": "#1f5f99",
    "ready": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#888888",
    "invalid": "#c62828",
}


class RunStatus:
    """Device, state (running / ready / failed / cancelled / invalid) and time."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.state_label = QLabel(bar)
        self.state_label.setObjectName("runState")
        self.time_label = QLabel(bar)
        self.time_label.setObjectName("runTime")
        self.device_label = QLabel(bar)
        self.device_label.setObjectName("runDevice")
        for label in (self.state_label, self.time_label, self.device_label):
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)
        self.state = "idle"
        self.set_state("idle")

    def set_state(self, state: str, message: str = "") -> None:
        self.state = state
        color = STATE_COLORS.get(state, "#888888")
        text = state if state != "ready" else "ready"
        shown = message if len(message) < 90 else message[:87] + "\u2026"
        detail = f" \u2014 {shown}" if shown and state in ("failed", "invalid") else ""
        self.state_label.setText(f"<span style='color:{color}'>\u25cf</span> {text}{detail}")
        self.state_label.setToolTip(message)

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
                 for lbl in (self.state_label, self.time_label, self.device_label)]
        return " | ".join(p for p in parts if p)
