"""convexplorer's performance figures, each a median over repeated runs and every ratio measured
side by side in the same run (see docs/speed.md).

    python benchmarks/bench.py [--quick] [--json OUT.json] [--device cpu|cuda] [--skip-gui]

Figures:
  engine_overhead_ratio   engine.run (forward + capture of every output, indices and gradients +
                          backward + numpy) over plain torch forward+backward of the same layers
  edit_to_pixels_ms       a new value in a form's spin box -> panels drew and painted the new
                          result (small config, MNISTConvNet), in the real window, offscreen: a
                          single edit after a pause (the runner starts it at once)
  edit_to_pixels_flushed_ms  an edit as soon as the last result is on screen (part of a burst
                          for the runner), its debounce wait cut short by runner.flush()
  edit_to_pixels_burst_ms the last of three quick edits: the runner's 120 ms debounce, then
                          the run; what you wait once you stop typing
  edit_to_pixels_ratio    edit_to_pixels on the large config, over the engine time alone
                          (engine.run of the same kind of edit in the runner's worker thread,
                          which leaves one core to the window); _all_threads: over the engine
                          alone with all of torch's default threads
  edit_*_ms               where a single edit's time goes: form (form -> pipeline -> shapes ->
                          views), start (edit -> run handed to the worker), worker_engine
                          (engine.run in the worker), draw (panels' set_result), paint
  ui_max_block_ms         longest gap of a 5 ms GUI timer while edits keep the large config
                          running (waiting for results, debounced, cancelling runs under way)
  startup_window_ratio    process start -> first painted window, over `python -c "import torch"`
  startup_result_ratio    process start -> first shown result, over the same
  torch_imported_at_first_paint  starts whose torch import had begun when the window painted
  shape_inference_ms      shape inference of a 10-layer stack at 1x3x1024x1024
  shape_vs_torchinfo_ratio  that over torchinfo's summary of the same stack
  peak_memory_mib         peak resident memory of a process doing one large run
  cuda_*                  with --device cuda: the same engine figures on the GPU (also at batch
                          8: cuda_batch8_*), and whether CPU and CUDA agree (values within
                          tolerance, pooling indices equal)
  allocator_tuned         whether engine.allocator's glibc thresholds are in force (for the
                          whole process: plain torch gets them too; CONVEXPLORER_MALLOC=default
                          turns them off)
  load_average_at_*       the machine's 1-minute load: other work there makes every figure noisy

The window figures come from benchmarks/gui_bench.py and benchmarks/startup_probe.py; settings,
recent files and autosaves go to a temporary folder (CONVEXPLORER_CONFIG_DIR) for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOALS = {
    "engine_overhead_ratio": ("<=", 1.25),
    "edit_to_pixels_ms": ("<=", 50.0),
    "edit_to_pixels_ratio": ("<=", 1.5),
    "ui_max_block_ms": ("<=", 50.0),
    "startup_window_ratio": ("<=", 1.0),
    "shape_vs_torchinfo_ratio": ("<=", 0.05),
    "unit_click_to_pixels_ms": ("<=", 50.0),
}


def large_config():
    from convexplorer.model.spec import Config, InputSpec, LayerSpec

    L = LayerSpec.make
    layers = (
        L("Conv2d", in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3),
        L("BatchNorm2d"),
        L("ReLU"),
        L("MaxPool2d", kernel_size=3, stride=2, padding=1, return_indices=True),
        L("Conv2d", out_channels=64, kernel_size=3, stride=1, padding=1),
        L("Conv2d", out_channels=64, kernel_size=3, stride=1, padding=1),
        L("ReLU"),
    )
    return Config(layers=layers, input=InputSpec(shape=(1, 3, 224, 224)), name="large")


def plain_torch_stack(device):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1, return_indices=False),
        nn.Conv2d(64, 64, 3, 1, 1), nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(),
    ).to(device)


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def bench_engine(repeats: int, device: str = "cpu", batch: int = 1) -> dict:
    import dataclasses

    import numpy as np
    import torch

    from convexplorer.engine.run import run
    from convexplorer.model.spec import InputSpec

    cfg = large_config()
    shape = (batch, 3, 224, 224)
    cfg = dataclasses.replace(cfg, input=InputSpec(shape=shape))
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    seq = plain_torch_stack(device)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    def plain():
        xt = torch.from_numpy(x).to(device).requires_grad_(True)
        seq(xt).sum().backward()
        sync()

    def engine():
        run(cfg, input_array=x, device=device)

    # interleave so both see the same machine state
    p_times, e_times = [], []
    for f in (plain, engine, plain, engine):
        f()
    for _ in range(repeats):
        p_times.append(median_ms(plain, 1, 0))
        e_times.append(median_ms(engine, 1, 0))
    p, e = statistics.median(p_times), statistics.median(e_times)
    prefix = ("" if device == "cpu" else "cuda_") + ("" if batch == 1 else f"batch{batch}_")
    return {f"{prefix}plain_torch_ms": p, f"{prefix}engine_ms": e,
            f"{prefix}engine_overhead_ratio": e / p}


def bench_shapes(repeats: int) -> dict:
    from convexplorer.model.shapes import infer
    from convexplorer.model.spec import LayerSpec

    L = LayerSpec.make
    layers = [
        L("Conv2d", in_channels=3, out_channels=32, kernel_size=3, padding=1), L("BatchNorm2d"),
        L("ReLU"), L("MaxPool2d", kernel_size=2), L("Conv2d", out_channels=64, kernel_size=3),
        L("ReLU"), L("AvgPool2d", kernel_size=2), L("Conv2d", out_channels=64, kernel_size=3,
                                                    dilation=2),
        L("AdaptiveAvgPool2d", output_size=4), L("Flatten"),
    ]
    shape = (1, 3, 1024, 1024)
    ours = median_ms(lambda: infer(layers, shape), repeats * 20)
    out = {"shape_inference_ms": ours}
    try:
        from torch import nn
        from torchinfo import summary
    except ImportError:
        out["shape_vs_torchinfo_ratio"] = None
        out["note_torchinfo"] = "torchinfo not installed (pip install torchinfo)"
        return out
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(64, 64, 3, dilation=2),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(),
    )
    theirs = median_ms(lambda: summary(model, input_size=shape, verbose=0), max(3, repeats // 2),
                       1)
    out["torchinfo_ms"] = theirs
    out["shape_vs_torchinfo_ratio"] = ours / theirs
    return out


def _child_time(code: str, env=None) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env,
                   stdout=subprocess.DEVNULL, timeout=STARTUP_TIMEOUT_S)
    return (time.perf_counter() - t) * 1e3


STARTUP_TIMEOUT_S = 180


def _probe_startup(env) -> dict:
    """One start of the real app (benchmarks/startup_probe.py): its marks in ms."""
    script = REPO / "benchmarks" / "startup_probe.py"
    env = dict(env, CONVEXPLORER_LAUNCH_T=repr(time.time()))
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"startup_probe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    data = json.loads(lines[-1])
    if "window_ms" not in data or "result_ms" not in data:
        raise RuntimeError(f"startup_probe saw no first paint or no result: {data}")
    return data


def bench_startup(repeats: int) -> dict:
    """Process start to first painted window / first shown result, over `import torch` (both
    from the launch of a fresh interpreter; the two alternate so both see the same load)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    torch_ms, window, result, torch_at_window = [], [], [], []
    _child_time("import torch", env)  # warm the file cache for both
    for _ in range(repeats):
        torch_ms.append(_child_time("import torch", env))
        data = _probe_startup(env)
        window.append(data["python_start_ms"] + data["window_ms"])
        result.append(data["python_start_ms"] + data["result_ms"])
        torch_at_window.append(bool(data.get("torch_at_window")))
    t = statistics.median(torch_ms)
    w, r = statistics.median(window), statistics.median(result)
    return {"import_torch_ms": t, "startup_window_ms": w, "startup_result_ms": r,
            "startup_window_ratio": w / t, "startup_result_ratio": r / t,
            "torch_imported_at_first_paint": f"{sum(torch_at_window)}/{repeats} starts"}


