"""Matching a checkpoint's keys to the layers of a stack, as ``load_state_dict(strict=False)``
would, and saying what happened: the keys matched, the model's keys the checkpoint lacks
(``missing``), the checkpoint's keys no layer takes (``unexpected``) and the keys whose shapes
differ (``mismatched``: then nothing is loaded at all).

A layer's keys are ``NAME.weight``, ``NAME.bias`` (and a BatchNorm's running statistics),
``NAME`` its name (or its index, as ``nn.Sequential`` names it). A prefix the checkpoint puts
before every name (``module.`` from DataParallel, ``features.``, ``model.``) is found and
stripped; a layer can also be given its keys' prefix by hand (``mapping``). No Qt, no torch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .shapes import fmt_shape
from .validate import Problem
from .weights import WeightSpec

# Messages: whole sentences with named placeholders.
MISMATCH = ("checkpoint key {key} is {found} but the layer's {param} is {wanted}; nothing was "
            "loaded")
MISMATCH_FIX = "give the layer that shape, map another key to it, or leave it out"
NOTHING_MATCHED = ("no key of {file} matches a layer of the stack (its keys start {example}); "
                   "name the layers like the model's modules, or map them by hand")
MATCHED = "{file}: matched {count} keys: {keys}"
MATCHED_STRIPPED = "{file}: matched {count} keys after stripping the prefix {prefix!r}: {keys}"
MISSING = "{file}: missing keys (the layers keep their init values): {keys}"
UNEXPECTED = "{file}: unexpected keys (no layer takes them): {keys}"
SIZE_MISMATCH = ("{file}: size mismatch for {key}: the checkpoint has {found}, the layer's "
                 "{param} is {wanted}")


@dataclass(frozen=True)
class LayerState:
    """What a layer of the stack takes from a checkpoint: its index, label, the names it may
    go by (its name, then its module name) and its state_dict entries' shapes."""

    index: int
    label: str
    names: tuple[str, ...]
    expected: dict


@dataclass
class MatchReport:
    file: str
    prefix: str = ""  # stripped from the checkpoint's keys
    assigned: dict[int, str] = field(default_factory=dict)  # layer -> its prefix in the file
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple, int, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.assigned)

    def lines(self) -> list[str]:
        """The report as ``load_state_dict`` users know it, one line per kind."""
        matched = MATCHED_STRIPPED if self.prefix else MATCHED
        out = [matched.format(file=self.file, count=len(self.matched), prefix=self.prefix,
                              keys=", ".join(self.matched) or "none")]
        if self.missing:
            out.append(MISSING.format(file=self.file, keys=", ".join(self.missing)))
        if self.unexpected:
            out.append(UNEXPECTED.format(file=self.file, keys=", ".join(self.unexpected)))
        for key, found, wanted, _layer, param in self.mismatched:
            out.append(SIZE_MISMATCH.format(file=self.file, key=key, found=fmt_shape(found),
                                            param=param, wanted=fmt_shape(wanted)))
        return out

    def weights(self) -> dict[int, WeightSpec]:
        """The checkpoint source of every matched layer (none when the match is refused)."""
        if not self.ok:
            return {}
        return {i: WeightSpec("checkpoint", file=self.file, key=p)
                for i, p in self.assigned.items()}


def _key(prefix: str, param: str) -> str:
    return f"{prefix}.{param}" if prefix else param


def guess_prefix(keys, layers: list[LayerState]) -> str:
    """The prefix in front of the layers' names that makes the most keys match ("" when the
    names match as they are, or nothing does)."""
    wanted = {f"{name}.{param}" for s in layers for name in s.names for param in s.expected}
    votes: Counter = Counter()
    for key in keys:
        if key in wanted:
            votes[""] += 1
            continue
        for tail in wanted:
            if key.endswith("." + tail):
                votes[key[:-len(tail)]] += 1
    if not votes:
        return ""
    best = max(votes.values())
    return "" if votes.get("") == best else max(votes, key=lambda p: (votes[p], -len(p)))


def match(listing: dict, layers: list[LayerState], file: str, prefix: str | None = None,
          mapping: dict[int, str | None] | None = None) -> MatchReport:
    """Match ``listing`` (checkpoint key -> shape) to ``layers``. ``prefix``: stripped from
    the keys (None: guessed). ``mapping``: a layer's prefix in the file chosen by hand (None
    there: not loaded)."""
    mapping = mapping or {}
    if prefix is None:
        prefix = guess_prefix(listing, layers)
    report = MatchReport(file, prefix)
    used: set[str] = set()
    for s in layers:
        if s.index in mapping:
            chosen = mapping[s.index]
            candidates = [] if chosen is None else [chosen]
        else:
            candidates = [prefix + name for name in s.names]
        where = next((c for c in candidates
                      if any(_key(c, p) in listing for p in s.expected)), None)
        if where is None:
            report.missing += [f"{s.names[-1]}.{p}" for p in s.expected]
            continue
        report.assigned[s.index] = where
        for param, wanted in s.expected.items():
            key = _key(where, param)
            if key not in listing:
                report.missing.append(f"{s.names[-1]}.{param}")
                continue
            used.add(key)
            found = tuple(listing[key])
            if found != tuple(wanted):
                report.mismatched.append((key, found, tuple(wanted), s.index, param))
                report.problems.append(Problem(s.index, s.label, "weights", MISMATCH.format(
                    key=key, found=fmt_shape(found), param=param, wanted=fmt_shape(wanted)),
                    MISMATCH_FIX))
            else:
                report.matched.append(key)
    report.unexpected = [k for k in listing if k not in used]
    if not report.assigned and listing:
        example = ", ".join(list(listing)[:3])
        report.problems.append(Problem(None, file, None, NOTHING_MATCHED.format(
            file=file, example=example)))
    return report


def modules_of(listing) -> list[str]:
    """The module prefixes of a checkpoint's keys (``features.0`` of ``features.0.weight``),
    in order: what a layer can be mapped to."""
    seen: dict[str, None] = {}
    for key in listing:
        seen.setdefault(key.rpartition(".")[0], None)
    return list(seen)
