"""Fixtures of the window tests: a shown window on the bundled example, its first result
drawn; closing it must leave no runner thread."""

from __future__ import annotations

import pytest

from .window_helpers import open_window, runner_threads


@pytest.fixture
def window(qtbot):
    """The default example in a window whose runner runs synchronously."""
    w = open_window(qtbot, sync=True)
    yield w
    w.close()
    assert not runner_threads()


@pytest.fixture
def threaded_window(qtbot):
    """The default example in a window with the real worker thread."""
    w = open_window(qtbot, sync=False)
    yield w
    w.close()
    assert not runner_threads()
