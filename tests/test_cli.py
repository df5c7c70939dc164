"""The devduck-otel command line, run in-process through ``main`` and as the real script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import devduck_otel
from devduck_otel.cli import main
from tests.support.cli_sessions import OtlpCollector, big_zip, conversation_zip, serve_collector
from tests.support.zipbuilder import build_legacy_zip

SCRIPT = Path(sys.executable).with_name("devduck-otel")
COMMANDS = ["list", "show", "snapshots", "snapshot", "view", "diff", "recover", "push"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``devduck-otel ARGS`` in-process; return exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture
def session_a(recordings_dir: Path) -> Path:
    """A run calling add(1, 2) then mul(2, 5)."""
    calls = [("add", {"a": 1, "b": 2}, 3), ("mul", {"a": 2, "b": 5}, 10)]
    return conversation_zip(recordings_dir / "a.zip", calls, session_id="run-a")


@pytest.fixture
def session_b(recordings_dir: Path) -> Path:
    """A run that diverges from session_a in the arguments of its first tool call."""
    calls = [("add", {"a": 1, "b": 3}, 4), ("mul", {"a": 2, "b": 5}, 10)]
    return conversation_zip(recordings_dir / "b.zip", calls, session_id="run-b")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """`devduck-otel COMMAND --help` prints the command's usage and exits 0."""
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Usage" in out and command in out


def test_no_arguments_prints_help_with_all_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """Running the bare command lists every command."""
    code, out, _ = run(capsys)
    assert code == 0
    for command in COMMANDS:
        assert command in out


def test_list_is_newest_first_and_reads_the_env_folder(
    capsys: pytest.CaptureFixture[str], session_a: Path, session_b: Path
) -> None:
    """`list` shows the ZIPs of DEVDUCK_RECORDINGS_DIR, newest first, as text and JSON."""
    os.utime(session_a, (2_000_000_000, 2_000_000_000))
    os.utime(session_b, (1_000_000_000, 1_000_000_000))
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert out.index("a.zip") < out.index("b.zip")
    code, out, _ = run(capsys, "list", "--json")
    assert [s["name"] for s in json.loads(out)] == ["a.zip", "b.zip"]


def test_show_is_plain_text_when_piped(capsys: pytest.CaptureFixture[str], session_a: Path) -> None:
    """Piped output has no colours or box drawing; snapshots are marked with ◆."""
    code, out, _ = run(capsys, "show", str(session_a))
    assert code == 0
    assert "\x1b[" not in out and "┃" not in out
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["#", "TIME", "OFFSET", "LAYER", "TYPE"]
    assert "add(a=1, b=2)" in out
    assert sum("◆ snapshot.created" in line for line in lines) == 2


