"""The panels never import torch (only the engine's worker does)."""

from __future__ import annotations

import subprocess
import sys

from .helpers import EXAMPLES


def test_panels_and_explain_import_without_torch():
    code = ("import sys; import convexplorer.gui.panels as p; "
            "import convexplorer.gui.panels.activations, convexplorer.gui.panels.pooling, "
            "convexplorer.gui.panels.gradients, convexplorer.gui.panels.receptive, "
            "convexplorer.gui.panels.explain_view, convexplorer.model.explain, "
            "convexplorer.gui.panels.values, convexplorer.gui.panels.compute_view; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=EXAMPLES.parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
