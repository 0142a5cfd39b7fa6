"""The memory estimate the window asks with: torch-free; what it counts as held equals what a
real run hands back (inputs, outputs, gradients, pooling indices, parameters and their
gradients). How it compares with measured peaks: test_memory_peak.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convexplorer.model.memory import (
    DEFAULT_LIMIT_MB,
    LIMIT_ENV,
    estimate_bytes,
    fmt_bytes,
    held_bytes,
    memory_limit_bytes,
)
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec


def L(type_: str, **params) -> LayerSpec:  # noqa: N802 - reads like a constructor
    return LayerSpec(type_, tuple(params.items()))


STACK = (L("Conv2d", out_channels=4, kernel_size=3, padding=1), L("BatchNorm2d"), L("ReLU"),
         L("MaxPool2d", kernel_size=2, return_indices=True),
         L("MaxUnpool2d", kernel_size=2), L("Flatten"), L("Linear", out_features=5))


def returned_bytes(result) -> int:
    total = result.input.nbytes + result.grad_input.nbytes
    for lr in result.layers:
        total += lr.activation.nbytes
        total += lr.grad_output.nbytes if lr.grad_output is not None else lr.activation.nbytes
        total += 2 * (lr.indices.nbytes if lr.indices is not None else 0)
        total += sum(a.nbytes for a in lr.params.values())
        total += sum(a.nbytes for a in lr.grads.values())
    return total


def test_held_bytes_match_what_a_run_hands_back():
    from convexplorer.engine.run import run

    config = Config(input=InputSpec("random", (2, 3, 16, 16)), layers=STACK)
    result = run(config)
    report = infer(config.layers, (2, 3, 16, 16))
    # indices are counted once by the estimate (int64: as large as a float32 output and its
    # gradient together), so returned_bytes counts them twice over float32 -> same total
    assert held_bytes(report) == returned_bytes(result) - sum(
        lr.indices.nbytes for lr in result.layers if lr.indices is not None)
    assert estimate_bytes(report) > held_bytes(report)  # plus working memory and images


def test_engine_run_still_exports_estimate_bytes():
    from convexplorer.engine import run as engine_run

    assert engine_run.estimate_bytes is estimate_bytes


def test_estimate_is_torch_free():
    code = ("import sys; from convexplorer.model.memory import estimate_bytes; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_estimate_of_a_huge_stack_needs_no_memory():
    report = infer([L("Conv2d", out_channels=512, kernel_size=3)], (8, 3, 4096, 4096))
    est = estimate_bytes(report)
    assert est > 2**39  # about 1 TiB, computed from shapes only
    assert fmt_bytes(est) == "1.1 TiB"


@pytest.mark.parametrize("value, expected", [
    (None, DEFAULT_LIMIT_MB * 2**20), ("512", 512 * 2**20), ("0.5", 2**19), ("0", None),
    ("-1", None), ("lots", DEFAULT_LIMIT_MB * 2**20), ("nan", DEFAULT_LIMIT_MB * 2**20),
    ("inf", None), (" 64 ", 64 * 2**20),
])
def test_memory_limit_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(LIMIT_ENV, raising=False)
    else:
        monkeypatch.setenv(LIMIT_ENV, value)
    assert memory_limit_bytes() == expected


def test_fmt_bytes():
    assert fmt_bytes(512) == "512 B"
    assert fmt_bytes(1536) == "1.5 KiB"
    assert fmt_bytes(3 * 2**30) == "3.0 GiB"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_problems(value):
    report = infer([L("BatchNorm2d", eps=value), L("ReLU")], (2, 3, 4, 4))
    fields = [(p.layer, p.field, p.message) for p in report.problems]
    assert (0, "eps", f"eps={value} must be a finite number") in fields
    assert report.layers[0].problems[0].fix == "default is 1e-05"
