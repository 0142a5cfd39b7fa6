"""The runner: debounce, cancel, stale results dropped, failures, and no thread left behind.
A fake run function stands in for the engine, so these run without torch."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from convexplorer.gui.runner import CANCELLED, FAILED, READY, Runner

from .window_helpers import runner_threads


class Cancelled(Exception):
    """Named like the engine's: the runner recognises it by name."""


class RunError(Exception):
    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


def result(config, generation):
    return SimpleNamespace(config=config, generation=generation, total_ms=1.0)


@pytest.fixture
def collect(qtbot):
    def make(runner):
        got = {"results": [], "failed": [], "states": []}
        runner.resultReady.connect(lambda r, rep: got["results"].append((r, rep)))
        runner.runFailed.connect(lambda m, p: got["failed"].append((m, p)))
        runner.stateChanged.connect(lambda s, m: got["states"].append(s))
        return got
    return make


def test_sync_newer_request_cancels_and_stale_result_is_dropped(qtbot, collect):
    seen = []

    def run_fn(config, *, cancel, generation, **_):
        seen.append(config)
        if config == "old":
            runner.request("new")  # an edit arrives while this run is in progress
            seen.append(("old cancelled", cancel()))
        return result(config, generation)

    runner = Runner(sync=True, run_fn=run_fn)
    got = collect(runner)
    runner.request("old", report="old report")
    assert seen == ["old", "new", ("old cancelled", True)]
    assert [r.config for r, _ in got["results"]] == ["new"]
    assert runner.dropped == 1
    assert runner.state == READY
    runner.shutdown()
    assert not runner_threads()


def test_sync_failures_and_cancelled_runs(qtbot, collect):
    def run_fn(config, **_):
        if config == "bad":
            raise RunError("out of memory on cuda:0 (about 9000 MiB needed): use a smaller "
                           "input", ["p"])
        if config == "broken":
            raise ValueError("boom")
        raise Cancelled()

    runner = Runner(sync=True, run_fn=run_fn)
    got = collect(runner)
    runner.request("bad")
    assert runner.state == FAILED
    assert got["failed"] == [("out of memory on cuda:0 (about 9000 MiB needed): use a smaller "
                              "input", ["p"])]
    runner.request("broken")
    assert got["failed"][-1][0] == "unexpected error: ValueError: boom"
    runner.request("cancelled")
    assert runner.state == CANCELLED and not got["results"]
    runner.shutdown()


def test_threaded_cancel_between_layers_and_drop_stale(qtbot, collect):
    started = threading.Event()
    release = threading.Event()
    observed = {}

    def run_fn(config, *, cancel, generation, **_):
        if config == "slow":
            started.set()
            # a run that checks its cancel flag "between layers"
            while not release.wait(0.01):
                if cancel():
                    observed["cancelled"] = True
                    raise Cancelled()
        return result(config, generation)

    runner = Runner(debounce_ms=5, run_fn=run_fn)
    got = collect(runner)
    runner.request("slow")
    qtbot.waitUntil(started.is_set, timeout=5000)
    assert runner.state == "running"
    assert len(runner_threads()) == 1
    with qtbot.waitSignal(runner.resultShown, timeout=5000) as blocker:
        runner.request("fast")
    assert blocker.args[0].config == "fast"
    assert observed == {"cancelled": True}
    qtbot.waitUntil(lambda: runner.dropped == 1, timeout=5000)
    assert [r.config for r, _ in got["results"]] == ["fast"]
    release.set()
    runner.shutdown()
    assert not runner_threads()


def test_threaded_result_of_an_uncancellable_run_arrives_stale(qtbot, collect):
    started = threading.Event()
    release = threading.Event()

    def run_fn(config, *, generation, **_):
        if config == "first":
            started.set()
            release.wait(10)  # ignores its cancel flag: finishes anyway
        return result(config, generation)

    runner = Runner(debounce_ms=5, run_fn=run_fn)
    got = collect(runner)
    runner.request("first")
    qtbot.waitUntil(started.is_set, timeout=5000)
    runner.request("second")
    release.set()
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        pass
    qtbot.waitUntil(lambda: runner.dropped == 1, timeout=5000)
    assert [r.config for r, _ in got["results"]] == ["second"]
    runner.shutdown()
    assert not runner_threads()


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_debounce_merges_a_burst_of_requests(qtbot, collect):
    calls = []

    def run_fn(config, *, generation, **_):
        calls.append(config)
        return result(config, generation)

    clock = FakeClock()
    runner = Runner(debounce_ms=50, run_fn=run_fn, clock=clock)
    got = collect(runner)
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        for i in range(5):
            runner.request(i)
            clock.now += 0.01  # keystrokes 10 ms apart
    # the first starts at once (its result is stale by the time it arrives); the rest of the
    # burst is merged into one run of the last request
    qtbot.waitUntil(lambda: runner.runs_started == 2, timeout=5000)
    assert calls == [0, 4]
    assert [r.config for r, _ in got["results"]] == [4]
    assert got["states"][:2] == ["running", "waiting"]
    runner.shutdown()
    assert not runner_threads()


