"""Whole sessions: (b) record and export, (c) load, (g) a million events in bounded memory."""

from __future__ import annotations

import threading
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from bench_util import (
    CaseResult,
    Sizes,
    fmt_mb,
    fmt_ms,
    median,
    peak_rss_bytes,
    profile,
    reset_peak_rss,
    rss_bytes,
    run_worker,
)

import devduck_otel

DEVDUCK_ORIGINAL_B_SECONDS = 0.22
"""Case (b) for the original devduck recorder on this machine, as issue 6 gives it."""


@devduck_otel.tool
def lookup(city: str, days: int) -> dict[str, Any]:
    """A small tool with a realistic argument and result shape."""
    return {"city": city, "days": days, "forecast": "sunny"}


def _session(tool_calls: int) -> tuple[float, float, float, str]:
    """Record ``tool_calls`` calls and stop; return (start, calls, stop) seconds and the ZIP."""
    t0 = time.perf_counter()
    devduck_otel.start_recording(sys_layer=False)
    t1 = time.perf_counter()
    for i in range(tool_calls):
        lookup("Lisbon", i)
    t2 = time.perf_counter()
    path = devduck_otel.stop_recording()
    t3 = time.perf_counter()
    assert path is not None
    return t1 - t0, t2 - t1, t3 - t2, path


def case_b(sizes: Sizes) -> CaseResult:
    """Run case (b): start, tool calls, stop writing the ZIP, end to end."""
    events = sizes.b_tool_calls * 2
    result = CaseResult("b", f"Record and export {events:,} tool events end to end")
    _session(min(200, sizes.b_tool_calls))  # warm up imports and caches
    runs = [_session(sizes.b_tool_calls) for _ in range(sizes.b_reps)]
    total = [sum(r[:3]) for r in runs]
    zip_size = Path(runs[-1][3]).stat().st_size
    for run in runs:
        Path(run[3]).unlink()
    m_total = median(total)
    result.row("end to end (start_recording, calls, stop_recording)", fmt_ms(m_total))
    result.row("  start_recording", fmt_ms(median([r[0] for r in runs])))
    result.row(f"  {sizes.b_tool_calls:,} tool calls", fmt_ms(median([r[1] for r in runs])))
    result.row("  stop_recording (journal -> ZIP)", fmt_ms(median([r[2] for r in runs])))
    result.row("ZIP size", f"{zip_size / 1e3:,.0f} kB")
    result.row("original devduck recorder (issue 6 figure, not measured here)", "~220 ms")
    result.row("repetitions", str(sizes.b_reps))
    result.target(
        f"< 0.15 s for {events:,} tool events", f"{m_total:.3f} s", m_total < 0.15 * events / 10_000
    )
    if result.missed:
        result.profiles.append(
            (f"one session of {sizes.b_tool_calls:,} tool calls", profile(_profile_b(sizes)))
        )
    return result


def _profile_b(sizes: Sizes) -> Any:
    def run() -> None:
        Path(_session(sizes.b_tool_calls)[3]).unlink()

    return run


# --- (c) load_session --------------------------------------------------------------


