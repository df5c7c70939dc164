"""The recordings folder removed mid-recording: an accurate error, nothing left running."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

import devduck_otel


@devduck_otel.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def _fds_under(folder: Path) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


def test_removed_folder_gives_an_accurate_error_and_leaks_nothing(recordings_dir: Path) -> None:
    """stop_recording says the journal is gone, and no flush thread or file handle stays."""
    threads_before = set(threading.enumerate())
    devduck_otel.start_recording(session_id="gone")
    for i in range(5):
        add(i, 1)
    shutil.rmtree(recordings_dir)
    with pytest.raises(OSError, match="could not write the session ZIP") as caught:
        devduck_otel.stop_recording()
    message = str(caught.value)
    assert "is gone too (its folder was removed)" in message
    assert "kept at" not in message
    assert [t for t in threading.enumerate() if t not in threads_before] == []
    assert _fds_under(recordings_dir) == []
    assert not devduck_otel.recording_status().get("recording")
