"""The CLI never shows a traceback: deep JSON, lone surrogates and huge numbers get one line."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.cli_sessions import T0, conversation_zip

CLI = Path(sys.executable).with_name("devduck-otel")
DEEP = b"[" * 1000 + b"]" * 1000
CASES = {
    "deep": (b'"PAYLOAD"', DEEP),
    "surrogate": (b'"PAYLOAD"', b'"name-\\ud800.txt"'),
    "huge-time": (f'"startTimeUnixNano": "{T0}"'.encode(), b'"startTimeUnixNano": 1e400'),
}


def _hostile_zip(tmp_path: Path, case: str) -> Path:
    """A valid session whose tool arguments (or span times) carry the hostile value."""
    clean = conversation_zip(tmp_path / "clean.zip", [("add", {"x": "PAYLOAD"}, "PAYLOAD")])
    old, new = CASES[case]
    path = tmp_path / f"{case}.zip"
    with zipfile.ZipFile(clean) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info).replace(old, new))
    return path


def _commands(path: Path, other: Path, tmp_path: Path) -> dict[str, list[str]]:
    return {
        "show": ["show", str(path)],
        "view": ["view", str(path), "-o", str(tmp_path / "v.html")],
        "snapshot": ["snapshot", str(path), "2"],
        "diff": ["diff", str(path), str(other)],
    }


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["show", "view", "snapshot", "diff"])
def test_hostile_values_give_one_line_and_no_traceback(
    tmp_path: Path, case: str, command: str
) -> None:
    """Each command either succeeds or fails with one stderr line, never a traceback."""
    path = _hostile_zip(tmp_path, case)
    other = conversation_zip(tmp_path / "other.zip", [("add", {"x": 1}, 2)])
    args = _commands(path, other, tmp_path)[command]
    done = subprocess.run([str(CLI), *args], capture_output=True, timeout=120)
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-2000:]
    if done.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("devduck-otel: error:"), stderr[-2000:]
