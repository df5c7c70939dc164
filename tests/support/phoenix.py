"""A real Arize Phoenix server on loopback, for tests that need an OTLP backend.

Phoenix lives in its own virtual environment (``make .venv-phoenix/.installed``);
``DEVDUCK_PHOENIX_PYTHON`` names its interpreter. Test modules import the
session-scoped ``phoenix`` fixture from here; however many modules import it, one
Phoenix serves the whole run. A missing interpreter, or a Phoenix that does not
start, fails the test.

Example:
    >>> def test_it(phoenix: PhoenixServer) -> None:  # doctest: +SKIP
    ...     spans = phoenix.spans("my-project", expect=3)
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PHOENIX_PYTHON_VAR = "DEVDUCK_PHOENIX_PYTHON"
PROJECT_ATTRIBUTE = "openinference.project.name"
"""Resource attribute that files spans under a Phoenix project (one per test)."""

_START_TIMEOUT = 120.0

# Phoenix binds its gRPC server to [::]; this keeps it on 127.0.0.1, then runs it.
_BOOT = """
import sys
from grpc.aio import _server

_add = _server.Server.add_insecure_port


def _loopback(self, address):
    return _add(self, address.replace("[::]:", "127.0.0.1:"))


_server.Server.add_insecure_port = _loopback
sys.argv = ["phoenix", "serve"]
from phoenix.server.main import main

main()
"""


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_json(url: str, timeout: float = 10.0) -> Any:
    """GET ``url`` (loopback only) and decode its JSON body."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"tests only talk to loopback, not {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass(frozen=True)
class PhoenixServer:
    """A running Phoenix.

    Attributes:
        http_port: Port of the UI, REST API and OTLP/HTTP receiver.
        grpc_port: Port of the OTLP/gRPC receiver.
        log_path: Phoenix's output, quoted in failures.
    """

    http_port: int
    grpc_port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<http_port>``."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def otlp_http_traces(self) -> str:
        """The full OTLP/HTTP traces URL."""
        return f"{self.base_url}/v1/traces"

    @property
    def otlp_grpc(self) -> str:
        """The OTLP/gRPC endpoint."""
        return f"http://127.0.0.1:{self.grpc_port}"

    def spans(
        self, project: str, *, expect: int = 1, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Poll Phoenix's REST API until ``project`` holds at least ``expect`` spans.

        Args:
            project: The ``openinference.project.name`` the spans were sent with.
            expect: How many spans to wait for.
            timeout: Seconds before failing the test.

        Returns:
            The spans as Phoenix returns them (OTLP-like JSON, snake_case keys).
        """
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while True:
            found = self._all_spans(project)
            if len(found) >= expect or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        if len(found) < expect:
            pytest.fail(f"Phoenix project {project!r} has {len(found)} spans, expected {expect}")
        return found

    def _all_spans(self, project: str) -> list[dict[str, Any]]:
        quoted = urllib.parse.quote(project, safe="")
        url = f"{self.base_url}/v1/projects/{quoted}/spans/otlpv1?limit=1000"
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page_url = url if cursor is None else f"{url}&cursor={urllib.parse.quote(cursor)}"
            try:
                page = get_json(page_url)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # the project appears with its first span
                    return []
                raise
            spans.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return spans


def attributes(item: dict[str, Any]) -> dict[str, Any]:
    """Flatten Phoenix's ``[{"key", "value": {"string_value": ...}}]`` attributes."""
    flat: dict[str, Any] = {}
    for pair in item.get("attributes") or []:
        value = pair["value"]
        flat[pair["key"]] = next((v for v in value.values() if v is not None), None)
    return flat


def _phoenix_env(workdir: Path, http_port: int, grpc_port: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(workdir / "phoenix"),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }


def _wait_until_up(process: subprocess.Popen[bytes], server: PhoenixServer) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=2) as response:
                if response.status == 200 and _grpc_listening(server.grpc_port):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    tail = server.log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"Phoenix did not start within {_START_TIMEOUT:.0f}s. Its output ends:\n{tail}")


def _grpc_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


_running: list[PhoenixServer] = []


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """Start Phoenix on free loopback ports, once for the whole test session."""
    if _running:  # imported by several modules: the first one started it
        yield _running[0]
        return
    python = os.environ.get(PHOENIX_PYTHON_VAR, "")
    if not python or not Path(python).is_file():
        pytest.fail(
            f"{PHOENIX_PYTHON_VAR} must name the Python of Phoenix's own virtual environment "
            f"(got {python!r}); build it with `make .venv-phoenix/.installed`, or run `make unit`"
        )
    workdir = tmp_path_factory.mktemp("phoenix")
    http_port = free_port()
    grpc_port = free_port()
    while grpc_port == http_port:
        grpc_port = free_port()
    server = PhoenixServer(http_port, grpc_port, workdir / "phoenix.log")
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [python, "-c", _BOOT],
            env=_phoenix_env(workdir, server.http_port, server.grpc_port),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, server)
        _running.append(server)
        yield server
    finally:
        _running.clear()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class OtlpHttpSink:
    """A small real OTLP/HTTP receiver on loopback whose answers a test controls.

    Args:
        mode: ``ok`` stores requests and answers 200; ``error`` answers 500
            (not retried by the exporter); ``unavailable`` answers 503 (retried);
            ``slow`` sleeps ``delay`` seconds before answering 200.
        delay: Seconds to sleep in ``slow`` mode.
    """

    def __init__(self, mode: str = "ok", delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self.requests: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.hits = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP traces URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def spans(self) -> list[Any]:
        """Every span received so far (protobuf ``Span`` messages)."""
        with self._lock:
            return [
                span
                for request in self.requests
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            ]

    def __enter__(self) -> OtlpHttpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with sink._lock:
                    sink.hits += 1
                    sink.headers.append({k.lower(): v for k, v in self.headers.items()})
                if sink.mode == "slow":
                    time.sleep(sink.delay)
                if sink.mode in ("error", "unavailable"):
                    self.send_response(500 if sink.mode == "error" else 503)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with sink._lock:
                    sink.requests.append(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(b"")

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler
