"""Skip connections in the model (no torch, no Qt): what ``from`` may name and the field errors
when it names nothing earlier, the merges' shape rules, receptive fields that unite, and
references that follow a stack's edits (rename, insert, remove, move) with undo."""

from __future__ import annotations

import pytest

from convexplorer.model.config_io import ConfigError, loads_config
from convexplorer.model.explain import explain, receptive_boxes
from convexplorer.model.merges import (
    broadcast,
    default_from,
    follow_references,
    reference_choices,
    resolve,
    union_field,
)
from convexplorer.model.pipeline import Pipeline
from convexplorer.model.pytorch_class import identifier_names
from convexplorer.model.pytorch_export import module_names
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, LayerSpec

L = LayerSpec.make


def frm(type_name: str, source, name: str | None = None, **kw) -> LayerSpec:
    return L(type_name, name, **{"from": source}, **kw)


CONV = dict(out_channels=4, kernel_size=3, padding=1)
BLOCK = [L("Conv2d", "stem", **CONV), L("ReLU", "block_in"), L("Conv2d", "conv1", **CONV),
         L("BatchNorm2d", "bn1"), frm("Add", "block_in", "res"), L("ReLU", "out")]


def problems(layers, shape=(1, 2, 8, 8)):
    return [p for p in infer(layers, shape).problems]


# -- references ----------------------------------------------------------------------------------

@pytest.mark.parametrize("ref, target", [("block_in", 1), (1, 1), ("1", 1), ("input", None),
                                         (0, 0), ("stem", 0)])
def test_from_names_an_earlier_layer_by_name_index_or_input(ref, target):
    layers = BLOCK[:4] + [frm("Add", ref, "res")]
    assert resolve(layers, 4, ref) == (target,)
    report = infer(layers, (1, 2, 8, 8) if target is not None else (1, 4, 8, 8))
    if target is not None:
        assert report.ok and report.layers[4].sources == (target,)


def test_a_name_finds_the_nearest_earlier_layer_of_that_name():
    layers = [L("ReLU", "a"), L("Tanh", "a"), frm("Add", "a"), L("ReLU", "a")]
    assert resolve(layers, 2, "a") == (1,)


@pytest.mark.parametrize("ref, words", [
    ("res", "is this layer itself"),
    (4, "is this layer itself"),
    ("out", "is layer 5, which comes after this layer"),
    (5, "is layer 5, which comes after this layer"),
    ("nowhere", "names no layer before this one"),
    (99, "names no layer before this one"),
])
def test_bad_references_are_field_errors_naming_the_layer_the_field_and_the_fix(ref, words):
    layers = BLOCK[:4] + [frm("Add", ref, "res"), L("ReLU", "out")]
    (p,) = problems(layers)
    assert (p.layer, p.label, p.field) == (4, "res (Add)", "from")
    assert words in p.message
    assert p.fix == "name a layer before it ('stem', 'block_in', 'conv1', 'bn1') or 'input'"
    assert str(p).startswith("res (Add) from: from=")


@pytest.mark.parametrize("value, words", [
    ([], "from needs at least one earlier layer"),
    (True, "must be a layer name, an index (0 or more) or 'input', got True"),
    (-1, "got -1"),
    ("", "got ''"),
    ([1, 2], "from takes one earlier layer, got 2"),
    (2.5, "got 2.5"),
])
def test_malformed_from_values_are_field_errors(value, words):
    (p,) = problems([L("Conv2d", **CONV), L("ReLU"), L("Tanh"), frm("Add", value)])
    assert p.field == "from" and words in p.message and p.fix


def test_a_reference_is_checked_even_when_an_earlier_layer_failed():
    layers = [L("Conv2d", out_channels=2, kernel_size=30), frm("Add", "ghost")]
    assert [p.field for p in problems(layers)] == ["kernel_size", "from"]


def test_config_files_read_from_and_keep_it():
    config = loads_config('{"layers": [{"type": "Conv2d", "name": "down1", "out_channels": 2, '
                          '"kernel_size": 1}, {"type": "Concat", "from": ["down1", "input"], '
                          '"dim": 1}, {"type": "Add", "name": "res1", "from": "down1"}]}')
    assert config.layers[1].value("from") == ("down1", "input")
    assert config.to_dict()["layers"][1] == {"type": "Concat", "from": ["down1", "input"],
                                             "dim": 1}
    with pytest.raises(ConfigError, match="unknown key 'form'; did you mean 'from'"):
        loads_config('{"layers": [{"type": "Add", "form": "x"}]}')


