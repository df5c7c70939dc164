"""Run the devduck-otel benchmarks side by side and write a Markdown report.

Usage:
    python benchmarks/run.py                 # full sizes, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick --output /tmp/RESULTS-quick.md   # CI smoke run, < 60 s

Cases (issue 6): (a) tool-call overhead, (b) record and export 10,000 tool events,
(c) load_session speed, (d) snapshot of a 1,000-message conversation, (e) 100
snapshots of a growing conversation, (f) file opens under the audit hook, (g) memory
with 1,000,000 events; issue 10: (h) devduck-otel beside devduck 1.15.7's recorder (in
.venv-devduck), (i) a tool call vs an SDK span with the same GenAI attributes, (j) the
CPU of stop_recording. Benchmarks are not timed tests: targets are reported, not
asserted. The run exits 0 whatever the figures, and 1 only if a case fails to run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_util import BENCH_DIR, CaseResult, Sizes, open_loop
from report import render

CASES = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")
ANALYSIS = BENCH_DIR / "ANALYSIS.md"

_CLEARED = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "DEVDUCK_SIGNING_KEY",
    "DEVDUCK_FLUSH_INTERVAL",
    "DEVDUCK_AUTO_RECORD",
)


def _environment(recordings: Path) -> dict[str, str]:
    """The benchmark environment: no collector, recordings in a scratch folder."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env["DEVDUCK_RECORDINGS_DIR"] = str(recordings)
    env["DEVDUCK_SYS_LAYER"] = "false"
    return env


def _workers() -> dict[str, Callable[[dict[str, Any]], Any]]:
    from cases_calls import worker_f_hook
    from cases_session import worker_g

    return {"f-hook": worker_f_hook, "g": worker_g}


def _worker_main(name: str, raw_args: str) -> int:
    if name == "f-nohook":  # must not import devduck_otel: no audit hook in this process
        args = json.loads(raw_args)
        print(json.dumps(_nohook_opens(str(args["path"]), int(args["n"]), int(args["rounds"]))))
        return 0
    print(json.dumps(_workers()[name](json.loads(raw_args))))
    return 0


def _nohook_opens(path: str, n: int, rounds: int) -> dict[str, list[list[float]]]:
    open_loop(path, n)
    return {"nohook": [open_loop(path, n) for _ in range(rounds)]}


def _run_case(key: str, sizes: Sizes, env: dict[str, str]) -> CaseResult:
    from cases_calls import case_a, case_f
    from cases_redaction import case_k
    from cases_session import case_b, case_c, case_g
    from cases_snapshots import case_d, case_e
    from cases_targets import case_h, case_i, case_j

    runners: dict[str, Callable[[], CaseResult]] = {
        "a": lambda: case_a(sizes),
        "b": lambda: case_b(sizes),
        "c": lambda: case_c(sizes),
        "d": lambda: case_d(sizes),
        "e": lambda: case_e(sizes),
        "f": lambda: case_f(sizes, env),
        "g": lambda: case_g(sizes, env),
        "h": lambda: case_h(sizes, env),
        "i": lambda: case_i(sizes),
        "j": lambda: case_j(sizes),
        "k": lambda: case_k(sizes),
    }
    start = time.perf_counter()
    result = runners[key]()
    result.seconds = time.perf_counter() - start
    return result


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run, < 60 s)")
    parser.add_argument(
        "--output", type=Path, default=None, help="report path (default: benchmarks/RESULTS.md)"
    )
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated subset, e.g. a,d (default: all)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-args", default="{}", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases and write the report; returns the exit code."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.worker:
        return _worker_main(args.worker, args.worker_args)
    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(CASES))
    if unknown:
        print(f"unknown cases: {', '.join(unknown)}", file=sys.stderr)
        return 2
    output: Path = args.output or BENCH_DIR / "RESULTS.md"
    sizes = Sizes.for_mode(args.quick)
    scratch = Path(tempfile.mkdtemp(prefix="devduck-bench-"))
    env = _environment(scratch / "recordings")
    os.environ.clear()
    os.environ.update(env)
    results: list[CaseResult] = []
    failed: list[str] = []
    start = time.perf_counter()
    try:
        for key in keys:
            print(f"case {key} ...", flush=True)
            try:
                result = _run_case(key, sizes, env)
            except Exception:
                failed.append(key)
                traceback.print_exc()
                result = CaseResult(key, "FAILED TO RUN")
                result.notes.append("The case raised; see the run's stderr.")
            results.append(result)
            for target in result.targets:
                verdict = "holds" if target.holds else "MISSED"
                print(f"  ({key}) {target.text}: {target.figure} -> {verdict}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    total = time.perf_counter() - start
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    analysis = ANALYSIS.read_text() if ANALYSIS.exists() and not args.quick else ""
    text = render(
        results, quick=args.quick, command=command, total_seconds=total, analysis=analysis
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    ran = [r.key for r in results if r.key not in failed]
    print(f"cases run: {','.join(ran)}; failed: {','.join(failed) or 'none'}")
    print(f"report written to {output} ({total:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
