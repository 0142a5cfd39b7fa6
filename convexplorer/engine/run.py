"""One real run: forward through every layer recording outputs and pooling indices, backward of
the objective recording every gradient, everything handed back as numpy arrays."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..model.memory import estimate_bytes, fmt_bytes
from ..model.objectives import check_objective, target_classes
from ..model.shapes import ShapeReport, infer
from ..model.spec import Config, Objective, layer_label
from .allocator import keep_freed_memory
from .build import build_modules, merge_inputs
from .devices import DeviceError, check_device
from .inputs import InputError, load_input
from .results import LayerResult, RunResult
from .weights import WeightError, restore_buffers, snapshot_buffers, weights_key


class RunError(Exception):
    """A run that cannot go ahead or failed; the message is short and says what to do.
    ``problems`` holds the validation problems when that is why."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class Cancelled(Exception):
    """The run was cancelled between layers (a newer request replaced it)."""


OUT_OF_MEMORY = "out of memory on {device}: use a smaller input, fewer channels or a larger stride"
OUT_OF_MEMORY_NEEDED = ("out of memory on {device} (about {needed} needed): use a smaller input, "
                        "fewer channels or a larger stride")


def _oom_message(device: str, report: ShapeReport | None) -> str:
    if report is None:
        return OUT_OF_MEMORY.format(device=device)
    return OUT_OF_MEMORY_NEEDED.format(device=device, needed=fmt_bytes(estimate_bytes(report)))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _objective_tensor(objective: Objective, outputs, x) -> torch.Tensor:
    """The scalar backward starts from (checked beforehand by ``model.objectives``)."""
    if not outputs:
        target = x
    else:
        target = outputs[objective.layer if objective.layer != -1 else len(outputs) - 1]
    kind = objective.kind
    if kind == "sum":
        return target.sum()
    if kind == "mean":
        return target.mean()
    if kind == "cross_entropy":
        classes = target_classes(objective, target.shape[0])
        return F.cross_entropy(target, torch.tensor(classes, device=target.device))
    if kind == "mse":
        goal = (_seeded_randn(target, objective.seed) if objective.target == "randn"
                else torch.zeros_like(target))
        return F.mse_loss(target, goal)
    if kind == "gradient":
        # the same gradients as target.backward(g): d/d target of sum(target * g) is g
        return (target * _seeded_randn(target, objective.seed)).sum()
    pos = (objective.batch, objective.channel)
    if kind == "unit":
        pos = pos + tuple(objective.position)
    return target[pos].sum()


