"""The runner: real runs on one worker thread, off the GUI thread.

A request after a quiet spell (none in the last debounce interval, nothing waiting or running)
starts at once; the rest of a burst is debounced (trailing edge, so the burst's last request
always runs). The interval is ``debounce_ms``; with ``adaptive=True`` (the window's runner) it
follows what a run costs: twice the last run's time in the worker plus its drawing, between
``MIN_DEBOUNCE_MS`` and ``debounce_ms``. Small stacks then follow a spin box's arrows or wheel
live, while a stack that takes 100 ms still waits for a pause in the typing.

Runs go to one worker thread, in order. Each request bumps a generation number and sets the
previous run's cancel flag (``engine.run`` checks it between layers); a result whose
generation is stale is dropped when it arrives. Results reach the GUI thread through a queued
signal. torch is imported only in the worker (``convexplorer.engine.run`` is imported there),
so the window shows before torch loads and the GUI thread never waits on it.

torch cannot be stopped inside a layer: a cancelled run finishes the layer it is in (seconds,
for a large convolution) before it sees the flag. So the GUI thread never waits for a run:
``busy`` says whether one is still computing (the window says so when Esc cancels one);
``shutdown()`` joins an idle worker at once and a busy one for at most SHUTDOWN_WAIT_S, then
leaves it: the thread is a daemon, it ends when its layer does, or with the process.

``sync=True`` runs requests at once in the calling thread (tests); no thread is started.

A run ends in a result, ``runFailed`` (a RunError's short message, e.g. out of memory, with its
validation problems) or, for an error nobody foresaw, ``runFailed`` plus ``runCrashed`` with the
traceback, which the window shows in a dialog. Nothing a run raises escapes the worker.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

SWITCH_INTERVAL_S = 0.001  # see Runner._pool
SHUTDOWN_WAIT_S = 0.25  # closing waits this long at most for a run to see its cancel flag
DEBOUNCE_MS = 120  # long enough to merge a burst of keystrokes, short to feel live
MIN_DEBOUNCE_MS = 25  # the adaptive interval's floor (see the module docstring)
THREAD_PREFIX = "convexplorer-runner"

IDLE, WAITING, RUNNING, READY, FAILED, CANCELLED = (
    "idle", "waiting", "running", "ready", "failed", "cancelled")
OUT_OF_MEMORY = ("out of memory: use a smaller input, fewer channels or a larger stride "
                 "(the last finished run is still shown)")


@dataclass(frozen=True)
class RunRequest:
    generation: int
    config: Any  # model.spec.Config
    base_dir: Any = None
    report: Any = None  # model.shapes.ShapeReport the request was made from
    input_array: Any = None


_gc_frozen = False


def gc_frozen() -> bool:
    return _gc_frozen


def freeze_gc() -> None:
    """Once per process, after the first result (torch is loaded by then): collect, then move
    every object alive into the collector's permanent generation. A full collection walks every
    tracked object, and torch brings about 220 000 of them: each full collection (every few
    hundred thousand allocations, whichever thread triggers it) would otherwise block the GUI
    thread for about 95 ms on two cores. Frozen, they are never walked again."""
    global _gc_frozen
    if not _gc_frozen:
        _gc_frozen = True
        gc.collect()
        gc.freeze()


class _Worker:
    """One daemon thread that runs jobs in order."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name=f"{THREAD_PREFIX}_0",
                                       daemon=True)

    def submit(self, fn: Callable[..., None], *args) -> None:
        self.jobs.put((fn, args))
        if not self.thread.is_alive() and not self.stopping:
            # started after the first job is queued: the new thread takes it while start()
            # waits for the thread to come up, so the first run starts at once
            self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            fn, args = job
            try:
                if not self.stopping:
                    fn(*args)
            except RuntimeError:  # the runner was deleted while this job ran: nobody to tell
                pass

    def stop(self) -> None:
        """Let the thread end after its job, if any; join it for at most SHUTDOWN_WAIT_S."""
        self.stopping = True
        self.jobs.put(None)
        if self.thread.is_alive():
            self.thread.join(timeout=SHUTDOWN_WAIT_S)


_worker = threading.local()


def _prepare_worker() -> None:
    """Once per worker thread: leave one core to the GUI thread (see leave_cores_free)."""
    if not getattr(_worker, "ready", False):
        from ..engine.devices import leave_cores_free  # imports torch: worker thread only

        leave_cores_free(1)
        _worker.ready = True


def _engine_run(config, **kwargs):
    _prepare_worker()
    from ..engine.run import run, warm_up_soon  # imports torch: only in the worker thread

    result = run(config, **kwargs)
    warm_up_soon()  # once: torch's slow first-use set-up, before the user needs it
    return result


def _engine_devices():
    _prepare_worker()
    from ..engine.devices import list_devices

    return list_devices()


