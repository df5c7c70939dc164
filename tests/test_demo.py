"""The demo (`make demo`) runs end to end and shows the summary and the restore."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo_prints_summary_and_restored_messages() -> None:
    """The demo records, exports, stops, loads, summarizes per layer and resumes snapshot 2."""
    out = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, check=True, timeout=120
    )
    text = out.stdout
    assert "exported without stopping: LoadedSession(events=" in text
    assert "stopped; session ZIP:" in text
    # Every path the demo prints is still there once it has exited.
    printed = re.findall(r"(/\S+\.zip)", text)
    assert printed and all(Path(p).is_file() for p in printed), printed
    for layer in ("sys", "tool", "agent"):
        assert f"  {layer}" in text
    assert "http.get x2" in text and "http.post x3" in text and "file.open x2" in text
    assert "failed tool: divide: ZeroDivisionError" in text
    assert "resumed a fresh agent from snapshot 2: 6 messages restored" in text
    assert "toolUse weather({'city': 'Lisbon'})" in text


def test_demo_ends_with_a_replay_and_a_fork() -> None:
    """The demo replays its session without divergence, then forks it at step 1."""
    out = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, check=True, timeout=120
    )
    text = out.stdout
    assert "the session has 5 steps" in text and "served step 5 divide" in text
    assert "replay diverged: False" in text
    assert "fork at step 1 (weather says stormy): 1 step served, 4 live" in text