def _seeded_randn(like: torch.Tensor, seed: int) -> torch.Tensor:
    """``torch.manual_seed(seed); torch.randn(like.shape)`` on the CPU, moved to like's device
    (a generator of its own: torch's global random state stays as it was)."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(tuple(like.shape), generator=gen).to(like.device)


def run(
    config: Config,
    *,
    base_dir=None,
    input_array: np.ndarray | None = None,
    device: str | None = None,
    objective: Objective | None = None,
    cancel: Callable[[], bool] | None = None,
    generation: int = 0,
    report: ShapeReport | None = None,
) -> RunResult:
    """Run ``config`` for real. Raises RunError (bad config, device, input, out of memory) or
    Cancelled (``cancel()`` became true between layers). ``report``: the shape inference the
    caller already made of these very layers (the window has one); used when it matches."""
    t_start = time.perf_counter()
    keep_freed_memory()  # once per process: see engine.allocator
    objective = objective or config.objective
    device_name = device or config.device
    try:
        dev = check_device(device_name)
    except DeviceError as exc:
        raise RunError(str(exc)) from None
    try:
        x_np = input_array if input_array is not None else load_input(config.input, base_dir)
    except InputError as exc:
        raise RunError(f"input: {exc}") from None
    except MemoryError:
        raise RunError(_oom_message(str(dev), None)) from None
    x_np = np.ascontiguousarray(x_np, dtype=np.float32)
    if not x_np.flags.writeable:  # torch warns about (and may write to) read-only arrays
        x_np = x_np.copy()
    # The formula inference is exact and cheap (the meta-device check costs ~10 ms a run);
    # anything torch still rejects is caught per layer below and named.
    if not _report_fits(report, config, x_np.shape):
        report = infer(config.layers, x_np.shape)
    if report.problems:
        raise RunError("; ".join(str(p) for p in report.problems[:3]), report.problems)
    bad_objective = check_objective(objective, report)
    if bad_objective:
        raise RunError(str(bad_objective[0]))
    labels = [layer_label(i.index, i.spec) for i in report.layers]
    try:
        return _run(config, report, x_np, dev, objective, labels, cancel, generation, t_start,
                    base_dir)
    except (torch.OutOfMemoryError, MemoryError):  # MemoryError: numpy's, on the host
        raise RunError(_oom_message(str(dev), report)) from None
    except RuntimeError as exc:
        if "out of memory" in str(exc) or "can't allocate memory" in str(exc):
            raise RunError(_oom_message(str(dev), report)) from None
        raise RunError(f"torch failed: {str(exc).strip().splitlines()[0]}") from None


def _report_fits(report: ShapeReport | None, config: Config, shape: tuple[int, ...]) -> bool:
    """Whether ``report`` was made from exactly these layer specs (the same objects: specs are
    immutable) and this input shape."""
    return (report is not None and tuple(report.input_shape) == tuple(shape)
            and len(report.layers) == len(config.layers)
            and all(info.spec is spec for info, spec in zip(report.layers, config.layers)))


_MODULE_CACHE: dict[tuple, tuple] = {}
_CACHE_SIZE = 4


def _cached_modules(report: ShapeReport, seed: int, dev: torch.device, base_dir=None,
                    mode: str = "train") -> tuple[list, list]:
    """Modules for this stack, reused while the layers, their weight sources, seed and device
    are unchanged (building and initialising them is a large part of a small run). Same seed,
    same weights either way; gradients are cleared and buffers (BatchNorm's running
    statistics, which a training-mode run updates) put back as made. Also the buffers as
    made, for the result."""
    key = (str(dev), seed, tuple((i.spec.type, tuple(sorted(i.kwargs.items(), key=str)))
                                 for i in report.layers), weights_key(report, base_dir))
    cached = _MODULE_CACHE.pop(key, None)
    if cached is None:
        modules = build_modules(report.layers, seed, dev, base_dir)
        cached = (modules, snapshot_buffers(modules))
    _MODULE_CACHE[key] = cached
    while len(_MODULE_CACHE) > _CACHE_SIZE:
        _MODULE_CACHE.pop(next(iter(_MODULE_CACHE)))
    modules, buffers = cached
    restore_buffers(modules, buffers)
    for m in modules:
        m.train(mode != "eval")
        m.zero_grad(set_to_none=True)
    return modules, buffers


def _to_numpy(t: torch.Tensor | None) -> np.ndarray | None:
    if t is None:
        return None
    a = t.detach().cpu().numpy()
    # expanded gradients (e.g. of a sum) have zero strides; give the GUI plain arrays
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _seed_dropout(seed: int, dev: torch.device) -> None:
    """Seed the generator Dropout draws from on ``dev``, so its masks repeat from run to run.
    (``torch.manual_seed`` would also queue seeds for every other backend, formatting a stack
    trace for each on every run.)"""
    if dev.type == "cuda":
        with torch.cuda.device(dev):
            torch.cuda.manual_seed(seed)
    elif dev.type == "mps":
        torch.mps.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)


class _Timer:
    """Per-layer forward times: wall clock on the CPU; CUDA events on a GPU, so timing does not
    add a synchronisation after every layer."""

    def __init__(self, dev: torch.device):
        self.cuda = dev.type == "cuda"
        self.marks: list = []

    def mark(self) -> None:
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self.marks.append(ev)
        else:
            self.marks.append(time.perf_counter())

    def intervals_ms(self) -> list[float]:
        m = self.marks
        if self.cuda:
            return [a.elapsed_time(b) for a, b in zip(m, m[1:])]
        return [(b - a) * 1e3 for a, b in zip(m, m[1:])]


PINNED_LIMIT = 256 << 20  # bytes of one transfer above which host copies are not page-locked
SMALL_COPY = 256 << 10  # bytes below which device tensors are concatenated before the copy


class _HostCopy:
    """Device tensors to numpy. On the CPU, zero-copy views. On a GPU, each dtype's tensors go
    into one page-locked host buffer (asynchronous DMA) on a side stream, so a batch started
    after the forward pass (outputs, indices, parameters) travels while backward computes;
    ``arrays()`` waits once for all. Small tensors (biases, kernels, norms) are concatenated
    on the device first and cost one copy together, not one launch each. Transfers above
    ``PINNED_LIMIT`` use ordinary memory (page-locked memory is scarce and never swapped).
    Another device's tensors (MPS) come back one by one."""

    def __init__(self, dev: torch.device):
        self.cuda = dev.type == "cuda"
        self.stream = torch.cuda.Stream(dev) if self.cuda else None
        self._batches: list = []  # (tensors, {dtype: (buffer, [(i, offset)])})

    def start(self, tensors: list[torch.Tensor | None]) -> int:
        """Queue ``tensors`` (None allowed); returns the batch number for ``arrays``."""
        plan: dict = {}
        if self.cuda:
            groups: dict = {}
            for i, t in enumerate(tensors):
                if t is not None and t.device.type == "cuda":
                    groups.setdefault(t.dtype, []).append(i)
            self.stream.wait_stream(torch.cuda.current_stream(self.stream.device))
            with torch.cuda.stream(self.stream):
                for dtype, idx in groups.items():
                    plan[dtype] = self._copy(dtype, [(i, tensors[i].detach()) for i in idx])
        self._batches.append((tensors, plan))
        return len(self._batches) - 1

    @staticmethod
    def _copy(dtype, items):
        size = items[0][1].element_size()
        small = [(i, t) for i, t in items if t.numel() * size < SMALL_COPY]
        large = [(i, t) for i, t in items if t.numel() * size >= SMALL_COPY]
        total = sum(t.numel() for _, t in items)
        pinned = total * size <= PINNED_LIMIT
        buf = torch.empty(total, dtype=dtype, pin_memory=pinned)
        slots, pos = [], 0
        if small:  # first in the buffer, in one piece
            flat = torch.cat([t.reshape(-1) for _, t in small])
            buf[:flat.numel()].copy_(flat, non_blocking=pinned)
            for i, t in small:
                slots.append((i, pos))
                pos += t.numel()
        for i, t in large:
            buf[pos:pos + t.numel()].view(t.shape).copy_(t, non_blocking=pinned)
            slots.append((i, pos))
            pos += t.numel()
        return buf, slots

    def arrays(self, batch: int) -> list[np.ndarray | None]:
        tensors, plan = self._batches[batch]
        if self.stream is not None:
            self.stream.synchronize()
        copied = {i for _buf, slots in plan.values() for i, _pos in slots}
        # the CPU's as views; another device's (MPS) one by one
        out = [None if t is None or i in copied else _to_numpy(t) for i, t in enumerate(tensors)]
        for buf, slots in plan.values():
            flat = buf.numpy()
            for i, pos in slots:
                t = tensors[i]
                out[i] = flat[pos:pos + t.numel()].reshape(tuple(t.shape))
        return out


