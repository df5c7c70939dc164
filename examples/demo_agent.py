"""A small agent with a scripted model: files, HTTP on loopback, tools (one fails).

No network and no LLM: ``ScriptedModel`` decides which tools to call for each turn.
The agent keeps Strands-shaped messages (``{"role": ..., "content": [blocks]}``), so
devduck-otel snapshots and resumes it like a Strands agent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import requests

import devduck_otel

Message = dict[str, Any]


class _EchoHandler(BaseHTTPRequestHandler):
    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Return a little weather report for any city."""
        self._send(200, {"city": self.path.rsplit("/", 1)[-1], "forecast": "sunny", "temp_c": 21})

    def do_POST(self) -> None:
        """Store a note and return its id."""
        size = int(self.headers.get("Content-Length", "0"))
        note = json.loads(self.rfile.read(size) or b"{}")
        self._send(201, {"id": 7, "stored": note})

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@contextmanager
def loopback_server() -> Iterator[str]:
    """Serve the demo API on a free loopback port and yield its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def make_tools(workdir: Path, base_url: str) -> dict[str, Callable[..., Any]]:
    """Build the agent's tools, each recorded by ``@devduck_otel.tool``."""

    @devduck_otel.tool
    def write_notes(name: str, text: str) -> str:
        (workdir / name).write_text(text, encoding="utf-8")
        return f"wrote {len(text)} characters to {name}"

    @devduck_otel.tool
    def read_notes(name: str) -> str:
        return (workdir / name).read_text(encoding="utf-8")

    @devduck_otel.tool
    def weather(city: str) -> dict[str, Any]:
        sync = requests.get(f"{base_url}/weather/{city}", timeout=5).json()
        with httpx.Client() as client:
            client.post(f"{base_url}/log", json={"asked": city})
        return dict(sync)

    @devduck_otel.tool
    async def save_remote(note: str) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            await client.get(f"{base_url}/weather/check")
            answer = await client.post(f"{base_url}/notes", json={"note": note})
        requests.post(f"{base_url}/notes", json={"note": note, "copy": True}, timeout=5)
        return dict(answer.json())

    @devduck_otel.tool
    def divide(a: float, b: float) -> float:
        return a / b

    return {f.__name__: f for f in (write_notes, read_notes, weather, save_remote, divide)}


@dataclass
class ScriptedModel:
    """Stands in for an LLM: each turn is a list of tool calls and a final answer."""

    model_id: str = "scripted-demo-1"
    provider: str = "devduck-demo"
    turns: list[tuple[list[tuple[str, dict[str, Any]]], str]] = field(default_factory=list)

    def plan(self, turn: int) -> tuple[list[tuple[str, dict[str, Any]]], str]:
        """Return the tool calls and the answer for ``turn`` (repeats the last turn)."""
        return self.turns[min(turn, len(self.turns) - 1)]


class DemoAgent:
    """An agent loop: ask the model, run its tool calls, record Strands-shaped messages."""

    def __init__(self, tools: dict[str, Callable[..., Any]], model: ScriptedModel) -> None:
        self.system_prompt = "You are a careful assistant who keeps notes."
        self.messages: list[Message] = []
        self.model = model
        self.tools = tools
        self.tool_names = sorted(tools)
        self.state: dict[str, Any] = {"turns": 0}

    def __call__(self, query: str) -> str:
        """Run one turn for ``query`` and return the answer."""
        self.messages.append({"role": "user", "content": [{"text": query}]})
        calls, answer = self.model.plan(self.state["turns"])
        for index, (name, args) in enumerate(calls):
            use_id = f"t{self.state['turns']}-{index}"
            self.messages.append(
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": use_id, "name": name, "input": args}}],
                }
            )
            self.messages.append(
                {"role": "user", "content": [{"toolResult": self._run(use_id, name, args)}]}
            )
        self.messages.append({"role": "assistant", "content": [{"text": answer}]})
        self.state["turns"] += 1
        return answer

    def _run(self, use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.tools[name](**args)
            if asyncio.iscoroutine(result):
                result = asyncio.run(result)
        except Exception as exc:  # a failing tool becomes an error result, as in Strands
            return {
                "toolUseId": use_id,
                "status": "error",
                "content": [{"text": f"{type(exc).__name__}: {exc}"}],
            }
        return {"toolUseId": use_id, "status": "success", "content": [{"json": result}]}


def demo_model() -> ScriptedModel:
    """The script of the demo: three turns, the last with a failing tool."""
    return ScriptedModel(
        turns=[
            (
                [
                    ("weather", {"city": "Lisbon"}),
                    ("write_notes", {"name": "trip.md", "text": "Lisbon: sunny"}),
                ],
                "Lisbon is sunny; I noted it in trip.md.",
            ),
            (
                [("read_notes", {"name": "trip.md"}), ("save_remote", {"note": "pack sunglasses"})],
                "I read the notes and saved a reminder remotely.",
            ),
            ([("divide", {"a": 10, "b": 0})], "I could not split the budget: division by zero."),
        ]
    )
