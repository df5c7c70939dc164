"""Processes however they start: subprocess, os.system, posix_spawn, pty.spawn, fork + exec.

A program run by a forked child (``pty.fork`` then ``os.execv``, as devduck's own shell
tool does) is recorded in the parent's session, filed under the span current at the
fork; its command line is redacted like any other value.
"""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import devduck_otel
from tests.support.recording import record

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def _spawns(session: devduck_otel.LoadedSession) -> list[dict[str, Any]]:
    return [e["data"] for e in session.get_events_by_type("process.spawn")]


def _drain(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            return out
        if not chunk:
            return out
        out += chunk


@devduck_otel.tool
def shell_in_pty(word: str) -> str:
    """Run echo in a pseudo-terminal, as a shell tool does (fork + exec in the child)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes echo
        os.execv("/bin/echo", ["echo", word, f"GITHUB_TOKEN={TOKEN}"])  # noqa: S606
    output = _drain(fd)
    os.close(fd)
    os.waitpid(pid, 0)
    return output.decode().strip()


def test_pty_fork_and_exec_is_recorded_under_the_tool() -> None:
    """The program a pty child execs is in the parent's session, redacted, under the tool."""
    session = record(lambda: shell_in_pty("hello"))
    (spawn,) = [s for s in _spawns(session) if s["api"] == "os.exec"]
    assert spawn["executable"] == "/bin/echo" and spawn["args"][:2] == ["echo", "hello"]
    assert TOKEN not in repr(spawn)
    (event,) = session.get_events_by_type("process.spawn")
    (call,) = session.get_events_by_type("tool.call")
    assert event["span_id"] == call["span_id"]


def test_plain_fork_and_exec_is_recorded() -> None:
    """os.fork + os.execv (what os.spawnv does on POSIX) is recorded once."""

    def run() -> None:
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/true", ["true", "--from-fork"])  # noqa: S606
        os.waitpid(pid, 0)

    session = record(run)
    assert [s["args"] for s in _spawns(session)] == [["true", "--from-fork"]]


def test_bytes_command_lines_are_text_and_redacted() -> None:
    """os.system and subprocess with bytes: stored as text, secrets redacted."""

    def run() -> None:
        os.system(f"export GITHUB_TOKEN={TOKEN}; true".encode())  # noqa: S605
        subprocess.run([b"/bin/true", b"--token=" + TOKEN.encode()], check=True)

    spawns = _spawns(record(run))
    system = next(s for s in spawns if s["api"] == "os.system")
    popen = next(s for s in spawns if s["api"] == "subprocess.Popen")
    assert isinstance(system["command"], str) and "export GITHUB_TOKEN=" in system["command"]
    assert popen["args"][0] == "/bin/true"
    assert TOKEN not in repr(spawns)


def test_posix_spawn_and_pty_spawn_are_recorded() -> None:
    """os.posix_spawn and pty.spawn each give one process.spawn with their argv."""

    def run() -> None:
        pid = os.posix_spawn("/bin/true", ["true", "posix"], dict(os.environ))
        os.waitpid(pid, 0)
        read, write = os.pipe()
        os.close(write)  # pty.spawn copies stdin: give it one that is already at its end
        saved = os.dup(0)
        os.dup2(read, 0)
        try:
            pty.spawn(["/bin/echo", "from-pty"])
        finally:
            os.dup2(saved, 0)
            os.close(saved)
            os.close(read)

    spawns = _spawns(record(run))
    assert {"api": "os.posix_spawn", "executable": "/bin/true", "args": ["true", "posix"]} in spawns
    ptys = [s for s in spawns if s["args"] == ["/bin/echo", "from-pty"]]
    assert [s["api"] for s in ptys] == ["pty.spawn"]  # its child's exec is not counted twice


def test_a_child_that_only_forks_records_nothing(tmp_path: Path) -> None:
    """A forked child that does not exec writes nothing into the parent's session."""
    mine, childs = tmp_path / "parent.txt", tmp_path / "child.txt"

    def run() -> None:
        pid = os.fork()
        if pid == 0:
            childs.write_text("child")
            os._exit(0)
        os.waitpid(pid, 0)
        mine.write_text("parent")

    session = record(run)
    assert session.get_events_by_type("process.spawn") == []
    opened = [e["data"]["path"] for e in session.get_events_by_type("file.open")]
    assert str(mine) in opened and str(childs) not in opened
