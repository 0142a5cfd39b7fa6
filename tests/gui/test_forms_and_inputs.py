"""The generated form on every kind of parameter, and the input panel, driven like a user."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt

from convexplorer.gui.input_panel import parse_shape
from convexplorer.gui.layer_list import drop_destination, key_params_text, new_layer_spec
from convexplorer.gui.param_editor import FloatSpinBox, ParamEditor
from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.spec import UNSET, LayerSpec

from .window_helpers import click_row, palette_add, shapes_row, type_into_spin


@pytest.mark.parametrize("type_name", sorted(CATALOGUE))
def test_every_layer_type_gets_a_form_and_a_valid_new_spec(qtbot, type_name):
    lt = CATALOGUE[type_name]
    spec = new_layer_spec(type_name)
    from convexplorer.model.validate import check_layer

    assert check_layer(0, spec, "x") == []
    editors = [ParamEditor(p, lt.dims) for p in lt.params]
    for editor, p in zip(editors, lt.params):
        qtbot.addWidget(editor)
        editor.set_value(spec.value(p.name), spec.is_set(p.name), None)
        value = editor.value()
        if value is not UNSET:  # what the editor reads back is valid for torch
            assert check_layer(0, spec.with_params(**{p.name: value}), "x") == [], p.name


def test_adaptive_output_size_none_per_dimension(qtbot, window):
    click_row(qtbot, window, 5)
    palette_add(qtbot, window, "AdaptiveAvgPool2d")
    editor = window.form.editor("output_size")
    editor.lock.click()  # per dimension
    type_into_spin(qtbot, editor.spins[0], "2")
    editor.spins[1].setValue(editor.spins[1].minimum())  # "None": keep the input's size
    assert editor.spins[1].text() == "None"
    assert window.pipeline.config.layers[6].value("output_size") == (2, None)
    assert shapes_row(window, 6)["Output shape"] == "torch.Size([1, 20, 2, 4])"


def test_batchnorm_floats_and_nullable_momentum(qtbot, window):
    click_row(qtbot, window, 0)
    palette_add(qtbot, window, "BatchNorm2d")
    form = window.form
    eps = form.editor("eps")
    assert isinstance(eps.spins[0], FloatSpinBox)
    assert eps.spins[0].text() == "1e-05"
    type_into_spin(qtbot, eps.spins[0], "0.001")
    assert window.pipeline.config.layers[1].value("eps") == pytest.approx(0.001)
    momentum = form.editor("momentum")
    assert not momentum.toggle.isChecked() and momentum.spins[0].text() == "0.1"
    momentum.toggle.click()
    assert window.pipeline.config.layers[1].value("momentum") is None
    nf = form.editor("num_features")
    assert nf.toggle.isChecked() and nf.spins[0].value() == 10  # auto: follows conv1
    assert "follow" in nf.toggle.toolTip().lower()
    assert window.report.ok


def test_avgpool_divisor_override_toggle(qtbot, window):
    click_row(qtbot, window, 2)
    palette_add(qtbot, window, "AvgPool2d")
    editor = window.form.editor("divisor_override")
    assert editor.toggle.isChecked()  # None, the default
    editor.toggle.click()
    type_into_spin(qtbot, editor.spins[0], "3")
    assert window.pipeline.config.layers[3].value("divisor_override") == 3


def test_random_and_signal_inputs(qtbot, window):
    panel = window.input_panel
    panel.source.setFocus()
    qtbot.keyClicks(panel.source, "Random")
    assert window.pipeline.config.input.source == "random"
    edit = panel.random_shape
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "2, 1, 32, 32")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.pipeline.config.input.shape == (2, 1, 32, 32)
    assert shapes_row(window, 0)["Output shape"] == "torch.Size([2, 10, 28, 28])"
    assert window.last_result.input.shape == (2, 1, 32, 32)
    edit.selectAll()
    qtbot.keyClicks(edit, "two by two")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert "c62828" in edit.styleSheet()  # marked, and nothing changed
    assert window.pipeline.config.input.shape == (2, 1, 32, 32)

    panel.source.setFocus()
    qtbot.keyClick(panel.source, Qt.Key.Key_Down)  # the next source: Signal (1-D)
    assert window.pipeline.config.input.source == "signal"
    assert window.pipeline.config.input.shape == (1, 1, 64)
    # a 2-D stack on a 1-D signal: the first layer says why and what to do
    problem = window.report.layers[0].problems[0]
    assert "4-D" in problem.message
    assert "torch.Size([1, 1, 64])" in window.input_panel.shape_label.text()


def test_parse_shape():
    assert parse_shape("1, 3, 32, 32") == (1, 3, 32, 32)
    assert parse_shape("[1,1,28,28]") == (1, 1, 28, 28)
    assert parse_shape("1x2x64") == (1, 2, 64)
    assert parse_shape("1") is None
    assert parse_shape("1, 0, 5") is None
    assert parse_shape("a, b") is None


def test_key_params_and_drop_destination():
    spec = LayerSpec.make("Conv2d", out_channels=10, kernel_size=(5, 3), padding="same")
    assert key_params_text(spec) == "out_channels=10, kernel_size=(5, 3), padding='same'"
    assert key_params_text(LayerSpec.make("ReLU")) == ""
    assert drop_destination(0, 4, 6) == 3  # dropped before row 4: ends up at 3
    assert drop_destination(4, 1, 6) == 1
    assert drop_destination(2, 6, 6) == 5  # on the empty area below: the end


def test_gui_modules_do_not_import_torch():
    code = ("import sys; import convexplorer.gui.app, convexplorer.gui.main_window; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def _type_into_line(qtbot, line, text: str) -> None:
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, text)


def test_numbers_line_normalized_shape_and_scale_factor(qtbot, window):
    click_row(qtbot, window, 0)  # conv1: (1, 10, 24, 24)
    palette_add(qtbot, window, "LayerNorm")
    editor = window.form.editor("normalized_shape")
    assert editor.toggle.isChecked() and editor.line.text() == "24"  # auto: the last dimension
    editor.toggle.click()
    _type_into_line(qtbot, editor.line, "24, 24")
    assert window.pipeline.config.layers[1].value("normalized_shape") == (24, 24)
    assert shapes_row(window, 1)["Params"] == "1,152"  # weight and bias of (24, 24)
    _type_into_line(qtbot, editor.line, "24, x")
    assert editor.invalid and "separated by commas" in editor.problem
    # keystroke by keystroke, as a spin box: the last text that read ("24, ") holds
    assert window.pipeline.config.layers[1].value("normalized_shape") == 24
    _type_into_line(qtbot, editor.line, "10, 24, 24")
    assert not editor.invalid and window.report.layers[1].ok

    palette_add(qtbot, window, "Upsample")
    scale = window.form.editor("scale_factor")
    assert scale.line.text() == "2"  # the new layer's value
    _type_into_line(qtbot, scale.line, "1.5")
    assert window.pipeline.config.layers[2].value("scale_factor") == 1.5
    assert scale.line.text() == "1.5"
    assert shapes_row(window, 2)["Output shape"] == "torch.Size([1, 10, 36, 36])"
    corners = window.form.editor("align_corners")
    assert corners.toggle.isChecked() and not corners.check.isEnabled()  # None
    corners.toggle.click()  # True with mode='nearest': torch refuses it, and so does the form
    assert window.pipeline.config.layers[2].value("align_corners") is False
    assert corners.invalid and "interpolating modes" in corners.problem


def test_padding_layer_sides(qtbot, window):
    click_row(qtbot, window, 0)
    palette_add(qtbot, window, "ZeroPad2d")
    editor = window.form.editor("padding")
    assert [s.prefix() for s in editor.spins] == ["\u2190 ", "\u2192 ", "\u2191 ", "\u2193 "]
    assert editor.spins[2].toolTip().startswith("top: How many cells")
    editor.lock.click()  # per side
    type_into_spin(qtbot, editor.spins[3], "3")
    assert window.pipeline.config.layers[1].value("padding") == (1, 1, 1, 3)
    assert shapes_row(window, 1)["Output shape"] == "torch.Size([1, 10, 28, 26])"


def test_parse_numbers():
    from convexplorer.gui.param_editor import parse_numbers

    assert parse_numbers("2, 3", True) == (2, 3)
    assert parse_numbers("(4, -1)", True) == (4, -1)
    assert parse_numbers("2", True) == 2 and parse_numbers("2", True, tuple_only=True) == (2,)
    assert parse_numbers("1.5 2", False) == (1.5, 2.0)
    for bad in ("", "a", "1.5", "(,)"):
        with pytest.raises(ValueError):
            parse_numbers(bad, True)
    with pytest.raises(ValueError):
        parse_numbers("nan", False)


def test_random_volume_input_and_a_conv3d(qtbot, window):
    panel = window.input_panel
    panel.source.setFocus()
    qtbot.keyClicks(panel.source, "Random")
    edit = panel.random_shape
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "1, 1, 4, 10, 10")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.pipeline.config.input.shape == (1, 1, 4, 10, 10)
    assert "torch.Size([1, 1, 4, 10, 10])" in panel.shape_label.text()
    problem = window.report.layers[0].problems[0]  # Conv2d on a volume: says what to use
    assert "Conv3d for a volume (N, C, D, H, W)" in problem.fix
    while window.pipeline.config.layers:  # an empty stack, then a Conv3d from the palette
        window.pipeline.select(0)
        window.remove_layer()
    palette_add(qtbot, window, "Conv3d")
    assert shapes_row(window, 0)["Output shape"] == "torch.Size([1, 8, 2, 8, 8])"
    qtbot.waitUntil(lambda: window.last_result is not None and
                    window.last_result.layers[0].activation.shape == (1, 8, 2, 8, 8))