def make_session(events: int) -> Path:
    """Record a session of ``events`` events (tool calls plus start and stop)."""
    devduck_otel.start_recording(sys_layer=False)
    for i in range((events - 2) // 2):
        lookup("Lisbon", i)
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


def case_c(sizes: Sizes) -> CaseResult:
    """Run case (c): load_session on sessions of each size, events per second."""
    result = CaseResult("c", "load_session (events per second)")
    paths = {n: make_session(n) for n in sizes.c_events}
    rates: dict[int, float] = {}
    for n, path in paths.items():
        devduck_otel.load_session(path)  # warm-up, and the page cache
        seconds: list[float] = []
        loaded = 0
        for _ in range(sizes.c_reps):
            start = time.perf_counter()
            session = devduck_otel.load_session(path)
            seconds.append(time.perf_counter() - start)
            loaded = len(session.events)
            del session
        m = median(seconds)
        rates[n] = loaded / m
        size = path.stat().st_size / 1e6
        result.row(
            f"{loaded:,} events ({size:.1f} MB ZIP)",
            f"{fmt_ms(m)}, {rates[n]:,.0f} events/s",
        )
    result.row("repetitions per size", str(sizes.c_reps))
    for n, rate in rates.items():
        result.target(f">= 500,000 events/s at {n:,} events", f"{rate:,.0f}/s", rate >= 500_000)
    if result.missed:
        largest = max(paths)
        result.profiles.append(
            (
                f"load_session, {largest:,} events",
                profile(lambda: devduck_otel.load_session(paths[largest])),
            )
        )
    for path in paths.values():
        path.unlink()
    return result


# --- (g) a million events ----------------------------------------------------------


class _Sampler:
    """Samples this process's RSS every few milliseconds (a check on ``VmHWM``)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> _Sampler:
        self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def worker_g(args: Mapping[str, Any]) -> dict[str, Any]:
    """Subprocess: emit events until the session holds ``n`` events, then export."""
    n = int(args["n"])
    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    baseline = rss_bytes()
    hwm_ok = reset_peak_rss()
    with _Sampler() as sampled_rec:
        start = time.perf_counter()
        for i in range(n - 2):  # session.start and session.stop make up the rest
            if i % 2:
                rec.emit("tool", "tool.result", {"name": "add", "result": i, "duration_ms": 0.01})
            else:
                rec.emit("tool", "tool.call", {"name": "add", "args": {"a": i, "b": 2}})
        record_s = time.perf_counter() - start
    peak_rec = peak_rss_bytes() if hwm_ok else sampled_rec.peak
    reset_peak_rss()
    with _Sampler() as sampled_exp:
        start = time.perf_counter()
        path = devduck_otel.stop_recording()
        export_s = time.perf_counter() - start
    peak_exp = peak_rss_bytes() if hwm_ok else sampled_exp.peak
    assert path is not None
    with zipfile.ZipFile(path) as zf:
        meta = orjson.loads(zf.read("metadata.json"))
        lines = 0
        with zf.open("events.jsonl") as stream:
            for _ in stream:
                lines += 1
    size = Path(path).stat().st_size
    Path(path).unlink()
    return {
        "baseline": baseline,
        "peak_recording": max(peak_rec, sampled_rec.peak),
        "peak_export": max(peak_exp, sampled_exp.peak),
        "hwm": hwm_ok,
        "record_s": record_s,
        "export_s": export_s,
        "total_events": meta.get("total_events"),
        "lines": lines,
        "zip_bytes": size,
    }


def case_g(sizes: Sizes, env: Mapping[str, str]) -> CaseResult:
    """Run case (g) in a fresh subprocess: RSS while recording and exporting many events."""
    n = sizes.g_events
    result = CaseResult("g", f"{n:,} events: memory")
    out = run_worker("g", {"n": n}, env=env)
    growth = max(out["peak_recording"], out["peak_export"]) - out["baseline"]
    result.row("RSS after start_recording (baseline)", fmt_mb(out["baseline"]))
    result.row("peak RSS while recording", fmt_mb(out["peak_recording"]))
    result.row("peak RSS while exporting (stop_recording)", fmt_mb(out["peak_export"]))
    result.row("RSS growth (peak - baseline)", fmt_mb(growth))
    result.row("peak measured by", "VmHWM (reset per phase) and 5 ms sampling")
    result.row(
        f"recording {n - 2:,} `rec.emit` calls",
        f"{out['record_s']:.2f} s ({(n - 2) / out['record_s']:,.0f} events/s)",
    )
    result.row("export (stop_recording, journal -> ZIP)", f"{out['export_s']:.2f} s")
    result.row("ZIP size", fmt_mb(out["zip_bytes"]))
    result.row(
        "metadata total_events / lines in events.jsonl",
        f"{out['total_events']:,} / {out['lines']:,}",
    )
    result.notes.append("One run in a fresh subprocess (not a median): memory, not speed.")
    result.target("RSS growth <= 100 MB", fmt_mb(growth), growth <= 100e6)
    counted = out["total_events"] == out["lines"] == n
    result.target(
        f"total_events == lines in events.jsonl == {n:,}",
        f"{out['total_events']:,} / {out['lines']:,}",
        counted,
    )
    return result
