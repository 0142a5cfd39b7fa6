"""Bad values in the window: every wrong field, input file and config gets a message that names
the layer, the field and the fix, shown where the user looks; the current work is never lost.
(Runs that fail, crash, need too much memory or are cancelled: test_hardening_runs.py.)"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QTextDocumentFragment
from PySide6.QtWidgets import QMessageBox

from convexplorer.gui.app import open_main_window
from convexplorer.gui.layer_list import INVALID_ROLE
from convexplorer.gui.param_editor import ParamEditor
from convexplorer.model.catalogue import CATALOGUE, FLOAT, INT, PADDING, SIZE
from convexplorer.model.config_io import load_config
from convexplorer.model.spec import Config, InputSpec, LayerSpec
from convexplorer.resources_path import example_path

from .window_helpers import click_row, runner_threads, type_into_spin

UNDO = Qt.KeyboardModifier.ControlModifier


def drop(window, path) -> None:
    """Drop a file onto the window, as from a file manager."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def plain(text: str) -> str:
    """A tooltip's rich text as the user reads it."""
    return QTextDocumentFragment.fromHtml(text).toPlainText()


def message_boxes(window) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.isVisible()]


# -- layer fields ----------------------------------------------------------------------------
# (row edited, field edited, typed, row flagged, field flagged, words the message must hold:
#  the layer, the field, what is wrong and the fix)
FIELD_CASES = {
    "groups not dividing the channels": (
        3, "groups", "3", 3, "groups",
        ["conv2 (Conv2d) groups:", "groups=3 must divide in_channels=10 and out_channels=20",
         "try 1, 2, 5 or 10"]),
    "kernel larger than the padded input": (
        0, "kernel_size", "29", 0, "kernel_size",
        ["conv1 (Conv2d) kernel_size:", "kernel 29 is larger than the padded input 28",
         "use kernel_size <= 28, or more padding"]),
    "pooling padding over half the kernel": (
        2, "padding", "2", 2, "padding",
        ["pool1 (MaxPool2d) padding:", "padding=2 is more than half of kernel_size=2",
         "use padding 1 or less"]),
    "pinned in_channels no longer matching": (
        0, "out_channels", "12", 3, "in_channels",
        ["conv2 (Conv2d) in_channels:", "in_channels=10 but the previous layer gives 12",
         "set in_channels to 12, or clear it"]),
}


@pytest.mark.parametrize("case", list(FIELD_CASES))
def test_a_wrong_field_is_marked_with_layer_field_and_fix(qtbot, window, case):
    row, name, text, bad_row, bad_name, words = FIELD_CASES[case]
    if case.startswith("pinned"):  # the bundled example leaves in_channels on auto: pin it
        click_row(qtbot, window, bad_row)
        window.form.editor(bad_name).toggle.click()
    click_row(qtbot, window, row)
    spin = window.form.editor(name).spins[0]
    type_into_spin(qtbot, spin, text)
    assert not window.report.ok

    click_row(qtbot, window, bad_row)
    editor = window.form.editor(bad_name)
    problem = next(p for p in window.report.layers[bad_row].problems if p.field == bad_name)
    message = str(problem)
    for w in words:
        assert w in message, (w, message)
    # on the field: red frame, warning icon, the message as tooltip and in the help line
    assert editor.invalid and editor.icon.isVisible()
    assert problem.short in plain(editor.toolTip())
    editor.widgets()[0].setFocus()
    assert problem.short in window.form.help_text()
    # and around it: the stack row, the banner and the status bar
    assert window.layer_list.view.item(bad_row).data(INVALID_ROLE)
    assert window.banner.isVisible() and message in window.banner.text()
    assert window.status.state == "invalid" and "invalid" in window.status.text
    assert window.last_result is not None  # the last good run stays on screen

    qtbot.keyClick(spin, Qt.Key.Key_Z, UNDO)  # one undo puts it right
    assert window.report.ok and not editor.invalid
    assert window.status.state == "ready" and not window.banner.isVisible()


