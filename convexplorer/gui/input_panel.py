"""Input and device: where the input tensor comes from (random, a 1-D signal, an image or a .npy
file), which device runs the stack, and the seed. Shows the input's shape as torch.Size.

The panel shows the pipeline's InputSpec and reports edits (``inputEdited``, ``deviceChosen``,
``seedEdited``); the window turns them into pipeline edits.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..engine.inputs import SAMPLE_PREFIX, sample_images
from ..model.limits import MAX_FREQUENCY, MAX_IMAGE_SIDE, MAX_INT, MIN_FREQUENCY
from ..model.spec import DISTRIBUTIONS, SIGNALS, Config, InputSpec

SOURCES = (("random", "Random tensor"), ("signal", "Signal (1-D)"), ("image", "Image"),
           ("npy", ".npy file"))
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp);;All files (*)"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
INVALID_STYLE = "QLineEdit { border: 1px solid #c62828; background: #fdecea; }"
INVALID_COMBO_STYLE = "QComboBox { border: 1px solid #c62828; background: #fdecea; }"
SHAPE_TIP = "Input shape (N, C, L) or (N, C, H, W): batch, channels, then sizes"


def parse_shape(text: str) -> tuple[int, ...] | None:
    """ "1, 1, 28, 28", "1x1x28x28" or "[1, 1, 28, 28]" -> (1, 1, 28, 28); None if not 2 to 5
    positive ints."""
    parts = [p for p in re.split(r"[\s,x\u00d7()\[\]]+", text.strip()) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        return None
    if not 2 <= len(shape) <= 5 or any(s < 1 for s in shape):
        return None
    return shape


def shape_text(shape) -> str:
    return ", ".join(str(s) for s in shape)


def _typing(edit: QLineEdit) -> bool:
    """True while the user types in ``edit`` and has not committed it yet (Enter, focus out):
    the pipeline's value must not overwrite what they type."""
    return edit.hasFocus() and edit.isModified()


def device_text(device) -> str:
    """How a DeviceInfo is listed: "CPU", or "CUDA: torch was built without CUDA"."""
    if device.available:
        return device.label
    return f"{device.label}: {device.reason}"


