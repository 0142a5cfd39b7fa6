"""Hostile pasted text (issue 16): every case reproduced a freeze, a crash or a silently wrong
import. Each must end fast in a short message that names the line, the layer and the field, and
the limit; the property-based version of these classes is tests/test_fuzz_import.py."""

from __future__ import annotations

import json
import time

import pytest

from convexplorer.model.config_io import dumps_config
from convexplorer.model.pytorch_code import ImportError_, import_text
from convexplorer.model.pytorch_parse import MAX_LAYERS, MAX_TEXT_CHARS


def refused(text: str, seconds: float = 5.0) -> str:
    start = time.perf_counter()
    with pytest.raises(ImportError_) as info:
        import_text(text)
    assert time.perf_counter() - start < seconds
    message = str(info.value)
    assert "\n" not in message and "None" not in message
    return message


def strict_json(config) -> dict:
    """The config as written to a file, read back by a JSON parser that refuses the
    Infinity / NaN that json.dumps writes for non-finite floats."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(dumps_config(config), parse_constant=refuse)


# -- repeat counts (16.2) ----------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text, message", [
    ("Net(\n  (0): 999999999 x ReLU()\n)",
     "line 2: 999999999 x ReLU makes the text more than 10,000 layers, but convexplorer imports "
     "at most 10,000"),
    ("Net(\n  (0-999999): 1000000 x Conv2d(1, 1, kernel_size=(1, 1), stride=(1, 1))\n)",
     "line 2: 1000000 x Conv2d makes the text more than 10,000 layers"),
    ("Net(\n  (0): 20000 x ReLU()\n)", "line 2: 20000 x ReLU makes the text more than 10,000"),
    ("Net(\n  (0-99): 100 x Block(\n    (0-199): 200 x ReLU()\n  )\n)",
     "line 3: 200 x ReLU makes the text more than 10,000 layers"),
    ("Net(\n  (0): " + "9" * 5000 + " x ReLU()\n)",
     "line 2: <a 5000-digit number> x ReLU makes the text more than 10,000 layers"),
])
def test_repeat_counts_are_capped_before_expanding(text, message):
    assert message in refused(text, seconds=2)


def test_repeats_up_to_the_cap_are_imported():
    r = import_text("Net(\n  (blocks): ModuleList(\n    (0-49): 50 x Conv2d(4, 4, kernel_size="
                    "(3, 3), stride=(1, 1), padding=(1, 1))\n  )\n)", shape=(1, 4, 8, 8))
    assert len(r.config.layers) == 50 and r.config.layers[49].name == "blocks.49"


def test_modules_nested_too_deep_are_refused():
    text = "Net(\n" + "".join(f"{' ' * (k + 1)}(a): Sequential(\n" for k in range(150))
    assert "line 101: the modules are nested more than 100 levels deep" in refused(text)


# -- size and linear time (16.3) ---------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", ["\n" * 10_000_000, " " * 10_000_000,
                                  "nn.Sequential(" + "nn.ReLU(), " * 1_000_000 + ")"])
def test_text_over_the_size_cap_is_refused_unread(text):
    assert f"but convexplorer reads at most {MAX_TEXT_CHARS:,}" in refused(text, seconds=1)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text", [
    "Net(\n  (0): ReLU()\n" + "\n" * 200_000 + ")",
    "nn.ReLU()\n" + "   \n" * 200_000 + "nn.Tanh()",
    "Net(\n  (0): Conv2d(1, 4, kernel_size=(3,\n" + "  \n" * 200_000 + "3))\n)",
])
def test_many_blank_lines_take_linear_time(text):
    """The print-format check crossed blank lines with \\s* at every line start (quadratic:
    100,000 blank lines took 15 s)."""
    start = time.perf_counter()
    r = import_text(text)
    assert time.perf_counter() - start < 3
    assert r.config.layers


@pytest.mark.timeout(30)
def test_a_megabyte_of_modules_is_refused_in_seconds():
    text = "nn.Sequential(" + "nn.ReLU()," * ((MAX_TEXT_CHARS - 20) // 10) + ")"
    assert f"more than {MAX_LAYERS:,} layers by this line" in refused(text, seconds=15)


# -- absurd numbers (16.6, 16.1) ---------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text, message", [
    ("nn.Conv2d(1, " + "9" * 5000 + ", 3)",
     "line 1: Conv2d: out_channels=<a 5000-digit number> is out of range: convexplorer takes at "
     "most 1,000,000 there"),
    ("nn.Conv2d(1, " + "7" * 4000 + ", 3)", "out_channels=<a 4000-digit number> is out of range"),
    ("nn.Conv2d(1, 10**10**10, 3)", "out_channels=10**10**10 is out of range"),
    ("nn.Conv2d(1, 4, 9**9**9)", "kernel_size=9**9**9 is out of range: convexplorer takes at "
                                 "most 100,000 there"),
    ("nn.Conv2d(1, 4, 1e309)", "line 1: Conv2d: kernel_size=1e309 is out of range"),
    ("nn.Conv2d(1, 4, 3.0 ** 1000)", "kernel_size=3.0 ** 1000 is out of range"),
    ("nn.Linear(1e308 * 10, 4)", "in_features=1e308 * 10 is out of range"),
    ("nn.Conv2d(1, " + " * ".join(["99999999999"] * 400) + ", 3)",
     "out_channels=99999999999 * 99999999999"),
    ("nn.MaxPool2d((3, 10**30))", "kernel_size=10**30 is out of range"),
    ("Net(\n  (conv): Conv2d(1, 4, kernel_size=(1e309, 3), stride=(1, 1))\n)",
     "line 2: conv (Conv2d): kernel_size=1e309 is out of range"),
    ("Net(\n  (conv): Conv2d(1, " + "9" * 6000 + ", kernel_size=(3, 3))\n)",
     "line 2: conv (Conv2d): out_channels=<a 6000-digit number> is out of range"),
])
def test_absurd_numbers_are_refused_naming_the_layer_field_and_limit(text, message):
    assert message in refused(text, seconds=2)


@pytest.mark.timeout(10)
def test_a_huge_channel_count_with_groups_fails_fast():
    """16.1: the search for valid divisors to suggest never ended on 10**12 channels."""
    assert "out_channels=1000000000000 is out of range" in refused(
        "nn.Conv2d(1, 1000000000000, 3, groups=7)", seconds=2)


def test_numbers_within_bounds_are_computed_and_written_as_json():
    r = import_text("nn.Sequential(nn.Conv2d(1, 2**5, 3), nn.Conv2d(32, 10**3 // 8, 1), "
                    "nn.LeakyReLU(1e-2 * 2))")
    assert [s.kwargs.get("out_channels") for s in r.config.layers[:2]] == [32, 125]
    assert r.config.layers[2].kwargs == {"negative_slope": 0.02}
    assert strict_json(r.config)["layers"][1]["out_channels"] == 125


# -- long chains and nesting (16.7) ------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", [
    "nn.Conv2d(1, " + " + ".join(["1"] * 3000) + ", 3)",
    "nn.Conv2d(1, " + "-" * 50_000 + "1, 3)",
    "nn.Conv2d(1, 4, a" + ".b" * 5000 + ")",
])
def test_chains_too_long_for_python_are_a_message(text):
    assert "the code nests too deeply to be read" in refused(text)


@pytest.mark.timeout(10)
def test_long_chains_python_can_parse_are_read_in_a_loop():
    """Up to Python's own limit the chain is read, not refused: no RecursionError."""
    r = import_text("nn.Sequential(nn.Conv2d(1, " + " + ".join(["1"] * 2500) + ", "
                    + "-" * 2000 + "3))")
    assert r.config.layers[0].kwargs == {"in_channels": 1, "out_channels": 2500,
                                         "kernel_size": 3}


def test_deeply_nested_brackets_are_a_message():
    assert "line 1: too many nested parentheses" in refused(
        "nn.Conv2d(1, 4, " + "[" * 250 + "3" + "]" * 250 + ")")
    r = import_text("nn.Conv2d(1, 4, " + "[" * 150 + "3" + "]" * 150 + ")")  # parsed, not read
    assert any("kernel_size=[[[" in n and "is not a literal value" in n for n in r.notes)


# -- NUL and control characters (16.12) --------------------------------------------------------


@pytest.mark.parametrize("text, line", [
    ("nn.ReLU()\nnn.Tanh(\x00)", 2),
    ("Net(\n  (0): ReLU()\n  (1): Tanh(\x00)\n)", 3),
    ("\x00", 1),
    ("nn.ReLU()\r\n\r\nnn.Tanh()\x00", 3),
])
def test_a_nul_byte_gets_its_line_number(text, line):
    assert refused(text).startswith(f"line {line}: the text holds a NUL character")


def test_other_control_characters_are_a_message_with_a_line():
    message = refused("nn.ReLU()\nnn.Tanh()\x01\n")
    assert message.startswith("line 2: ")
