"""File > Paste PyTorch Code: paste ``print(model)`` output or ``nn.Sequential(...)`` code and get
layers. The text is parsed (``model.pytorch_code``), never run. The dialog shows the layers it
found with their output shapes, the notes (what to fix first, then skipped modules, guessed input
shape) and offers to insert what is missing (e.g. a Flatten before a Linear). Where the code
defines several model classes, a chooser picks the one to read.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..model.files import read_regular
from ..model.pytorch_code import ImportError_, ImportResult, import_text
from ..model.pytorch_parse import MAX_TEXT_CHARS
from ..model.shapes import fmt_shape, infer
from ..model.spec import Config, layer_label

PARSE_DELAY_MS = 200
_CLASS_GONE = ("no_class", "no_class_at_all")  # the class chosen is no longer in the text
EXAMPLE = "nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), ...)"


def parse_shape(text: str) -> tuple[int, ...] | None:
    """"1, 1, 28, 28", "1 1 28 28" or "torch.Size([1, 1, 28, 28])" -> a tuple (None: empty)."""
    nums = re.findall(r"-?\d+", text)
    if not text.strip():
        return None
    if re.sub(r"torch\.Size|[\d\s,()\[\]xX-]", "", text):
        raise ValueError(f"input shape {text!r}: write it like 1, 1, 28, 28")
    return tuple(int(n) for n in nums)


class CodeDialog(QDialog):
    def __init__(self, parent, current: Config, current_shape=None):
        super().__init__(parent)
        self.setWindowTitle("Paste PyTorch Code")
        self.resize(900, 560)
        self.current = current
        self.current_shape = tuple(current_shape) if current_shape else None
        self.result: ImportResult | None = None
        self.error = ""
        self.fix = False

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.editor = QPlainTextEdit()
        self.editor.setFont(mono)
        self.editor.setPlaceholderText(
            "Paste the output of print(model), or PyTorch code such as\n" + EXAMPLE
            + "\n\nThe text is only read, never run.")
        self.editor.textChanged.connect(self._schedule)
        open_button = QPushButton("Open File\u2026")
        open_button.clicked.connect(self._open_file)
        self.shape_edit = QLineEdit()
        self.shape_edit.setPlaceholderText("guessed from the first layer")
        self.shape_edit.setToolTip("The input's shape, e.g. 1, 3, 32, 32 (N, C, H, W) or "
                                   "1, 1, 64 (N, C, L). Empty: guessed.")
        self.shape_edit.textChanged.connect(self._schedule)
        self.class_label = QLabel(self.tr("Class:"))
        self.class_combo = QComboBox()
        self.class_combo.setToolTip(self.tr(
            "The code defines several classes: the one to read (by default the one the others "
            "are built into)."))
        self.class_combo.activated.connect(self._on_class_activated)
        self.class_label.setVisible(False)
        self.class_combo.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Input shape:"))
        top.addWidget(self.shape_edit, 1)
        top.addWidget(self.class_label)
        top.addWidget(self.class_combo)
        top.addWidget(open_button)

        self.preview = QListWidget()
        self.preview.setFont(mono)
        self.notes_view = QPlainTextEdit()
        self.notes_view.setReadOnly(True)
        self.fix_button = QPushButton("Insert Missing Layers")
        self.fix_button.setEnabled(False)
        self.fix_button.clicked.connect(self._on_fix_clicked)
        self.input_check = QCheckBox()
        self.input_check.setVisible(False)
        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.setContentsMargins(0, 0, 0, 0)
        rlay.addWidget(QLabel("Layers found:"))
        rlay.addWidget(self.preview, 3)
        rlay.addWidget(QLabel("Notes:"))
        rlay.addWidget(self.notes_view, 2)
        rlay.addWidget(self.fix_button)
        rlay.addWidget(self.input_check)
        split = QSplitter()
        split.addWidget(self.editor)
        split.addWidget(right)
        split.setSizes([480, 420])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use These Layers")
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PARSE_DELAY_MS)
        self._timer.timeout.connect(self.parse_now)
        self.editor.setFocus()

    # -- parsing -----------------------------------------------------------------------------
    def _schedule(self) -> None:
        self._timer.start()

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open PyTorch Code", "",
                                              "Python or text (*.py *.txt);;All files (*)")
        if path:
            self.load_file(path)

    def load_file(self, path) -> None:
        try:
            size = Path(path).stat().st_size
            if size > 4 * MAX_TEXT_CHARS:  # refused unread: a huge file would freeze the editor
                self.notes_view.setPlainText(self.tr(
                    "{path}: the file has {size:,} bytes, but at most {limit:,} characters "
                    "(about 1 MB) are read; keep only the model's code or its print(model) "
                    "output").format(path=path, size=size, limit=MAX_TEXT_CHARS))
                return
            data = read_regular(path, 4 * MAX_TEXT_CHARS, "text file")  # no FIFO, no device
            self.editor.setPlainText(data.decode("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.notes_view.setPlainText(self.tr("{path}: cannot read ({error})").format(
                path=path, error=exc))
            return
        self.parse_now()

    def _on_class_activated(self, _index: int) -> None:
        self.parse_now()

    def _asked_class(self) -> str | None:
        """The class chosen in the chooser, if the text still defines it."""
        if self.class_combo.isHidden() or self.class_combo.currentIndex() < 0:
            return None
        return self.class_combo.currentText() or None

    def parse_now(self) -> None:
        """Parse the text now (it is also parsed shortly after each edit)."""
        self._timer.stop()
        self.result, self.error, self.fix = None, "", False
        text = self.editor.toPlainText()
        try:
            shape = parse_shape(self.shape_edit.text())
            try:
                self.result = import_text(text, shape, class_name=self._asked_class())
            except ImportError_ as exc:
                if self._asked_class() is None or exc.note.key not in _CLASS_GONE:
                    raise
                self.result = import_text(text, shape)  # the chosen class is gone: default
        except ImportError_ as exc:
            self.error = "\n".join([str(exc)] + [f"\u2022 {n}" for n in exc.notes_text()])
        except ValueError as exc:
            self.error = str(exc)
        self._show_classes()
        if self.result is not None:  # keep the current input when the layers fit it
            fits = (self.current_shape is not None
                    and infer(self.result.fixed_config.layers, self.current_shape).ok)
            self.input_check.setChecked(not fits)
        self._show()

    def _show_classes(self) -> None:
        classes = self.result.classes if self.result is not None else ()
        several = len(classes) > 1
        if several:
            self.class_combo.blockSignals(True)
            self.class_combo.clear()
            self.class_combo.addItems(list(classes))
            self.class_combo.setCurrentText(self.result.class_name or classes[-1])
            self.class_combo.blockSignals(False)
        if several or self.result is not None:  # keep the chooser while the text is bad
            self.class_label.setVisible(several)
            self.class_combo.setVisible(several)

    def _on_fix_clicked(self) -> None:
        self.fix = True
        self._show()

    def _layers(self):
        if self.result is None:
            return ()
        return (self.result.fixed_config if self.fix else self.result.config).layers

    def _show(self) -> None:
        self.preview.clear()
        result = self.result
        if result is None:
            text = self.editor.toPlainText().strip()
            self.notes_view.setPlainText(self.error if text else "")
            self.fix_button.setEnabled(False)
            self.input_check.setVisible(False)
            self.ok_button.setEnabled(False)
            return
        layers = self._layers()
        report = infer(layers, result.input_shape)
        self.preview.addItem(f"input  {fmt_shape(result.input_shape)}"
                             + ("  (guessed)" if result.shape_guessed else ""))
        origins = result.fixed_origins() if self.fix else range(len(layers))
        for info in report.layers:
            mark = ""
            if info.problems:  # the import's advice (the fix, or why there is none) first
                advice = result.advice.get(origins[info.index]) if origins[info.index] \
                    is not None else None
                mark = "  \u26a0 " + (advice or info.problems[0].short)
            self.preview.addItem(f"{layer_label(info.index, info.spec)}  "
                                 f"{fmt_shape(info.output_shape)}{mark}")
        notes = list(result.notes)
        if self.fix:
            notes.insert(0, f"inserted {len(result.suggestions)} layer(s)")
        self.notes_view.setPlainText("\n".join(f"\u2022 {n}" for n in notes))
        pending = result.suggestions and not self.fix
        self.fix_button.setEnabled(bool(pending))
        self.fix_button.setText(
            "Insert " + ", ".join(s.spec.type for s in result.suggestions) if pending
            else "Missing layers inserted" if self.fix and result.suggestions
            else "Insert Missing Layers")
        self.fix_button.setToolTip("\n".join(s.message for s in result.suggestions))
        self.input_check.setText(f"Set the input to {_describe(result.config.input)}")
        self.input_check.setVisible(True)
        self.ok_button.setEnabled(bool(layers))

    # -- result ------------------------------------------------------------------------------
    def result_config(self) -> Config | None:
        """The current config with the imported layers (and input, if chosen)."""
        if self.result is None:
            return None
        imported = self.result.fixed_config if self.fix else self.result.config
        config = replace(self.current, layers=imported.layers)
        if self.input_check.isChecked():
            config = replace(config, input=imported.input)
        if self.current.name in ("", "untitled"):
            config = replace(config, name=imported.name)
        return config


def _describe(spec) -> str:
    if spec.source == "image":
        return f"{spec.path} ({'x'.join(map(str, spec.size or ()))}, {spec.mode})"
    return f"{spec.source} {fmt_shape(spec.shape)}"
