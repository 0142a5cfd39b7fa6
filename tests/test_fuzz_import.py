"""Fuzz: hostile pasted text through PyTorch code in (``import_text``), by class: huge repeat
counts, deep nesting, long arithmetic chains, huge numbers, NUL and control characters, random
garbage. Every case ends in a result or an ImportError_ with a one-line message, within a few
seconds: never another exception, a hang, more than MAX_LAYERS layers, or a config that is not
valid JSON.

CX_FUZZ=long runs thousands of cases; the default keeps CI to a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.model.config_io import dumps_config
from convexplorer.model.pytorch_code import ImportError_, import_text
from convexplorer.model.pytorch_parse import MAX_LAYERS

LONG = os.environ.get("CX_FUZZ") == "long"
SECONDS = 10  # per case: far above what any case takes; a hang or a quadratic path is not
FUZZ = settings(max_examples=2000 if LONG else 60, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SCALE = 10 if LONG else 1  # sizes of the big cases


def _refuse_constant(constant):
    raise ValueError(f"not JSON: {constant}")


def check(text: str, **kwargs) -> str:
    """Import, and hold what comes back to the contract; returns "ok" or "refused"."""
    start = time.perf_counter()
    try:
        result = import_text(text, **kwargs)
    except ImportError_ as exc:
        message = str(exc)
        assert message and "\n" not in message, message
        assert not re.search(r"line (None|0)\b", message), message
        assert "Traceback" not in message and "Error:" not in message, message
        outcome = "refused"
    else:
        assert 0 < len(result.config.layers) <= MAX_LAYERS
        json.loads(dumps_config(result.config), parse_constant=_refuse_constant)
        for note in result.notes:
            assert note and "\n" not in note, note
            assert not re.search(r"line None\b", note), note
        outcome = "ok"
    assert time.perf_counter() - start < SECONDS
    return outcome


LEAVES = ["ReLU()", "Tanh()", "Conv2d(1, 1, kernel_size=(1, 1), stride=(1, 1))",
          "Dropout(p=0.5, inplace=False)", "Softmax(dim=1)", "Sequential()", "Identity()"]


@st.composite
def repeat_texts(draw):
    """print(model) text with repeats, nested: the counts multiply."""
    def count():
        return draw(st.one_of(st.integers(1, 120), st.integers(1, 10**12),
                              st.sampled_from([10**9 - 1, 20_000, 10_001, 9_999]),
                              st.integers(1, 10**60)))
    lines = ["Net("]
    depth = draw(st.integers(1, 4))
    for level in range(depth):
        pad = "  " * (level + 1)
        n = count()
        if level == depth - 1:
            lines.append(f"{pad}(0-{n - 1}): {n} x {draw(st.sampled_from(LEAVES))}")
        else:
            lines.append(f"{pad}(blk): {n} x Block(")
    lines += ["  " * k + ")" for k in range(depth - 1, -1, -1)]
    return "\n".join(lines)


@st.composite
def deep_texts(draw):
    n = draw(st.integers(0, 400 * SCALE))
    kind = draw(st.sampled_from(["seq", "list", "parens", "print", "attr", "call", "unary"]))
    if kind == "seq":
        return "nn.Sequential(" * n + "nn.ReLU()" + ")" * n
    if kind == "list":
        return "nn.Conv2d(1, 4, " + "[" * n + "3" + "]" * n + ")"
    if kind == "parens":
        return "nn.Conv2d(1, 4, " + "(" * n + "3" + ")" * n + ")"
    if kind == "print":
        return "Net(\n" + "".join(f"{' ' * (k + 1)}(m): Seq(\n" for k in range(n)) + \
            "  (x): ReLU()\n" + ")\n" * draw(st.integers(0, n))
    if kind == "attr":
        return "nn.Conv2d(1, 4, a" + ".b" * (n * 10) + ")"
    if kind == "call":
        return "nn.Conv2d(1, 4, f" + "()" * (n * 10) + ")"
    return "nn.Conv2d(1, 4, " + "-" * (n * 20) + "3)"


@st.composite
def chain_texts(draw):
    terms = draw(st.integers(1, 4000 * SCALE))
    op = draw(st.sampled_from([" + ", " - ", " * ", " // ", " ** ", " / ", " % "]))
    term = draw(st.sampled_from(["1", "2", "3", "0", "1.5", "9999999999", "ngf"]))
    expr = op.join([term] * terms)
    field = draw(st.sampled_from(["in_channels", "out_channels", "kernel_size", "stride",
                                  "padding", "groups"]))
    return f"ngf = 64\nnn.Conv2d(in_channels=1, out_channels=4, kernel_size=3, {field}={expr})"


@st.composite
def number_texts(draw):
    digits = draw(st.integers(1, 6000))
    number = draw(st.one_of(
        st.just("9" * digits), st.just("0x" + "f" * digits),
        st.builds(lambda e: f"1e{e}", st.integers(-400, 400)),
        st.builds(lambda a, b, c: f"{a}**{b}**{c}", st.integers(-20, 99), st.integers(0, 99),
                  st.integers(0, 99)),
        st.builds(lambda a, b: f"{a} * {b}", st.integers(-10**30, 10**30),
                  st.integers(-10**30, 10**30)),
        st.builds(lambda a: f"{a!r}", st.floats(allow_nan=False)),
        st.sampled_from(["float('inf')", "1e309 - 1e309", "-1e309", "2 ** -2000", "(-8) ** 0.5",
                         "10 ** 18 + 1", "1 // 0", "True", "None", "'same'", "3j"]),
    ))
    form = draw(st.sampled_from(["code", "print", "tuple"]))
    field = draw(st.sampled_from(["1, NUMBER, 3", "1, 4, NUMBER", "1, 4, 3, stride=NUMBER",
                                  "1, 4, 3, groups=NUMBER", "1, 4, 3, dilation=NUMBER"]))
    args = field.replace("NUMBER", f"({number}, 1)" if form == "tuple" else number)
    if form == "print":
        return f"Net(\n  (conv): Conv2d({args})\n)"
    return f"nn.Sequential(nn.Conv2d({args}), nn.ReLU())"


VALID = [
    "nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), "
    "nn.Linear(2880, 10))",
    "Net(\n  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))\n  (pool): MaxPool2d("
    "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n  (fc): Linear("
    "in_features=1440, out_features=10, bias=True)\n)",
    "class Net(nn.Module):\n    def __init__(self, c=3):\n        super().__init__()\n"
    "        self.conv = nn.Conv2d(c, 8, 3)\n        self.bn = nn.BatchNorm2d(8)\n\n"
    "    def forward(self, x):\n        return self.bn(self.conv(x))\n",
]
CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\r", "\t", "\u2028", "\ufeff",
           "\ud800", "\U0001f600"]


@st.composite
def control_texts(draw):
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(CONTROL)) + text[at:]
    return text


TOKENS = ["nn.", "Conv2d", "Sequential", "ModuleList", "ReLU", "Linear", "(", ")", "[", "]",
          ",", " ", "1", "3", "0", "-", "=", "x", "*", "**", ":", "\n", "  ", " x ", "(0): ",
          "(0-2): ", "class Net(nn.Module):\n", "    def __init__(self):\n", "self.", "'same'",
          "OrderedDict", "{", "}", "9" * 50, "1e309", "\\", "#", '"""', "lambda", "if ", "for "]


@st.composite
def garbage_texts(draw):
    if draw(st.booleans()):
        return draw(st.text(max_size=300))
    return "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=80)))


@FUZZ
@given(repeat_texts())
def test_fuzz_repeat_counts(text):
    check(text)


@FUZZ
@given(deep_texts())
def test_fuzz_deep_nesting(text):
    check(text)


@FUZZ
@given(chain_texts())
def test_fuzz_long_arithmetic(text):
    check(text)


@FUZZ
@given(number_texts())
def test_fuzz_huge_numbers(text):
    check(text)


@FUZZ
@given(control_texts())
def test_fuzz_control_characters(text):
    outcome = check(text)
    if "\x00" in text:
        assert outcome == "refused"


@FUZZ
@given(garbage_texts(), st.sampled_from([None, (1, 1, 28, 28), (2, 3, 9)]))
def test_fuzz_garbage(text, shape):
    check(text, shape=shape)


@pytest.mark.timeout(60)
def test_fuzz_texts_cover_both_outcomes():
    """The strategies reach both ends: some hostile text imports, some is refused."""
    assert check(VALID[0]) == "ok"
    assert check("Net(\n  (0): 999999999 x ReLU()\n)") == "refused"