def test_show_is_a_coloured_table_on_a_terminal(
    capsys: pytest.CaptureFixture[str], session_a: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal (FORCE_COLOR) `show` draws a rich table with colours."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    code, out, _ = run(capsys, "show", str(session_a))
    assert code == 0
    assert "\x1b[" in out and "┃" in out


def test_show_filters_by_layer_and_type(
    capsys: pytest.CaptureFixture[str], session_a: Path
) -> None:
    """--layer and --type keep only the matching events."""
    _, out, _ = run(capsys, "show", str(session_a), "--layer", "tool", "--json")
    rows = json.loads(out)
    assert {r["layer"] for r in rows} == {"tool"} and len(rows) == 4
    _, out, _ = run(capsys, "show", str(session_a), "--type", "tool.call", "--json")
    rows = json.loads(out)
    assert [r["data"]["name"] for r in rows] == ["add", "mul"]
    assert [r["index"] for r in rows] == [2, 5]


def test_snapshots_and_one_snapshot_in_full(
    capsys: pytest.CaptureFixture[str], session_a: Path
) -> None:
    """`snapshots` lists both; `snapshot 2` shows its resolved messages."""
    code, out, _ = run(capsys, "snapshots", str(session_a))
    assert code == 0 and "after question" in out and "after answer" in out
    _, out, _ = run(capsys, "snapshots", str(session_a), "--json")
    assert [s["snapshot_id"] for s in json.loads(out)] == [1, 2]
    code, out, _ = run(capsys, "snapshot", str(session_a), "2")
    assert code == 0
    assert "You are a careful calculator." in out and "It is 3." in out
    _, out, _ = run(capsys, "snapshot", str(session_a), "2", "--json")
    record = json.loads(out)
    assert record["agent_messages"][-1] == {"role": "assistant", "content": [{"text": "It is 3."}]}


def test_unknown_snapshot_is_one_error_line(
    capsys: pytest.CaptureFixture[str], session_a: Path
) -> None:
    """Asking for a snapshot that does not exist names the ones that do."""
    code, out, err = run(capsys, "snapshot", str(session_a), "9")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no snapshot 9" in err and "1, 2" in err


def test_diff_finds_the_first_differing_tool_argument(
    capsys: pytest.CaptureFixture[str], session_a: Path, session_b: Path
) -> None:
    """`diff` reports the first divergence (add's argument b) and a summary."""
    code, out, _ = run(capsys, "diff", str(session_a), str(session_b))
    assert code == 0
    assert "first differ at step 1" in out
    assert "argument b: 2 != 3" in out
    _, out, _ = run(capsys, "diff", str(session_a), str(session_b), "--json")
    result = json.loads(out)
    assert result["identical"] is False
    assert result["first_difference"]["args"] == {"b": [2, 3]}
    assert result["summary"]["final_messages_first_difference"] == 1


def test_diff_of_a_session_with_itself(capsys: pytest.CaptureFixture[str], session_a: Path) -> None:
    """A session does not differ from itself."""
    code, out, _ = run(capsys, "diff", str(session_a), str(session_a), "--json")
    assert code == 0 and json.loads(out)["identical"] is True


def test_diff_when_one_session_stops_early(
    capsys: pytest.CaptureFixture[str], session_a: Path, tmp_path: Path
) -> None:
    """A shorter run differs where it has no step left."""
    short = conversation_zip(
        tmp_path / "short.zip", [("add", {"a": 1, "b": 2}, 3)], answer="It is 3."
    )
    _, out, _ = run(capsys, "diff", str(session_a), str(short), "--json")
    first = json.loads(out)["first_difference"]
    assert first["step"] == 2
    assert first["a"]["summary"] == "mul(a=2, b=5)"
    assert first["b"]["summary"].startswith("assistant:")


def test_view_writes_the_page_next_to_the_zip_or_to_o(
    capsys: pytest.CaptureFixture[str], session_a: Path, tmp_path: Path
) -> None:
    """`view` writes SESSION.html by default, or the -o file, and prints its path."""
    code, out, _ = run(capsys, "view", str(session_a))
    assert code == 0 and out.strip() == str(session_a.with_suffix(".html"))
    assert "run-a" in session_a.with_suffix(".html").read_text(encoding="utf-8")
    target = tmp_path / "t.html"
    code, out, _ = run(capsys, "view", str(session_a), "-o", str(target))
    assert code == 0 and target.is_file() and out.strip() == str(target)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["show", "missing.zip"], "no such session file"),
        (["snapshots", "BROKEN"], "cannot read"),
        (["view", "BROKEN"], "cannot read"),
        (["diff", "BROKEN", "BROKEN"], "cannot read"),
        (["frobnicate"], "No such command"),
        (["show", "--colour"], "No such option"),
        (["show", "x.zip", "--layer", "kernel"], "--layer"),
        (["snapshot", "x.zip", "one"], "Invalid value for 'N'"),
        (["recover", "/no/such/folder"], "no such folder"),
        (["list", "--dir", "/no/such/folder"], "no such folder"),
        (["show", "x.zip", "--json", "true"], "unexpected extra argument"),
        (["push", "missing.zip"], "no such session file"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], needle: str
) -> None:
    """Bad input exits non-zero with exactly one line on stderr and no traceback."""
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    args = [str(broken) if a == "BROKEN" else a for a in args]
    code, out, err = run(capsys, *args)
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("devduck-otel: error:")
    assert needle in err
    assert "Traceback" not in err


