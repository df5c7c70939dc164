"""Faults stay outside the agent: a down collector, a full disk, a raising exporter, bad reprs."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

import devduck_otel

TOOL_CALLS = 60
EXPORT_TIMEOUT_S = 1.0


class ReprError(Exception):
    """An exception whose str() and repr() both raise."""

    def __str__(self) -> str:
        """Refuse to be shown."""
        raise RuntimeError("str refused")

    def __repr__(self) -> str:
        """Refuse to be shown."""
        raise RuntimeError("repr refused")


class Unprintable:
    """An object whose repr() and str() raise."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __repr__(self) -> str:
        """Refuse to be shown."""
        raise RuntimeError("repr refused")

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unprintable) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


@devduck_otel.tool
def double(x: int) -> int:
    """A plain tool."""
    return 2 * x


@devduck_otel.tool
def echo(value: Any) -> Any:
    """A tool that returns its argument."""
    return value


@devduck_otel.tool
def refuse() -> None:
    """A tool that raises an exception that cannot be shown."""
    raise ReprError


@devduck_otel.agent
def worker(query: str, n: int) -> int:
    """An agent calling ``double`` n times and timing each call."""
    return sum(double(i) for i in range(n))


def _production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVDUCK_RAISE_INTERNAL_ERRORS", "false")


def _own_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at WARNING or above from devduck-otel's own loggers."""
    return [
        r
        for r in caplog.records
        if r.name.startswith("devduck_otel") and r.levelno >= logging.WARNING
    ]


def _timed_calls(n: int) -> tuple[int, float]:
    """Call ``double`` n times (pausing so that batches export meanwhile); return sum and max."""
    total, slowest = 0, 0.0
    for i in range(n):
        start = time.perf_counter()
        total += double(i)
        slowest = max(slowest, time.perf_counter() - start)
        if i % 10 == 9:
            time.sleep(0.05)
    return total, slowest


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Collector(BaseHTTPRequestHandler):
    """A broken OTLP/HTTP collector: answers 500, or sleeps past the client's timeout."""

    def do_POST(self) -> None:
        """Count the request, then fail it the way the server is told to."""
        server: _Server = self.server  # type: ignore[assignment]
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server.requests += 1
        if server.mode == "slow":
            server.release.wait(10)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode = "500"
    requests = 0
    release = threading.Event()