def bench_memory() -> dict:
    """Peak resident memory of a fresh process doing one large run. Read from VmHWM, not
    ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child would report the
    benchmark's own (larger) size at the moment it was started."""
    code = (
        f"import resource, sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from benchmarks.bench import large_config\n"
        "from convexplorer.engine.run import run\n"
        "run(large_config())\n"
        "try:\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "    print(int(status.split()[0]))\n"  # KiB
        "except (OSError, IndexError):\n"
        "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(rss // 1024 if sys.platform == 'darwin' else rss)\n"  # bytes on macOS
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                         capture_output=True, text=True).stdout
    return {"peak_memory_mib": int(out.strip().splitlines()[-1]) / 1024}


def bench_gui(repeats: int) -> dict:
    from benchmarks.gui_bench import bench_gui as run_gui

    return run_gui(repeats)


def bench_cuda_agreement() -> dict:
    import numpy as np

    from convexplorer.engine.run import run
    from convexplorer.model.config_io import load_config

    worst, indices_equal = 0.0, True
    for path in sorted((REPO / "resources" / "examples").glob("*.json")):
        cfg = load_config(path)
        a = run(cfg, base_dir=path.parent, device="cpu")
        b = run(cfg, base_dir=path.parent, device="cuda")
        for la, lb in zip(a.layers, b.layers):
            scale = max(1e-6, float(np.abs(la.activation).max()))
            worst = max(worst, float(np.abs(la.activation - lb.activation).max()) / scale)
            if la.indices is not None:
                indices_equal &= bool(np.array_equal(la.indices, lb.indices))
    return {"cuda_max_rel_diff": worst, "cuda_indices_equal": indices_equal}