def test_the_installed_script_reports_a_broken_zip_in_one_line(tmp_path: Path) -> None:
    """The console script itself: a broken ZIP gives one stderr line, exit 1, no traceback."""
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"\x00" * 64)
    proc = subprocess.run(
        [str(SCRIPT), "show", str(broken)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_the_installed_script_shows_a_session(session_a: Path) -> None:
    """The console script prints the timeline to a pipe."""
    proc = subprocess.run(
        [str(SCRIPT), "show", str(session_a)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mul(a=2, b=5)" in proc.stdout


CRASH = """
import os
import devduck_otel

class Agent:
    messages = [{"role": "user", "content": [{"text": "hello"}]}]

@devduck_otel.tool
def add(a: int, b: int) -> int:
    return a + b

devduck_otel.start_recording(session_id="crashed-run")
add(2, 3)
devduck_otel.snapshot(Agent(), "before the crash")
os._exit(9)
"""


def test_recover_turns_a_crashed_journal_into_a_zip(
    capsys: pytest.CaptureFixture[str], recordings_dir: Path
) -> None:
    """A process killed mid-recording leaves a journal; `recover` writes its ZIP and prints it."""
    proc = subprocess.run(
        [sys.executable, "-c", CRASH], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 9, proc.stderr
    assert list(recordings_dir.glob("*.zip")) == []
    code, out, _ = run(capsys, "recover", "--json")
    assert code == 0
    paths = [Path(p) for p in json.loads(out)]
    assert [p.name for p in paths] == ["crashed-run.zip"] and paths[0].is_file()
    code, out, _ = run(capsys, "show", str(paths[0]), "--type", "tool.call")
    assert code == 0 and "add(a=2, b=3)" in out
    code, out, err = run(capsys, "recover")
    assert code == 0 and out == ""
    assert err.strip() == f"Nothing to recover in {recordings_dir}"


def test_list_of_an_empty_folder_says_so(
    capsys: pytest.CaptureFixture[str], recordings_dir: Path
) -> None:
    """With no sessions, `list` prints nothing on stdout and names the folder on stderr."""
    code, out, err = run(capsys, "list")
    assert code == 0 and out == ""
    assert str(recordings_dir) in err
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_view_open_hands_the_page_to_the_web_browser(session_a: Path, tmp_path: Path) -> None:
    """`view --open` opens the written page (through $BROWSER, here a recording stub)."""
    opened = tmp_path / "opened.txt"
    stub = tmp_path / "browser.py"
    stub.write_text(
        f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\n", encoding="utf-8"
    )
    env = {**os.environ, "BROWSER": f"{sys.executable} {stub} %s"}
    out = tmp_path / "page.html"
    proc = subprocess.run(
        [str(SCRIPT), "view", str(session_a), "-o", str(out), "--open"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert opened.read_text(encoding="utf-8") == out.resolve().as_uri()


def test_big_work_shows_a_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building a 30,000-event timeline on a terminal draws a progress bar on stderr only."""
    big = big_zip(tmp_path / "big.zip", 30_000)
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, err = run(capsys, "view", str(big), "-o", str(tmp_path / "big.html"))
    assert code == 0 and out.strip() == str(tmp_path / "big.html")
    assert "Building the timeline" in err and "30000" in err
    monkeypatch.delenv("FORCE_COLOR")
    code, _, err = run(capsys, "view", str(big), "-o", str(tmp_path / "big.html"))
    assert code == 0 and err == ""


def test_huge_tables_stay_coloured_and_aligned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of rows on a terminal print as coloured aligned lines, one per event."""
    big = big_zip(tmp_path / "big.zip", 3_000)
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, _ = run(capsys, "show", str(big))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 + 3_000 + 1  # header, events, one snapshot row
    assert "\x1b[" in lines[1] and "┃" not in out
    assert lines[-1].endswith("assistant: message 2999\x1b[0m")


def test_commands_read_zips_of_the_original_devduck(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`show`, `snapshots` and `snapshot` work on a devduck 1.15 ZIP (NaN, no span ids)."""
    legacy = build_legacy_zip(tmp_path / "session-20251124-160000.zip")
    code, out, err = run(capsys, "show", str(legacy))
    assert code == 0, err
    assert "add(a=1, b=NaN)" in out and out.count("◆ snapshot.created") == 2
    code, out, _ = run(capsys, "snapshots", str(legacy))
    assert code == 0 and "mid-turn" in out
    code, out, _ = run(capsys, "snapshot", str(legacy), "1", "--json")
    assert code == 0 and json.loads(out)["agent_messages"][1] == {
        "role": "assistant",
        "content": [{"text": "Sure."}],
    }


@pytest.fixture
def collector() -> Iterator[tuple[str, type[OtlpCollector]]]:
    """A fresh OTLP/HTTP collector on loopback; yields its base URL and handler class."""
    with serve_collector() as served:
        yield served


def test_push_sends_the_recorded_spans(
    capsys: pytest.CaptureFixture[str], session_a: Path, collector: tuple[str, type[OtlpCollector]]
) -> None:
    """`push --endpoint URL` replays the session's spans, ids kept, and says how many."""
    url, handler = collector
    code, out, err = run(
        capsys, "push", str(session_a), "--endpoint", url, "--protocol", "http/protobuf"
    )
    assert code == 0, err
    assert out.strip() == f"sent 3 spans to {url}/v1/traces over OTLP/HTTP"
    spans = [
        s
        for r in handler.received
        for rs in r.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    assert sorted(s.name for s in spans) == [
        "execute_tool add",
        "execute_tool mul",
        "invoke_agent demo",
    ]


def test_push_refused_is_one_error_line(
    capsys: pytest.CaptureFixture[str], session_a: Path, collector: tuple[str, type[OtlpCollector]]
) -> None:
    """A collector that refuses the spans gives one stderr line and exit 1."""
    url, handler = collector
    handler.status = 400
    code, out, err = run(
        capsys, "push", str(session_a), "--endpoint", url, "--protocol", "http/protobuf"
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "HTTP 400" in err


def test_diff_is_coloured_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    session_a: Path,
    session_b: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal the two diverging steps are coloured red (A) and green (B)."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    _, out, _ = run(capsys, "diff", str(session_a), str(session_b))
    assert "\x1b[31m  A: event #2 tool.call: add(a=1, b=2)" in out
    assert "\x1b[32m  B: event #2 tool.call: add(a=1, b=3)" in out


def test_json_is_a_flag_in_help_and_errors_name_the_path_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`--json` shows as a flag (no `<bool>`); a broken ZIP's error names its path once."""
    code, out, _ = run(capsys, "show", "--help")
    json_lines = [line for line in out.splitlines() if "--json" in line]
    assert code == 0 and json_lines and not [line for line in json_lines if "<bool>" in line]
    broken = tmp_path / "notzip.zip"
    broken.write_text("hi")
    code, _, err = run(capsys, "show", str(broken))
    assert code == 1 and err.count(str(broken)) == 1, err


def test_view_does_not_create_missing_folders(
    capsys: pytest.CaptureFixture[str], session_a: Path, tmp_path: Path
) -> None:
    """`view -o` into a folder that does not exist fails and leaves no folder behind."""
    target = tmp_path / "absent" / "x.html"
    code, out, err = run(capsys, "view", str(session_a), "-o", str(target))
    assert code == 1 and out == "" and "no such folder" in err
    assert not target.parent.exists()


def test_snapshot_shows_messages_before_a_folded_environment(
    capsys: pytest.CaptureFixture[str], recordings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`snapshot N` prints the messages first and the environment last, folded unless --env."""
    monkeypatch.setenv("DEVDUCK_TEST_MARKER", "visible-value")

    class Agent:
        def __init__(self) -> None:
            self.messages = [{"role": "user", "content": "hello there"}]

    devduck_otel.start_recording(sys_layer=False)
    devduck_otel.snapshot(Agent(), "one")
    path = devduck_otel.stop_recording()
    assert path is not None
    code, out, _ = run(capsys, "snapshot", path, "1")
    assert code == 0 and "hello there" in out
    assert "DEVDUCK_TEST_MARKER" not in out
    folded = out.strip().splitlines()[-1]
    assert re.fullmatch(r"environment: \d+ variables \(--env shows them\)", folded), folded
    code, out, _ = run(capsys, "snapshot", path, "1", "--env")
    assert code == 0 and "DEVDUCK_TEST_MARKER=visible-value" in out
    assert out.index("hello there") < out.index("DEVDUCK_TEST_MARKER")
