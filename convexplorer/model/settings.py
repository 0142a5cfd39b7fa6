"""What convexplorer keeps for the user between sessions: the recent files list and the
autosave of unsaved work. Qt-free, so it is tested without a GUI.

Everything lives in one folder: ``$CONVEXPLORER_CONFIG_DIR`` if set, else the platform's user
config folder (``~/.config/convexplorer`` on Linux, ``~/Library/Application Support/
convexplorer`` on macOS, ``%APPDATA%\\convexplorer`` on Windows). Files are written atomically.

Each running window autosaves to its own file, ``autosave-<time>-<random>.json``, and holds a
lock on ``autosave-<time>-<random>.lock`` beside it while it runs; a clean close removes both.
An autosave whose lock nobody holds is what a crash left behind (the system releases the lock
of a dead process), offered back on the next start (``orphaned_autosaves``). Neither the name
nor the test depends on the process id, which is 1 for every start in a container.

Settings writes are best effort: the callers (the window) say in the status bar when one
fails, and the work itself goes on.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import locks
from .config_io import ConfigError, atomic_write_text, config_from_dict
from .files import read_regular
from .limits import MAX_CONFIG_BYTES
from .spec import Config

APP = "convexplorer"
RECENT_LIMIT = 10
AUTOSAVE_FORMAT = "convexplorer-autosave"
RECENT_BYTES = 1 << 20  # recent.json holds ten paths


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
            data = json.loads(read_regular(self.file, RECENT_BYTES, "recent files list"))
        except (OSError, ValueError, RecursionError):
            return []  # none yet, or damaged: start a new list rather than fail
        if not isinstance(data, dict) or not isinstance(data.get("recent"), list):
            return []
        return [Path(p) for p in data["recent"] if isinstance(p, str) and p][: self.limit]

    def _write(self, paths) -> None:
        _folder(self.folder)
        unique = list(dict.fromkeys(str(p) for p in paths))[: self.limit]
        atomic_write_text(self.file, json.dumps({"recent": unique}, indent=2) + "\n")

    def add(self, path) -> None:
        """Put ``path`` first. Raises OSError when the list cannot be written (a full disk)."""
        path = _absolute(path)
        self._write([path] + [p for p in self.paths() if p != path])

    def remove(self, path) -> None:
        path = _absolute(path)
        self._write([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._write([])

    def prune(self) -> list[Path]:
        """Drop the files that no longer exist; returns them."""
        paths = self.paths()
        missing = [p for p in paths if not _is_file(p)]
        if missing:
            self._write([p for p in paths if p not in missing])
        return missing


# -- autosave ----------------------------------------------------------------------------------


def _absolute(path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a path too long to resolve, a symlink loop
        return Path(os.path.abspath(path))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _lock_file(json_file: Path) -> Path:
    return json_file.with_suffix(".lock")


def _sidecar(json_file: Path) -> Path:
    """Where an autosave's large edited weights are (model.weights_io.sidecar_name)."""
    from .weights_io import sidecar_name

    return json_file.parent / sidecar_name(json_file)


@dataclass(frozen=True)
class Autosaved:
    """Unsaved work found on disk: the config, the file it was edited from (None: never
    saved), when it was written and by which process (informative only)."""

    file: Path
    config: Config
    source: Path | None
    saved_at: float
    pid: int
    _claim: list = field(default_factory=list, compare=False, repr=False)

    def claim(self) -> bool:
        """Hold this autosave's lock, as its own window did: while the work restored from it is
        not saved or autosaved again, another start does not take it for a crash's leftover,
        and a crash before then leaves it to be offered again. True if the lock is held."""
        if self._claim:
            return True
        lock = _lock_file(self.file)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        if not locks.try_lock(fd):
            os.close(fd)
            return False
        self._claim.append(fd)
        return True

    def discard(self) -> None:
        """Remove the autosave and its lock file (the work was restored and saved again, or
        the user chose to drop it)."""
        for path in (self.file, _lock_file(self.file), _sidecar(self.file)):
            try:
                path.unlink()
            except OSError:
                pass
        while self._claim:
            fd = self._claim.pop()
            locks.unlock(fd)
            os.close(fd)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        what = self.source.name if self.source else "an unsaved config"
        n = len(self.config.layers)
        return f"{what} ({n} layer{'s' if n != 1 else ''}), autosaved {when}"