def machine() -> str:
    """CPU model, cores, Python, torch and Qt versions: what the figures were measured on."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores, {platform.system()}",
             f"Python {platform.python_version()}"]
    for name in ("torch", "PySide6"):
        try:
            mod = __import__(name)
            parts.append(f"{name} {mod.__version__}")
        except ImportError:
            pass
    return "; ".join(parts)


def collect(args) -> dict:
    repeats = 5 if args.quick else 15
    figures: dict = {"machine": machine(), "quick": args.quick,
                     "load_average_at_start": _load()}
    figures.update(bench_engine(3 * repeats))  # cheap, and the noisiest ratio
    from convexplorer.engine.allocator import keep_freed_memory

    # process-wide, so plain torch runs with the same allocator as the engine
    figures["allocator_tuned"] = keep_freed_memory()
    figures.update(bench_shapes(repeats))
    figures.update(bench_memory())
    if args.device != "cpu":
        figures.update(bench_engine(3 * repeats, args.device))
        figures.update(bench_engine(3 * repeats, args.device, batch=8))  # more to copy back
        figures.update(bench_cuda_agreement())
    if not args.skip_gui:
        figures.update(bench_startup(3 if args.quick else 7))
        figures.update(bench_gui(repeats + 2))
    figures["load_average_at_end"] = _load()
    return figures


def _load() -> float | None:
    """The 1-minute load average: other work on the machine makes every figure noisier."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def report(figures: dict) -> str:
    """The figures as a table, each goal marked met or not."""
    width = max(len(k) for k in figures)
    lines = []
    for k, v in figures.items():
        goal = GOALS.get(k)
        mark = ""
        if goal and isinstance(v, int | float) and not isinstance(v, bool):
            ok = v <= goal[1]
            mark = f"   goal {goal[0]} {goal[1]:g}: {'met' if ok else 'NOT met'}"
        val = f"{v:.3f}" if isinstance(v, float) else str(v)
        lines.append(f"{k.ljust(width)}  {val}{mark}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (under two minutes)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--device", default="cpu", help="also run the engine figures on this device")
    ap.add_argument("--skip-gui", action="store_true", help="no window figures (no Qt needed)")
    args = ap.parse_args(argv)
    if args.device != "cpu":
        from convexplorer.engine.devices import DeviceError, check_device

        try:
            check_device(args.device)
        except DeviceError as exc:  # e.g. a CPU-only torch: say so, no traceback
            print(f"bench: --device {args.device}: {exc}", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="convexplorer-bench-") as settings:
        # the window's settings, recent files and autosaves (this process and its children):
        # the benchmark's edits must leave nothing to restore in the user's own folder
        os.environ["CONVEXPLORER_CONFIG_DIR"] = settings
        figures = collect(args)
    figures["bench_seconds"] = round(time.perf_counter() - t0, 1)
    print(report(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
