"""Advisory file locks, to tell a file some running process holds from one a dead process left
behind: an autosave of a window still open from a crash's leftover, a save still writing its
temporary file from a killed save's. The system releases a lock when its process dies, however
it dies, and whatever its process id (in a container every app is PID 1).

``fcntl.flock`` on POSIX (a lock belongs to one open file, so two windows in one process hold
two locks), ``msvcrt.locking`` on Windows. No Qt, no torch.
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None

AVAILABLE = fcntl is not None or msvcrt is not None


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on open file ``fd`` without waiting; False if another open file
    holds one (or this system has no locks)."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        if msvcrt is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
    except OSError:
        return False
    return False


def unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif msvcrt is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def held_elsewhere(path: str | os.PathLike) -> bool | None:
    """Whether some open file (any process, this one included) holds a lock on ``path``:
    True, False, or None when ``path`` does not exist or cannot be asked."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if try_lock(fd):
            unlock(fd)
            return False
        return True if AVAILABLE else None
    finally:
        os.close(fd)