def new_key() -> str:
    """A name part unique to one window of one start: the time and 8 random hex digits."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"


class Autosave:
    """One window's autosave file, and the lock that says the window is still open."""

    def __init__(self, folder=None, key: str | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.key = key or new_key()
        self.name = f"autosave-{self.key}.json"
        self._lock_fd: int | None = None

    @property
    def file(self) -> Path:
        return (self.folder or config_dir()) / self.name

    @property
    def lock_file(self) -> Path:
        return _lock_file(self.file)

    def _hold_lock(self) -> None:
        """Lock the lock file before the first write, for as long as the window is open."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        if not locks.try_lock(fd) and locks.AVAILABLE:
            os.close(fd)  # taken: another window with the same key (never, in practice)
            raise OSError(f"{self.lock_file} is locked by another window")
        self._lock_fd = fd

    def write(self, config: Config, source=None) -> None:
        """Large edited weights go to ``autosave-KEY.weights.npz`` beside it, as a save does."""
        from .config_io import atomic_write_npz
        from .pytorch_export import module_names
        from .weights_io import split_document

        _folder(self.folder)
        self._hold_lock()
        doc = config.to_dict()
        arrays = split_document(doc, config.layers, module_names(config.layers), self.file)
        if arrays:
            atomic_write_npz(_sidecar(self.file), arrays)
        data = {"format": AUTOSAVE_FORMAT, "pid": os.getpid(), "saved_at": time.time(),
                "source": str(source) if source else None, "config": doc}
        atomic_write_text(self.file, json.dumps(data, indent=1) + "\n")

    def clear(self) -> None:
        """Remove the autosave (the work was saved); the lock stays held while the window is
        open."""
        for path in (self.file, _sidecar(self.file)):
            try:
                path.unlink()
            except OSError:
                pass

    def close(self) -> None:
        """A clean close: remove the autosave, then release and remove the lock file."""
        self.clear()
        if self._lock_fd is not None:
            try:
                self.lock_file.unlink()
            except OSError:
                pass
            locks.unlock(self._lock_fd)
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def exists(self) -> bool:
        return _is_file(self.file)


def read_autosave(file: Path) -> Autosaved | None:
    """An autosave file, or None if it is damaged or from a newer convexplorer."""
    try:
        data = json.loads(read_regular(file, MAX_CONFIG_BYTES, "autosave"))
        if not isinstance(data, dict) or data.get("format") != AUTOSAVE_FORMAT:
            return None
        config = config_from_dict(data.get("config"), str(file), file.parent)
        source = data.get("source")
        return Autosaved(file, config, Path(source) if isinstance(source, str) else None,
                         float(data.get("saved_at", 0.0)), int(data.get("pid", 0)))
    except (OSError, ValueError, TypeError, OverflowError, RecursionError, ConfigError):
        return None


def orphaned_autosaves(folder=None) -> list[Autosaved]:
    """Autosaves that no running window holds (a crash left them), newest first. A lock file
    left without its autosave (a crash before the first write) is removed."""
    path = Path(folder) if folder is not None else config_dir()
    found = []
    try:
        files = list(path.glob("autosave-*.json"))
        leftovers = [p for p in path.glob("autosave-*.lock")
                     if not _is_file(p.with_suffix(".json"))]
    except OSError:
        return []
    for file in files:
        if locks.held_elsewhere(_lock_file(file)):
            continue  # its window is still open (in this process or another)
        item = read_autosave(file)
        if item is not None:
            found.append(item)
    for lock in leftovers:
        if locks.held_elsewhere(lock) is False:
            try:
                lock.unlink()
            except OSError:
                pass
    return sorted(found, key=lambda a: a.saved_at, reverse=True)


# -- saving elsewhere --------------------------------------------------------------------------


def rebase_input(config: Config, old_dir, new_dir) -> Config:
    """The config with a relative input path, and relative checkpoint paths of its layers'
    weights, made to point at the same files from ``new_dir`` (Save As into another folder);
    ``sample:`` and absolute paths are kept."""
    from .weights_io import rebase_weights

    if old_dir is not None:
        layers = tuple(spec.with_weights(rebase_weights(spec.weights, old_dir, new_dir))
                       if spec.weights.source == "checkpoint" else spec
                       for spec in config.layers)
        if layers != config.layers:
            config = config.with_layers(layers)
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
