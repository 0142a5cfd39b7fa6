"""Stack edits as the window makes them: one undo step each, the objective kept on its layer."""

from __future__ import annotations

from convexplorer.gui import stack_edits
from convexplorer.model.pipeline import Pipeline
from convexplorer.model.spec import Config, LayerSpec, Objective

ON_RELU = Objective("channel", layer=1, channel=0)


def pipe(objective=ON_RELU) -> Pipeline:
    return Pipeline(Config(layers=(
        LayerSpec.make("Conv2d", "a", out_channels=4, kernel_size=3),
        LayerSpec.make("ReLU", "b"),
        LayerSpec.make("MaxPool2d", "c", kernel_size=2),
    ), objective=objective))


def names(p):
    return [s.name for s in p.config.layers]


def test_insert_before_the_objective_shifts_it():
    p = pipe()
    stack_edits.insert_layer(p, 0, LayerSpec.make("Tanh"))
    assert p.config.objective.layer == 2
    assert p.undo_label == "add Tanh"
    p.undo()
    assert p.config.objective.layer == 1 and names(p) == ["a", "b", "c"]


def test_move_and_remove_follow_the_objective():
    p = pipe()
    stack_edits.move_layer(p, 1, 2)
    assert names(p) == ["a", "c", "b"] and p.config.objective.layer == 2
    stack_edits.move_layer(p, 0, 2)
    assert names(p) == ["c", "b", "a"] and p.config.objective.layer == 1
    stack_edits.remove_layer(p, 0)
    assert p.config.objective.layer == 0
    stack_edits.remove_layer(p, 0)
    assert p.config.objective == Objective()


def test_duplicate_names_the_copy():
    p = pipe(Objective())
    stack_edits.duplicate_layer(p, 0)
    stack_edits.duplicate_layer(p, 0)
    assert names(p) == ["a", "a_3", "a_2", "b", "c"]
    assert p.selection == 1
    assert p.undo_label == "duplicate Conv2d"
    p2 = Pipeline(Config(layers=(LayerSpec.make("ReLU"),)))
    stack_edits.duplicate_layer(p2, 0)
    assert names(p2) == [None, None]


def test_out_of_range_edits_are_ignored():
    p = pipe()
    stack_edits.move_layer(p, 0, 5)
    stack_edits.remove_layer(p, 7)
    assert not p.can_undo
