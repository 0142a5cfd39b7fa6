"""The allocator tuning runs (engine.allocator): applied once by the first run on glibc,
left alone when asked, and a no-op elsewhere."""

from __future__ import annotations

import platform

import pytest

from convexplorer.engine import allocator
from convexplorer.engine.run import run
from convexplorer.model.spec import Config, InputSpec, LayerSpec

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def test_a_run_applies_it_once():
    run(Config(layers=(LayerSpec.make("ReLU"),), input=InputSpec(shape=(1, 1, 4, 4))))
    assert allocator._state is GLIBC
    assert allocator.keep_freed_memory() is GLIBC  # the same answer, nothing redone


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_it_sets_the_thresholds_on_glibc(monkeypatch):
    monkeypatch.delenv(allocator.ENV, raising=False)
    assert allocator._apply() is True


def test_default_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setenv(allocator.ENV, "default")
    assert allocator._apply() is False
