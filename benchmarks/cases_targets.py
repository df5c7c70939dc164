"""Issue 10's targets: (h) beside devduck, (i) vs a GenAI SDK span, (j) stop's CPU.

(h) devduck-otel vs devduck 1.15.7's own recorder, (i) a recorded tool call vs an SDK
span with the same GenAI attributes, (j) the process CPU time of stop_recording.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench_util import BENCH_DIR, REPO, CaseResult, Sizes, fmt_ms, fmt_us, interleaved, median
from cases_calls import NoopExporter, _loop, add
from cases_session import _session, lookup
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import devduck_otel

DEVDUCK_PYTHON = REPO / ".venv-devduck" / "bin" / "python"
NOT_RUN = "not run: .venv-devduck missing"


def _devduck_seconds(tool_calls: int, reps: int, env: Mapping[str, str]) -> dict[str, Any]:
    """Run devduck's recorder in its own venv (benchmarks/devduck_worker.py)."""
    done = subprocess.run(
        [str(DEVDUCK_PYTHON), str(BENCH_DIR / "devduck_worker.py"), str(tool_calls), str(reps)],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"devduck worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def case_h(sizes: Sizes, env: Mapping[str, str]) -> CaseResult:
    """Run case (h): our session end to end beside devduck's recorder, rounds alternating."""
    n = sizes.b_tool_calls
    result = CaseResult("h", f"{n:,} tool calls recorded and exported: devduck-otel vs devduck")
    _session(min(200, n))  # warm-up
    ours: list[float] = []
    theirs: list[float] = []
    floor: list[float] = []
    span_add = _genai_span()
    events = 0
    version = ""
    rounds = max(1, sizes.b_reps // 3)
    for _ in range(rounds):  # alternate: 3 of ours, 3 of devduck's (one subprocess)
        for _ in range(3):
            run = _session(n)
            ours.append(sum(run[:3]))
            Path(run[3]).unlink()
            floor.append(_loop(span_add, n)() * n)
        if DEVDUCK_PYTHON.exists():
            out = _devduck_seconds(n, 3, env)
            theirs += out["seconds"]
            events, version = out["events"], out["version"]
    mine = median(ours)
    result.row(f"devduck-otel: start_recording, {n:,} `@tool` calls, stop_recording", fmt_ms(mine))
    if not theirs:
        result.row("devduck recorder", NOT_RUN)
        result.target("ratio ours/devduck <= 1.0 (0.8 wanted)", NOT_RUN, False)
        return result
    other = median(theirs)
    ratio = mine / other
    result.row(
        f"devduck {version} SessionRecorder: start, {events:,} events, stop, export",
        fmt_ms(other),
    )
    result.row("ratio devduck-otel / devduck (medians)", f"{ratio:.2f}x")
    result.row(
        f"floor: {n:,} bare SDK spans with the same GenAI attributes (no-op exporter)",
        f"{fmt_ms(median(floor))} ({median(floor) / other:.2f}x devduck)",
    )
    result.row("runs per variant", f"{len(ours)} / {len(theirs)}")
    result.notes.append(
        "devduck's side calls record_tool_call/record_tool_result around the same function "
        "directly (no strands hook in between), in .venv-devduck; see ANALYSIS.md."
    )
    result.target("ratio ours/devduck <= 1.0 (0.8 wanted)", f"{ratio:.2f}x", ratio <= 1.0)
    return result


def _genai_span() -> Callable[[int, int], int]:
    """A plain SDK span carrying what our execute_tool span carries."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
    tracer = provider.get_tracer("bench")
    counter = iter(range(1 << 62))

    def span_add(a: int, b: int) -> int:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "add",
            "gen_ai.tool.call.id": f"call_{next(counter)}",
            "gen_ai.tool.call.arguments": json.dumps({"a": a, "b": b}),
        }
        with tracer.start_as_current_span("execute_tool add", attributes=attributes) as span:
            result = add(a, b)
            span.set_attribute("gen_ai.tool.call.result", json.dumps(result))
            return result

    return span_add


def case_i(sizes: Sizes) -> CaseResult:
    """Run case (i): a recorded `@tool` call vs a GenAI-attributed SDK span (µs per call)."""
    result = CaseResult("i", "Recorded tool call vs an SDK span with the same GenAI attributes")
    span_add = _genai_span()
    tool_add = devduck_otel.tool(add)
    n = sizes.a_calls
    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    try:
        times = interleaved(
            {
                "span": _loop(span_add, n),
                "tool": _loop(tool_add, n, settle=rec.journal.flush),
            },
            sizes.a_rounds,
        )
    finally:
        devduck_otel.stop_recording()
    ratio = median([t / s for t, s in zip(times["tool"], times["span"], strict=True)])
    result.row(
        "SDK span: execute_tool, tool name, call id, arguments, result (SimpleSpanProcessor, "
        "no-op exporter)",
        fmt_us(median(times["span"])),
    )
    result.row(
        "`@devduck_otel.tool`, recording (incl. journal flush)", fmt_us(median(times["tool"]))
    )
    result.row("ratio (median of per-round ratios)", f"{ratio:.2f}x")
    result.row("calls per variant per round x rounds", f"{n:,} x {sizes.a_rounds}")
    result.target("recorded tool call <= 2x the GenAI SDK span", f"{ratio:.2f}x", ratio <= 2.0)
    return result


def case_j(sizes: Sizes) -> CaseResult:
    """Run case (j): process CPU time of stop_recording after ``b_tool_calls`` spans."""
    n = sizes.b_tool_calls
    result = CaseResult("j", f"stop_recording on {n:,} spans (process CPU)")
    cpu: list[float] = []
    wall: list[float] = []
    for index in range(sizes.b_reps + 1):
        devduck_otel.start_recording(sys_layer=False)
        for i in range(n):
            lookup("Lisbon", i)
        c0, w0 = time.process_time(), time.perf_counter()
        path = devduck_otel.stop_recording()
        c1, w1 = time.process_time(), time.perf_counter()
        assert path is not None
        Path(path).unlink()
        if index:  # the first is a warm-up
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
    m = median(cpu)
    result.row("stop_recording, process CPU (all threads)", fmt_ms(m))
    result.row("stop_recording, wall", fmt_ms(median(wall)))
    result.row("repetitions", str(sizes.b_reps))
    limit = 0.060 * n / 5_000
    result.target(
        f"stop_recording <= {limit * 1e3:.0f} ms CPU on {n:,} spans", fmt_ms(m), m <= limit
    )
    return result
