"""The sentences that PyTorch code in (``print(model)`` text or code) says to the user.

Every note and error is one whole sentence template with named placeholders, so that a
translation can reorder it; a note is kept as data (a key and its values) and written out at the
end for its reader: the window (the paste dialog and its form) or the command line, where there
is no form and the fixes are options. No Qt and no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WINDOW, CLI = "window", "cli"

# One template per key; a pair where the window and the command line need different words.
TEMPLATES: dict[str, str | dict[str, str]] = {
    # -- the text as a whole ------------------------------------------------------------------
    "empty": "nothing to import: paste print(model) output or PyTorch code",
    "too_long": "the text has {size:,} characters, but convexplorer reads at most {limit:,} "
                "(about 1 MB); paste only the model's code or its print(model) output",
    "file_too_long": "the file has {size:,} bytes, but convexplorer reads at most {limit:,} "
                     "characters (about 1 MB); keep only the model's code or its print(model) "
                     "output",
    "nul": "line {line}: the text holds a NUL character (\\0), which neither print(model) output "
           "nor Python code has; remove it",
    "syntax": "line {line}: {error}; paste the output of print(model) or Python code such as "
              "nn.Sequential(nn.Conv2d(1, 20, 3), nn.ReLU())",
    "syntax_no_line": "the text is not Python code ({error}); paste the output of print(model) "
                      "or Python code such as nn.Sequential(nn.Conv2d(1, 20, 3), nn.ReLU())",
    "too_deep": "the code nests too deeply to be read (a very long chain such as 1 + 1 + ... + 1, "
                "or many nested brackets); write the values out",
    "huge_digits": "line {line}: a number has more than {limit:,} digits, far more than any "
                   "layer takes; use a smaller value",
    "no_modules": "no torch.nn modules found: paste print(model) output, or code such as "
                  "nn.Sequential(nn.Conv2d(1, 20, 3), nn.ReLU())",
    "no_supported": "no supported layers found (modules: {found}); supported: {supported}",
    "too_many_repeats": "line {line}: {count} x {type} makes the text more than {limit:,} "
                        "layers, but convexplorer imports at most {limit:,}; import a smaller "
                        "part of the model",
    "too_many_layers": "line {line}: the text makes more than {limit:,} layers by this line, but "
                       "convexplorer imports at most {limit:,}; import a smaller part of the "
                       "model",
    "too_nested": "line {line}: the modules are nested more than {limit} levels deep, but "
                  "convexplorer reads at most {limit}; import a smaller part of the model",
    "bad_shape": "input shape {shape}: give 2 to 5 sizes of at least 1, e.g. 1 1 28 28 "
                 "(N, C, H, W)",
    # -- which class -------------------------------------------------------------------------
    "no_class": {
        WINDOW: "there is no class {name} with layers in the text; choose one of {classes}",
        CLI: "--class {name}: there is no class {name} with layers in the text; choose one of "
             "{classes}",
    },
    "no_class_at_all": {
        WINDOW: "the text defines no class with layers, so class {name} cannot be read",
        CLI: "--class {name}: the text defines no class with layers, so {name} cannot be read",
    },
    "class_outermost": "{name} was read: the text defines the classes {classes}, and the others "
                       "are parts of {name}",
    "class_asked": "{name} was read, as asked; the text also defines {others}",
    "class_several": {
        WINDOW: "the text defines several models ({classes}); {name} was read, choose another "
                "in the Class box",
        CLI: "the text defines several models ({classes}); {name} was read, choose another "
             "with --class NAME",
    },
    "class_cycle": "line {line}: {cls} is built from itself, so its layers are not read",
    "class_too_deep": "line {line}: {cls} is built {limit} classes deep, so its layers are not "
                      "read",
    # -- print(model) --------------------------------------------------------------------------
    "print_line_skipped": "line {line}: not understood, skipped: {text}",
    "print_more_skipped": "{count:,} more lines were not understood and were skipped",
    "print_args_skipped": "line {line}: arguments not understood, skipped: {text}",
    "print_hidden": {
        WINDOW: "print(model) does not show {params}: check them in the form",
        CLI: "print(model) does not show {params}: check them in the written config",
    },
    "print_lists_modules": "print(model) lists the modules of {title}, not what its forward() "
                           "does: functional calls (F.relu, torch.flatten, x.view...) are not in "
                           "it, and modules are in the order they were defined",
    "return_indices_set": "{pool} ({pool_type}): return_indices=True set, since {unpool} "
                          "({unpool_type}) uses its indices (print(model) does not show "
                          "return_indices)",
    # -- code ----------------------------------------------------------------------------------
    "loop_or_condition": "line {line}: layers made inside a loop or condition are not read",
    "forward_calls": "forward() is not read: {calls} there are not layers, so they are not "
                     "imported; add them as layers (e.g. ReLU, MaxPool2d, Flatten)",
    "not_module_call": "line {line}: {text} is not a module call, skipped",
    "built_by_call": "line {line}: self.{attr} = {text} is built by a function call, which is "
                     "not run, so its layers are not imported; write them out, e.g. as "
                     "nn.Sequential(...)",
    "starred_arg": "line {line}: *{text} in {type}(...) is not read",
    "kwargs_arg": "line {line}: **kwargs in {type}(...) are not read",
    "starred_items": "line {line}: *{text} is not read (write the layers out)",
    "reused_module": "line {line}: forward() of {cls} calls self.{attr} more than once (lines "
                     "{lines}), but the stack holds it once, in declaration order, so the layers "
                     "after it may not get the shapes they get in the model",
    "reused_in_loop": "line {line}: forward() of {cls} calls self.{attr} in a loop, but the "
                      "stack holds it once, so the layers after it may not get the shapes they "
                      "get in the model",
    "names_resolved": "names read as the values the text gives them: {pairs}",
    # -- forward() ------------------------------------------------------------------------------
    "flow_read": "forward() of {cls} was read: the {count} layers are in the order it runs "
                 "them, with its functional calls (F.relu, x.view...) and merges (+, torch.cat) "
                 "as layers",
    "flow_unused": "{count} module(s) declared in __init__ but never called in forward() are "
                   "left out: {names}",
    "flow_shared": "line {line}: forward() calls self.{name} again; the stack gets a second "
                   "layer, {copy}, whose weights are its own (the model shares them)",
    "flow_no_forward": "{cls} has no forward(), so the layers are in the order __init__ "
                       "declares them",
    "flow_stop": "line {line}: forward() is not followed at {text}, because {why}",
    "flow_block_unread": "forward() is not followed: {name} ({cls}, {count} in all) is a custom "
                         "module whose layers were not read",
    "flow_fallback": "the stack shows the layers in the order __init__ declares them, not in "
                     "the order forward() runs them",
    "flow_view_assumed": "line {line}: the view to (-1, {text}) is read as a Flatten of all but "
                         "the batch ({text} taken to be the features of one item)",
    "flow_view": "{name}: forward() views the tensor as ({features} features per item), but a "
                 "Flatten here gives {shape}; check the input shape",
    "defaults_used": "{cls}.__init__ is read with its default arguments ({pairs}); the model "
                     "built with other values has other layers",
    "defaults_built": "{cls}.__init__ is read with its default arguments ({pairs}), as line "
                      "{line} builds the model",
    # -- modules -------------------------------------------------------------------------------
    "custom_block": "{cls} ({count} of them, e.g. {example}) is a custom module: its forward() "
                    "may do more than run the layers it holds in order (skip connections, "
                    "concatenation), but the stack runs them in declaration order",
    "passes_through": "{where}: {type}() passes its input through unchanged, so nothing is "
                      "imported for it",
    "holds_nothing": "{where}: {type}() holds no layers, so nothing is imported for it",
    "unsupported": "{where}: skipped, convexplorer does not support {type}",
    "not_literal_auto": "{where}: {param}={text} is not a literal value; left on auto",
    "not_literal_required": {
        WINDOW: "{where}: {param}={text} is not a literal value; set it in the form",
        CLI: "{where}: {param}={text} is not a literal value; set {param} in the written "
             "config before running it",
    },
    "not_literal_default": "{where}: {param}={text} is not a literal value; torch's default is "
                           "used",
    "too_many_positional": "{where}: {count} positional arguments, but {type} takes at most "
                           "{most}; the extra ones are ignored",
    "device_ignored": "{where}: {param}= is ignored (convexplorer picks the device)",
    "unknown_keyword": "{where}: unknown keyword {param!r}, ignored; {type} takes {valid}",
    "keyword_twice": "{where}: {param} given twice; the keyword is used",
    "out_of_range": "{where}: {param}={text} is out of range: convexplorer takes at most "
                    "{limit:,} there; use a smaller value",
    "not_finite": "{where}: {param}={text} is not a finite number; use a number such as "
                  "{example}",
    "name_twice": "{name}: the name is used twice; the later {type} replaces the earlier one, "
                  "as in Python",
    "where": "line {line}: {type}",
    "where_named": "line {line}: {name} ({type})",
    # -- shapes and fixes ----------------------------------------------------------------------
    "shape_guessed": {
        WINDOW: "input shape guessed: {shape}; give the real one in the Input shape box if it "
                "differs",
        CLI: "input shape guessed: {shape}; give the real one with --shape if it differs",
    },
    "insert_flatten": "insert a Flatten before {label}: it gives the {flat} features it expects "
                      "from {shape}",
    "insert_flatten_before": "insert a Flatten before {label}: it gives the {flat} features "
                             "that {linear} expects from {shape}, where forward() flattens",
    "flatten_mismatch": "{label}: in_features={want}, but a Flatten here would give {flat} "
                        "features from {shape}; forward() probably does more (add those layers), "
                        "or the input shape differs",
    "unflatten": "{label}: gets {shape} from a Linear/Flatten; the model reshapes it in "
                 "forward() (nn.Unflatten, not supported here)",
    "branch_inside": "{label}: {problem}; it is inside {block} ({cls}), whose forward() "
                     "probably runs branches (a skip connection, parallel paths or a gate): the "
                     "stack shows its layers in declaration order, one after the other, so they "
                     "do not chain as written",
    "branch_after": "{label}: {problem}; it comes after {block} ({cls}), whose forward() "
                    "probably runs branches (a skip connection, parallel paths or a gate): the "
                    "stack shows its layers in declaration order, one after the other, so this "
                    "layer does not get what it gets in the model",
}


@dataclass(frozen=True)
class Note:
    """One sentence to the user: a template key and the values of its placeholders."""

    key: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, audience: str = WINDOW) -> str:
        template = TEMPLATES[self.key]
        if isinstance(template, dict):
            template = template.get(audience, template[WINDOW])
        return template.format(**dict(self.values))

    def __str__(self) -> str:
        return self.text()


def note(key: str, **values: Any) -> Note:
    if key not in TEMPLATES:  # a typo in a key is a bug; say which one at once
        raise KeyError(key)
    return Note(key, tuple(values.items()))


class NoteError(ValueError):
    """An error whose message is a Note (written for the window unless asked otherwise)."""

    def __init__(self, message: Note):
        super().__init__(message.text())
        self.note = message

    def text(self, audience: str = WINDOW) -> str:
        return self.note.text(audience)


def where(line: int, name: str | None, type_: str) -> str:
    """How a note names a module: its line, its name and its class."""
    if name:
        return note("where_named", line=line, name=name, type=type_).text()
    return note("where", line=line, type=type_).text()


def short(text: str, limit: int = 60) -> str:
    """Source text cut for a note: one line, at most ``limit`` characters."""
    text = " ".join(text[:4 * limit].split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"
