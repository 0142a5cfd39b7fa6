"""What the readers of PyTorch text hand back: raw modules (class names and argument values as
written, qualified names such as ``features.0``) and the notes about what was not read. Shared by
the ``print(model)`` reader (``pytorch_print``) and the code reader (``pytorch_reader``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .import_notes import Note, NoteError, note

CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
# Modules that do nothing to their input and are no layer of the catalogue (an empty
# Sequential); Identity is a catalogue type, imported as a layer like any other.
PASS_THROUGH: tuple[str, ...] = ()

MAX_TEXT_CHARS = 1_000_000  # pasted text (about 1 MB)
MAX_LAYERS = 10_000  # layers one text may make, repeats (3 x Conv2d) and expansions counted
MAX_NESTING = 100  # modules inside modules


class ParseError(NoteError):
    """Text that is neither print(model) output nor Python code with modules in it."""


@dataclass
class RawModule:
    name: str | None  # qualified with "." (features.0); None where the code gives no name
    type: str  # the class name, e.g. "Conv2d"
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    # the innermost custom module around it (qualified name, class), e.g. ("layer1.0",
    # "BasicBlock"): its forward() is not read, and may not run its layers in order
    block: tuple[str, str] | None = None


@dataclass
class Parsed:
    kind: str  # "print" or "code"
    modules: list[RawModule]
    notes: list[Note]
    title: str | None = None  # the model's class (print) or variable / class name (code)
    classes: tuple[str, ...] = ()  # code: the classes with layers the text defines
    class_name: str | None = None  # code: the class that was read
    # code whose forward() was read: Flatten name -> the features ``x.view(-1, k)`` asked for
    flatten_checks: dict[str, int] = field(default_factory=dict)


class Blocks:
    """Custom modules met while reading, by class, for one note per class."""

    def __init__(self):
        self.by_class: dict[str, list[str]] = {}

    def add(self, cls: str, name: str) -> None:
        self.by_class.setdefault(cls, []).append(name)

    def notes(self) -> list[Note]:
        return [note("custom_block", cls=cls, count=len(names), example=names[0])
                for cls, names in self.by_class.items()]
