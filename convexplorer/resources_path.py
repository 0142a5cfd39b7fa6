"""Where the bundled resources (examples, sample images, icons) are: the repository's
``resources/`` folder, or the ``convexplorer.resources`` package of an installed wheel."""

from __future__ import annotations

from importlib import resources as _ir
from pathlib import Path


def resources_dir() -> Path:
    repo = Path(__file__).resolve().parents[1] / "resources"
    if repo.is_dir():
        return repo
    return Path(str(_ir.files("convexplorer.resources")))


def example_path(name: str) -> Path:
    return resources_dir() / "examples" / name


def sample_image_path(name: str) -> Path:
    return resources_dir() / "images" / name


DEFAULT_EXAMPLE = "mnist_convnet.json"
