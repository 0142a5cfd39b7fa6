"""Config files: every bundled example survives load -> save -> load; bad files give one clear
error naming the file, the layer and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.config_io import (
    ConfigError,
    atomic_write_text,
    config_from_dict,
    dumps_config,
    load_config,
    loads_config,
    save_config,
)
from convexplorer.model.spec import Config, InputSpec, LayerSpec, Objective

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.json"))


def write(tmp_path: Path, data, name: str = "cfg.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def base(**extra) -> dict:
    d = {"version": 1, "name": "t", "seed": 0,
         "input": {"source": "random", "shape": [1, 1, 8, 8], "seed": 0},
         "layers": [{"type": "Conv2d", "name": "conv1", "out_channels": 2, "kernel_size": 3}]}
    d.update(extra)
    return d


def assert_config_error(path, words) -> None:
    """Loading ``path`` fails with a message that starts with the path and has ``words``."""
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ")
    for w in words:
        assert w in msg, (w, msg)

def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert "mnist_convnet.json" in names and len(names) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_round_trip_is_identical(path, tmp_path):
    first = load_config(path)
    out = tmp_path / "again.json"
    save_config(first, out)
    second = load_config(out)
    assert second == first
    # and saving is stable: the second save writes the same text as the first
    out2 = tmp_path / "again2.json"
    save_config(second, out2)
    assert out2.read_text() == out.read_text()
    # every layer keyword written in the example survives unchanged
    raw = json.loads(path.read_text())
    assert [spec.to_dict() for spec in second.layers] == raw["layers"]
    assert second.input == first.input and second.seed == raw.get("seed", 0)


def test_round_trip_of_every_input_kind_and_objective(tmp_path):
    inputs = [
        InputSpec("random", (2, 3, 5), seed=4, distribution="uniform"),
        InputSpec("signal", (1, 2, 64), seed=1, signal="chirp", frequency=2.5),
        InputSpec("image", path="sample:digit7.png", size=(14, 14), mode="RGB"),
        InputSpec("image", path="pics/a.png", mode="L"),
        InputSpec("npy", path="x.npy"),
    ]
    objectives = [Objective(), Objective("mean", 2), Objective("channel", 1, 1, 3),
                  Objective("unit", -1, 0, 2, (3, 4))]
    layers = (LayerSpec.make("Conv2d", "c", out_channels=4, kernel_size=(3, 2),
                             padding="same", padding_mode="reflect", bias=False),
              LayerSpec.make("MaxPool2d", kernel_size=2, stride=None, return_indices=True),
              LayerSpec.make("BatchNorm2d", momentum=None),
              LayerSpec.make("AdaptiveAvgPool2d", output_size=(None, 3)),
              LayerSpec.make("LeakyReLU", negative_slope=0.2))
    for spec in inputs:
        for obj in objectives:
            cfg = Config(layers, spec, "n", 3, "cuda:0", obj)
            path = tmp_path / "c.json"
            save_config(cfg, path)
            assert load_config(path) == cfg


def test_omitted_keys_take_defaults():
    cfg = config_from_dict({"layers": [{"type": "ReLU"}]})
    assert cfg.seed == 0 and cfg.device == "cpu" and cfg.objective == Objective()
    assert cfg.input == InputSpec()
    assert cfg.layers[0] == LayerSpec("ReLU")
    assert cfg.layers[0].value("inplace") is False  # torch's default, from the catalogue


def test_unknown_layer_key_names_file_layer_key_and_valid_keys(tmp_path):
    d = base()
    d["layers"].append({"type": "MaxPool2d", "name": "pool", "kernel_size": 2, "strid": 2})
    path = write(tmp_path, d)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "layer 1" in msg and "pool" in msg and "MaxPool2d" in msg
    assert "'strid'" in msg and "did you mean 'stride'" in msg
    for key in CATALOGUE["MaxPool2d"].param_names:
        assert key in msg


@pytest.mark.parametrize("where, patch, words", [
    ("top", {"colour": 1}, ["unknown key 'colour'", "valid keys", "layers"]),
    ("input", {"input": {"source": "random", "shape": [1, 1, 4], "sede": 1}},
     ["input", "'sede'", "did you mean 'seed'"]),
    ("input-image", {"input": {"source": "image", "path": "a.png", "shape": [1, 1, 4]}},
     ["input", "'shape'", "size", "mode"]),
    ("objective", {"objective": {"kind": "sum", "lyer": 1}}, ["objective", "'lyer'", "layer"]),
])
def test_unknown_keys_elsewhere(tmp_path, where, patch, words):
    path = write(tmp_path, base(**patch))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    for w in words:
        assert w in msg, (w, msg)


def test_unknown_type(tmp_path):
    d = base()
    d["layers"].append({"type": "Conv4d", "out_channels": 2, "kernel_size": 3})
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, d))
    msg = str(err.value)
    assert "layer 1" in msg and '"Conv4d"' in msg and "known types" in msg and "Conv2d" in msg
    d["layers"][1] = {"out_channels": 2}
    with pytest.raises(ConfigError, match=r"layer 1: missing \"type\""):
        load_config(write(tmp_path, d))


def test_newer_version(tmp_path):
    path = write(tmp_path, base(version=2))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "version 2" in msg and "newer" in msg and "update" in msg
    for bad in (0, "1", True):
        with pytest.raises(ConfigError, match="version"):
            load_config(write(tmp_path, base(version=bad)))


def test_malformed_json_gives_line_and_column(tmp_path):
    text = '{\n  "version": 1,\n  "layers": [\n    {"type": "ReLU",}\n  ]\n}\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "not valid JSON" in msg
    assert "line 4" in msg and "column" in msg


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.json")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ConfigError, match="not a text"):
        load_config(binary)
    with pytest.raises(ConfigError, match="is a folder, not a regular file"):
        load_config(tmp_path)


@pytest.mark.parametrize("inp, words", [
    ({"source": "webcam"}, ["input.source", "random, image, npy, signal", "webcam"]),
    ({"source": "random", "shape": [1, 1]}, None),
    ({"source": "random", "shape": [1]}, ["input.shape", "list of 2 to 5 integers"]),
    ({"source": "random", "shape": [1, 0, 4]}, ["input.shape", "at least 1"]),
    ({"source": "random", "shape": "1x1x28x28"}, ["input.shape"]),
    ({"source": "random", "distribution": "poisson"}, ["input.distribution", "normal"]),
    ({"source": "random", "seed": -1}, ["input.seed", "at least 0"]),
    ({"source": "image"}, ["input.path", "needs a file path"]),
    ({"source": "image", "path": "a.png", "mode": "CMYK"}, ["input.mode", "L, RGB"]),
    ({"source": "image", "path": "a.png", "size": [28]}, ["input.size", "2 integers"]),
    ({"source": "signal", "signal": "noise"}, ["input.signal", "sine"]),
    ({"source": "signal", "frequency": 0}, ["input.frequency", "from 0.01 to 10000", "got 0"]),
    ("random", ["input must be an object"]),
])
def test_wrong_input_keys_and_values(tmp_path, inp, words):
    path = write(tmp_path, base(input=inp))
    if words is None:
        assert load_config(path).input.shape == (1, 1)
        return
    assert_config_error(path, words)


@pytest.mark.parametrize("patch, words", [
    ({"layers": {"type": "ReLU"}}, ['"layers" must be a list']),
    ({"layers": ["ReLU"]}, ["layer 0 must be an object"]),
    ({"layers": [{"type": "ReLU", "name": 3}]}, ["layer 0 (ReLU): name must be a string"]),
    ({"seed": "x"}, ["seed must be an integer"]),
    ({"seed": -2}, ["seed must be at least 0"]),
    ({"name": 5}, ['"name" must be a string']),
    ({"device": ""}, ['"device" must be a string']),
    ({"objective": {"kind": "max"}}, ["objective.kind", "sum, mean, channel, unit"]),
    ({"objective": {"kind": "unit", "position": [1, -1]}}, ["objective.position"]),
    ({"objective": {"kind": "sum", "layer": -2}}, ["objective.layer", "at least -1"]),
])
def test_structural_errors(tmp_path, patch, words):
    path = write(tmp_path, base(**patch))
    assert_config_error(path, words)


def test_not_an_object():
    with pytest.raises(ConfigError, match="JSON object"):
        loads_config("[1, 2]", "x.json")


def test_bad_values_load_and_are_left_to_validation():
    """A wrong value (not a wrong key) still loads, so the window can show and fix the field."""
    cfg = loads_config(json.dumps(base(layers=[
        {"type": "Conv2d", "out_channels": -3, "kernel_size": "big", "stride": [1, 2, 3]}])))
    spec = cfg.layers[0]
    assert spec.value("out_channels") == -3 and spec.value("kernel_size") == "big"
    assert spec.value("stride") == (1, 2, 3)


def test_lists_become_tuples_and_back():
    cfg = loads_config(json.dumps(base(layers=[
        {"type": "Conv2d", "out_channels": 2, "kernel_size": [3, 1], "padding": [1, 0]}])))
    assert cfg.layers[0].value("kernel_size") == (3, 1)
    assert json.loads(dumps_config(cfg))["layers"][0]["kernel_size"] == [3, 1]


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "keep.json"
    path.write_text("old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(path, "newer")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]  # no temp file left behind
