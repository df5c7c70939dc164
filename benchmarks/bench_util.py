"""Shared helpers of the benchmark cases: results, interleaved timing, profiles, RSS."""

from __future__ import annotations

import cProfile
import gc
import io
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


@dataclass(frozen=True)
class Sizes:
    """Workload sizes of one run: full (the figures in RESULTS.md) or quick (CI smoke)."""

    quick: bool
    a_calls: int = 20_000
    a_rounds: int = 15
    b_tool_calls: int = 5_000
    b_reps: int = 9
    c_events: tuple[int, ...] = (10_000, 100_000)
    c_reps: int = 7
    d_messages: int = 1_000
    d_reps: int = 9
    e_snapshots: int = 100
    e_step: int = 10
    f_opens: int = 20_000
    f_rounds: int = 7
    f_pairs: int = 6
    g_events: int = 1_000_000

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        """Return the full sizes, or tiny ones for ``--quick``."""
        if not quick:
            return cls(quick=False)
        return cls(
            quick=True,
            a_calls=2_000,
            a_rounds=3,
            b_tool_calls=500,
            b_reps=2,
            c_events=(1_000, 5_000),
            c_reps=2,
            d_messages=100,
            d_reps=2,
            e_snapshots=10,
            e_step=10,
            f_opens=2_000,
            f_rounds=2,
            f_pairs=1,
            g_events=20_000,
        )


@dataclass
class Target:
    """One target of the issue and whether the measured figure meets it."""

    text: str
    figure: str
    holds: bool


@dataclass
class CaseResult:
    """What one case measured: a table of figures, its targets, notes and profiles."""

    key: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def row(self, label: str, value: str) -> None:
        """Add one figure to the case's table."""
        self.rows.append((label, value))

    def target(self, text: str, figure: str, holds: bool) -> None:
        """Record a target, the figure it is judged on, and whether it holds."""
        self.targets.append(Target(text, figure, holds))

    @property
    def missed(self) -> bool:
        """Whether any target of this case is missed."""
        return any(not t.holds for t in self.targets)


def median(values: list[float]) -> float:
    """Return the median of a non-empty list."""
    return statistics.median(values)


def interleaved(
    variants: Mapping[str, Callable[[], float]], rounds: int, *, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each variant once per round, in turn, so all see the same machine noise.

    Each callable runs its workload and returns its own elapsed seconds. The first
    ``warmup`` rounds are discarded.
    """
    out: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(warmup + rounds):
        for name, run in variants.items():
            gc.collect()
            elapsed = run()
            if index >= warmup:
                out[name].append(elapsed)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Return ``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def open_loop(path: str, n: int, settle: Callable[[], object] | None = None) -> list[float]:
    """Open and close ``path`` ``n`` times; seconds per open as ``[wall, process, thread]``.

    Unbuffered (``buffering=0``): a buffered open also allocates an 8 KiB buffer, whose
    cost here depends on the heap's state (page faults) by more than the hook costs.

    Wall and process CPU (all threads) include ``settle`` (the journal flush of the
    recorded opens); thread CPU is the calling thread's, inside the opens only.
    """
    start, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
    for _ in range(n):
        open(path, "rb", buffering=0).close()
    thread_end = time.thread_time()
    if settle is not None:
        settle()
    return [
        (time.perf_counter() - start) / n,
        (time.process_time() - cpu) / n,
        (thread_end - thread) / n,
    ]


_PATH_NOISE = re.compile(r"(/[^\s:()]+/)(site-packages|src|benchmarks|lib/python3\.\d+)/")


def profile(fn: Callable[[], Any], *, limit: int = 20) -> str:
    """Run ``fn`` under cProfile and return its top functions by own and cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(limit)
    text.write("\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return _tidy(text.getvalue())


def _tidy(report: str) -> str:
    lines = []
    for line in report.splitlines():
        if line.startswith(("   Ordered by", "   List reduced")) or not line.strip():
            if line.startswith("   Ordered by"):
                lines.append(line.strip())
            continue
        lines.append(_PATH_NOISE.sub(lambda m: m.group(2) + "/", line.rstrip()))
    return "\n".join(lines)


def run_worker(name: str, args: Mapping[str, Any], *, env: Mapping[str, str]) -> Any:
    """Run ``run.py --worker name`` in a fresh interpreter and return its JSON output."""
    command = [
        sys.executable,
        str(BENCH_DIR / "run.py"),
        "--worker",
        name,
        "--worker-args",
        json.dumps(dict(args)),
    ]
    done = subprocess.run(
        command, env=dict(env), capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_bytes() -> int:
    """Return the current resident set size of this process."""
    with open("/proc/self/statm", "rb") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (``VmHWM``); False where Linux does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    """Return the peak resident set size (``VmHWM``) since start or the last reset."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def fmt_us(seconds: float) -> str:
    """Format seconds as microseconds."""
    return f"{seconds * 1e6:.2f} µs"


def fmt_ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return f"{seconds * 1e3:.2f} ms"


def fmt_mb(size: float) -> str:
    """Format a byte count as MB (10^6 bytes)."""
    return f"{size / 1e6:.1f} MB"


def fmt_kb(size: float) -> str:
    """Format a byte count as kB (10^3 bytes)."""
    return f"{size / 1e3:.1f} kB"