# -- shapes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, out", [
    ((1, 8, 4, 4), (1, 8, 4, 4), (1, 8, 4, 4)),
    ((2, 8, 4, 4), (2, 8, 1, 1), (2, 8, 4, 4)),
    ((2, 8, 1, 1), (2, 8, 4, 4), (2, 8, 4, 4)),
    ((2, 1, 4, 4), (1, 8, 1, 4), (2, 8, 4, 4)),
    ((3, 5), (2, 3, 5), (2, 3, 5)),
    ((1, 8, 4, 4), (1, 4, 4, 4), 1),
    ((1, 8, 4, 4), (1, 8, 4, 2), 3),
])
def test_broadcast_is_torchs_rule(a, b, out):
    assert broadcast(a, b) == out


def test_add_and_multiply_broadcast_and_say_where_they_clash():
    gate = [L("Conv2d", "feat", **CONV), L("AdaptiveAvgPool2d", output_size=1), L("Sigmoid"),
            frm("Multiply", "feat", "se")]
    info = infer(gate, (2, 2, 6, 6)).layers[3]
    assert info.output_shape == (2, 4, 6, 6) and (info.params, info.macs) == (0, 0)
    assert info.formula[0] == "[2, 4, 1, 1] × [2, 4, 6, 6] → [2, 4, 6, 6]"
    (p,) = problems([L("Conv2d", "a", **CONV), L("Conv2d", out_channels=3, kernel_size=1),
                     frm("Add", "a", "res")])
    assert p.field == "from" and p.message == (
        "from='a' gives [1, 4, 8, 8], which does not broadcast with the previous output "
        "[1, 3, 8, 8]: sizes 3 and 4 in dimension 1")
    assert p.fix == ("make the two outputs the same shape, or give one of them size 1 in "
                     "dimension 1 to stretch it")


def test_concat_sums_along_dim_and_checks_the_other_dims():
    layers = [L("Conv2d", "down1", **CONV), L("Conv2d", out_channels=3, kernel_size=1),
              frm("Concat", ["down1", "input"], "cat")]
    info = infer(layers, (1, 2, 8, 8)).layers[2]
    assert info.output_shape == (1, 9, 8, 8) and info.formula == ["dimension 1: 3 + 4 + 2 = 9"]
    last = infer(layers[:2] + [frm("Concat", ["down1"], dim=-1)], (1, 2, 8, 8))
    assert not last.ok and last.problems[0].field == "from"
    assert "only dimension 3 (dim=-1) may differ" in last.problems[0].message
    same = infer([L("Conv2d", "a", **CONV), frm("Concat", ["a", 0], dim=-1)], (1, 2, 8, 5))
    assert same.layers[1].output_shape == (1, 4, 8, 15)
    (p,) = problems([L("Conv2d", **CONV), frm("Concat", [0], dim=4)])
    assert (p.field, p.message, p.fix) == ("dim", "dim=4 is out of range for 4-D outputs",
                                           "use -4 to 3")
    (p,) = problems([L("Flatten"), frm("Concat", ["input"])])
    assert "torch.cat joins outputs with the same number of dimensions" in p.message
    (p,) = problems([L("MaxPool2d", kernel_size=2), frm("Concat", ["input"])])
    assert "sizes 8 and 4 in dimension 2" in p.message


def test_receptive_field_of_a_merge_is_the_union():
    # path A: two 3-wide convs (5); path B: the input itself (1); union: 5, jump 1
    layers = [L("Conv1d", out_channels=2, kernel_size=3, padding=1),
              L("Conv1d", out_channels=2, kernel_size=3, padding=1), frm("Add", "input")]
    rf = infer(layers, (1, 2, 20)).layers[2].receptive_field
    assert (rf.size, rf.jump) == ((5.0,), (1.0,))
    # a strided path meets an upsampled one: sizes the largest, jumps the largest of the
    # paths that are not stretched over the output
    assert union_field([((3.0,), (1.0,), (1, 2, 8)), ((6.0,), (2.0,), (1, 2, 8))],
                       (1, 2, 8)) == ((6.0,), (2.0,))
    # a gate of size 1 sees the whole input, but the output still steps with the map
    assert union_field([((3.0, 3.0), (1.0, 1.0), (1, 4, 8, 8)),
                        ((8.0, 8.0), (8.0, 8.0), (1, 4, 1, 1))],
                       (1, 4, 8, 8)) == ((8.0, 8.0), (1.0, 1.0))


def test_receptive_boxes_unite_the_paths_that_meet():
    layers = [L("Conv1d", "a", out_channels=2, kernel_size=3),
              L("Conv1d", out_channels=2, kernel_size=3, padding=1),
              frm("Add", "a"), L("Conv1d", out_channels=2, kernel_size=1)]
    report = infer(layers, (1, 2, 12))
    boxes = receptive_boxes(report, 3, (5,))
    # the Add's unit 5 reads a[5] directly and a[4..6] through the padded conv
    assert boxes[1] == ((4, 6),) and boxes[0] == ((4, 8),)
    # Concat along the length: a unit reads only the part it falls in
    cat = infer([L("Conv1d", out_channels=2, kernel_size=1), frm("Concat", ["input"], dim=-1)],
                (1, 2, 12))
    assert receptive_boxes(cat, 1, (15,)) == [((3, 3),), None, ((15, 15),)]
    assert receptive_boxes(cat, 1, (5,)) == [((5, 5),), ((5, 5),), ((5, 5),)]


