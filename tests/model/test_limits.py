"""Absurd numbers and malformed structures in configs (issue 16, items 1, 6, 7, 11): one bound
per field from the catalogue, checked where values enter, with a message naming the field and
the limit; never an OverflowError, a TypeError, a RecursionError or a hang."""

from __future__ import annotations

import json
import time

import pytest

from convexplorer.model.catalogue import CATALOGUE, FLOAT, INT, PADDING, SIZE
from convexplorer.model.config_io import ConfigError, config_from_dict, loads_config
from convexplorer.model.limits import MAX_CHANNELS, MAX_FLOAT, MAX_INT, MAX_SIZE, fmt_number
from convexplorer.model.shapes import infer
from convexplorer.model.spec import LayerSpec
from convexplorer.model.validate import divisors


def conv(**params) -> dict:
    return {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, **params}


def config(layers, inp=None, **top) -> dict:
    return {"input": inp or {"source": "random", "shape": [1, 1, 8, 8]}, "layers": layers,
            **top}


def problems(cfg: dict) -> list[str]:
    c = config_from_dict(cfg, "cfg.json")
    return [str(p) for p in infer(c.layers, c.input.shape).problems]


def test_every_number_in_the_catalogue_has_a_bound_torch_and_a_spin_box_accept():
    for lt in CATALOGUE.values():
        for p in lt.params:
            if p.kind == INT:
                assert p.maximum is not None and p.maximum <= MAX_CHANNELS, (lt.name, p.name)
            if p.kind in (SIZE, PADDING):
                assert p.maximum == MAX_SIZE, (lt.name, p.name)
            if p.kind == FLOAT:
                assert p.maximum is not None and p.maximum <= MAX_FLOAT, (lt.name, p.name)
    assert MAX_CHANNELS < MAX_INT and MAX_SIZE < MAX_INT


def test_divisors_of_huge_numbers_answer_at_once():
    t0 = time.perf_counter()
    assert divisors(10**12, at_most=64) == [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 40, 50, 64]
    assert divisors(MAX_INT) == [1, MAX_INT]  # a prime
    assert divisors(10**400)[:4] == [1, 2, 4, 5]
    assert time.perf_counter() - t0 < 0.5
    assert divisors(20) == [1, 2, 4, 5, 10, 20]
    assert divisors(36) == [1, 2, 3, 4, 6, 9, 12, 18, 36]
    assert divisors(0) == [] and divisors(-4) == []


def test_groups_suggestion_for_a_huge_channel_count_is_instant():
    """Item 1: out_channels 1e12 (now also over the bound) with groups=7 hung the search."""
    spec = LayerSpec.make("Conv2d", out_channels=999_998, kernel_size=3, groups=7,
                          in_channels=7)
    t0 = time.perf_counter()
    report = infer([spec], (1, 7, 8, 8))
    assert time.perf_counter() - t0 < 0.5
    [p] = report.problems
    assert p.field == "groups" and str(p).endswith("must divide out_channels=999998; try 1")


@pytest.mark.parametrize("field, value, limit", [
    ("stride", 10**400, "100000"), ("out_channels", 2**31, "1000000"),
    ("kernel_size", 2**31, "100000"), ("padding", 2**62, "100000"),
    ("dilation", 10**400, "100000"), ("groups", 10**400, "1000000"),
    ("kernel_size", [3, 10**400], "100000"), ("out_channels", 10**12, "1000000"),
])
def test_absurd_layer_numbers_are_flagged_with_field_and_limit(field, value, limit):
    [msg] = problems(config([conv(**{field: value})]))
    assert f"0 (Conv2d) {field}: " in msg and f"must be at most {limit}" in msg, msg
    assert f"use {limit} or less" in msg
    assert len(msg) < 200, msg  # a 400-digit number is shown abbreviated


@pytest.mark.parametrize("layer, field", [
    ({"type": "BatchNorm2d", "eps": 10**400}, "eps"),
    ({"type": "LeakyReLU", "negative_slope": 10**400}, "negative_slope"),
    ({"type": "LeakyReLU", "negative_slope": 1e300}, "negative_slope"),
    ({"type": "AvgPool2d", "kernel_size": 2, "divisor_override": 10**400}, "divisor_override"),
    ({"type": "MaxPool2d", "kernel_size": 2, "stride": 2**63}, "stride"),
    ({"type": "Flatten", "start_dim": 10**400}, "start_dim"),
    ({"type": "AdaptiveAvgPool2d", "output_size": 2**40}, "output_size"),
    ({"type": "MaxUnpool2d", "kernel_size": 2**70}, "kernel_size"),
])
def test_absurd_numbers_in_other_layers(layer, field):
    found = problems(config([layer], {"source": "random", "shape": [2, 1, 8, 8]}))
    assert any(f"{field}: " in m and "must be at most" in m for m in found), found


