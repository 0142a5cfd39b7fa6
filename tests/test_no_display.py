"""``python main.py`` on a machine without a display: one line and exit 2, before Qt aborts the
process (exit 134) with its message about xcb-cursor0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from convexplorer.gui import app

REPO = Path(__file__).resolve().parents[1]


def test_no_display_is_one_line_and_exit_2():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, str(REPO / "main.py")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for Linux")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("convexplorer: no display "
                                                                   "found")
    assert "--screenshot" in proc.stderr and "Xvfb" in proc.stderr


@pytest.mark.parametrize("env, problem", [
    ({}, "neither DISPLAY nor WAYLAND_DISPLAY"),
    ({"QT_QPA_PLATFORM": "offscreen"}, None),
    ({"QT_QPA_PLATFORM": "minimal"}, None),
    ({"QT_QPA_PLATFORM": "xcb"}, "DISPLAY is not set"),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "WAYLAND_DISPLAY is not set"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, None),
])
def test_display_problem(env, problem):
    got = app.display_problem(env, "linux")
    assert (got is None) if problem is None else (problem in got)


def test_missing_xcb_cursor_is_named(monkeypatch):
    monkeypatch.setattr(app, "_xcb_cursor_missing", lambda: True)
    got = app.display_problem({"DISPLAY": ":0"}, "linux")
    assert "libxcb-cursor" in got and "apt install libxcb-cursor0" in got
    monkeypatch.setattr(app, "_xcb_cursor_missing", lambda: False)
    assert app.display_problem({"DISPLAY": ":0"}, "linux") is None


def test_other_systems_are_left_to_qt():
    assert app.display_problem({}, "darwin") is None and app.display_problem({}, "win32") is None
