"""Real results shared by the panel tests (each run once per session)."""

from __future__ import annotations

import pytest

from .helpers import run_example


@pytest.fixture(scope="session")
def mnist_result():
    return run_example("mnist_convnet.json")


@pytest.fixture(scope="session")
def dgc_result():
    """The dilation/groups/ceil_mode example: conv, dilated (dilation 2), depthwise (groups 4),
    pool (MaxPool2d 3, stride 2, ceil_mode, return_indices), unpool."""
    return run_example("dilation_groups_ceil.json")