def test_non_finite_floats_are_refused():
    found = problems(config([{"type": "LeakyReLU", "negative_slope": float("inf")}]))
    assert any("negative_slope=inf must be" in m for m in found), found


@pytest.mark.parametrize("top, words", [
    ({"seed": 2**70}, ["seed must be at most 2147483647, got 1.18e+21"]),
    ({"input": {"source": "random", "shape": [1, 1, 10**400, 2]}},
     ["input.shape must be at most 2147483647, got 1.00e+400"]),
    ({"input": {"source": "random", "shape": [1, 1, 4, 4], "seed": 2**70}},
     ["input.seed must be at most"]),
    ({"input": {"source": "image", "path": "sample:digit7.png", "size": [10**400, 2]}},
     ["input.size must be at most 4096"]),
    ({"objective": {"kind": "channel", "channel": 10**400}}, ["objective.channel must be at most"]),
    ({"version": 10**400}, ["config version 1.00e+400 is newer"]),
    ({"input": {"source": "signal", "shape": [1, 1, 16], "frequency": float("nan")}},
     ["input.frequency must be a finite number from 0.01 to 10000, got nan"]),
    ({"input": {"source": "signal", "shape": [1, 1, 16], "frequency": float("inf")}},
     ["input.frequency", "got inf"]),
    ({"input": {"source": "signal", "shape": [1, 8]}},
     ["input.shape: a signal has a shape (N, C, L) of 3 values", "got [1, 8]"]),
    ({"layers": [{"type": ["Conv2d"]}]},
     ['layer 0: "type" must be a layer type name such as "Conv2d", got ["Conv2d"]']),
    ({"layers": [{"type": {"name": "Conv2d"}}]}, ['"type" must be a layer type name']),
    ({"layers": [{"type": "Conv2d", "kernel_size": {"h": 3}}]},
     ["layer 0 (Conv2d): kernel_size must be a number, true or false, a string or a list"]),
    ({"device": "x" * 100000}, ['"device" must be a string such as "cpu"']),
    ({"layers": [{"type": "Conv2d", "x" * 100000: 1}]}, ["unknown key 'xxxxx", "..."]),
])
def test_absurd_config_fields_are_refused_at_load_with_field_and_limit(top, words):
    cfg = {**config([conv()]), **top}
    with pytest.raises(ConfigError) as err:
        loads_config(json.dumps(cfg), "cfg.json")
    msg = str(err.value)
    assert msg.startswith("cfg.json: ") and len(msg) < 600, msg
    for w in words:
        assert w in msg, (w, msg)


def test_deeply_nested_json_is_refused_without_recursion_error():
    for text in ('{"layers": ' + "[" * 100_000 + "]" * 100_000 + "}",
                 json.dumps(config([conv(kernel_size=[[[[[[[[[[[[[[[[[[3]]]]]]]]]]]]]]]]]])]))):
        with pytest.raises(ConfigError, match="nested more than 16 levels deep"):
            loads_config(text, "cfg.json")


def test_integers_of_thousands_of_digits_are_located():
    text = '{"layers": [\n  {"type": "Conv2d", "kernel_size": ' + "9" * 5000 + "}]}"
    with pytest.raises(ConfigError) as err:
        loads_config(text, "cfg.json")
    assert str(err.value) == ("cfg.json: line 2, column 37: a number of 5000 digits is far "
                              "beyond any field's limit (the largest is 2147483647)")


def test_a_huge_number_that_python_holds_is_flagged_not_refused():
    """10**400 loads (the file opens; the field is shown red) rather than failing the file."""
    c = loads_config(json.dumps(config([conv(stride=10**400)])), "cfg.json")
    assert c.layers[0].value("stride") == 10**400


def test_fmt_number():
    assert fmt_number(123) == "123" and fmt_number(-7) == "-7"
    assert fmt_number(10**400) == "1.00e+400" and fmt_number(-(2**70)) == "-1.18e+21"
    assert fmt_number(10**5000) == "about 1e+5000"
    assert fmt_number(float("nan")) == "nan" and fmt_number(1e-5) == "1e-05"
