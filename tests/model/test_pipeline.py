"""The observable pipeline: one event per real change, undo/redo, batches, merged edits,
selection and the unsaved mark. No Qt."""

from __future__ import annotations

from dataclasses import replace

import pytest

from convexplorer.model.pipeline import UNDO_LIMIT, Pipeline
from convexplorer.model.spec import UNSET, Config, InputSpec, LayerSpec, Objective


def stack() -> Config:
    return Config(layers=(
        LayerSpec.make("Conv2d", "conv", out_channels=4, kernel_size=3),
        LayerSpec.make("ReLU"),
        LayerSpec.make("MaxPool2d", "pool", kernel_size=2),
    ), name="test")


@pytest.fixture
def pipe():
    p = Pipeline(stack())
    p.events = []
    p.subscribe(p.events.append)
    return p


def kinds(pipe):
    return [e.kind for e in pipe.events]


def test_edit_emits_one_event_and_undo_redo_restore(pipe):
    before = pipe.config
    spec = pipe.config.layers[0].with_params(kernel_size=5)
    pipe.replace_layer(0, spec, "set kernel_size")
    assert kinds(pipe) == ["config"]
    assert pipe.events[0].label == "set kernel_size"
    assert pipe.events[0].config.layers[0].value("kernel_size") == 5
    assert pipe.can_undo and pipe.undo_label == "set kernel_size"
    after = pipe.config
    pipe.undo()
    assert pipe.config == before
    assert pipe.can_redo and pipe.redo_label == "set kernel_size"
    assert pipe.events[-1].label == "undo set kernel_size"
    pipe.redo()
    assert pipe.config == after
    assert pipe.events[-1].label == "redo set kernel_size"
    assert not pipe.can_redo


def test_no_event_without_a_change(pipe):
    pipe.replace_layer(0, pipe.config.layers[0])
    pipe.set_seed(pipe.config.seed)
    pipe.undo()  # nothing to undo
    pipe.redo()
    assert pipe.events == [] and not pipe.can_undo


def test_new_edit_clears_redo(pipe):
    pipe.set_seed(1)
    pipe.undo()
    assert pipe.can_redo
    pipe.set_seed(2)
    assert not pipe.can_redo


def test_batch_is_one_event_and_one_undo_step(pipe):
    with pipe.batch("two edits"):
        pipe.set_seed(7)
        pipe.set_device("cuda")
        with pipe.batch("inner"):  # nested: still the outer step
            pipe.set_name("renamed")
    assert kinds(pipe) == ["config"]
    assert pipe.events[0].label == "two edits"
    assert (pipe.config.seed, pipe.config.device, pipe.config.name) == (7, "cuda", "renamed")
    pipe.undo()
    assert (pipe.config.seed, pipe.config.device, pipe.config.name) == (0, "cpu", "test")
    assert not pipe.can_undo


def test_empty_batch_emits_nothing(pipe):
    with pipe.batch("nothing"):
        pipe.set_seed(0)
    assert pipe.events == [] and not pipe.can_undo


def test_merged_edits_share_one_undo_step(pipe):
    for k in (1, 12, 128):
        spec = pipe.config.layers[0].with_params(out_channels=k)
        pipe.replace_layer(0, spec, "set out_channels", merge=("param", 0, "out_channels"))
    assert len(pipe.events) == 3  # every keystroke is seen by the views
    pipe.undo()
    assert pipe.config.layers[0].value("out_channels") == 4
    assert not pipe.can_undo


def test_merge_ends_at_another_edit_undo_or_end_merge(pipe):
    key = ("param", 0, "out_channels")

    def set_oc(k):
        pipe.replace_layer(0, pipe.config.layers[0].with_params(out_channels=k),
                           "set out_channels", merge=key)

    set_oc(5)
    pipe.end_merge()
    set_oc(6)
    pipe.undo()
    assert pipe.config.layers[0].value("out_channels") == 5
    set_oc(7)
    pipe.set_seed(3)  # another edit breaks the run
    set_oc(8)
    pipe.undo()
    assert pipe.config.layers[0].value("out_channels") == 7


def test_selection_inside_a_batch_comes_with_its_config_event(pipe):
    with pipe.batch("add and select"):
        pipe.insert_layer(0, LayerSpec.make("ReLU"))
        pipe.select(2)
    assert kinds(pipe) == ["config"]
    assert pipe.events[0].selection == 2
    pipe.events.clear()
    with pipe.batch("select only"):
        pipe.select(1)
    assert kinds(pipe) == ["selection"]


def test_insert_move_remove_and_selection(pipe):
    pipe.insert_layer(1, LayerSpec.make("BatchNorm2d"))
    assert kinds(pipe) == ["config", "selection"]
    assert pipe.events[0].label == "add BatchNorm2d"
    assert pipe.selection == 1
    pipe.move_layer(1, 3)
    assert [s.type for s in pipe.config.layers] == ["Conv2d", "ReLU", "MaxPool2d", "BatchNorm2d"]
    assert pipe.selection == 3
    pipe.move_layer(3, 9)  # out of range: ignored
    pipe.remove_layer(3)
    assert pipe.selection == 2  # clamped to the last layer
    pipe.undo()
    assert len(pipe.config.layers) == 4
    pipe.select(99)
    assert pipe.selection is None
    assert pipe.events[-1].kind == "selection"


def test_removing_every_layer_clears_selection(pipe):
    for _ in range(3):
        pipe.remove_layer(0)
    assert pipe.selection is None and pipe.config.layers == ()


def test_input_device_seed_objective_edits(pipe):
    pipe.set_input(InputSpec(source="signal", shape=(1, 1, 32)))
    pipe.set_device("cuda:0")
    pipe.set_seed(5)
    pipe.set_objective(Objective("channel", layer=0, channel=2))
    labels = [e.label for e in pipe.events]
    assert labels == ["change input", "change device", "change seed", "change objective"]
    for _ in labels:
        pipe.undo()
    assert pipe.config == stack()


def test_dirty_load_and_mark_saved(pipe, tmp_path):
    assert not pipe.dirty  # a new, untitled config is not unsaved work yet
    pipe.set_seed(1)
    assert pipe.dirty
    pipe.mark_saved(tmp_path / "a.json")
    assert not pipe.dirty and pipe.path == tmp_path / "a.json"
    assert pipe.base_dir == tmp_path.resolve()
    pipe.set_seed(2)
    assert pipe.dirty
    pipe.undo()
    assert not pipe.dirty  # back to what was saved
    pipe.events.clear()
    other = replace(stack(), name="other")
    pipe.load(other, tmp_path / "b.json")
    assert kinds(pipe) == ["config", "file"]
    assert not pipe.can_undo and not pipe.can_redo and not pipe.dirty
    assert pipe.selection == 0


def test_unset_goes_back_to_auto(pipe):
    spec = pipe.config.layers[0].with_params(in_channels=3)
    pipe.replace_layer(0, spec)
    assert pipe.config.layers[0].is_set("in_channels")
    pipe.replace_layer(0, pipe.config.layers[0].with_params(in_channels=UNSET))
    assert not pipe.config.layers[0].is_set("in_channels")


def test_undo_history_is_bounded(pipe):
    for k in range(UNDO_LIMIT + 20):
        pipe.set_seed(k + 1)
    steps = 0
    while pipe.can_undo:
        pipe.undo()
        steps += 1
    assert steps == UNDO_LIMIT


def test_unsubscribe(pipe):
    got = []
    unsubscribe = pipe.subscribe(got.append)
    pipe.set_seed(1)
    unsubscribe()
    pipe.set_seed(2)
    assert len(got) == 1
