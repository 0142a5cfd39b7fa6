"""What convexplorer keeps for the user between sessions: the recent files list and the
autosave of unsaved work. Qt-free, so it is tested without a GUI.

Everything lives in one folder: ``$CONVEXPLORER_CONFIG_DIR`` if set, else the platform's user
config folder (``~/.config/convexplorer`` on Linux, ``~/Library/Application Support/
convexplorer`` on macOS, ``%APPDATA%\\convexplorer`` on Windows). Files are written atomically.

Each running window autosaves to its own file, ``autosave-<pid>-<n>.json``; a clean close
removes it. A file whose process is gone is what a crash left behind, offered back on the next
start (``orphaned_autosaves``).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .config_io import ConfigError, atomic_write_text, config_from_dict
from .spec import Config

APP = "convexplorer"
RECENT_LIMIT = 10
AUTOSAVE_FORMAT = "convexplorer-autosave"
_tokens = itertools.count(1)


def config_dir() -> Path:
    env = os.environ.get("CONVEXPLORER_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / APP


def _folder(folder) -> Path:
    path = Path(folder) if folder is not None else config_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- recent files ------------------------------------------------------------------------------


class RecentFiles:
    """The most recently opened or saved configs, newest first, kept in ``recent.json``."""

    def __init__(self, folder=None, limit: int = RECENT_LIMIT):
        self.folder = Path(folder) if folder is not None else None
        self.limit = limit

    @property
    def file(self) -> Path:
        return (self.folder or config_dir()) / "recent.json"

    def paths(self) -> list[Path]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []  # none yet, or damaged: start a new list rather than fail
        if not isinstance(data, dict) or not isinstance(data.get("recent"), list):
            return []
        return [Path(p) for p in data["recent"] if isinstance(p, str) and p][: self.limit]

    def _write(self, paths) -> None:
        _folder(self.folder)
        unique = list(dict.fromkeys(str(p) for p in paths))[: self.limit]
        atomic_write_text(self.file, json.dumps({"recent": unique}, indent=2) + "\n")

    def add(self, path) -> None:
        path = Path(path).resolve()
        self._write([path] + [p for p in self.paths() if p != path])

    def remove(self, path) -> None:
        path = Path(path).resolve()
        self._write([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._write([])

    def prune(self) -> list[Path]:
        """Drop the files that no longer exist; returns them."""
        paths = self.paths()
        missing = [p for p in paths if not p.is_file()]
        if missing:
            self._write([p for p in paths if p not in missing])
        return missing


# -- autosave ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Autosaved:
    """Unsaved work found on disk: the config, the file it was edited from (None: never
    saved), when it was written and by which process."""

    file: Path
    config: Config
    source: Path | None
    saved_at: float
    pid: int

    def discard(self) -> None:
        try:
            self.file.unlink()
        except OSError:
            pass

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        what = self.source.name if self.source else "an unsaved config"
        n = len(self.config.layers)
        return f"{what} ({n} layer{'s' if n != 1 else ''}), autosaved {when}"


class Autosave:
    """One window's autosave file."""

    def __init__(self, folder=None, pid: int | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.pid = os.getpid() if pid is None else pid
        self.name = f"autosave-{self.pid}-{next(_tokens)}.json"

    @property
    def file(self) -> Path:
        return (self.folder or config_dir()) / self.name

    def write(self, config: Config, source=None) -> None:
        _folder(self.folder)
        data = {"format": AUTOSAVE_FORMAT, "pid": self.pid, "saved_at": time.time(),
                "source": str(source) if source else None, "config": config.to_dict()}
        atomic_write_text(self.file, json.dumps(data, indent=1) + "\n")

    def clear(self) -> None:
        try:
            self.file.unlink()
        except OSError:
            pass

    @property
    def exists(self) -> bool:
        return self.file.is_file()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs. Windows cannot ask cheaply: there only this
    process counts as alive, so a second window's autosave may be offered to the first."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return False
    return True


def read_autosave(file: Path) -> Autosaved | None:
    """An autosave file, or None if it is damaged or from a newer convexplorer."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != AUTOSAVE_FORMAT:
            return None
        config = config_from_dict(data.get("config"), str(file))
        source = data.get("source")
        return Autosaved(file, config, Path(source) if isinstance(source, str) else None,
                         float(data.get("saved_at", 0.0)), int(data.get("pid", 0)))
    except (OSError, ValueError, TypeError, ConfigError):
        return None


def orphaned_autosaves(folder=None) -> list[Autosaved]:
    """Autosaves left by processes that are gone (a crash), newest first."""
    path = Path(folder) if folder is not None else config_dir()
    found = []
    for file in path.glob("autosave-*-*.json"):
        try:
            pid = int(file.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid_alive(pid):
            continue
        item = read_autosave(file)
        if item is not None:
            found.append(item)
    return sorted(found, key=lambda a: a.saved_at, reverse=True)


# -- saving elsewhere --------------------------------------------------------------------------


def rebase_input(config: Config, old_dir, new_dir) -> Config:
    """The config with a relative input path made to point at the same file from ``new_dir``
    (Save As into another folder); ``sample:`` and absolute paths are kept."""
    path = config.input.path
    if (not path or path.startswith("sample:") or Path(path).expanduser().is_absolute()
            or old_dir is None):
        return config
    target = (Path(old_dir) / path).resolve()
    try:
        new = os.path.relpath(target, Path(new_dir).resolve())
    except ValueError:  # another drive on Windows
        new = str(target)
    new = Path(new).as_posix()
    return config if new == path else replace(config, input=replace(config.input, path=new))