@contextmanager
def _collector(mode: str) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Collector)
    server.mode = mode
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _otlp_env(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", str(EXPORT_TIMEOUT_S))
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8")


def _run_against_broken_collector(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, endpoint: str
) -> devduck_otel.LoadedSession:
    """Record TOOL_CALLS tool calls while spans go to ``endpoint``; check the agent's view."""
    _production(monkeypatch)
    _otlp_env(monkeypatch, endpoint)
    caplog.set_level(logging.WARNING)
    devduck_otel.start_recording()

    @devduck_otel.agent
    def timed(query: str) -> tuple[int, float]:
        return _timed_calls(TOOL_CALLS)

    total, slowest = timed("go")
    assert total == 2 * sum(range(TOOL_CALLS))
    assert slowest < EXPORT_TIMEOUT_S / 2, "a tool call waited for the collector"
    started = time.monotonic()
    path = devduck_otel.stop_recording()
    assert time.monotonic() - started < EXPORT_TIMEOUT_S + 3
    assert path is not None
    session = devduck_otel.load_session(path)
    assert len(session.get_events_by_type("tool.call")) == TOOL_CALLS
    assert len(session.get_events_by_type("tool.result")) == TOOL_CALLS
    assert session.metadata["total_events"] == len(session.events)
    own = _own_records(caplog)
    assert len(own) == 1, [r.getMessage() for r in own]
    assert "collector exporter" in own[0].getMessage()
    # The OTLP exporter logs its own failure too, but only for the first batch: later
    # batches are dropped while the collector fails, so nothing is logged per batch.
    otlp = [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
    assert len(otlp) <= 2, [r.getMessage() for r in otlp]
    return session


def test_collector_down_changes_nothing_for_the_agent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A closed collector port: same results, fast tools, one log line, a complete ZIP."""
    _run_against_broken_collector(
        monkeypatch, caplog, f"http://127.0.0.1:{_closed_port()}/v1/traces"
    )


def test_collector_answering_500_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A collector that answers 500 to every batch is logged once, not per batch."""
    with _collector("500") as endpoint:
        _run_against_broken_collector(monkeypatch, caplog, endpoint)


def test_collector_slower_than_the_timeout_does_not_slow_tools(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A collector that hangs past OTEL_EXPORTER_OTLP_TRACES_TIMEOUT never delays a tool call."""
    with _collector("slow") as endpoint:
        _run_against_broken_collector(monkeypatch, caplog, endpoint)


class RaisingExporter(SpanExporter):
    """An application exporter whose export always raises."""

    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Fail loudly."""
        self.calls += 1
        raise RuntimeError("exporter exploded")


@pytest.mark.parametrize("processor", ["simple", "batch"])
def test_raising_application_exporter_leaves_recording_complete(
    processor: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exporter that raises on the joined application provider breaks neither agent nor ZIP."""
    _production(monkeypatch)
    caplog.set_level(logging.WARNING)
    exporter = RaisingExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        SimpleSpanProcessor(exporter) if processor == "simple" else BatchSpanProcessor(exporter)
    )
    devduck_otel.start_recording(tracer_provider=provider)
    assert worker("work", TOOL_CALLS) == 2 * sum(range(TOOL_CALLS))
    path = devduck_otel.stop_recording()
    provider.force_flush()
    provider.shutdown()
    assert exporter.calls > 0 and path is not None
    session = devduck_otel.load_session(path)
    assert len(session.get_events_by_type("tool.result")) == TOOL_CALLS
    assert session.metadata["total_events"] == len(session.events)
    with zipfile.ZipFile(path) as zf:
        names = [
            s["name"]
            for line in zf.read("spans.otlp.jsonl").splitlines()
            for rs in json.loads(line)["resourceSpans"]
            for ss in rs["scopeSpans"]
            for s in ss["spans"]
        ]
    assert names.count("execute_tool double") == TOOL_CALLS
    assert names.count("invoke_agent worker") == 1
    assert _own_records(caplog) == []


class RaisingProcessor(SpanProcessor):
    """An application span processor whose on_end raises."""

    def on_end(self, span: ReadableSpan) -> None:
        """Fail loudly."""
        raise RuntimeError("processor exploded")


def _with_raising_processor(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    provider = TracerProvider()
    provider.add_span_processor(RaisingProcessor())
    devduck_otel.start_recording(tracer_provider=provider)


def test_raising_application_processor_does_not_reach_a_tool_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A span processor that raises on the joined provider never reaches the tool's caller."""
    _with_raising_processor(monkeypatch)
    assert [double(i) for i in range(TOOL_CALLS)] == [2 * i for i in range(TOOL_CALLS)]
    session = _stop_and_load()
    assert len(session.get_events_by_type("tool.result")) == TOOL_CALLS


def test_raising_application_processor_does_not_reach_an_agent_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A span processor that raises on the joined provider never reaches the agent's caller."""
    _with_raising_processor(monkeypatch)
    assert worker("work", 3) == 6
    session = _stop_and_load()
    assert [m["data"]["role"] for m in session.get_events_by_type("message")] == [
        "user",
        "assistant",
    ]


def test_unprintable_objects_everywhere_are_recorded() -> None:
    """Objects whose repr raises, as tool args, results, messages and state, are recorded."""
    devduck_otel.start_recording(capture_content=True)

    @devduck_otel.agent
    def talker(query: Any) -> Any:
        return echo(Unprintable(7))

    class Agent:
        messages: list[Any] = [{"role": "user", "content": Unprintable(1)}]
        state = Unprintable(2)

    assert talker(Unprintable(3)) == Unprintable(7)
    assert devduck_otel.snapshot(Agent(), "bad", last_query=Unprintable(4)) == 1
    path = devduck_otel.stop_recording()
    assert path is not None
    session = devduck_otel.load_session(path, allow_pickle=True)
    call = session.get_events_by_type("tool.call")[0]["data"]
    assert call["args"]["value"]["__devduck__"] == "pickle"
    assert "unrepresentable Unprintable" in call["args"]["value"]["repr"]
    result = session.get_events_by_type("tool.result")[0]["data"]
    assert "unrepresentable" in result["result"]["repr"]
    roles = [e["data"]["role"] for e in session.get_events_by_type("message")]
    assert roles == ["assistant"]
    snap = session.get_snapshot(1)
    assert snap.agent_messages_count == 1
    assert "unrepresentable" in snap.last_query
    assert session.blobs[snap["state_blob"]] == Unprintable(2)


def test_unprintable_user_query_is_recorded_as_message() -> None:
    """A str subclass whose repr raises is still recorded as the user's message."""

    class OddText(str):
        def __repr__(self) -> str:
            raise RuntimeError("repr refused")

    devduck_otel.start_recording()

    @devduck_otel.agent
    def reader(query: str) -> str:
        return query.upper()

    assert reader(OddText("hi")) == "HI"
    session = _stop_and_load()
    assert [e["data"]["content_preview"] for e in session.get_events_by_type("message")] == [
        "hi",
        "HI",
    ]


def _stop_and_load() -> devduck_otel.LoadedSession:
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def test_tool_exception_that_cannot_be_shown_reaches_the_caller_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tool's exception whose str() raises reaches the caller as itself, and is recorded."""
    _production(monkeypatch)
    devduck_otel.start_recording()
    with pytest.raises(ReprError):
        refuse()
    result = _stop_and_load().get_events_by_type("tool.result")[0]["data"]
    assert result["error"].startswith("ReprError")


def test_agent_exception_that_cannot_be_shown_reaches_the_caller_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An agent's exception whose str() raises reaches the caller as itself."""
    _production(monkeypatch)
    devduck_otel.start_recording()

    @devduck_otel.agent
    def failing(query: str) -> None:
        raise ReprError

    with pytest.raises(ReprError):
        failing("go")
    messages = _stop_and_load().get_events_by_type("message")
    assert [m["data"]["role"] for m in messages] == ["user", "error"]


_FULL_DISK_SCRIPT = """
import json, logging, os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
import devduck_otel

records = []
class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING and record.name.startswith("devduck_otel"):
            records.append(record.getMessage())
logging.getLogger().addHandler(Keep())

@devduck_otel.tool
def double(x):
    return 2 * x

out = {}
devduck_otel.start_recording()

"""

_EXPORT_FULL = """
class Agent:
    messages = [{"role": "user", "content": "hi"}]
    state = os.urandom(300_000)  # a blob bigger than every journal file, smaller than the ZIP

devduck_otel.snapshot(Agent(), "big state")
previous = devduck_otel.export_recording(sys.argv[1])
out["previous"] = open(previous, "rb").read().hex()
out["sum"] = sum(double(i) for i in range(200))
resource.setrlimit(resource.RLIMIT_FSIZE, (len(Agent.state) + 1024, resource.RLIM_INFINITY))
try:
    devduck_otel.export_recording(sys.argv[1])
except OSError as exc:
    out["error"] = str(exc)
out["after"] = sum(double(i) for i in range(200))
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
out["final"] = devduck_otel.stop_recording()
out["records"] = records
print(json.dumps(out))
"""

_JOURNAL_FULL = """
class Echo:
    def __init__(self):
        self.messages = []

    def __call__(self, query):
        self.messages.append({"role": "user", "content": query})
        return query.upper()

echo = Echo()
devduck_otel.instrument(echo)  # snapshots before and after every call
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
import time
total = 0
for i in range(3000):
    total += double(i)
    if i % 300 == 0:
        time.sleep(0.25)  # let the journal's flush thread fail a few times
out["sum"] = total
out["answers"] = [echo("q" * 200) for _ in range(5)]
out["snapshot"] = devduck_otel.snapshot(echo, "explicit")
try:
    devduck_otel.stop_recording()
except OSError as exc:
    out["error"] = str(exc)
out["records"] = records
print(json.dumps(out))
"""


def _run_script(body: str, *args: str, recordings: Path) -> dict[str, Any]:
    env = dict(os.environ, DEVDUCK_RAISE_INTERNAL_ERRORS="false")
    env["DEVDUCK_RECORDINGS_DIR"] = str(recordings)
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT + body, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_export_on_a_full_disk_keeps_the_previous_zip_and_says_why(
    recordings_dir: Path, tmp_path: Path
) -> None:
    """A ZIP too big for the disk: the error names path and cause, the old ZIP survives."""
    target = tmp_path / "out" / "session.zip"
    out = _run_script(_EXPORT_FULL, str(target), recordings=recordings_dir)
    assert out["sum"] == out["after"] == 2 * sum(range(200))
    error = out["error"]
    assert "File too large" in error and str(target) in error
    assert "could not write the session ZIP" in error
    assert target.read_bytes().hex() == out["previous"]
    assert list(target.parent.iterdir()) == [target]
    previous = devduck_otel.load_session(target)
    assert len(previous.get_events_by_type("tool.call")) == 0
    final = devduck_otel.load_session(out["final"])
    assert len(final.get_events_by_type("tool.call")) == 400
    assert final.metadata["total_events"] == len(final.events)
    assert out["records"] == []


def test_journal_on_a_full_disk_lets_the_agent_go_on_and_says_why(recordings_dir: Path) -> None:
    """The journal cannot grow: tools go on, the failure is logged once, stop says why."""
    out = _run_script(_JOURNAL_FULL, recordings=recordings_dir)
    assert out["sum"] == 2 * sum(range(3000))
    assert out["answers"] == ["Q" * 200] * 5
    assert out["snapshot"] == 11
    assert len(out["records"]) == 1, out["records"]
    assert "File too large" in out["records"][0]
    error = out["error"]
    assert "File too large" in error and "journal" in error
    assert "could not write the session ZIP" in error
    journals = list(recordings_dir.glob("*.journal"))
    assert len(journals) == 1 and str(journals[0]) in error


def test_collector_down_is_one_line_on_stderr(tmp_path: Path) -> None:
    """A closed OTLP/gRPC port: one line on stderr (the README's promise), naming the cause."""
    script = (
        "import devduck_otel\n"
        "@devduck_otel.tool\n"
        "def add(a: int, b: int) -> int:\n"
        "    return a + b\n"
        "devduck_otel.start_recording()\n"
        "add(1, 2)\n"
        "print(devduck_otel.stop_recording())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{_closed_port()}",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
        DEVDUCK_RECORDINGS_DIR=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_file()
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "collector exporter 'otlp_proto_grpc' failed" in lines[0] and "UNAVAILABLE" in lines[0]


_DISK_FILLS_AND_FREES = """
import time
class Agent:
    def __init__(self):
        self.messages = [{"role": "user", "content": "hi"}]
        self.state = os.urandom(30_000)  # a blob: larger than the full disk lets a file be

agent = Agent()
limit = resource.RLIM_INFINITY
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, limit))
for i in range(200):
    double(i)
    if i % 50 == 0:
        devduck_otel.snapshot(agent, f"full {i}")
        time.sleep(0.3)  # the flush thread fails, again and again
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
time.sleep(0.5)  # the disk frees: the next flushes write what waited
for i in range(200, 400):
    double(i)
    if i % 50 == 0:
        devduck_otel.snapshot(agent, f"free {i}")
out["final"] = devduck_otel.stop_recording()
out["records"] = records
print(json.dumps(out))
"""


def test_disk_that_fills_and_frees_loses_no_call(recordings_dir: Path) -> None:
    """Every call and snapshot made while the disk was full, and after, is in the ZIP."""
    out = _run_script(_DISK_FILLS_AND_FREES, recordings=recordings_dir)
    session = devduck_otel.load_session(out["final"], allow_pickle=True)
    calls = [e["data"]["args"] for e in session.get_events_by_type("tool.call")]
    assert len(calls) == 400, len(calls)
    results = session.get_events_by_type("tool.result")
    assert sorted(e["data"]["result"] for e in results) == [2 * i for i in range(400)]
    descriptions = [s.description for s in session.snapshots]
    assert descriptions == [f"full {i}" for i in range(0, 200, 50)] + [
        f"free {i}" for i in range(200, 400, 50)
    ]
    assert all(s.state_blob in session.blobs for s in session.snapshots)
    assert not list(recordings_dir.rglob("*.tmp"))
    assert len(out["records"]) == 1, out["records"]
