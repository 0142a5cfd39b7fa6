"""The "weights" key of a layer in a config: every source round-trips, large edited weights go
to a sidecar .npz saved with the JSON (and checked by a digest), bad values are refused with
the layer and the key named, and weight sources are checked against the layer's shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convexplorer.model.config_io import ConfigError, load_config, loads_config, save_config
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec
from convexplorer.model.weights import INIT, PresetKernel, WeightSpec, edited, with_value
from convexplorer.model.weights_io import INLINE_LIMIT, sidecar_name

SOBELS = WeightSpec("preset", kernels=(PresetKernel("sobel_x", out=0),
                                       PresetKernel("gaussian", out=1, sigma=1.5)))


def conv(weights=INIT, out=2, k=3, name="conv1"):
    return LayerSpec.make("Conv2d", name, out_channels=out, kernel_size=k).with_weights(weights)


def config(*layers, mode="train"):
    return Config(layers=tuple(layers), input=InputSpec(shape=(1, 1, 8, 8)), mode=mode)


def roundtrip(cfg: Config, tmp_path) -> Config:
    path = tmp_path / "net.json"
    save_config(cfg, path)
    return load_config(path)


@pytest.mark.parametrize("weights", [
    INIT, SOBELS, WeightSpec("preset", kernels=(PresetKernel("sobel_y"),)),
    edited({"weight": np.arange(18, dtype=np.float32).reshape(2, 1, 3, 3) / 7,
            "bias": np.array([0.1, -2.5], np.float32)}),
    WeightSpec("checkpoint", file="trained.pt", key="features.0"),
    WeightSpec("checkpoint", file="bare.npz", key=""),
])
def test_every_source_round_trips(tmp_path, weights):
    cfg = config(conv(weights), LayerSpec.make("ReLU"), mode="eval")
    assert roundtrip(cfg, tmp_path) == cfg


def test_short_forms_in_json():
    one = WeightSpec("preset", kernels=(PresetKernel("sobel_x"),)).to_dict()
    assert one == {"source": "preset", "kernel": "sobel_x"}
    assert SOBELS.to_dict()["kernels"][1] == {"kernel": "gaussian", "out": 1, "sigma": 1.5}
    assert conv().to_dict().get("weights") is None  # init is the default: not written
    assert "mode" not in config().to_dict() and config(mode="eval").to_dict()["mode"] == "eval"
    text = json.dumps(edited({"weight": np.full((1, 1, 1), 0.1, np.float32)}).to_dict())
    assert "0.1]" in text and "0.100000001" not in text  # float32's shortest digits


def test_edited_weights_over_the_limit_go_to_a_sidecar_and_back(tmp_path):
    w = np.random.default_rng(0).standard_normal((20, 10, 5, 5)).astype(np.float32)
    small = edited({"weight": np.ones((2, 1, 3, 3), np.float32), "bias": np.zeros(2, np.float32)})
    cfg = config(conv(small), conv(edited({"weight": w, "bias": np.ones(20, np.float32)}),
                                   out=20, k=5, name="conv2"))
    path = tmp_path / "net.json"
    save_config(cfg, path)
    doc = json.loads(path.read_text())
    assert doc["layers"][0]["weights"]["weight"][0][0][0] == [1.0, 1.0, 1.0]  # inline
    side = doc["layers"][1]["weights"]
    assert side["file"] == sidecar_name(path) == "net.weights.npz" and side["key"] == "conv2"
    assert w.size > INLINE_LIMIT and (tmp_path / "net.weights.npz").is_file()
    assert not list(tmp_path.glob(".*.tmp"))
    back = load_config(path)
    assert back == cfg
    np.testing.assert_array_equal(back.layers[1].weights.numbers()["weight"].array(), w)
    # saved again without large edited weights: the sidecar is no longer needed
    save_config(config(conv(small)), path)
    assert not (tmp_path / "net.weights.npz").exists()


def test_a_sidecar_replaced_by_another_is_refused(tmp_path):
    w = np.ones((20, 1, 5, 5), np.float32)
    save_config(config(conv(edited({"weight": w, "bias": np.ones(20, np.float32)}), out=20,
                            k=5)), tmp_path / "a.json")
    save_config(config(conv(edited({"weight": 2 * w, "bias": np.ones(20, np.float32)}), out=20,
                            k=5)), tmp_path / "b.json")
    (tmp_path / "b.weights.npz").replace(tmp_path / "a.weights.npz")
    with pytest.raises(ConfigError, match=r"layer 0 \(conv1, Conv2d\).*not the ones saved"):
        load_config(tmp_path / "a.json")
    (tmp_path / "a.weights.npz").unlink()
    with pytest.raises(ConfigError, match="a.weights.npz: no such file"):
        load_config(tmp_path / "a.json")


def layer_json(weights) -> str:
    return json.dumps({"layers": [{"type": "Conv2d", "name": "conv1", "out_channels": 2,
                                   "kernel_size": 3, "weights": weights}]})


@pytest.mark.parametrize("weights, text", [
    ({"source": "trained"}, "weights source must be one of init, preset, edited, checkpoint"),
    ({"source": "preset", "kernel": "sobel"}, "unknown kernel \"sobel\" \\(did you mean"),
    ({"source": "preset"}, "preset weights need \"kernel\""),
    ({"source": "preset", "kernel": "gaussian", "sigma": -1}, "sigma must be a number above 0"),
    ({"source": "preset", "kernel": "box", "out": 1.5}, "out must be a channel number"),
    ({"source": "preset", "kernel": "box", "colour": 1}, "unknown key 'colour'"),
    ({"source": "edited", "weight": [[1, 2], [3]]}, "weight must be a list of numbers"),
    ({"source": "edited", "weight": [True]}, "weight must be a list of numbers"),
    ({"source": "edited", "weight": [1e39]}, "every number must be finite"),
    ({"source": "edited", "weight": [10 ** 400]}, "weight must be a list of numbers"),
    ({"source": "edited"}, "need the numbers of at least one parameter"),
    ({"source": "edited", "__class__": [1]}, "__class__\" is not a parameter name"),
    ({"source": "checkpoint", "file": "model.pkl"}, "must be a path to a .pt, .pth"),
    ("random", "\"weights\" must be an object"),
])
def test_bad_weights_are_one_line_naming_the_layer(weights, text):
    with pytest.raises(ConfigError) as info:
        loads_config(layer_json(weights), "cfg.json")
    message = str(info.value)
    assert message.startswith("cfg.json: layer 0 (conv1, Conv2d)") and "\n" not in message
    import re
    assert re.search(text, message), message


def test_json_nan_is_refused():
    text = layer_json({"source": "edited", "weight": [1.0]}).replace("1.0", "NaN")
    with pytest.raises(ConfigError, match="every number must be finite"):
        loads_config(text, "cfg.json")


def test_a_sidecar_needs_the_config_folder():
    with pytest.raises(ConfigError, match="has no folder to find it in"):
        loads_config(layer_json({"source": "edited", "file": "x.weights.npz", "key": "a"}))


def test_presets_are_checked_against_the_layer():
    def problems(spec, shape=(1, 1, 8, 8)):
        return [str(p) for p in infer([spec], shape).problems]

    assert problems(conv(SOBELS)) == []
    assert "sobel_x needs a kernel of at least 2 along x" in problems(conv(SOBELS, k=(3, 1)))[0]
    assert "out=5 is outside the weight's channels 0..1" in problems(
        conv(WeightSpec("preset", kernels=(PresetKernel("box", out=5),))))[0]
    lin = LayerSpec.make("Linear", out_features=3).with_weights(SOBELS)
    assert "preset kernels are for convolution layers" in problems(lin, (1, 4))[0]
    c1 = LayerSpec.make("Conv1d", out_channels=2, kernel_size=3).with_weights(SOBELS)
    assert "sobel_x is a kernel for 2-D convolutions" in problems(c1, (1, 1, 9))[0]
    assert problems(conv(SOBELS))[:1] == []


def test_edited_numbers_that_no_longer_fit_are_a_note_not_a_problem():
    numbers = edited({"weight": np.ones((2, 1, 3, 3), np.float32),
                      "bias": np.ones(2, np.float32)})
    assert infer([conv(numbers)], (1, 1, 8, 8)).notes == []
    report = infer([conv(numbers, k=5)], (1, 1, 8, 8))
    assert report.ok
    (note,) = report.notes
    assert "edited weights are weight torch.Size([2, 1, 3, 3])" in note.message
    assert "uses torch's initialisation until the shape fits again" in note.message


def test_with_value_changes_exactly_one_number():
    current = {"weight": np.zeros((2, 1, 3, 3), np.float32), "bias": np.ones(2, np.float32)}
    spec = with_value(current, "weight", (1, 0, 2, 0), 4.5)
    w = spec.numbers()["weight"].array()
    assert w[1, 0, 2, 0] == 4.5 and np.count_nonzero(w) == 1
    assert current["weight"].sum() == 0  # the run's arrays are not touched
    np.testing.assert_array_equal(spec.numbers()["bias"].array(), [1, 1])


def test_autosave_keeps_large_edited_weights_beside_it(tmp_path):
    from convexplorer.model.settings import Autosave, read_autosave

    w = np.random.default_rng(1).standard_normal((20, 1, 5, 5)).astype(np.float32)
    cfg = config(conv(edited({"weight": w, "bias": np.zeros(20, np.float32)}), out=20, k=5))
    autosave = Autosave(tmp_path)
    autosave.write(cfg)
    sidecars = list(tmp_path.glob("autosave-*.weights.npz"))
    assert len(sidecars) == 1
    assert read_autosave(autosave.file).config == cfg
    autosave.clear()
    assert not sidecars[0].exists()
    autosave.close()


def test_save_as_elsewhere_keeps_the_checkpoint_path_pointing_at_the_file(tmp_path):
    from convexplorer.model.settings import rebase_input

    old, new = tmp_path / "a", tmp_path / "b" / "c"
    cfg = config(conv(WeightSpec("checkpoint", file="ckpt/trained.pt", key="conv1")),
                 conv(WeightSpec("checkpoint", file="/abs/t.pt", key="x"), name="conv2"))
    moved = rebase_input(cfg, old, new)
    assert moved.layers[0].weights.file == "../../a/ckpt/trained.pt"
    assert moved.layers[1].weights.file == "/abs/t.pt"