class InputPanel(QWidget):
    inputEdited = Signal(object, str)  # InputSpec, what changed (an undo merge key)
    deviceChosen = Signal(str)
    seedEdited = Signal(int)
    modeChosen = Signal(str)  # "train" or "eval"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inputPanel")
        self.spec = InputSpec()
        self.devices: list = []
        self._filling = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        top = QFormLayout()
        self.source = QComboBox(self)
        for key, label in SOURCES:
            self.source.addItem(label, key)
        self.source.setToolTip("Where the input tensor comes from")
        self.source.currentIndexChanged.connect(self._on_source)
        top.addRow("input", self.source)
        outer.addLayout(top)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._random_page())
        self.pages.addWidget(self._signal_page())
        self.pages.addWidget(self._image_page())
        self.pages.addWidget(self._npy_page())
        outer.addWidget(self.pages)
        bottom = QFormLayout()
        self.device = QComboBox(self)
        self.device.setObjectName("deviceCombo")
        self.device.setToolTip("Where torch runs the stack")
        self.device.activated.connect(self._on_device)
        bottom.addRow("device", self.device)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, MAX_INT)
        self.seed.setToolTip("The seed of the weights and the Dropout masks: layer i is made "
                             "right after torch.manual_seed(seed + i), so editing one layer "
                             "leaves the others' weights as they were.")
        self.seed.valueChanged.connect(self._on_seed)
        bottom.addRow("seed", self.seed)
        self.eval_box = QCheckBox(self.tr("eval mode (model.eval())"), self)
        self.eval_box.setObjectName("evalMode")
        self.eval_box.setToolTip(self.tr(
            "Run the whole stack in eval mode, as trained models are looked at: BatchNorm uses "
            "its running statistics (from a checkpoint) instead of the batch's, and Dropout "
            "passes everything. Off: training mode, model.train()."))
        self.eval_box.toggled.connect(self._on_eval)
        bottom.addRow("mode", self.eval_box)
        outer.addLayout(bottom)
        self.shape_label = QLabel(self)
        self.shape_label.setObjectName("inputShape")
        self.shape_label.setWordWrap(True)
        self.shape_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.shape_label)
        outer.addStretch(1)
        self.set_devices(None, "cpu")

    # -- pages -------------------------------------------------------------------------------
    def _shape_edit(self) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setPlaceholderText("N, C, H, W")
        edit.setToolTip(SHAPE_TIP)
        edit.editingFinished.connect(lambda e=edit: self._on_shape(e))
        return edit

    def _random_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.random_shape = self._shape_edit()
        form.addRow("shape", self.random_shape)
        self.distribution = QComboBox(page)
        self.distribution.addItems(list(DISTRIBUTIONS))
        self.distribution.setToolTip("normal: torch.randn-like values; uniform: in [0, 1)")
        self.distribution.currentTextChanged.connect(
            lambda d: self._edit(replace(self.spec, distribution=d), "distribution"))
        form.addRow("values", self.distribution)
        self.input_seed = QSpinBox(page)
        self.input_seed.setRange(0, MAX_INT)
        self.input_seed.setToolTip("Seed of the random input")
        self.input_seed.valueChanged.connect(
            lambda v: self._edit(replace(self.spec, seed=v), "input seed"))
        form.addRow("input seed", self.input_seed)
        return page

    def _signal_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.signal_shape = self._shape_edit()
        self.signal_shape.setPlaceholderText("N, C, L")
        form.addRow("shape", self.signal_shape)
        self.signal = QComboBox(page)
        self.signal.addItems(list(SIGNALS))
        self.signal.currentTextChanged.connect(
            lambda s: self._edit(replace(self.spec, signal=s), "signal"))
        form.addRow("signal", self.signal)
        self.frequency = QDoubleSpinBox(page)
        self.frequency.setRange(MIN_FREQUENCY, MAX_FREQUENCY)
        self.frequency.setDecimals(2)
        self.frequency.setSuffix(" cycles")
        self.frequency.setToolTip("Cycles over the signal's length (a chirp starts here)")
        self.frequency.valueChanged.connect(
            lambda f: self._edit(replace(self.spec, frequency=f), "frequency"))
        form.addRow("frequency", self.frequency)
        return page

    def _image_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.image_choice = QComboBox(page)
        self.image_choice.setObjectName("sampleImages")
        for path in sample_images():
            self.image_choice.addItem(path[len(SAMPLE_PREFIX):], path)
        self.image_choice.setToolTip("Bundled sample images, or the file you opened")
        self.image_choice.activated.connect(self._on_image_choice)
        row.addWidget(self.image_choice, 1)
        browse = QPushButton("Open\u2026", page)
        browse.setToolTip("Open an image file (or drop one onto the window)")
        browse.clicked.connect(self.browse_image)
        row.addWidget(browse)
        form.addRow("image", row)
        self.mode = QComboBox(page)
        self.mode.addItem("grayscale (C=1)", "L")
        self.mode.addItem("RGB (C=3)", "RGB")
        self.mode.activated.connect(
            lambda _i: self._edit(replace(self.spec, mode=self.mode.currentData()), "mode"))
        form.addRow("channels", self.mode)
        size_row = QHBoxLayout()
        self.resize_box = QCheckBox("resize to", page)
        self.resize_box.toggled.connect(self._on_size)
        self.size_h = QSpinBox(page)
        self.size_w = QSpinBox(page)
        for box, name in ((self.size_h, "H "), (self.size_w, "W ")):
            box.setRange(1, MAX_IMAGE_SIDE)
            box.setPrefix(name)
            box.valueChanged.connect(self._on_size)
        size_row.addWidget(self.resize_box)
        size_row.addWidget(self.size_h, 1)
        size_row.addWidget(self.size_w, 1)
        form.addRow("size", size_row)
        return page

    def _npy_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.npy_path = QLineEdit(page)
        self.npy_path.setPlaceholderText("array.npy with shape (N, C, ...)")
        self.npy_path.editingFinished.connect(self._on_npy_path)
        row.addWidget(self.npy_path, 1)
        browse = QPushButton("Open\u2026", page)
        browse.clicked.connect(self.browse_npy)
        row.addWidget(browse)
        form.addRow("file", row)
        return page

    # -- showing the pipeline's values -------------------------------------------------------
    def set_config(self, config: Config, shape, error: str = "") -> None:
        """Show ``config``'s input, device and seed, and the input's shape (or why it has
        none)."""
        self._filling = True
        try:
            spec = self.spec = config.input
            keys = [k for k, _ in SOURCES]
            self.source.setCurrentIndex(keys.index(spec.source))
            self.pages.setCurrentIndex(keys.index(spec.source))
            for edit in (self.random_shape, self.signal_shape):
                if not _typing(edit):
                    edit.setText(shape_text(spec.shape))
            self.distribution.setCurrentText(spec.distribution)
            self.input_seed.setValue(spec.seed)
            self.signal.setCurrentText(spec.signal)
            self.frequency.setValue(spec.frequency)
            if spec.source == "image" and spec.path:
                if self.image_choice.findData(spec.path) < 0:
                    self.image_choice.addItem(Path(spec.path).name, spec.path)
                self.image_choice.setCurrentIndex(self.image_choice.findData(spec.path))
            self.mode.setCurrentIndex(max(self.mode.findData(spec.mode), 0))
            self.resize_box.setChecked(spec.size is not None)
            if spec.size is not None:
                self.size_h.setValue(spec.size[0])
                self.size_w.setValue(spec.size[1])
            elif shape is not None and len(shape) == 4:
                self.size_h.setValue(shape[2])
                self.size_w.setValue(shape[3])
            self.size_h.setEnabled(spec.size is not None)
            self.size_w.setEnabled(spec.size is not None)
            if spec.source == "npy" and not _typing(self.npy_path):
                self.npy_path.setText(spec.path or "")
            self.seed.setValue(config.seed)
            self.eval_box.setChecked(config.mode == "eval")
            self._select_device(config.device)
        finally:
            self._filling = False
        self._mark_fields(spec, error)
        if error:
            self.shape_label.setText(f"<span style='color:#c62828'>\u26a0 "
                                     f"{html.escape(error)}</span>")
        elif shape is not None:
            self.shape_label.setText("input: <tt>torch.Size([" + shape_text(shape) + "])</tt>")
        else:
            self.shape_label.setText("")

    def input_field(self, source: str | None = None) -> QWidget:
        """The field that says where ``source``'s input comes from (default: the current
        one): the shape, the image or the .npy path."""
        return {"random": self.random_shape, "signal": self.signal_shape,
                "image": self.image_choice, "npy": self.npy_path}[source or self.spec.source]

    def _mark_fields(self, spec: InputSpec, error: str) -> None:
        """Mark the current source's field with ``error`` (red, the message as tooltip); clear
        the others. A shape being typed keeps its own mark until it is committed."""
        image_tip = spec.path if spec.source == "image" and spec.path else (
            "Bundled sample images, or the file you opened")
        tips = {self.random_shape: SHAPE_TIP, self.signal_shape: SHAPE_TIP,
                self.image_choice: image_tip,
                self.npy_path: "A .npy file holding one numeric array (N, C, ...)"}
        bad = self.input_field(spec.source) if error else None
        for w, tip in tips.items():
            if isinstance(w, QLineEdit) and _typing(w) and w is not bad:
                continue
            style = INVALID_COMBO_STYLE if isinstance(w, QComboBox) else INVALID_STYLE
            w.setStyleSheet(style if w is bad else "")
            w.setToolTip(f"\u26a0 {error}\n\n{tip}" if w is bad else tip)
            w.setProperty("invalid", w is bad)

    def set_devices(self, devices, current: str) -> None:
        """Fill the device list (None: not known yet, torch is still loading)."""
        self._filling = True
        try:
            self.device.clear()
            if devices is None:
                self.device.addItem(f"{current} (checking devices\u2026)", current)
            else:
                self.devices = list(devices)
                model = self.device.model()
                for i, d in enumerate(self.devices):
                    self.device.addItem(device_text(d), d.name)
                    if not d.available:
                        model.item(i).setEnabled(False)
                        self.device.setItemData(i, d.reason, Qt.ItemDataRole.ToolTipRole)
                    else:
                        self.device.setItemData(i, d.label, Qt.ItemDataRole.ToolTipRole)
            self._select_device(current)
        finally:
            self._filling = False

    def _select_device(self, name: str) -> None:
        i = self.device.findData(name)
        if i < 0 and name.startswith("cuda"):
            i = self.device.findData("cuda")
        if i < 0:
            self.device.addItem(name, name)
            i = self.device.count() - 1
        self.device.setCurrentIndex(i)

    # -- edits -------------------------------------------------------------------------------
    def _edit(self, spec: InputSpec, what: str) -> None:
        if not self._filling and spec != self.spec:
            self.inputEdited.emit(spec, what)

    def _on_source(self, index: int) -> None:
        if self._filling:
            return
        source = self.source.itemData(index)
        spec = self.spec
        if source == "image":
            path = spec.path if spec.source == "image" and spec.path else (
                self.image_choice.itemData(max(self.image_choice.currentIndex(), 0)))
            new = replace(spec, source="image", path=path)
        elif source == "signal":
            shape = spec.shape if len(spec.shape) == 3 else (1, 1, 64)
            new = replace(spec, source="signal", shape=shape, path=None)
        elif source == "npy":
            new = replace(spec, source="npy", path=self.npy_path.text().strip() or None)
        else:
            shape = spec.shape if len(spec.shape) == 4 else (1, 1, 28, 28)
            new = replace(spec, source="random", shape=shape, path=None)
        self.pages.setCurrentIndex(index)
        self._edit(new, "source")

    def _on_npy_path(self) -> None:
        self.npy_path.setModified(False)  # committed: the pipeline's value may replace it
        self._edit(replace(self.spec, path=self.npy_path.text().strip() or None), "npy path")

    def _on_shape(self, edit: QLineEdit) -> None:
        shape = parse_shape(edit.text())
        if shape is None:
            edit.setStyleSheet(INVALID_STYLE)
            edit.setToolTip("\u26a0 Give 2 to 5 positive integers, e.g. 1, 3, 32, 32")
            edit.setProperty("invalid", True)
            return
        edit.setStyleSheet("")
        edit.setToolTip(SHAPE_TIP)
        edit.setProperty("invalid", False)
        edit.setModified(False)
        self._edit(replace(self.spec, shape=shape), "shape")

    def _on_image_choice(self, index: int) -> None:
        self.set_image(self.image_choice.itemData(index))

    def set_image(self, path: str) -> None:
        """Use the image at ``path`` (or ``sample:NAME``) as input."""
        self._edit(replace(self.spec, source="image", path=path), "image")

    def set_npy(self, path: str) -> None:
        self._edit(replace(self.spec, source="npy", path=path), "npy path")

    def _on_size(self, *_args) -> None:
        if self._filling:
            return
        on = self.resize_box.isChecked()
        self.size_h.setEnabled(on)
        self.size_w.setEnabled(on)
        size = (self.size_h.value(), self.size_w.value()) if on else None
        self._edit(replace(self.spec, size=size), "size")

    def _on_device(self, index: int) -> None:
        name = self.device.itemData(index)
        if not self._filling and name:
            self.deviceChosen.emit(name)

    def _on_seed(self, value: int) -> None:
        if not self._filling:
            self.seedEdited.emit(value)

    def _on_eval(self, checked: bool) -> None:
        if not self._filling:
            self.modeChosen.emit("eval" if checked else "train")

    def browse_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.set_image(path)

    def browse_npy(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open .npy array", "",
                                              "NumPy arrays (*.npy);;All files (*)")
        if path:
            self.set_npy(path)
