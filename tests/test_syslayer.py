"""The sys layer: file opens, processes, HTTP (requests and httpx) on real loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

import devduck_otel
from tests.support.http_server import serve
from tests.support.recording import record


@pytest.fixture
def base_url() -> Iterator[str]:
    """A real HTTP server on loopback."""
    with serve() as url:
        yield url


def test_file_open_recorded_with_path_and_mode(tmp_path: Path) -> None:
    """Opening a file for writing and reading gives two file.open events."""
    target = tmp_path / "notes.txt"

    def work() -> None:
        target.write_text("hello")
        target.read_text()

    session = record(work)
    opens = [
        e["data"]
        for e in session.get_events_by_type("file.open")
        if e["data"]["path"] == str(target)
    ]
    assert [o["mode"] for o in opens] == ["w", "r"]
    assert all(e["layer"] == "sys" for e in session.get_events_by_type("file.open"))


def test_noise_and_own_writes_are_filtered(tmp_path: Path, recordings_dir: Path) -> None:
    """Bytecode, /proc, /dev, site-packages and the recordings folder never show up."""

    def work() -> None:
        Path("/proc/self/status").read_text()
        with open("/dev/null", "w") as handle:
            handle.write("x")
        devduck_otel.snapshot()
        devduck_otel.export_recording(str(tmp_path / "mid.zip"))

    session = record(work)
    paths = [e["data"]["path"] for e in session.get_events_by_type("file.open")]
    assert not [p for p in paths if p.startswith(("/proc", "/dev")) or p.endswith(".pyc")]
    assert not [p for p in paths if p.startswith(str(recordings_dir)) or "site-packages" in p]
    assert str(tmp_path / "mid.zip") not in paths


def test_open_errors_reach_the_user_unchanged(tmp_path: Path) -> None:
    """A failing open() raises the user's own error, with recording running."""
    devduck_otel.start_recording()
    with pytest.raises(FileNotFoundError):
        open(tmp_path / "missing" / "file.txt")  # noqa: SIM115 - the error is the point


def test_nothing_captured_outside_a_recording(tmp_path: Path, base_url: str) -> None:
    """File opens and HTTP calls made after stop do not appear anywhere."""
    devduck_otel.start_recording()
    path = devduck_otel.stop_recording()
    (tmp_path / "after.txt").write_text("x")
    requests.get(base_url + "/after", timeout=5)
    devduck_otel.start_recording()
    second = devduck_otel.stop_recording()
    assert path is not None and second is not None
    for zip_path in (path, second):
        events = devduck_otel.load_session(zip_path).events
        assert not [e for e in events if "after" in json.dumps(e["data"])]


def test_process_spawn_recorded() -> None:
    """subprocess.run is recorded as process.spawn with its arguments."""
    session = record(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    spawns = session.get_events_by_type("process.spawn")
    assert any(e["data"]["args"] == [sys.executable, "-c", "pass"] for e in spawns)


def test_requests_get_and_post(base_url: str) -> None:
    """Requests GET and POST become http.get / http.post events with url and status."""

    def work() -> None:
        requests.get(base_url + "/items?page=2", timeout=5)
        requests.post(base_url + "/items", json={"a": 1}, timeout=5)

    session = record(work)
    gets = session.get_events_by_type("http.get")
    posts = session.get_events_by_type("http.post")
    assert (
        gets[0]["data"]["url"] == base_url + "/items?page=2"
        and gets[0]["data"]["status_code"] == 200
    )
    assert posts[0]["data"]["status_code"] == 201 and gets[0]["layer"] == "sys"


def test_httpx_sync_and_async(base_url: str) -> None:
    """Httpx sync and async clients are captured, GET and POST."""

    async def call_async() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(base_url + "/async-get")
            await client.post(base_url + "/async-post", json={"b": 2})

    def work() -> None:
        with httpx.Client() as client:
            client.get(base_url + "/sync-get")
            client.post(base_url + "/sync-post", content=b"x")
        asyncio.run(call_async())

    session = record(work)
    urls = {
        e["data"]["url"]
        for e in session.get_events_by_layer("sys")
        if e["event_type"].startswith("http.")
    }
    for suffix in ("/sync-get", "/sync-post", "/async-get", "/async-post"):
        assert base_url + suffix in urls


def test_http_failure_status_is_recorded(base_url: str) -> None:
    """A 500 answer is recorded with its status code."""
    session = record(lambda: requests.get(base_url + "/fail", timeout=5))
    assert session.get_events_by_type("http.get")[0]["data"]["status_code"] == 500


def test_import_order_does_not_matter(base_url: str, tmp_path: Path) -> None:
    """Requests and httpx imported before devduck_otel are still captured."""
    script = textwrap.dedent(
        f"""
        import requests, httpx
        import devduck_otel
        devduck_otel.start_recording()
        requests.get("{base_url}/early-requests", timeout=5)
        httpx.get("{base_url}/early-httpx")
        print(devduck_otel.stop_recording())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    session = devduck_otel.load_session(out.stdout.strip().splitlines()[-1])
    urls = {e["data"]["url"] for e in session.events if e["event_type"] == "http.get"}
    assert {base_url + "/early-requests", base_url + "/early-httpx"} <= urls


def test_start_imports_no_http_client_and_instruments_it_when_imported(base_url: str) -> None:
    """An HTTP client is instrumented when the agent imports it, not by start_recording.

    Importing httpx (and click with it) took about 0.15 s between ``session.start`` and
    the first snapshot of every first recording in a process.
    """
    script = textwrap.dedent(
        f"""
        import json, sys
        import devduck_otel
        devduck_otel.start_recording()
        imported_by_start = "httpx" in sys.modules
        import httpx
        httpx.get("{base_url}/late-httpx")
        path = devduck_otel.stop_recording()
        print(json.dumps({{"imported": imported_by_start, "path": path}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["imported"] is False
    session = devduck_otel.load_session(result["path"])
    urls = [e["data"]["url"] for e in session.events if e["event_type"] == "http.get"]
    assert urls == [base_url + "/late-httpx"]


def test_an_ended_recording_instruments_nothing_imported_later() -> None:
    """An httpx imported after stop_recording stays uninstrumented."""
    script = textwrap.dedent(
        """
        import devduck_otel
        devduck_otel.start_recording()
        devduck_otel.stop_recording()
        import httpx
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        print(HTTPXClientInstrumentor().is_instrumented_by_opentelemetry)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_stop_removes_http_instrumentation() -> None:
    """After stop, requests and httpx are no longer instrumented."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    devduck_otel.start_recording()
    assert RequestsInstrumentor().is_instrumented_by_opentelemetry
    devduck_otel.stop_recording()
    assert not RequestsInstrumentor().is_instrumented_by_opentelemetry
    assert not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry


def test_sys_layer_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DEVDUCK_SYS_LAYER=false records no file opens."""
    monkeypatch.setenv("DEVDUCK_SYS_LAYER", "false")
    session = record(lambda: (tmp_path / "x.txt").write_text("x"))
    assert session.get_events_by_layer("sys") == []


def test_bytes_command_line_is_text_and_redacted() -> None:
    """os.system with a bytes command is stored as text, with its secret redacted."""
    token = "ghp_" + "A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8"
    session = record(lambda: os.system(b"GITHUB_TOKEN=" + token.encode() + b" true"))  # noqa: S605 (the shell is the point)
    spawns = session.get_events_by_type("process.spawn")
    assert [e["data"]["command"] for e in spawns] == ["GITHUB_TOKEN=[REDACTED] true"]
