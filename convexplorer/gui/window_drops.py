"""Files dropped onto the window: an image or a .npy file becomes the input, a .json file is
opened as a config (read first: a damaged or newer one is refused and nothing changes)."""

from __future__ import annotations

from pathlib import Path

from .input_panel import IMAGE_SUFFIXES

DROPPABLE = IMAGE_SUFFIXES + (".npy", ".json")


def dropped_path(event) -> Path | None:
    """The local file a drag event carries, if the window can use it."""
    mime = event.mimeData()
    urls = mime.urls() if mime.hasUrls() else []
    if not urls or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() in DROPPABLE else None


def open_dropped(window, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        window.input_panel.set_npy(str(path))
    elif suffix == ".json":
        window.file_actions.open_path(path)
    else:
        window.input_panel.set_image(str(path))
