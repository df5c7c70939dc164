"""A real HTTP server on loopback for sys-layer tests and the demo."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server_version = "devduck-test/1"

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """Answer GET with the path, or 500 on /fail."""
        if self.path.startswith("/events"):
            self._events()
            return
        if self.path.startswith("/gzip"):
            data = gzip.compress(json.dumps({"path": self.path, "packed": True}).encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.startswith("/fail"):
            self._reply(500, {"error": "failing on purpose"})
            return
        self._reply(200, {"path": self.path, "headers": dict(self.headers)})

    def _events(self) -> None:
        """A server-sent event stream of two events (ends when the connection closes)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for n in (1, 2):
            self.wfile.write(f"data: event {n}\n\n".encode())
            self.wfile.flush()

    def do_POST(self) -> None:
        """Echo the JSON body back; on /chat, answer like a model API."""
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/chat"):
            self._reply(200, _chat(json.loads(body)))
            return
        self._reply(201, {"path": self.path, "echo": body})

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def _chat(request: dict[str, Any]) -> dict[str, Any]:
    """A toy model API: a user message asks for the lookup tool, a tool result is answered."""
    last = request["messages"][-1]
    if last["role"] == "user":
        return {
            "message": {"role": "assistant", "tool": "lookup", "args": {"key": last["content"]}}
        }
    return {"message": {"role": "assistant", "content": f"answer: {last['content']}"}}


@contextmanager
def serve(port: int = 0) -> Iterator[str]:
    """Run the server on loopback (a free port unless given); yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