class Runner(QObject):
    """Runs configs off the GUI thread; see the module docstring."""

    stateChanged = Signal(str, str)  # state, message (e.g. "ready", "12.3 ms")
    resultReady = Signal(object, object)  # RunResult, ShapeReport (receivers draw it)
    resultShown = Signal(object)  # RunResult, after every resultReady receiver has run
    runFailed = Signal(str, object)  # message, list of Problem
    runCrashed = Signal(str, str)  # message, traceback: an unexpected error (a bug) in a run
    devicesReady = Signal(object)  # list of engine.devices.DeviceInfo
    # a cancelled run that was still computing its layer has ended (see ``busy``)
    cancelledRunEnded = Signal()
    # a job of ``call`` is done: its number, its result (None if it failed), the exception
    jobDone = Signal(int, object, object)
    # worker -> GUI thread (always queued): generation, kind, payload
    _delivered = Signal(int, str, object)
    _devicesListed = Signal(object)
    _jobDelivered = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, *, sync: bool = False,
                 debounce_ms: int = DEBOUNCE_MS, adaptive: bool = False,
                 run_fn: Callable[..., Any] | None = None,
                 devices_fn: Callable[[], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.sync = sync
        self._clock = clock  # seconds; tests inject their own
        self._last_request = float("-inf")
        self._run_fn = run_fn or _engine_run
        self._devices_fn = devices_fn or _engine_devices
        self._generation = 0
        self._pending: RunRequest | None = None
        self._cancel: threading.Event | None = None
        self._closed = False
        self._worker: _Worker | None = None
        self._in_flight = 0  # runs sent to the worker and not delivered back yet
        self.state = IDLE
        self.dropped = 0  # stale results dropped on arrival (for tests and the curious)
        self.runs_started = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._max_debounce_ms = debounce_ms
        self._adaptive = adaptive
        self.cost_ms: float | None = None  # the last run: worker time plus drawing
        self._timer.timeout.connect(self._submit)
        self._delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)
        self._devicesListed.connect(self._on_devices, Qt.ConnectionType.QueuedConnection)
        self._jobDelivered.connect(self._on_job, Qt.ConnectionType.QueuedConnection)
        self._jobs = 0

    # -- requests ----------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self._generation

    def request(self, config, base_dir=None, report=None, input_array=None) -> int:
        """Run ``config``: at once after a quiet spell, else after the debounce delay (leading
        and trailing edge); cancels the run in progress. Returns the request's generation."""
        if self._closed:
            return self._generation
        now = self._clock()
        quiet = (now - self._last_request >= self.debounce_ms / 1e3
                 and self._pending is None and self.state not in (WAITING, RUNNING))
        self._last_request = now
        self._generation += 1
        if self._cancel is not None:
            self._cancel.set()
        self._pending = RunRequest(self._generation, config, base_dir, report, input_array)
        if self.sync or quiet:
            # A single edit after a pause need not wait: only a burst's later edits are merged.
            self._timer.stop()
            self._submit()
        else:
            self._set_state(WAITING)
            self._timer.start(self.debounce_ms)
        return self._generation

    @property
    def debounce_ms(self) -> int:
        """How long the tail of a burst waits (see the module docstring)."""
        if not self._adaptive or self.cost_ms is None:
            return self._max_debounce_ms
        return int(min(self._max_debounce_ms, max(MIN_DEBOUNCE_MS, 2 * self.cost_ms)))

    def flush(self) -> None:
        """Start the pending request now instead of after the debounce delay."""
        if self._pending is not None:
            self._timer.stop()
            self._submit()

    def cancel(self, message: str = "") -> None:
        """Cancel the pending and running requests; their results will be dropped."""
        self._generation += 1
        self._timer.stop()
        self._pending = None
        if self._cancel is not None:
            self._cancel.set()
        if self.state in (WAITING, RUNNING):
            self._set_state(CANCELLED, message)

    def request_devices(self) -> None:
        """List the devices in the worker (it imports torch); ``devicesReady`` brings them."""
        if self._closed:
            return
        if self.sync:
            self._on_devices(self._list_devices())
        else:
            self._pool().submit(self._list_and_emit_devices)

    def call(self, fn: Callable[..., Any], *args) -> int:
        """Run ``fn(*args)`` on the worker, after the runs queued before it (torch work other
        than a run, such as reading a checkpoint); ``jobDone(number, result, error)`` brings
        the outcome to the GUI thread. Returns the job's number."""
        self._jobs += 1
        number = self._jobs
        if self._closed:
            return number
        if self.sync:
            self._on_job(*self._job(number, fn, args))
        else:
            self._pool().submit(self._job_and_emit, number, fn, args)
        return number

    @staticmethod
    def _job(number: int, fn, args) -> tuple[int, object, object]:
        try:
            return number, fn(*args), None
        except Exception as exc:  # handed to whoever asked, to say what went wrong
            return number, None, exc

    def _job_and_emit(self, number: int, fn, args) -> None:
        done = self._job(number, fn, args)
        if not self._closed:
            self._jobDelivered.emit(*done)

    def _on_job(self, number: int, result, error) -> None:
        if not self._closed:
            self.jobDone.emit(number, result, error)

    def _list_and_emit_devices(self) -> None:
        devices = self._list_devices()
        if not self._closed:
            self._devicesListed.emit(devices)

    def _list_devices(self):
        try:
            return list(self._devices_fn())
        except Exception as exc:  # torch missing or broken: say so in the combo
            return [SimpleNamespace(name="cpu", label="CPU", available=False,
                                    reason=f"torch failed to load ({exc})")]

    @property
    def busy(self) -> bool:
        """Whether a run sent to the worker has not come back yet, cancelled or not (counted
        in the GUI thread: sent, then delivered)."""
        return self._in_flight > 0

    def _pool(self) -> _Worker:
        if self._worker is None:
            # A thread that wants Python's GIL waits until the holder lets go, at the latest
            # after the switch interval (5 ms by default). The worker needs the GIL to start a
            # run, and between torch calls, while this thread is busy updating the views
            # after an edit: 1 ms cut the start of a run from about 4.5 to 2.3 ms after the
            # edit. (The interval is process-wide; Python's cost of switching is negligible.)
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
            self._worker = _Worker()
        return self._worker

    def _submit(self) -> None:
        req, self._pending = self._pending, None
        if req is None or self._closed:
            return
        cancel = threading.Event()
        self._cancel = cancel
        self.runs_started += 1
        self._in_flight += 1
        self._set_state(RUNNING)
        if self.sync:
            self._on_delivered(*self._work(req, cancel))
        else:
            self._pool().submit(self._work_and_emit, req, cancel)

    # -- worker thread -----------------------------------------------------------------------
    def _work_and_emit(self, req: RunRequest, cancel: threading.Event) -> None:
        delivered = self._work(req, cancel)
        if not self._closed:  # after close nobody listens (the window may be gone)
            self._delivered.emit(*delivered)

    def _work(self, req: RunRequest, cancel: threading.Event) -> tuple[int, str, object]:
        if cancel.is_set():
            return req.generation, CANCELLED, None
        t0 = time.perf_counter()
        try:
            result = self._run_fn(req.config, base_dir=req.base_dir,
                                  input_array=req.input_array, cancel=cancel.is_set,
                                  generation=req.generation, report=req.report)
        except MemoryError:  # numpy or Python itself ran out (torch's own OOM is a RunError)
            return req.generation, FAILED, (OUT_OF_MEMORY, [], "")
        except Exception as exc:
            # Classified by duck typing so this module never imports the engine (torch).
            if type(exc).__name__ == "Cancelled":
                return req.generation, CANCELLED, None
            if hasattr(exc, "problems"):
                return req.generation, FAILED, (str(exc), list(exc.problems), "")
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return req.generation, FAILED, (
                f"unexpected error: {type(exc).__name__}" + (f": {first}" if first else ""),
                [], details.rstrip())
        return req.generation, READY, (result, req.report, time.perf_counter() - t0)

    # -- GUI thread --------------------------------------------------------------------------
    def _on_delivered(self, generation: int, kind: str, payload: object) -> None:
        self._in_flight -= 1
        if self._closed:
            return
        if generation != self._generation:
            self.dropped += 1
            if self.state == CANCELLED and not self.busy:
                self.cancelledRunEnded.emit()
            return
        self._cancel = None
        if kind == READY:
            result, report, seconds = payload
            ms = getattr(result, "total_ms", 0.0) or seconds * 1e3
            self._set_state(READY, f"{ms:.1f} ms")
            t_draw = time.perf_counter()
            self.resultReady.emit(result, report)
            # the last run predicts the next best (an edit changes what a run costs)
            self.cost_ms = seconds * 1e3 + (time.perf_counter() - t_draw) * 1e3
            self.resultShown.emit(result)
        elif kind == FAILED:
            message, problems, details = payload
            self._set_state(FAILED, message)
            self.runFailed.emit(message, problems)
            if details:
                self.runCrashed.emit(message, details)
        else:
            self._set_state(CANCELLED)

    def _on_devices(self, devices) -> None:
        if not self._closed:
            self.devicesReady.emit(devices)

    def _set_state(self, state: str, message: str = "") -> None:
        self.state = state
        self.stateChanged.emit(state, message)

    # -- closing -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel everything and end the worker thread: at once if it is idle; a run still
        inside a layer gets SHUTDOWN_WAIT_S, then ends in the background (see the module
        docstring): closing never waits on torch."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._pending = None
        if self._cancel is not None:
            self._cancel.set()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    @property
    def closed(self) -> bool:
        return self._closed
