"""The form of the selected layer, generated from the catalogue: one ParamEditor per
constructor keyword, the layer's name, problems marked on their fields, and a help line that
explains the field being edited.

The form shows the pipeline's spec and reports edits (``paramEdited``, ``renameRequested``);
the window turns them into pipeline edits.

Each layer type's editors are built once, on the first selection of that type, and kept: a
selection shows the type's page and fills in the values. The window's widgets are then as many
after a thousand selections as after one round (the catalogue has 26 types), whoever drives
it: replacing forms relied on deferred deletes, which a script or test that pumps
``processEvents()`` without returning to the event loop never runs. A selection costs a few
milliseconds instead of a rebuild's ten.
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
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..model.catalogue import LayerType
from ..model.shapes import LayerInfo
from ..model.spec import LayerSpec, shown_name
from .param_editor import ParamEditor
from .weights_editor import WeightsEditor

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


NAME_TIP = ("Optional name of the layer. Without one the layer is called by its index, as "
            "nn.Sequential names its children.")


class _Page:
    """The form of one layer type (or of no layer): a name field and one editor per
    parameter, in a body widget the scroll area shows while a layer of that type is
    selected."""

    def __init__(self, owner: LayerForm, lt: LayerType | None):
        self.body = QWidget()
        owner.stack.addWidget(self.body)
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(0, 4, 0, 4)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setVerticalSpacing(3)
        self.name_edit = QLineEdit(self.body)
        self.name_edit.setObjectName("layerName")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setToolTip(NAME_TIP)
        self.name_edit.textEdited.connect(owner._on_name_edited)
        self.name_edit.installEventFilter(owner)
        self.editors: dict[str, ParamEditor] = {}
        if lt is None:
            self.name_edit.setVisible(False)
            return
        self.form.addRow(QLabel("name", self.body), self.name_edit)
        for p in lt.params:
            editor = ParamEditor(p, lt.dims, self.body)
            editor.setObjectName("paramField")
            editor.valueEdited.connect(owner._on_value_edited)
            editor.focused.connect(owner._on_field_focused)
            label = QLabel(p.name, self.body)
            label.setToolTip(p.help)
            label.setBuddy(editor.widgets()[0] if editor.widgets() else editor)
            self.form.addRow(label, editor)
            self.editors[p.name] = editor


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
        self._key: str | None = None

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
        # a form wider than the dock (a narrow dock, long names) scrolls rather than clips
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # One page per layer type in a stack: switching shows and hides, nothing is reparented
        # (moving a page in and out of the scroll area re-polished every widget on it).
        self.stack = QStackedWidget()
        self.weights_editor = WeightsEditor()  # below the parameters, for layers with weights
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(self.stack)
        body_layout.addWidget(self.weights_editor)
        body_layout.addStretch(1)
        self.scroll.setWidget(body)
        self._pages: dict[str | None, _Page] = {}  # by layer type name (None: no layer)
        self._page = self._page_for(None)
        self._raise(self._page)
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
                  info: LayerInfo | None, choices=()) -> None:
        """Show layer ``index`` (None: nothing selected). Rebuilds the editors only when the
        type changes (a field keeps its focus while the user types, and another layer of the
        same type reuses them); another layer starts a new undo step per field. ``choices``:
        what a merge's ``from`` may name, (reference, text) per earlier layer and the input."""
        if index != self.index:
            self.current_field = None
            self.edit_session += 1
        self.index, self.spec, self.info = index, spec, info
        lt = spec.layer_type if spec is not None else None
        key = spec.type if spec is not None else None
        if key != self._key:
            self._key = key
            self._show_page(lt)
        self.weights_editor.set_layer(index, spec, info)
        if spec is None:
            self.title.setText("No layer selected")
            self.doc.setText("Add a layer with \u201cAdd layer\u201d or select one in the stack.")
            self.problems_label.setVisible(False)
            self.help_line.setText("")
            return
        # a merge is an operation in forward() (out + block_in), not an nn module
        what = spec.type if lt is not None and lt.is_merge else f"nn.{spec.type}"
        self.title.setText(f"{shown_name(spec.name or str(index))} \u2014 {what}")
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
            if editor.param.is_reference:
                editor.set_choices(list(choices))
            editor.set_value(spec.value(name), spec.is_set(name), followed)
            editor.set_problem("; ".join(by_field[name]) if name in by_field else None)
        if info is not None and info.input_shape is None and not problems:
            loose.append("An earlier layer has a problem, so this layer's input shape is "
                         "unknown.")
        self.problems_label.setText("\n".join(loose))
        self.problems_label.setVisible(bool(loose))
        self._show_help(self.current_field)

    @property
    def name_edit(self) -> QLineEdit:
        """The name field of the layer shown."""
        return self._page.name_edit

    def _page_for(self, lt: LayerType | None) -> _Page:
        key = lt.name if lt is not None else None
        page = self._pages.get(key)
        if page is None:
            page = self._pages[key] = _Page(self, lt)
        return page

    def _raise(self, page: _Page) -> None:
        # A stack is as large as its largest page; a page whose size policy is Ignored does
        # not count, so the scroll area sizes to the page shown.
        ignored = QSizePolicy.Policy.Ignored
        for other in self._pages.values():
            if other is not page:
                other.body.setSizePolicy(ignored, ignored)
        page.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.stack.setCurrentWidget(page.body)
        self.stack.updateGeometry()

    def _show_page(self, lt: LayerType | None) -> None:
        """Show the editors of type ``lt`` (built on first use, then kept)."""
        page = self._page_for(lt)
        if page is not self._page:
            self._page = page
            self._raise(page)
        self.editors = page.editors
        self.current_field = None
        self.edit_session += 1

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
            parts.append(html.escape(NAME_TIP))
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
        if (event.type() == QEvent.Type.FocusIn and hasattr(self, "_page")
                and obj is self._page.name_edit):
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
