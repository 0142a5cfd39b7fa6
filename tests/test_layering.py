"""Imports point one way: model and engine never load Qt; model never loads torch; the GUI never
loads torch (it reaches the engine only through its torch-free modules). Every module that
exists is checked, found with pkgutil, so new files are covered without editing this test."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import convexplorer

REPO = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "shiboken6")

# Engine modules the GUI may import on its own thread: numpy/Pillow only.
TORCH_FREE_ENGINE = ("convexplorer.engine", "convexplorer.engine.results",
                     "convexplorer.engine.inputs", "convexplorer.engine.images",
                     "convexplorer.engine.export", "convexplorer.engine.printing",
                     "convexplorer.engine.units", "convexplorer.engine.script")


def modules(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["__path__"])
    found = [package]
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        found.append(info.name)
    return sorted(found)


_PROBE = r"""
import json, sys
watch = sys.argv[1].split(",")
first = {}
for name in sys.argv[2:]:
    __import__(name)
    for w in watch:
        if w in sys.modules and w not in first:
            first[w] = name
print(json.dumps(first))
"""


def first_importers(names: list[str], watch) -> dict[str, str]:
    """{watched module: the first of ``names`` whose import loaded it}, in a clean process."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _PROBE, ",".join(watch), *names], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_model_and_engine_never_load_qt():
    names = modules("convexplorer.model") + modules("convexplorer.engine") + [
        "convexplorer.cli", "convexplorer.resources_path"]
    assert "convexplorer.engine.run" in names and "convexplorer.model.shapes" in names
    assert first_importers(names, QT) == {}


def test_model_never_loads_torch():
    assert first_importers(modules("convexplorer.model"), ("torch",)) == {}


def test_torch_free_engine_modules():
    assert first_importers(list(TORCH_FREE_ENGINE), ("torch",)) == {}


def test_cli_loads_torch_only_for_a_command():
    assert first_importers(["convexplorer.cli"], ("torch",) + QT) == {}


def test_gui_never_loads_torch():
    names = modules("convexplorer.gui")
    if len(names) == 1:
        pytest.skip("no GUI modules yet")
    assert first_importers(names, ("torch",)) == {}


def test_the_probe_would_notice():
    """The check is not vacuous: importing the engine's runner does load torch."""
    assert first_importers(["convexplorer.engine.run"], ("torch",)) == {
        "torch": "convexplorer.engine.run"}
    assert convexplorer.__name__ == "convexplorer"