def test_explain_names_the_inputs_and_the_gradient_paths():
    report = infer(BLOCK, (1, 2, 8, 8))
    text = " ".join(t for s in explain(report.layers[4], report) for t in s.text)
    assert "It joins bn1 (BatchNorm2d) output torch.Size([1, 4, 8, 8]) and block_in (ReLU) " \
           "output torch.Size([1, 4, 8, 8])" in text
    assert "the gradient of this output goes unchanged to both inputs" in text
    gate = infer([L("Conv2d", "feat", **CONV), L("AdaptiveAvgPool2d", output_size=1),
                  frm("Multiply", "feat")], (1, 2, 6, 6))
    text = " ".join(t for s in explain(gate.layers[2], gate) for t in s.text)
    assert "squeeze-and-excitation" in text and "broadcasting" in text


# -- edits ---------------------------------------------------------------------------------------

def froms(pipeline: Pipeline) -> list:
    return [s.value("from") for s in pipeline.config.layers if s.is_set("from")]


def test_references_follow_rename_insert_remove_and_move_with_undo():
    p = Pipeline(Config(layers=tuple(BLOCK[:4]) + (frm("Add", "block_in", "res"),
                                                  frm("Concat", [0, "input", "block_in"]))))
    p.rename_layer(1, "skip")
    assert froms(p) == ["skip", (0, "input", "skip")]
    p.rename_layer(1, "")  # no name: by index
    assert froms(p) == [1, (0, "input", 1)]
    p.insert_layer(0, L("Tanh"))
    assert froms(p) == [2, (1, "input", 2)]
    p.remove_layer(2)  # what the merges took from: they take what it received
    assert froms(p) == [1, (1, "input", 1)]
    p.move_layer(1, 4)  # stem after the Add: the references follow, and now point forward
    assert froms(p) == [4, (4, "input", 4)]
    assert any("which comes after this layer" in q.message for q in problems(p.config.layers))
    for want in ([1, (1, "input", 1)], [2, (1, "input", 2)], [1, (0, "input", 1)],
                 ["skip", (0, "input", "skip")], ["block_in", (0, "input", "block_in")]):
        p.undo()
        assert froms(p) == want


def test_a_removed_first_layer_hands_its_references_to_the_input():
    old = (L("ReLU", "a"), frm("Add", "a"))
    assert follow_references(old, old[1:], [None, 0])[0].value("from") == "input"
    renamed = (L("ReLU", "b"), frm("Add", "a"))
    assert follow_references(old, renamed, [0, 1])[1].value("from") == "b"
    broken = (L("ReLU", "a"), frm("Add", "ghost"))
    assert follow_references(broken, broken, [0, 1]) == broken  # left as written, flagged


def test_choices_and_the_default_for_a_new_merge():
    layers = BLOCK[:4]
    assert reference_choices(layers, 4) == [
        ("input", "input"), ("stem", "0 stem (Conv2d)"), ("block_in", "1 block_in (ReLU)"),
        ("conv1", "2 conv1 (Conv2d)"), ("bn1", "3 bn1 (BatchNorm2d)")]
    report = infer(layers, (1, 2, 8, 8))
    shapes = [i.output_shape for i in report.layers]
    # the latest earlier output of the previous output's shape (not the previous itself)
    assert default_from(layers, shapes, (1, 2, 8, 8), 4, "Add") == "conv1"
    assert default_from(layers, shapes, (1, 2, 8, 8), 4, "Concat") == ("conv1",)
    assert default_from(layers, shapes, (1, 2, 8, 8), 1, "Add") == "input"
    unnamed = [s.renamed(None) for s in layers]
    assert default_from(unnamed, shapes, (1, 2, 8, 8), 4, "Add") == 2


def test_exported_names_are_identifiers_with_merges():
    layers = [L("ReLU"), L("ReLU", "x"), L("ReLU", "conv-1"), L("ReLU", "forward"),
              L("ReLU", "class"), L("ReLU", "a.b"), frm("Add", 0)]
    assert module_names(layers) == ["layer_0", "layer_x", "conv_1", "layer_forward",
                                    "layer_class", "a_b", "layer_6"]
    assert all(n.isidentifier() for n in identifier_names(layers, frozenset()))
    assert module_names(layers[:-1])[0] == "0"  # no merge: nn.Sequential's names
