"""Reading a file the user named, safely: only a regular file is opened (a named pipe, a device
such as /dev/zero or a folder would block or never end), and never more than a size cap is read.
Every file convexplorer reads (configs, settings, images, .npy arrays, --input) goes through
here. No Qt, no torch.

Errors are ``FileProblem``: a short sentence without the path, so each caller puts the path
(shortened by ``short_path``) in front in its own message.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from typing import BinaryIO

NO_SUCH_FILE = "no such file"
CANNOT_READ = "cannot read ({reason})"
NOT_REGULAR = "is {kind}, not a regular file; give the path of a file"
TOO_LARGE = "is {size}, larger than the {limit} a {what} may be"

SHOWN_PATH = 120  # characters of a path a message shows at most


class FileProblem(OSError):
    """A file that was not read; ``str()`` says why in a few words (no path)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def short_path(path: str | os.PathLike) -> str:
    """A path as a message shows it: whole up to 120 characters, else its start and end."""
    text = str(path)
    if len(text) <= SHOWN_PATH:
        return text
    half = (SHOWN_PATH - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover - the loop always returns


def open_regular(path: str | os.PathLike, limit: int, what: str = "file") -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file of at most ``limit``
    bytes; else FileProblem. Opening does not block: a named pipe is opened without waiting
    for a writer, then refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileProblem(NO_SUCH_FILE) from None
    except OSError as exc:
        raise FileProblem(CANNOT_READ.format(reason=exc.strerror or exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem(NOT_REGULAR.format(kind=_kind(st.st_mode)))
        if st.st_size > limit:
            raise FileProblem(TOO_LARGE.format(size=_size(st.st_size), limit=_size(limit),
                                               what=what))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The whole content of a regular file of at most ``limit`` bytes (see open_regular). A
    file that grows past the limit while being read is refused too."""
    with open_regular(path, limit, what) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise FileProblem(CANNOT_READ.format(reason=exc.strerror or exc)) from None
    if len(data) > limit:
        raise FileProblem(TOO_LARGE.format(size=f"over {_size(limit)}", limit=_size(limit),
                                           what=what))
    return data


def is_regular(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (False for anything that cannot be asked, such as a
    path too long for the system)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


STEM_CHARS = 48  # of a user's name in a file name: file systems allow 255 bytes in all


def safe_stem(name: str, fallback: str = "untitled") -> str:
    """A file name part made from a user's text (a layer or config name): letters, digits and
    ``_.-`` only, at most STEM_CHARS characters. A longer name is cut and gets a short hash
    of the whole, so two long names that start alike still give two files."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or fallback
    if len(safe) <= STEM_CHARS:
        return safe
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[:STEM_CHARS - 9].rstrip('_.')}_{digest}"
