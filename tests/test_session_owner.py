"""One session id, one owner: a second process is refused, a finished ZIP never replaced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HOLDER = r"""
import sys
import devduck_otel
devduck_otel.start_recording(session_id="same")
print("started", flush=True)
sys.stdin.readline()
print(devduck_otel.stop_recording(), flush=True)
"""

SECOND = r"""
import devduck_otel
from devduck_otel.exceptions import RecordingStateError
try:
    devduck_otel.start_recording(session_id="same")
except RecordingStateError as exc:
    print("refused:", exc)
else:
    print("started")
"""


def _second() -> str:
    done = subprocess.run(
        [sys.executable, "-c", SECOND], capture_output=True, text=True, timeout=120
    )
    assert done.stderr == "", done.stderr
    return done.stdout.strip()


def test_second_process_with_the_same_id_is_refused(recordings_dir: Path) -> None:
    """While one process records a session id, another gets RecordingStateError."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "started"
        out = _second()
        assert out.startswith("refused: session 'same' is already being recorded")
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == str(recordings_dir / "same.zip")
    finally:
        holder.communicate(timeout=120)
    assert holder.returncode == 0


def test_finished_zip_is_never_replaced(recordings_dir: Path) -> None:
    """A later session with the id of a finished one is refused; the ZIP keeps its bytes."""
    done = subprocess.run(
        [sys.executable, "-c", HOLDER], input="\n", capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before = (recordings_dir / "same.zip").read_bytes()
    assert _second().startswith("refused: session 'same' already has a ZIP")
    assert (recordings_dir / "same.zip").read_bytes() == before
    assert sorted(p.name for p in recordings_dir.iterdir()) == ["same.zip"]


def test_zip_placed_after_the_start_check_is_not_replaced(recordings_dir: Path) -> None:
    """A ZIP of the same id that appears while recording survives stop; the journal is kept."""
    import pytest

    import devduck_otel

    devduck_otel.start_recording(session_id="raced")
    first = recordings_dir / "raced.zip"
    first.write_bytes(b"the first session's ZIP")  # it finished after our start's check
    with pytest.raises(OSError, match=r"already exists .* never replaced") as caught:
        devduck_otel.stop_recording()
    assert first.read_bytes() == b"the first session's ZIP"
    assert "the journal is kept at" in str(caught.value)
    assert (recordings_dir / "raced.journal").is_dir()
    assert not list(recordings_dir.glob(".*.tmp"))
