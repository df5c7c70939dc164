"""The benchmark command runs in quick mode and writes its report (timings are not asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"
CASES = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Run ``benchmarks/run.py --quick`` once; return its stdout and the report text."""
    folder = tmp_path_factory.mktemp("bench")
    output = folder / "RESULTS-quick.md"
    env = dict(os.environ)
    env["DEVDUCK_RECORDINGS_DIR"] = str(folder / "recordings")
    env["DEVDUCK_RAISE_INTERNAL_ERRORS"] = "true"  # a telemetry bug fails the run
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--output", str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert output.exists(), done.stdout
    return done.stdout, output.read_text()


def test_every_case_ran(quick_report: tuple[str, str]) -> None:
    """The command reports every case as run and none as failed."""
    stdout, _ = quick_report
    assert f"cases run: {','.join(CASES)}; failed: none" in stdout


def test_report_has_every_case(quick_report: tuple[str, str]) -> None:
    """The report has a section with figures for each case, and no failed case."""
    _, report = quick_report
    for key in CASES:
        assert re.search(rf"^## \({key}\) ", report, re.MULTILINE), key
    assert "FAILED TO RUN" not in report
    assert "| measure | median |" in report


def test_report_names_machine_and_targets(quick_report: tuple[str, str]) -> None:
    """The report names the machine, Python, packages, and a verdict for each target."""
    _, report = quick_report
    assert "nproc" in report
    assert "Python: " in report
    assert "opentelemetry-sdk" in report
    verdicts = re.findall(
        r"^\| ([a-z]) \| .* \| (?:yes|\*\*no\*\*) \(quick sizes\) \|$", report, re.M
    )
    assert set(verdicts) == set(CASES)


def test_event_count_check_holds(quick_report: tuple[str, str]) -> None:
    """Case (g) finds as many lines in events.jsonl as metadata counts events."""
    _, report = quick_report
    line = next(x for x in report.splitlines() if "total_events == lines in events.jsonl" in x)
    assert line.endswith("| yes (quick sizes) |"), line