def _run(config, report, x_np, dev, objective, labels, cancel, generation, t_start,
         base_dir=None) -> RunResult:
    try:
        modules, buffers = _cached_modules(report, config.seed, dev, base_dir, config.mode)
    except WeightError as exc:
        raise RunError(str(exc), [exc.problem]) from None
    except (TypeError, ValueError) as exc:  # e.g. a keyword this torch version lacks
        raise RunError(f"torch cannot build the layers: {str(exc).strip().splitlines()[0]} "
                       f"(torch {torch.__version__})") from None
    x = torch.from_numpy(x_np).to(dev).requires_grad_(True)
    _seed_dropout(config.seed, dev)
    outputs: list[torch.Tensor] = []
    indices: dict[int, torch.Tensor] = {}
    grads_out: dict[int, torch.Tensor] = {}
    if any(info.spec.type.startswith("MaxUnpool") for info in report.layers):
        warm_up()  # keeps torch's one-time set-up out of the layer's time
    timer = _Timer(dev)
    h = x
    t_fwd = time.perf_counter()
    timer.mark()
    for info, module in zip(report.layers, modules):
        if cancel is not None and cancel():
            raise Cancelled()
        try:
            if info.indices_from is not None:
                y = module(h, indices[info.indices_from], output_size=info.unpool_size)
            elif info.sources:  # a merge: the outputs ``from`` names, kept by index
                y = module(h, *merge_inputs(info, x, outputs))
            else:
                y = module(h)
        except (RuntimeError, ValueError, TypeError) as exc:
            if "out of memory" in str(exc) or "can't allocate memory" in str(exc):
                raise
            raise RunError(f"{info.label}: torch rejects this layer: "
                           f"{str(exc).strip().splitlines()[0]}") from None
        if isinstance(y, tuple):
            y, indices[info.index] = y
        timer.mark()
        if y.requires_grad:
            # a tensor hook keeps the gradient as autograd hands it over (cheaper than
            # retain_grad, which accumulates into a new buffer)
            y.register_hook(lambda g, i=info.index: grads_out.__setitem__(i, g))
        outputs.append(y)
        h = y
    forward_ms = (time.perf_counter() - t_fwd) * 1e3
    if cancel is not None and cancel():
        raise Cancelled()
    # What forward made goes to the host while backward runs (on a GPU; views on the CPU).
    params = [list(m.named_parameters()) for m in modules]
    copy = _HostCopy(dev)
    forward_batch = copy.start([t for info, y, named in zip(report.layers, outputs, params)
                                for t in (y, indices.get(info.index), *(p for _, p in named))])
    obj = _objective_tensor(objective, outputs, x)
    t_bwd = time.perf_counter()
    obj.backward()
    _sync(dev)
    backward_ms = (time.perf_counter() - t_bwd) * 1e3
    times = timer.intervals_ms()

    norms = [p.grad.norm() if p.grad is not None else None for ps in params for _, p in ps]
    tensors: list[torch.Tensor | None] = [x.grad, obj.detach().reshape(1)]
    for info, named in zip(report.layers, params):
        tensors += [grads_out.get(info.index), *(p.grad for _, p in named)]
    backward_batch = copy.start(tensors + norms)
    fwd = iter(copy.arrays(forward_batch))
    arrays = iter(copy.arrays(backward_batch))
    grad_input, obj_value = next(arrays), float(next(arrays)[0])
    layers = []
    for info, y, named, ms, own in zip(report.layers, outputs, params, times, buffers):
        lr = LayerResult(
            index=info.index,
            name=info.spec.name or str(info.index),
            type=info.spec.type,
            label=info.label,
            input_shape=tuple(info.input_shape),
            output_shape=tuple(y.shape),
            activation=next(fwd),
            indices=next(fwd),
            grad_output=next(arrays),
            indices_from=info.indices_from,
            sources=info.sources,
            grad_fn=y.grad_fn.name() if y.grad_fn is not None else None,
            param_count=info.params,
            macs=info.macs,
            time_ms=ms,
            buffers={k: _to_numpy(b) for k, b in own.items()},
        )
        for pname, _ in named:
            lr.params[pname] = next(fwd)
        for pname, p in named:
            grad = next(arrays)
            if grad is None:  # torch leaves .grad None: the objective does not depend on it
                lr.no_grad += (pname,)
                grad = np.zeros(tuple(p.shape), np.float32)
            lr.grads[pname] = grad
        layers.append(lr)
    for lr, named in zip(layers, params):
        for pname, _ in named:
            norm = next(arrays)
            lr.grad_norms[pname] = float(norm) if norm is not None else 0.0
    where = labels[objective.layer] if labels and objective.layer != -1 else (
        labels[-1] if labels else "input")
    return RunResult(
        config=config,
        device=str(dev),
        input=x_np,
        grad_input=grad_input,
        layers=layers,
        objective=objective,
        objective_label=objective.describe(where),
        objective_value=obj_value,
        forward_ms=forward_ms,
        backward_ms=backward_ms,
        total_ms=(time.perf_counter() - t_start) * 1e3,
        generation=generation,
        tensor_device=str(x.device),
    )


