"""Explain panel: the selected layer explained with the user's numbers, plus drawings."""

from __future__ import annotations

from convexplorer.gui.panels.explain_view import (
    EXTRA,
    OUTSIDE,
    PAD,
    READ,
    TAP,
    UNREAD,
    ExplainPanel,
    coverage_strip,
    footprint_image,
)
from convexplorer.model.explain import window_dims
from convexplorer.model.shapes import infer

from .helpers import L, load_png, show


def test_follows_the_selection_and_uses_the_users_numbers(qtbot, dgc_result):
    panel = show(qtbot, ExplainPanel())
    panel.set_result(dgc_result, None)
    assert panel.chooser.keys() == [0, 1, 2, 3, 4]
    panel.set_selection(1)  # Conv2d(4, 4, 3, dilation=2) on 48x48
    text = panel.text.toPlainText()
    assert "dilated (Conv2d): torch.Size([1, 4, 48, 48]) \u2192 torch.Size([1, 4, 44, 44])" in text
    assert "floor((48 + 2*0 - 2*(3-1) - 1) / 1) + 1" in text
    assert "dilation 2 spreads the 3 taps over 5 rows" in text
    panel.set_selection(2)
    assert "groups = in_channels = 4: a depthwise convolution" in panel.text.toPlainText()
    panel.set_selection(3)
    text = panel.text.toPlainText()
    assert "ceil((42 + 2*0 - 1*(3-1) - 1) / 2) + 1" in text
    assert "ceil rounds 20 up to 21" in text
    assert len(panel.strips) == 2  # one coverage strip per spatial dimension


def test_works_from_the_shape_report_alone_before_any_run(qtbot):
    report = infer([L("Conv1d", out_channels=2, kernel_size=3, stride=2), L("ReLU")],
                   (1, 1, 10))
    panel = show(qtbot, ExplainPanel())
    panel.set_result(None, report)
    panel.set_selection(0)
    assert "input position 9 is never read" in panel.text.toPlainText()
    panel.set_selection(1)
    assert "has no sliding window to explain" in panel.text.toPlainText()


def test_a_layer_with_a_problem_shows_the_problem(qtbot):
    report = infer([L("Conv2d", out_channels=2, kernel_size=9)], (1, 1, 5, 5))
    panel = show(qtbot, ExplainPanel())
    panel.set_result(None, report)
    assert "larger than the padded input" in panel.text.toPlainText()


def test_export_is_what_the_panel_shows(qtbot, dgc_result, tmp_path):
    panel = show(qtbot, ExplainPanel(), (900, 600))
    panel.set_result(dgc_result, None)
    assert panel.export_image(tmp_path / "explain.png")
    image = load_png(tmp_path / "explain.png")
    assert (image.width(), image.height()) == (900, 600)


def test_footprint_drawing_has_holes_between_dilated_taps():
    img = footprint_image((3, 3), (2, 2))
    assert img.shape == (5, 5)
    assert img[0, 0] == img[2, 4] == 1.0 and img[1, 1] == img[0, 1] < 1.0
    assert footprint_image((4,), (1,)).shape == (1, 4)


def test_coverage_strip_marks_unread_input_and_ceils_extra_window():
    floor = infer([L("MaxPool1d", kernel_size=2)], (1, 1, 7)).layers[0]
    strip, left = coverage_strip(window_dims(floor)[0])
    assert left == 0 and strip.shape == (1 + 3, 7, 3)
    assert [tuple(c) for c in strip[0]] == [READ] * 6 + [UNREAD]
    assert tuple(strip[3, 4]) == TAP and tuple(strip[3, 5]) == TAP
    ceil = infer([L("MaxPool1d", kernel_size=2, ceil_mode=True)], (1, 1, 7)).layers[0]
    strip, left = coverage_strip(window_dims(ceil)[0])
    assert ceil.output_shape[2] == 4 and strip.shape == (1 + 4, 8, 3)
    assert tuple(strip[0, 6]) == READ and tuple(strip[0, 7]) == OUTSIDE
    assert tuple(strip[4, 6]) == EXTRA == tuple(strip[4, 7])  # the partial extra window
    padded = infer([L("MaxPool1d", kernel_size=2, padding=1)], (1, 1, 6)).layers[0]
    strip, left = coverage_strip(window_dims(padded)[0])
    assert left == -1 and tuple(strip[0, 0]) == PAD == tuple(strip[0, 7])


