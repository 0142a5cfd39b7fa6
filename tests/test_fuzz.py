"""Fuzz: configs, layer parameters and inputs through load -> validate -> run. Every case ends in
a result or a clean, typed error (ConfigError, RunError, InputError), never anything else.

CX_FUZZ=long runs thousands of cases per test; the default keeps CI fast.
"""

from __future__ import annotations

import json
import os
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.engine.inputs import InputError, load_input_file
from convexplorer.engine.run import RunError, run
from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.config_io import ConfigError, config_from_dict, loads_config
from convexplorer.model.shapes import infer

LONG = os.environ.get("CX_FUZZ") == "long"
FUZZ = settings(
    max_examples=3000 if LONG else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TYPES = sorted(CATALOGUE)
PARAM_NAMES = sorted({p.name for t in CATALOGUE.values() for p in t.params})

json_scalar = st.one_of(
    st.integers(1, 5), st.none(), st.booleans(), st.integers(-3, 40), st.floats(-2, 2),
    st.just(float("nan")),
    st.sampled_from(["same", "valid", "zeros", "reflect", "circular", "tanh", "none", ""]),
)
json_value = st.one_of(json_scalar, st.lists(st.one_of(st.none(), st.integers(-2, 9)),
                                             max_size=3))


@st.composite
def layer_dicts(draw):
    type_name = draw(st.sampled_from(TYPES * 4 + ["Conv3d", "conv2d", 7]))
    d = {"type": type_name}
    own = list(CATALOGUE[type_name].param_names) if type_name in CATALOGUE else []
    pool = own * 6 + ["name"] if own and draw(st.integers(0, 9)) else PARAM_NAMES + ["kernal_size"]
    keys = draw(st.lists(st.sampled_from(pool or ["name"]), max_size=5, unique=True))
    for k in keys:
        d[k] = draw(json_value) if k != "name" else draw(st.text(string.ascii_letters, max_size=6))
    return d


@st.composite
def config_dicts(draw):
    rank = draw(st.integers(2, 4))
    shape = [draw(st.integers(0 if LONG else 1, 2))] + [draw(st.integers(1, 4))] + [
        draw(st.integers(1, 12)) for _ in range(rank - 2)]
    cfg = {
        "version": draw(st.sampled_from([1] * 12 + [2, 0, "1"])),
        "seed": draw(st.integers(0, 3)),
        "input": {"source": "random", "shape": shape, "seed": 0},
        "layers": draw(st.lists(layer_dicts(), max_size=5)),
    }
    if draw(st.booleans()):
        cfg["objective"] = {"kind": draw(st.sampled_from(["sum", "mean", "channel", "unit",
                                                          "max"])),
                            "layer": draw(st.integers(-1, 5)),
                            "position": draw(st.lists(st.integers(0, 5), max_size=2))}
    if draw(st.integers(0, 9)) == 0:
        cfg[draw(st.sampled_from(["extra", "Layers", "devices"]))] = 1
    return cfg


def _through(cfg_dict) -> str:
    """load -> validate -> run; returns how it ended."""
    try:
        cfg = config_from_dict(cfg_dict, "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return "config error"
    report = infer(cfg.layers, cfg.input.shape)
    for p in report.problems:
        assert p.message and p.label
    try:
        result = run(cfg)
    except RunError as exc:
        assert str(exc)
        assert report.problems or "objective" in str(exc) or "rejects" in str(exc), str(exc)
        return "run error"
    assert not report.problems, [str(p) for p in report.problems]
    assert len(result.layers) == len(cfg.layers)
    for info, lr in zip(report.layers, result.layers):
        assert lr.output_shape == info.output_shape
    return "ok"


@FUZZ
@given(config_dicts())
def test_fuzz_config_dicts(cfg_dict):
    _through(cfg_dict)


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_config_text(text):
    try:
        loads_config(text, "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.json")


@settings(max_examples=200 if LONG else 30, deadline=None)
@given(st.sampled_from(["f4", "f8", "i4", "u1", "b1", "c8", "U3", "O"]),
       st.lists(st.integers(0, 5), min_size=0, max_size=6))
def test_fuzz_npy_inputs(tmp_path_factory, dtype, shape):
    path = tmp_path_factory.mktemp("npy") / "x.npy"
    if dtype == "O":
        np.save(path, np.array([object()], dtype=object), allow_pickle=True)
    else:
        np.save(path, np.zeros(shape, dtype=dtype))
    try:
        arr = load_input_file(path)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert arr.dtype == np.float32 and 2 <= arr.ndim <= 5 and arr.size > 0


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken",
                                     json.dumps({"a": 1}).encode()])
def test_files_that_are_not_images(tmp_path, content):
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match="picture.png"):
        load_input_file(path)
