"""Hostile files, made small and on demand: what the hostile-input campaign of issue 16 fed the
app. Shared by the command-line, engine, fuzz and window tests. Each maker writes into
``folder`` and returns the path (a FIFO where the system has them; None where it cannot)."""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np


def png_bytes(width: int, height: int, rows: int = 16) -> bytes:
    """A grayscale PNG whose header says ``width`` x ``height`` but whose data holds only a
    few rows of zeros: a few kilobytes that claim a huge image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * (width + 1) * min(height, rows), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))


def png_bomb(folder: Path) -> Path:
    path = folder / "bomb.png"
    path.write_bytes(png_bytes(20000, 10000))
    return path


def png_claiming_4096(folder: Path) -> Path:
    """A PNG of a few KB that decodes to a whole 4096 x 4096 image (all zeros)."""
    path = folder / "zeros4096.png"
    path.write_bytes(png_bytes(4096, 4096, rows=4096))
    return path


def bmp_bomb(folder: Path) -> Path:
    path = folder / "bomb.bmp"
    header = b"BM" + struct.pack("<IHHI", 0, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 2**31 - 1, 2**31 - 1, 1, 24, 0, 0, 0, 0, 0, 0)
    path.write_bytes(header + info)
    return path


def other_format(folder: Path, fmt: str, suffix: str = ".png") -> Path:
    """A real image in another format (TIFF, GIF, ICO) under a PNG-like name."""
    from PIL import Image

    path = folder / f"{fmt.lower()}{suffix}"
    Image.new("L", (16, 16), 100).save(path, format=fmt)
    return path


def empty_npy(folder: Path) -> Path:
    path = folder / "empty.npy"
    path.write_bytes(b"")
    return path


def bad_header_npy(folder: Path) -> Path:
    path = folder / "badheader.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'fortran_order': False, "
                     b"'shape': (1,1,2,2), }   \n" + b"\0" * 4)
    return path


def short_npy(folder: Path) -> Path:
    """A header promising 1x1x64x64 float32 values, and 12 bytes of data."""
    path = folder / "short.npy"
    np.save(path, np.zeros((1, 1, 64, 64), np.float32))
    path.write_bytes(path.read_bytes()[:140])
    return path


def huge_float64_npy(folder: Path) -> Path:
    path = folder / "huge.npy"
    np.save(path, np.full((1, 1, 28, 28), 1e300))
    return path


def fifo(folder: Path, name: str = "pipe.json") -> Path | None:
    if not hasattr(os, "mkfifo"):
        return None
    path = folder / name
    os.mkfifo(path)
    return path


def device_file() -> Path | None:
    return Path("/dev/zero") if sys.platform != "win32" and Path("/dev/zero").exists() else None


def long_path(folder: Path, suffix: str) -> Path:
    """A path of 5,000 characters: longer than any file system allows."""
    return folder / ("a" * 5000 + suffix)


def config_file(folder: Path, data, name: str = "cfg.json") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# name: maker(folder) -> path, for files offered as an input (image or .npy)
INPUT_FILES = {
    "PNG bomb": png_bomb,
    "BMP bomb": bmp_bomb,
    "TIFF named .png": lambda d: other_format(d, "TIFF"),
    "GIF named .png": lambda d: other_format(d, "GIF"),
    "ICO named .png": lambda d: other_format(d, "ICO"),
    "0-byte .npy": empty_npy,
    "malformed .npy header": bad_header_npy,
    ".npy shorter than its header": short_npy,
    "float64 .npy beyond float32": huge_float64_npy,
    "FIFO named .png": lambda d: fifo(d, "pipe.png"),
    "FIFO named .npy": lambda d: fifo(d, "pipe.npy"),
    "path of 5000 characters (.png)": lambda d: long_path(d, ".png"),
    "path of 5000 characters (.npy)": lambda d: long_path(d, ".npy"),
}
# files whose header is fine and whose values are not (found when a run reads them)
VALUE_PROBLEMS = ("float64 .npy beyond float32",)
# what the one-line message says about each
INPUT_WORDS = {
    "PNG bomb": "claims to be far larger than 16777216 pixels",
    "BMP bomb": "claims to be far larger than 16777216 pixels",
    "TIFF named .png": "in TIFF format; convexplorer reads PNG, JPEG or BMP",
    "GIF named .png": "in GIF format",
    "ICO named .png": "in ICO format",
    "0-byte .npy": "not a readable .npy array",
    "malformed .npy header": "not a readable .npy array (damaged header)",
    ".npy shorter than its header": "the file has 140 bytes, its header promises 16512",
    "float64 .npy beyond float32": "values up to 1e+300 do not fit float32",
    "FIFO named .png": "is a named pipe (FIFO), not a regular file",
    "FIFO named .npy": "is a named pipe (FIFO), not a regular file",
    "path of 5000 characters (.png)": "cannot read (File name too long)",
    "path of 5000 characters (.npy)": "cannot read (File name too long)",
}


def crashed_autosave(folder: Path, config, source=None):
    """An autosave as a crash leaves it: written, and its window's lock gone (the system drops
    the locks of a dead process) while the file stays."""
    from convexplorer.model.settings import Autosave

    auto = Autosave(folder)
    auto.write(config, source)
    os.close(auto._lock_fd)
    auto._lock_fd = None
    return auto
