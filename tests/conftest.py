"""Shared test set-up. Qt runs headless: the platform is set before anything imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# Keep the test session's settings (recent files, autosave) away from the user's.
os.environ.setdefault("CONVEXPLORER_CONFIG_DIR", os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"convexplorer-test-{os.getpid()}"))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "resources" / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(autouse=True)
def _answer_unsaved_changes_with_discard(monkeypatch):
    """Closing a window with unsaved changes asks Save / Discard / Cancel in a modal box,
    which would wait forever offscreen: tests answer Discard unless they patch it themselves
    (tests/gui/test_file_actions.py does)."""
    import sys

    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is not None:
        monkeypatch.setattr(widgets.QMessageBox, "question", staticmethod(
            lambda *args, **kwargs: widgets.QMessageBox.StandardButton.Discard))


@pytest.fixture(scope="session", autouse=True)
def _no_garbage_collection_inside_qt():
    """Python's cyclic garbage collector runs when allocations say so, which can be inside a
    Qt call that holds Qt's connection lock (pyqtgraph disconnecting a signal): if it then
    destroys a leftover widget of an earlier test, whose destructor takes the same lock, the
    process deadlocks (seen: a QComboBox destroyed during ViewBox.addItem). The tests collect
    between tests instead, where no Qt call is under way."""
    import gc

    was = gc.isenabled()
    gc.disable()
    yield
    if was:
        gc.enable()


_TESTS_SINCE_COLLECT = [0]


@pytest.fixture(autouse=True)
def _collect_garbage_between_tests(request):
    """After a window test (its widgets are garbage now), and every 25 other tests."""
    import gc

    yield
    _TESTS_SINCE_COLLECT[0] += 1
    if "gui" in request.node.path.parts or _TESTS_SINCE_COLLECT[0] >= 25:
        _TESTS_SINCE_COLLECT[0] = 0
        gc.collect()
