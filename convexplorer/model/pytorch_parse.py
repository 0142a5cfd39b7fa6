"""Read the modules out of PyTorch text without running it: ``print(model)`` output
(``pytorch_print``), or code such as ``nn.Sequential(nn.Conv2d(1, 20, 3), ...)``,
``OrderedDict([...])`` forms and classes' ``self.x = nn.Conv2d(...)`` lines (``pytorch_reader``).
The text is parsed with ``ast``, never executed.

What comes back is raw: class names and argument values as written, in order, with qualified
names (``features.0``). ``model.pytorch_code`` maps them onto the layer catalogue. Hostile text
is refused with a message, never an exception from deep inside: more than ``MAX_TEXT_CHARS``,
a NUL byte, more than ``MAX_LAYERS`` layers (counted before any repeat is expanded), nesting
deeper than Python or ``MAX_NESTING`` allows.
"""

from __future__ import annotations

import ast

from .import_notes import note
from .pytorch_print import PRINT_LINE, parse_print
from .pytorch_raw import MAX_LAYERS, MAX_NESTING, MAX_TEXT_CHARS, Parsed, ParseError, RawModule
from .pytorch_reader import CodeReader
from .pytorch_values import Opaque, OutOfRange, hide_long_digits

__all__ = ["MAX_LAYERS", "MAX_NESTING", "MAX_TEXT_CHARS", "Opaque", "OutOfRange", "ParseError",
           "Parsed", "RawModule", "parse"]


def parse(text: str, class_name: str | None = None) -> Parsed:
    """The modules in ``text``; ``class_name`` picks the class to read where code defines
    several. Raises ParseError (its message a Note) for text that gives nothing to read."""
    if len(text) > MAX_TEXT_CHARS:
        raise ParseError(note("too_long", size=len(text), limit=MAX_TEXT_CHARS))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ParseError(note("nul", line=line))
    text = text.expandtabs(4)  # not stripped: line numbers stay the text's
    if not text.strip():
        raise ParseError(note("empty"))
    if PRINT_LINE.search(text):
        return parse_print(text)
    text = hide_long_digits(text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        if "Exceeds the limit" in str(exc.msg):  # Python refuses > 4300 digits itself
            raise ParseError(note("huge_digits", line=exc.lineno or 1, limit=4300)) from None
        if exc.lineno is None:
            raise ParseError(note("syntax_no_line", error=exc.msg)) from None
        raise ParseError(note("syntax", line=exc.lineno, error=exc.msg)) from None
    except (RecursionError, MemoryError):
        raise ParseError(note("too_deep")) from None
    except ValueError as exc:
        raise ParseError(note("syntax_no_line", error=str(exc))) from None
    try:
        return CodeReader(text, tree, class_name).read()
    except RecursionError:  # a guard: every walk over the tree is meant to be a loop
        raise ParseError(note("too_deep")) from None
