"""The form of the selected layer, generated from the catalogue: one ParamEditor per
constructor keyword, the layer's name, problems marked on their fields, and a help line that
explains the field being edited.

The form shows the pipeline's spec and reports edits (``paramEdited``, ``renameRequested``);
the window turns them into pipeline edits.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..model.catalogue import LayerType
from ..model.shapes import LayerInfo
from ..model.spec import LayerSpec
from .param_editor import ParamEditor

STYLE = """
QFrame#paramField[invalid="true"] {
    border: 1px solid #c62828; border-radius: 3px; background: #fdecea;
}
QLabel#helpLine {
    background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 3px;
    padding: 5px;
}
QLabel#layerProblems { color: #c62828; }
QLabel#layerTitle { font-size: 13pt; font-weight: bold; }
QLabel#layerDoc { color: #555555; }
"""


class LayerForm(QWidget):
    """Editors for the selected layer's parameters."""

    paramEdited = Signal(int, str, object)  # layer index, parameter name, value (UNSET: clear)
    renameRequested = Signal(int, str)  # layer index, new name ("" for none)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layerForm")
        self.setStyleSheet(STYLE)
        self.index: int | None = None
        self.spec: LayerSpec | None = None
        self.info: LayerInfo | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.current_field: str | None = None
        self.edit_session = 0  # bumped when another field gets focus: a new undo step
        self._key: tuple | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        self.title = QLabel(self)
        self.title.setObjectName("layerTitle")
        self.doc = QLabel(self)
        self.doc.setObjectName("layerDoc")
        self.doc.setWordWrap(True)
        outer.addWidget(self.title)
        outer.addWidget(self.doc)
        self.problems_label = QLabel(self)
        self.problems_label.setObjectName("layerProblems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setVisible(False)
        outer.addWidget(self.problems_label)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(0, 4, 0, 4)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setVerticalSpacing(3)
        self.name_edit = QLineEdit(self.body)
        self.name_edit.setObjectName("layerName")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setToolTip("Optional name of the layer. Without one the layer is called by "
                                  "its index, as nn.Sequential names its children.")
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.name_edit.installEventFilter(self)
        self.scroll.setWidget(self.body)
        outer.addWidget(self.scroll, 1)

        self.help_line = QLabel(self)
        self.help_line.setObjectName("helpLine")
        self.help_line.setWordWrap(True)
        self.help_line.setTextFormat(Qt.TextFormat.RichText)
        self.help_line.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.help_line.setMinimumHeight(3 * self.fontMetrics().height() + 12)
        outer.addWidget(self.help_line)
        self.set_layer(None, None, None)

    # -- showing a layer ---------------------------------------------------------------------
    def set_layer(self, index: int | None, spec: LayerSpec | None,
                  info: LayerInfo | None) -> None:
        """Show layer ``index`` (None: nothing selected). Rebuilds the editors only when the
        layer or its type changes, so a field keeps its focus while the user types."""
        self.index, self.spec, self.info = index, spec, info
        lt = spec.layer_type if spec is not None else None
        key = (index, spec.type) if spec is not None else None
        if key != self._key:
            self._key = key
            self._rebuild(lt)
        if spec is None:
            self.title.setText("No layer selected")
            self.doc.setText("Add a layer with \u201cAdd layer\u201d or select one in the stack.")
            self.problems_label.setVisible(False)
            self.help_line.setText("")
            return
        self.title.setText(f"{spec.name or index} \u2014 nn.{spec.type}")
        self.doc.setText(lt.help if lt else f"unknown layer type {spec.type!r}")
        if not self.name_edit.hasFocus() or self.name_edit.text() != (spec.name or ""):
            self.name_edit.setText(spec.name or "")
        self.name_edit.setPlaceholderText(str(index))
        problems = list(info.problems) if info is not None else []
        by_field: dict[str, list[str]] = {}
        loose = []
        for p in problems:
            if p.field in self.editors:
                by_field.setdefault(p.field, []).append(p.short)
            else:
                loose.append(str(p) if p.field else p.short)
        resolved = info.kwargs if info is not None else {}
        for name, editor in self.editors.items():
            followed = resolved.get(name) if editor.param.auto else None
            if editor.param.nullable and name == "stride":
                followed = spec.value("kernel_size")
            editor.set_value(spec.value(name), spec.is_set(name), followed)
            editor.set_problem("; ".join(by_field[name]) if name in by_field else None)
        if info is not None and info.input_shape is None and not problems:
            loose.append("An earlier layer has a problem, so this layer's input shape is "
                         "unknown.")
        self.problems_label.setText("\n".join(loose))
        self.problems_label.setVisible(bool(loose))
        self._show_help(self.current_field)

    def _rebuild(self, lt: LayerType | None) -> None:
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                w = item.widget() if item is not None else None
                if w is not None and w is not self.name_edit:
                    w.hide()
                    w.deleteLater()
        self.editors = {}
        self.current_field = None
        self.edit_session += 1
        visible = lt is not None
        self.name_edit.setVisible(visible)
        if not visible:
            return
        name_label = QLabel("name", self.body)
        self.form.addRow(name_label, self.name_edit)
        name_label.show()
        for p in lt.params:
            editor = ParamEditor(p, lt.dims, self.body)
            editor.setObjectName("paramField")
            editor.valueEdited.connect(self._on_value_edited)
            editor.focused.connect(self._on_field_focused)
            label = QLabel(p.name, self.body)
            label.setToolTip(p.help)
            label.setBuddy(editor.widgets()[0] if editor.widgets() else editor)
            self.form.addRow(label, editor)
            label.show()  # a layout shows new children only on the next event-loop pass
            editor.show()
            self.editors[p.name] = editor

    def editor(self, name: str) -> ParamEditor:
        return self.editors[name]

    # -- help line ---------------------------------------------------------------------------
    def _show_help(self, name: str | None) -> None:
        lt = self.spec.layer_type if self.spec is not None else None
        if lt is None:
            return
        parts = []
        problems = self.info.problems if self.info is not None else []
        here = [p for p in problems if name is not None and p.field == name]
        first = here[0] if here else (problems[0] if problems else None)
        if first is not None:
            where = "" if first in here else f"{first.field or self.spec.type}: "
            parts.append(f"<span style='color:#c62828'><b>\u26a0 {html.escape(where)}"
                         f"{html.escape(first.short)}</b></span>")
        if name is not None and name in lt.param_names:
            parts.append(f"<b>{name}</b>: {html.escape(lt.param(name).help)}")
        elif name == "name":
            parts.append(html.escape(self.name_edit.toolTip()))
        elif not lt.params:
            parts.append(f"nn.{lt.name} has no constructor arguments to set.")
        else:
            parts.append("Select a field to see what it does.")
        self.help_line.setText("<br>".join(parts))

    def help_text(self) -> str:
        """The help line as plain text."""
        text = QTextDocumentFragment.fromHtml(self.help_line.text()).toPlainText()
        return text.replace("\u2028", "\n")

    # -- edits -------------------------------------------------------------------------------
    def _on_field_focused(self, name: str) -> None:
        if name != self.current_field:
            self.current_field = name
            self.edit_session += 1
        self._show_help(name)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.name_edit and event.type() == QEvent.Type.FocusIn:
            self._on_field_focused("name")
        return False

    def _on_value_edited(self, name: str, value: object) -> None:
        if self.index is None:
            return
        if name != self.current_field:
            self.current_field = name
            self.edit_session += 1
        self.paramEdited.emit(self.index, name, value)

    def _on_name_edited(self, text: str) -> None:
        if self.index is not None:
            self.renameRequested.emit(self.index, text.strip())

    def focus_name(self) -> None:
        """Put the cursor in the name field (F2)."""
        if self.index is not None:
            self.name_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.name_edit.selectAll()
