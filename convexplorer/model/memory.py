"""How much memory a run needs, estimated from the inferred shapes, and the limit above which
the window asks first and the command line refuses (``CONVEXPLORER_MEMORY_LIMIT_MB``).

Pure arithmetic: no torch, no Qt, so the window can show the estimate on every edit.
"""

from __future__ import annotations

import math
import os

from .shapes import ShapeReport

LIMIT_ENV = "CONVEXPLORER_MEMORY_LIMIT_MB"
DEFAULT_LIMIT_MB = 2048  # most machines have it to spare; a run beyond it deserves a question


def estimate_bytes(report: ShapeReport) -> int:
    """Memory a run needs, roughly: input, every output and their gradients (float32), pooling
    indices (int64), parameters and their gradients."""
    total = 2 * 4 * math.prod(report.input_shape) if report.input_shape else 0
    for info in report.layers:
        if info.output_shape is None:
            continue
        n = math.prod(info.output_shape)
        total += 2 * 4 * n + 2 * 4 * info.params
        if info.kwargs.get("return_indices"):
            total += 8 * n
    return total


def memory_limit_bytes() -> int | None:
    """The limit from ``CONVEXPLORER_MEMORY_LIMIT_MB`` (default 2048 MiB); 0 or less: no
    limit. A value that is not a number is ignored (the default applies)."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    try:
        mb = float(text) if text else DEFAULT_LIMIT_MB
    except ValueError:
        mb = DEFAULT_LIMIT_MB
    if not math.isfinite(mb):
        mb = DEFAULT_LIMIT_MB if math.isnan(mb) else 0
    return None if mb <= 0 else int(mb * 2**20)


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB', 3 * 2**30 -> '3.0 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover - the loop always returns


def over_limit_message(estimate: int, limit: int) -> str:
    """Why a run is held: the estimate, the limit and what to do."""
    return (f"this run needs about {fmt_bytes(estimate)} (activations and gradients), more "
            f"than the {fmt_bytes(limit)} limit; make the input smaller, use fewer channels or "
            "a larger stride")