def test_leading_edge_a_request_after_a_quiet_spell_starts_at_once(qtbot, collect):
    calls = []
    release = threading.Event()

    def run_fn(config, *, generation, **_):
        calls.append(config)
        release.wait(5)
        return result(config, generation)

    clock = FakeClock()
    runner = Runner(debounce_ms=60_000, run_fn=run_fn, clock=clock)  # a debounce never ends
    got = collect(runner)
    runner.request("first")
    assert runner.runs_started == 1 and runner.state == "running"  # no debounce wait
    release.set()
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        pass
    clock.now += 0.01  # soon after: the tail of a burst, so it waits for the debounce
    runner.request("soon")
    assert runner.runs_started == 1 and runner.state == "waiting"
    clock.now += 61.0  # a quiet spell; the request waiting still holds the next one back
    runner.request("while waiting")
    assert runner.runs_started == 1 and runner.state == "waiting"
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        runner.flush()  # the trailing edge: the burst's last request runs
    clock.now += 61.0
    runner.request("after a pause")
    assert runner.runs_started == 3 and runner.state == "running"
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        pass
    assert calls == ["first", "while waiting", "after a pause"]
    assert [r.config for r, _ in got["results"]] == ["first", "while waiting", "after a pause"]
    runner.shutdown()
    assert not runner_threads()


def test_a_request_while_a_run_is_under_way_waits_for_the_trailing_edge(qtbot, collect):
    started = threading.Event()
    release = threading.Event()
    calls = []

    def run_fn(config, *, generation, **_):
        calls.append(config)
        started.set()
        release.wait(5)
        return result(config, generation)

    clock = FakeClock()
    runner = Runner(debounce_ms=20, run_fn=run_fn, clock=clock)
    got = collect(runner)
    runner.request("a")
    qtbot.waitUntil(started.is_set, timeout=5000)
    clock.now += 10.0  # long after the last request, but a run is under way
    runner.request("b")
    assert runner.state == "waiting" and runner.runs_started == 1
    release.set()
    qtbot.waitUntil(lambda: [r.config for r, _ in got["results"]] == ["b"], timeout=5000)
    assert calls == ["a", "b"] and runner.dropped == 1
    runner.shutdown()
    assert not runner_threads()


def test_cancel_and_shutdown_leave_no_thread(qtbot, collect):
    started = threading.Event()
    release = threading.Event()

    def run_fn(config, *, cancel, generation, **_):
        started.set()
        while not release.wait(0.01):
            if cancel():
                raise Cancelled()
        return result(config, generation)

    runner = Runner(debounce_ms=5, run_fn=run_fn)
    got = collect(runner)
    runner.request("a")
    qtbot.waitUntil(started.is_set, timeout=5000)
    runner.cancel()
    assert runner.state == CANCELLED
    runner.request("b")  # pending when the runner shuts down
    runner.shutdown()
    assert not runner_threads()
    assert not got["results"]
    runner.request("c")  # ignored once closed
    assert runner.closed


def test_devices_are_listed_in_the_worker(qtbot):
    threads = []

    def devices_fn():
        threads.append(threading.current_thread().name)
        return [SimpleNamespace(name="cpu", label="CPU", available=True, reason="")]

    runner = Runner(run_fn=lambda *a, **k: None, devices_fn=devices_fn)
    with qtbot.waitSignal(runner.devicesReady, timeout=5000) as blocker:
        runner.request_devices()
    assert blocker.args[0][0].name == "cpu"
    assert threads[0].startswith("convexplorer-runner")
    runner.shutdown()
    assert not runner_threads()


def test_the_worker_waits_at_most_a_millisecond_for_the_gil(qtbot):
    """The window's thread holds Python's GIL while it updates the views after an edit; the
    worker must not wait the default 5 ms for it to start the run."""
    import sys

    from convexplorer.gui.runner import SWITCH_INTERVAL_S

    old = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        runner = Runner(run_fn=lambda config, **_: result(config, 1))
        with qtbot.waitSignal(runner.resultShown, timeout=5000):
            runner.request("x")
        assert sys.getswitchinterval() <= SWITCH_INTERVAL_S
        runner.shutdown()
    finally:
        sys.setswitchinterval(old)


def test_an_adaptive_debounce_follows_what_a_run_costs(qtbot):
    """The window's runner waits, in a burst, about twice what the last run cost (worker and
    drawing), between MIN_DEBOUNCE_MS and its debounce_ms: cheap stacks follow the spin box
    live, dear ones still wait for a pause."""
    from convexplorer.gui.runner import MIN_DEBOUNCE_MS

    delay = {"s": 0.0}

    def run_fn(config, *, generation, **_):
        time.sleep(delay["s"])
        return result(config, generation)

    fixed = Runner(debounce_ms=120, run_fn=run_fn)
    # a clock that stands still: every request after the first is the tail of a burst
    runner = Runner(debounce_ms=120, adaptive=True, run_fn=run_fn, clock=FakeClock())
    assert runner.debounce_ms == fixed.debounce_ms == 120  # nothing known yet
    for r in (fixed, runner):
        with qtbot.waitSignal(r.resultShown, timeout=5000):
            r.request("cheap")
    assert fixed.debounce_ms == 120
    assert runner.debounce_ms == MIN_DEBOUNCE_MS  # a run of about 0 ms
    runner.request("tail of a burst")  # straight after the last: it waits, briefly
    assert runner.state == "waiting" and runner._timer.interval() == MIN_DEBOUNCE_MS
    runner.cancel()

    delay["s"] = 0.04
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        runner.request("dearer")
        runner.flush()
    assert 80 <= runner.debounce_ms <= 120  # twice 40 ms and more, at most debounce_ms
    delay["s"] = 0.2
    with qtbot.waitSignal(runner.resultShown, timeout=5000):
        runner.request("dear")
        runner.flush()
    assert runner.debounce_ms == 120
    for r in (fixed, runner):
        r.shutdown()
