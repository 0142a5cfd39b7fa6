"""File menu actions (stub: the files work fills this in).

The window creates ``FileActions(window)`` once, calls ``populate(menu)`` while building its
File menu (the window itself appends the final separator and Quit), and asks
``confirm_close()`` in its closeEvent (False keeps the window open).
"""

from __future__ import annotations


class FileActions:
    def __init__(self, window):
        self.window = window

    def populate(self, menu) -> None:
        """Add New/Open/Open Recent/Save/Save As/Export... actions to ``menu``."""

    def confirm_close(self) -> bool:
        """True when the window may close (no unsaved work, or the user agreed)."""
        return True