def test_long_inputs_draw_a_bounded_strip_of_their_end():
    info = infer([L("Conv1d", out_channels=1, kernel_size=3, stride=2)], (1, 1, 200_001)).layers[0]
    strip, left = coverage_strip(window_dims(info)[0])
    assert strip.shape == (1 + 32, 1024, 3) and left == 200_001 - 1024
    assert tuple(strip[0, -1]) == READ and tuple(strip[-1, -1]) == TAP  # last window at the end


def formula_blocks(panel):
    """(text, visual lines) of every line of the formulas shown."""
    doc = panel.text.document()
    out = []
    block = doc.begin()
    while block.isValid():
        if "floor" in block.text() or block.text().lstrip().startswith("= "):
            out.append((block.text(), block.layout().lineCount()))
        block = block.next()
    return out


def test_formulas_break_at_their_equals_signs_never_mid_expression(qtbot, mnist_result):
    panel = show(qtbot, ExplainPanel(), size=(760, 600))
    panel.set_result(mnist_result, None)
    panel.set_selection(0)
    qtbot.waitUntil(lambda: panel.formula_width() == panel._width)
    for width in (760, 560):
        panel.resize(width, 600)
        qtbot.waitUntil(lambda: panel.formula_width() == panel._width)
        blocks = formula_blocks(panel)
        assert blocks
        assert all(lines == 1 for _text, lines in blocks), blocks  # Qt wrapped none itself
        assert all(len(text) <= panel._width for text, _lines in blocks)
        worked = [text for text, _ in blocks if "28 + 2*0" in text]
        assert worked and all(text.lstrip().startswith("= floor(") for text in worked)


def test_wrap_formula():
    from convexplorer.gui.panels.explain_view import wrap_formula

    line = "H_out = floor((28 + 2*1 - 2*(5-1) - 1) / 2) + 1 = floor(21 / 2) + 1 = 11"
    assert wrap_formula(line, 80) == [line]
    assert wrap_formula(line, 50) == ["H_out = floor((28 + 2*1 - 2*(5-1) - 1) / 2) + 1",
                                      "      = floor(21 / 2) + 1 = 11"]
    assert wrap_formula("      = floor(23 / 1) + 1 = 23 + 1 = 24", 30) == [
        "      = floor(23 / 1) + 1", "      = 23 + 1 = 24"]
    # a part too long by itself breaks before an operator, never inside a term
    assert wrap_formula("W_out = floor((W_in + 2*padding - dilation*(kernel_size-1) - 1) / "
                        "stride) + 1", 50) == ["W_out = floor((W_in + 2*padding",
                                               "          - dilation*(kernel_size-1) - 1)",
                                               "          / stride) + 1"]
    assert wrap_formula("weight: torch.Size([10, 1, 5, 5]) = 250 weights", 44) == [
        "weight: torch.Size([10, 1, 5, 5])", "    = 250 weights"]


def test_a_long_line_without_an_equals_sign_breaks_at_its_operators():
    from convexplorer.gui.panels.explain_view import wrap_formula

    line = "torch.cat([previous (1, 8, 28, 28), down1 (1, 8, 28, 28)], dim=1) + a + b + c"
    lines = wrap_formula(line, 40)
    assert len(lines) > 1 and "".join(s.strip() for s in lines).replace(" ", "") == \
        line.replace(" ", "")