def numeric_params():
    for lt in CATALOGUE.values():
        for p in lt.params:
            if p.kind in (INT, FLOAT, SIZE, PADDING):
                yield lt, p


def test_spin_boxes_cannot_go_below_the_catalogue_minimum(qtbot):
    """Zero or negative sizes and strides cannot be typed: every spin box starts at the
    catalogue's minimum (one below it stands for None where None is allowed)."""
    checked = 0
    for lt, p in numeric_params():
        assert p.minimum is not None, f"{lt.name}.{p.name} has no lower bound"
        editor = ParamEditor(p, lt.dims)
        qtbot.addWidget(editor)
        for spin in editor.spins:
            if p.item_nullable:
                assert spin.minimum() == p.minimum - 1 and spin.specialValueText() == "None"
            else:
                assert spin.minimum() == p.minimum, (lt.name, p.name)
            if p.name in ("kernel_size", "stride", "out_channels", "dilation", "groups"):
                assert spin.minimum() >= 1
            checked += 1
    assert checked > 50


def test_typing_zero_or_a_negative_size_changes_nothing(qtbot, window):
    click_row(qtbot, window, 0)
    before = window.pipeline.config
    kernel = window.form.editor("kernel_size").spins[0]
    type_into_spin(qtbot, kernel, "0")
    stride = window.form.editor("stride").spins[0]
    type_into_spin(qtbot, stride, "-")
    assert "-" not in stride.text()  # the minus sign is refused as typed
    type_into_spin(qtbot, stride, "0")
    window.form.editor("padding").spins[0].setFocus()  # leave the field: it falls back
    assert kernel.value() == 5 and stride.value() == 1
    assert window.pipeline.config == before and window.report.ok


def test_zero_and_negative_values_from_a_file_are_flagged(qtbot, window):
    config = load_config(example_path("mnist_convnet.json"))
    layers = list(config.layers)
    layers[0] = layers[0].with_params(kernel_size=0, stride=-1)
    window.open_config(replace(config, layers=tuple(layers)))
    click_row(qtbot, window, 0)
    for name, words in (("kernel_size", "kernel_size=0 must be at least 1; use 1 or more"),
                        ("stride", "stride=-1 must be at least 1; use 1 or more")):
        editor = window.form.editor(name)
        assert editor.invalid and words in plain(editor.toolTip())
    assert "conv1 (Conv2d) kernel_size: kernel_size=0 must be at least 1" in window.banner.text()


def test_non_finite_float_from_a_file_is_flagged(qtbot, window):
    config = Config(name="bn", input=InputSpec("random", (2, 3, 8, 8)),
                    layers=(LayerSpec("BatchNorm2d", (("eps", float("nan")),), "bn"),))
    window.open_config(config)
    click_row(qtbot, window, 0)
    eps = window.form.editor("eps")
    assert eps.invalid and "eps=nan must be a finite number" in plain(eps.toolTip())
    assert "bn (BatchNorm2d) eps: eps=nan must be a finite number" in window.banner.text()
    type_into_spin(qtbot, eps.spins[0], "0.001")
    assert not eps.invalid and window.report.ok


def test_a_1d_signal_into_conv2d_is_explained_on_the_input_and_the_layer(qtbot, window):
    panel = window.input_panel
    panel.source.setFocus()
    qtbot.keyClicks(panel.source, "Signal")
    assert window.pipeline.config.input.source == "signal"
    expected = ("conv1 (Conv2d): expects a 4-D input (N, C, H, W), but gets "
                "torch.Size([1, 1, 64]); use a 4-D input (N, C, H, W) such as an image, or "
                "Conv1d for a 1-D signal")
    assert str(window.report.problems[0]) == expected
    assert "expects a 4-D input" in panel.shape_label.text()
    assert panel.signal_shape.property("invalid") is True
    assert "Conv1d for a 1-D signal" in panel.signal_shape.toolTip()
    click_row(qtbot, window, 0)
    assert window.form.problems_label.isVisibleTo(window.form)
    assert "expects a 4-D input" in window.form.problems_label.text()
    assert expected in window.banner.text()
    qtbot.keyClick(panel.source, Qt.Key.Key_Z, UNDO)
    assert window.report.ok and panel.signal_shape.property("invalid") is False


