"""Each kind of bad config comes back as a Problem naming the layer and the field, saying what
is wrong and how to fix it, in words a student can act on. No torch here: formulas only."""

from __future__ import annotations

import pytest

from convexplorer.model.shapes import infer
from convexplorer.model.spec import LayerSpec
from convexplorer.model.validate import Problem, check_layer, or_list

L = LayerSpec.make


def problems(layers, shape):
    report = infer(layers, shape)
    assert not report.ok
    return report.problems


def only(layers, shape) -> Problem:
    found = problems(layers, shape)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


@pytest.mark.parametrize("layers, shape, layer, field, words, fix_words", [
    # the three examples the issue gives
    ([L("Conv2d", out_channels=6, kernel_size=3, groups=3)], (1, 4, 8, 8), 0, "groups",
     ["groups=3 must divide in_channels=4"], ["try 1 or 2"]),
    ([L("Conv2d", in_channels=4, out_channels=4, kernel_size=3, groups=3)], (1, 4, 8, 8), 0,
     "groups", ["groups=3 must divide in_channels=4 and out_channels=4"], ["try 1, 2 or 4"]),
    ([L("Conv2d", in_channels=3, out_channels=6, kernel_size=3)], (1, 8, 8, 8), 0,
     "in_channels", ["in_channels=3 but the previous layer gives 8 channels"],
     ["set in_channels to 8", "clear it"]),
    ([L("Conv2d", out_channels=6, kernel_size=15)], (1, 8, 12, 12), 0, "kernel_size",
     ["kernel 15 is larger than the padded input 12"], ["kernel_size <= 12", "padding"]),
    # values torch rejects with obscure messages
    ([L("Conv2d", out_channels=2, kernel_size=3, stride=0)], (1, 1, 8, 8), 0, "stride",
     ["stride=0 must be at least 1"], ["use 1 or more"]),
    ([L("MaxPool2d", kernel_size=2, stride=(1, 0))], (1, 1, 8, 8), 0, "stride",
     ["stride=(1, 0) must be at least 1"], ["1 or more"]),
    ([L("Conv1d", out_channels=-4, kernel_size=3)], (1, 1, 8), 0, "out_channels",
     ["out_channels=-4 must be at least 1"], []),
    ([L("Conv1d", out_channels=4, kernel_size=3, padding=-1)], (1, 1, 8), 0, "padding",
     ["padding=-1 must be at least 0"], ["0 or more"]),
    ([L("ConvTranspose2d", out_channels=2, kernel_size=3, stride=2, output_padding=2)],
     (1, 1, 4, 4), 0, "output_padding", ["output_padding=2 must be smaller than stride"],
     ["at most 1"]),
    ([L("Conv2d", out_channels=2, kernel_size=3, stride=2, padding="same")], (1, 1, 8, 8), 0,
     "padding", ["padding='same' needs stride=1"], ["stride 1"]),
    ([L("MaxPool2d", kernel_size=3, padding=2)], (1, 1, 8, 8), 0, "padding",
     ["padding=2 is more than half of kernel_size=3"], ["padding 1 or less"]),
    ([L("MaxPool1d", kernel_size=3, padding=2, dilation=2)], (1, 1, 8), 0, "padding",
     ["more than half of kernel_size=3"], []),
    ([L("AvgPool1d", kernel_size=4, stride=4)], (1, 1, 3), 0, "kernel_size",
     ["kernel 4 is larger than the padded input 3"], ["kernel_size <= 3", "ceil_mode=True"]),
    ([L("MaxPool2d", kernel_size=3, dilation=2, stride=1)], (1, 1, 3, 3), 0, "kernel_size",
     ["dilated kernel 5 (kernel 3, dilation 2) is larger than the padded input 3"],
     ["kernel_size <= 2"]),
    ([L("Conv1d", out_channels=2, kernel_size=3, padding=5, padding_mode="reflect")],
     (1, 1, 4), 0, "padding", ["padding_mode='reflect'", "padding 5", "size 4"],
     ["padding below 4"]),
    ([L("Conv1d", out_channels=2, kernel_size=4, padding="same", padding_mode="circular")],
     (1, 1, 1), 0, "padding", ["padding_mode='circular'", "'same' pads 2"], ["'zeros'"]),
    # wrong rank, unpool without pool: the layer as a whole, with a fix
    ([L("Conv2d", out_channels=2, kernel_size=3)], (1, 1, 8), 0, None,
     ["expects a 4-D input (N, C, H, W)", "torch.Size([1, 1, 8])"], ["Conv1d"]),
    ([L("Conv1d", out_channels=2, kernel_size=3)], (1, 1, 8, 8), 0, None,
     ["expects a 3-D input (N, C, L)"], ["use Conv2d"]),
    ([L("Flatten"), L("MaxPool1d", kernel_size=2)], (1, 2, 8), 1, None,
     ["expects a 3-D input", "torch.Size([1, 16])"], ["Flatten/Linear"]),
    ([L("MaxUnpool2d", kernel_size=2)], (1, 1, 8, 8), 0, None,
     ["needs the indices of an earlier MaxPool2d with return_indices=True"],
     ["return_indices"]),
    ([L("MaxPool2d", kernel_size=2), L("MaxUnpool2d", kernel_size=2)],
     (1, 1, 8, 8), 1, None, ["needs the indices of an earlier MaxPool2d"], []),
    ([L("MaxPool2d", kernel_size=2, return_indices=True), L("MaxUnpool2d", kernel_size=2),
      L("MaxUnpool2d", kernel_size=2)], (1, 1, 8, 8), 2, None,
     ["needs the indices of an earlier MaxPool2d"], []),
    ([L("MaxPool2d", kernel_size=2, return_indices=True), L("Conv2d", out_channels=3,
                                                           kernel_size=1),
      L("MaxUnpool2d", kernel_size=2)], (1, 8, 8, 8), 2, None,
     ["gets torch.Size([1, 3, 4, 4])", "indices of 0 (MaxPool2d) are torch.Size([1, 8, 4, 4])"],
     ["keep the shape"]),
    ([L("MaxPool2d", kernel_size=2, return_indices=True), L("MaxUnpool2d", kernel_size=3)],
     (1, 1, 8, 8), 1, "kernel_size", ["do not undo 0 (MaxPool2d)"], ["the pool's kernel_size"]),
    # types and missing values
    ([L("Conv2d", out_channels=2, kernel_size="3")], (1, 1, 8, 8), 0, "kernel_size",
     ["kernel_size must be an int or a tuple of 2 ints, got '3'"], []),
    ([L("Conv2d", out_channels=2, kernel_size=(3, 3, 3))], (1, 1, 8, 8), 0, "kernel_size",
     ["has 3 values but the layer has 2 dimensions"], ["one int or 2 ints"]),
    ([L("Conv2d", out_channels=2, kernel_size=3, bias="yes")], (1, 1, 8, 8), 0, "bias",
     ["bias must be true or false"], []),
    ([L("Conv2d", out_channels=2, kernel_size=3, padding="full")], (1, 1, 8, 8), 0, "padding",
     ["'same' or 'valid'"], []),
    ([L("Conv2d", out_channels=2, kernel_size=3, padding_mode="mirror")], (1, 1, 8, 8), 0,
     "padding_mode", ["'reflect'"], []),
    ([L("Conv2d", kernel_size=3)], (1, 1, 8, 8), 0, "out_channels",
     ["out_channels is required"], ["set a value"]),
    ([L("ReLU", inplac=True)], (1, 1, 8, 8), 0, "inplac", ["ReLU has no keyword 'inplac'"],
     ["valid keywords: inplace"]),
    ([L("Conv4d", out_channels=2)], (1, 1, 8, 8), 0, None, ["unknown layer type 'Conv4d'"],
     ["Conv2d"]),
    ([L("Dropout", p=1.5)], (1, 4), 0, "p", ["p=1.5 must be at most 1"], ["1 or less"]),
    ([L("Linear", in_features=5, out_features=2)], (1, 8, 12), 0, "in_features",
     ["in_features=5 but the previous layer gives 12 features"], ["set in_features to 12"]),
    ([L("Flatten", start_dim=3, end_dim=1)], (1, 8, 12, 12), 0, "start_dim",
     ["start_dim=3 comes after end_dim=1"], []),
    ([L("BatchNorm2d")], (1, 8, 1, 1), 0, None, ["more than 1 value per channel"],
     ["batch of 2"]),
    ([L("BatchNorm1d", num_features=3)], (2, 8), 0, "num_features",
     ["num_features=3 but the previous layer gives 8 channels"], []),
    ([L("ConvTranspose1d", out_channels=2, kernel_size=2, padding=1)], (1, 1, 1), 0, "padding",
     ["output size would be 0"], ["reduce padding"]),
])
def test_problem_names_layer_field_and_fix(layers, shape, layer, field, words, fix_words):
    p = only(layers, shape)
    assert p.layer == layer and p.field == field, str(p)
    assert p.label == f"{layer} ({layers[layer].type})"
    for w in words:
        assert w in p.message, (w, str(p))
    for w in fix_words:
        assert w in p.fix, (w, str(p))
    if field is None:
        assert p.fix, str(p)
    assert "Traceback" not in str(p) and "aten" not in str(p)


