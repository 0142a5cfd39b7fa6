"""The installed package holds every sub-package and the bundled resources."""

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "convexplorer").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"]["convexplorer.resources"] == "resources"
    data = config["package-data"]["convexplorer.resources"]
    for folder in ("examples", "images"):
        files = list((REPO / "resources" / folder).iterdir())
        assert files and any(p.match(pattern) for pattern in data for p in files)


def test_entry_point_is_the_same_as_main_py():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["convexplorer"] == "convexplorer.cli:main"
    assert "from convexplorer.cli import main" in (REPO / "main.py").read_text()
