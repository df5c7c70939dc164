"""The Markdown report: machine, versions, each case's figures, targets and profiles."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata

from bench_util import CaseResult

_PACKAGES = (
    "devduck-otel",
    "devduck-otel-exporter-zip",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "orjson",
    "dill",
    "wrapt",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_lines() -> list[str]:
    """Describe the machine, Python and package versions as Markdown list items."""
    versions = ", ".join(f"{name} {_version(name)}" for name in _PACKAGES)
    return [
        f"- Machine: {os.cpu_count()} CPUs (nproc), {_cpu_model()}, {_memory()} RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"- Packages: {versions}",
    ]


def _summary(results: Sequence[CaseResult], quick: bool) -> list[str]:
    lines = ["| case | target | figure | holds |", "|---|---|---|---|"]
    for case in results:
        for target in case.targets:
            verdict = "yes" if target.holds else "**no**"
            if quick:
                verdict += " (quick sizes)"
            lines.append(f"| {case.key} | {target.text} | {target.figure} | {verdict} |")
    return lines


def _case(case: CaseResult) -> list[str]:
    lines = [f"## ({case.key}) {case.title}", "", "| measure | median |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in case.rows]
    lines.append("")
    for target in case.targets:
        mark = "holds" if target.holds else "**missed**"
        lines.append(f"- Target: {target.text}: {target.figure}, {mark}.")
    lines += [f"- {note}" for note in case.notes]
    lines.append(f"- Case wall time: {case.seconds:.1f} s.")
    for title, text in case.profiles:
        lines += ["", f"Profile (cProfile): {title}", "", "```", text, "```"]
    lines.append("")
    return lines


def render(
    results: Sequence[CaseResult],
    *,
    quick: bool,
    command: str,
    total_seconds: float,
    analysis: str = "",
) -> str:
    """Return the whole report as Markdown."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = (
        "quick (tiny sizes, CI smoke run: figures are not the targets' sizes)" if quick else "full"
    )
    lines = [
        "# devduck-otel benchmarks",
        "",
        f"Command: `{command}`; mode: {mode}; run at {stamp}; total {total_seconds:.0f} s.",
        "",
        *machine_lines(),
        "",
        "Every figure is a median over repeated runs; variants of a case run side by side, "
        "interleaved, in the same run. Ratios are medians of per-round ratios. Profiles "
        "are shown where a target is missed.",
        "",
        "## Targets",
        "",
        *_summary(results, quick),
        "",
    ]
    if analysis:
        lines += [analysis.rstrip(), ""]
    for case in results:
        lines += _case(case)
    return "\n".join(lines).rstrip() + "\n"