_warmed = False
_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None
WARM_THREAD = "convexplorer-warm-up"
WARM_DELAY_S = 0.5  # after the first run: its result is drawn first


def warm_up() -> None:
    """Pay torch's one-time set-up costs now: a MaxUnpool's first call checks its output size
    with ``torch._check``, whose first call imports ``torch.fx.experimental.symbolic_shapes``
    and with it sympy (0.8 to 1.5 s of imports; later calls cost nothing). Without this, the
    first MaxUnpool a user adds takes that long to show."""
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        import torch.fx.experimental.symbolic_shapes  # noqa: F401 - the cost itself

        with torch.no_grad():
            f = torch.nn.functional
            y, idx = f.max_pool2d(torch.zeros(1, 1, 4, 4), 2, return_indices=True)
            f.max_unpool2d(y, idx, 2, output_size=(4, 4))
            y, idx = f.max_pool1d(torch.zeros(1, 1, 4), 2, return_indices=True)
            f.max_unpool1d(y, idx, 2, output_size=(4,))
        _warmed = True


def warm_up_soon(delay_s: float = WARM_DELAY_S) -> threading.Thread | None:
    """Once per process: ``warm_up`` in a background thread, after ``delay_s``, so that it
    delays neither the run that calls this nor the drawing of its result. (The window's
    worker calls it after its first run.)"""
    global _warm_thread
    if _warmed or _warm_thread is not None:
        return _warm_thread

    def work() -> None:
        time.sleep(delay_s)
        warm_up()

    _warm_thread = threading.Thread(target=work, name=WARM_THREAD, daemon=True)
    _warm_thread.start()
    return _warm_thread


def config_dir(path: str | Path | None) -> Path | None:
    """The folder relative input paths of a config file are read from."""
    return Path(path).resolve().parent if path else None