def test_problem_text_forms():
    p = only([L("Conv2d", name="conv1", out_channels=2, kernel_size=3, stride=0)], (1, 1, 8, 8))
    assert str(p) == "conv1 (Conv2d) stride: stride=0 must be at least 1; use 1 or more"
    assert p.short == "stride=0 must be at least 1; use 1 or more"


def test_input_shape_problems():
    for shape in [(), (4,), (1, 0, 5), (1, -2, 5), (1, 1.5, 4)]:
        report = infer([L("ReLU")], shape)
        assert [p.field for p in report.problems] == ["shape"], shape
        assert report.problems[0].layer is None and report.problems[0].label == "input"
        assert report.layers[0].output_shape is None
    p = infer([L("ReLU")], (2**40, 2**40)).problems[0]
    assert "more than torch can hold" in p.message


def test_later_layers_wait_for_a_broken_one():
    report = infer([L("Conv2d", out_channels=2, kernel_size=30), L("ReLU"),
                    L("Conv2d", out_channels=3, kernel_size=1)], (1, 1, 8, 8))
    assert [bool(i.problems) for i in report.layers] == [True, False, False]
    assert [i.output_shape for i in report.layers] == [None, None, None]
    assert len(report.problems) == 1


def test_every_bad_value_is_reported_not_only_the_first():
    found = problems([L("Conv2d", out_channels=0, kernel_size=-1, stride=0)], (1, 1, 8, 8))
    assert {p.field for p in found} == {"out_channels", "kernel_size", "stride"}


def test_check_layer_without_shape():
    assert check_layer(0, L("Conv2d", out_channels=4, kernel_size=3), "0 (Conv2d)") == []
    (p,) = check_layer(1, L("Conv2d", out_channels=4, kernel_size=3, groups=3), "x")
    assert p.field == "groups" and "out_channels=4" in p.message and p.fix == "try 1, 2 or 4"
    assert p.layer == 1 and p.label == "x"


def test_or_list():
    assert or_list([]) == "" and or_list([1]) == "1" and or_list([1, 2]) == "1 or 2"
    assert or_list(range(1, 4)) == "1, 2 or 3"