# -- input files -----------------------------------------------------------------------------
def test_npy_of_the_wrong_dtype_or_shape_is_shown_on_the_input_field(qtbot, window, tmp_path):
    complex_npy = tmp_path / "complex.npy"
    np.save(complex_npy, np.zeros((1, 1, 28, 28), dtype=np.complex64))
    flat_npy = tmp_path / "flat.npy"
    np.save(flat_npy, np.zeros(28, dtype=np.float32))
    good_npy = tmp_path / "good.npy"
    np.save(good_npy, np.ones((1, 1, 28, 28), dtype=np.float64))
    panel = window.input_panel
    panel.source.setFocus()
    qtbot.keyClicks(panel.source, ".npy")
    assert panel.pages.currentIndex() == 3
    for path, words in ((complex_npy, "dtype complex64 is not numeric; save float32 values"),
                        (flat_npy, "array has shape [28]; expected (N, C, L), (N, C, H, W) "
                                   "or (N, C, D, H, W)")):
        panel.npy_path.setFocus()
        panel.npy_path.selectAll()
        qtbot.keyClicks(panel.npy_path, str(path))
        qtbot.keyClick(panel.npy_path, Qt.Key.Key_Return)
        assert window.pipeline.config.input.path == str(path)
        assert words in panel.shape_label.text()
        assert panel.npy_path.property("invalid") is True
        assert words in panel.npy_path.toolTip()
        assert window.status.state == "invalid" and words in window.banner.text()
    drop(window, good_npy)  # dropping a good one fixes it
    assert panel.npy_path.property("invalid") is False
    assert "torch.Size([1, 1, 28, 28])" in panel.shape_label.text()
    assert window.status.state == "ready"
    assert window.last_result.config.input.path == str(good_npy)


def test_a_file_that_is_not_an_image_and_an_image_too_large(qtbot, window, tmp_path,
                                                            monkeypatch):
    fake = tmp_path / "photo.png"
    fake.write_text("this is text, not a PNG", encoding="utf-8")
    drop(window, fake)
    panel = window.input_panel
    assert window.pipeline.config.input.path == str(fake)
    assert "photo.png: not an image (PNG, JPEG or BMP expected)" in panel.shape_label.text()
    assert panel.image_choice.property("invalid") is True
    assert "not an image" in panel.image_choice.toolTip()
    assert window.status.state == "invalid" and "not an image" in window.banner.text()

    monkeypatch.setattr("convexplorer.engine.inputs.MAX_IMAGE_PIXELS", 30 * 30)
    big = tmp_path / "big.png"
    Image.new("L", (40, 40), 128).save(big)
    drop(window, big)
    assert "image is 40x40, larger than 900 pixels; resize it first" in panel.shape_label.text()
    assert panel.image_choice.property("invalid") is True
    assert window.status.state == "invalid"
    small = tmp_path / "small.png"
    Image.new("L", (20, 20), 128).save(small)
    drop(window, small)
    assert panel.image_choice.property("invalid") is False
    assert window.status.state == "ready"


def test_a_random_input_too_large_to_hold_is_refused_in_the_panel(qtbot, window):
    panel = window.input_panel
    panel.source.setFocus()
    qtbot.keyClicks(panel.source, "Random")
    runs = window.runner.runs_started
    edit = panel.random_shape
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "64, 64, 1024, 1024")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert "has more than 268435456 values; use a smaller shape" in panel.shape_label.text()
    assert edit.property("invalid") is True
    assert window.runner.runs_started == runs


