"""Warnings about the stack that do not stop it running (``model.shapes.Note``): a bar above
the results, one line per warning, with a button for the one-step fix where there is one (a
Linear on a conv map: Insert Flatten before it). The window does the edit (one undo step)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ..model.shapes import INSERT_FLATTEN, Note, ShapeReport

STYLE = ("QFrame#notesBar { background: #fff8e1; border: 1px solid #e0b060; }"
         " QFrame#notesBar QLabel { color: #5d4200; }")
MAX_LINES = 3  # more warnings than this: the rest are counted, each row's tooltip has them


class NotesBar(QFrame):
    """A hidden bar: "⚠ fc1 (Linear): acts on the last dimension only ... [Insert Flatten]"."""

    insertFlattenRequested = Signal(int)  # the layer to insert a Flatten before

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("notesBar")
        self.setStyleSheet(STYLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        self.label = QLabel(self)
        self.label.setObjectName("notesMessage")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.label, 1)
        self.flatten_button = QPushButton(self)
        self.flatten_button.setObjectName("insertFlatten")
        self.flatten_button.clicked.connect(self._on_flatten_clicked)
        layout.addWidget(self.flatten_button)
        self.notes: list[Note] = []
        self._target: Note | None = None
        self.setVisible(False)

    def set_report(self, report: ShapeReport | None, selection: int | None) -> None:
        """Show the warnings of ``report`` (the selected layer's first)."""
        notes = list(report.notes) if report is not None else []
        notes.sort(key=lambda n: n.layer != selection)
        self.notes = notes
        self._target = flatten_note(notes)
        if not notes:
            self.setVisible(False)
            return
        lines = [f"\u26a0 {n}" for n in notes[:MAX_LINES]]
        if len(notes) > MAX_LINES:
            lines.append(self.tr("{count} more warnings: hover the layers marked in orange.")
                         .format(count=len(notes) - MAX_LINES))
        self.label.setText("\n".join(lines))
        if self._target is not None:
            self.flatten_button.setText(self.tr("Insert Flatten Before {layer}")
                                        .format(layer=self._target.label))
            self.flatten_button.setToolTip(self.tr(
                "Insert a Flatten layer before {layer}, so that it gets every value of a batch "
                "item as one vector (one undo step)").format(layer=self._target.label))
        self.flatten_button.setVisible(self._target is not None)
        self.setVisible(True)

    @property
    def text(self) -> str:
        return self.label.text()

    def _on_flatten_clicked(self) -> None:
        if self._target is not None:
            self.insertFlattenRequested.emit(self._target.layer)


def flatten_note(notes: list[Note], layer: int | None = None) -> Note | None:
    """The first warning whose fix is a Flatten before its layer (of ``layer`` only, if
    given)."""
    return next((n for n in notes if n.action == INSERT_FLATTEN
                 and (layer is None or n.layer == layer)), None)
