"""The bounds of every number a user can give, in one place: the catalogue's layer parameters
take theirs from here, and so do the config's own fields (seeds, input shape, frequency). Each
bound is one torch accepts and a spin box can hold, so a value that enters through a config
file, the form or the importer is checked once against the same limit.

Also how a number is shown in a message: ``fmt_number`` abbreviates a 400-digit integer, so a
message stays one short line whatever the user typed. No Qt, no torch.
"""

from __future__ import annotations

import math
from typing import Any

# torch keeps sizes as int64, but a Qt spin box holds an int32 and anything near 2**31 is far
# beyond any real memory anyway: kernel sizes, strides, padding, dilation, channels, features,
# groups, output sizes and the config's seeds and indices stay below 2**31.
MAX_INT = 2**31 - 1
MAX_FLOAT = 1e9  # eps, negative_slope: far beyond any sensible value, still finite in float32
MAX_SHAPE_RANK = 5
MIN_FREQUENCY, MAX_FREQUENCY = 0.01, 10_000.0  # cycles over a signal's length
MAX_IMAGE_SIDE = 4096  # an image input's resize target, per side
MAX_DEPTH = 16  # JSON nesting of a config: three levels are used, a few more are tolerated
MAX_CONFIG_BYTES = 16 << 20  # a config is a few KiB; 16 MiB leaves room for long names

DIGITS_SHOWN = 15  # integers longer than this are shown abbreviated in messages


def fmt_number(value: Any) -> str:
    """A number as a message shows it: exact up to 15 digits, ``1.00e+400`` beyond (Python
    cannot even turn such an int into a float), ``nan`` / ``inf`` as such."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    digits = str(abs(value)) if value.bit_length() < 14_000 else None
    if digits is not None and len(digits) <= DIGITS_SHOWN:
        return str(value)
    if digits is None:  # over ~4300 digits: str() itself refuses; say roughly how long
        exponent = int(value.bit_length() * math.log10(2))
        return f"{'-' if value < 0 else ''}about 1e+{exponent}"
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