# -- config files ----------------------------------------------------------------------------
BAD_CONFIGS = {
    "newer version": ({"version": 9, "layers": []},
                      "config version 9 is newer than this convexplorer reads (version 1)"),
    "malformed JSON": ('{"layers": [', "not valid JSON (line 1"),
    "unknown key": ({"layers": [{"type": "Conv2d", "kernal_size": 3}]},
                    "unknown key 'kernal_size'; did you mean 'kernel_size'?"),
    "unknown layer type": ({"layers": [{"type": "Conv4d"}]},
                           'unknown layer type "Conv4d"; known types: Conv1d, Conv2d'),
}


def write_config(tmp_path, case: str):
    data, words = BAD_CONFIGS[case]
    path = tmp_path / f"{case.replace(' ', '_')}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path, words


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_on_the_command_line_opens_the_example_with_a_message(qtbot, tmp_path,
                                                                         capsys, case):
    path, words = write_config(tmp_path, case)
    window = open_main_window(str(path), sync=True)
    qtbot.addWidget(window)
    try:
        assert window.pipeline.config.name == "MNISTConvNet" and window.pipeline.path is None
        (box,) = message_boxes(window)
        assert box.windowTitle() == "Cannot open config" and not box.isModal()
        assert words in box.text() and "Opened the bundled example instead" in box.text()
        err = capsys.readouterr().err
        assert err.startswith(f"convexplorer: {path}: ") and words in err
        assert "Traceback" not in err
    finally:
        window.close()
    assert not runner_threads()


def test_bad_configs_dropped_on_the_window_leave_the_work_untouched(qtbot, window, tmp_path):
    window.pipeline.set_seed(7)  # unsaved work
    click_row(qtbot, window, 3)
    before = window.pipeline.config
    for case in BAD_CONFIGS:
        path, words = write_config(tmp_path, case)
        drop(window, path)
        boxes = [b for b in message_boxes(window) if words in b.text()]
        assert len(boxes) == 1, case
        assert "The current stack is unchanged." in boxes[0].text()
        assert window.pipeline.config == before and window.pipeline.dirty
        assert window.pipeline.selection == 3 and window.pipeline.can_undo
        assert words in window.statusBar().currentMessage()
    assert window.status.state == "ready" and window.last_result.config.seed == 7


# -- absurd numbers (issue 16, item 6) -------------------------------------------------------
@pytest.mark.parametrize("value", [10**400, 2**31, 1e309, float("nan"), 2.5],
                         ids=["10**400", "2**31", "1e309", "nan", "2.5"])
def test_absurd_numbers_from_a_file_are_flagged_without_an_error_dialog(qtbot, window, value):
    """10**400 or 2**31 in a spin box raised OverflowError on every refresh ("Unexpected
    error"), leaving the stack list out of step with the pipeline."""
    window.errors.install()
    try:
        config = load_config(example_path("mnist_convnet.json"))
        layers = list(config.layers)
        layers[0] = layers[0].with_params(stride=value, out_channels=value)
        window.open_config(replace(config, layers=tuple(layers)))
        click_row(qtbot, window, 0)
        click_row(qtbot, window, 3)
        click_row(qtbot, window, 0)
        assert window.errors.reported == 0
    finally:
        window.errors.uninstall()
    for name in ("stride", "out_channels"):
        editor = window.form.editor(name)
        assert editor.invalid, name
        assert len(plain(editor.toolTip())) < 1000
    assert window.layer_list.view.count() == len(window.pipeline.config.layers)
    assert "conv1 (Conv2d)" in window.banner.text()


def test_spin_boxes_hold_the_catalogue_maximum(qtbot):
    for lt, p in numeric_params():
        editor = ParamEditor(p, lt.dims)
        qtbot.addWidget(editor)
        for spin in editor.spins:
            assert spin.maximum() == p.maximum, (lt.name, p.name)
