"""Scripted stand-ins for the LLM under the OpenAI Agents SDK in tests (no network).

``ScriptedAgentsModel`` is an SDK ``Model``: each ``get_response`` (or
``stream_response``, for ``Runner.run_streamed``) plays the next scripted turn, records
the request it received, and wraps itself in a ``generation_span`` with the request's
items and its reply, as the SDK's own chat-completions model does.

``serve_responses`` is a scripted OpenAI Responses API on loopback, for the SDK's own
default model (``OpenAIResponsesModel``) to talk to.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents import ModelResponse, Usage
from agents.models.interface import Model
from agents.tracing import generation_span
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

Turn = str | tuple[str, dict[str, Any]]
"""A scripted reply: text, or ``(tool_name, args)`` for a function call."""


@dataclass(frozen=True)
class AgentsRequest:
    """What the model received on one call (deep copies, items as JSON dicts)."""

    instructions: str | None
    items: list[Any]
    tool_names: list[str]


def _as_items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [i.model_dump(exclude_unset=True) if hasattr(i, "model_dump") else i for i in value]


def reply_item(turn: Turn, number: int) -> Any:
    """The output item of one scripted turn (the ``number``-th reply)."""
    if isinstance(turn, tuple):
        name, args = turn
        return ResponseFunctionToolCall(
            type="function_call",
            call_id=f"call_{number}",
            name=name,
            arguments=json.dumps(args),
            id=f"fc_{number}",
            status="completed",
        )
    return ResponseOutputMessage(
        id=f"msg_{number}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=turn, annotations=[])],
    )


def response_of(output: Any, model: str, number: int, instructions: Any = None) -> Response:
    """A Responses API ``Response`` holding one output item (and, as the API, the instructions)."""
    return Response(
        instructions=instructions if isinstance(instructions, str) else None,
        id=f"resp_{number}",
        created_at=0,
        model=model,
        object="response",
        output=[output],
        parallel_tool_calls=False,
        tool_choice="auto",
        tools=[],
        status="completed",
        usage=ResponseUsage(
            input_tokens=10,
            output_tokens=5,
            total_tokens=15,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        ),
    )


class ScriptedAgentsModel(Model):
    """Plays scripted turns; ``requests`` holds every request it received."""

    def __init__(self, turns: list[Turn], model: str = "scripted-1") -> None:
        self.turns = list(turns)
        self.model = model
        self.requests: list[AgentsRequest] = []

    def _reply(self, number: int) -> Any:
        return reply_item(self.turns.pop(0), number)

    def _play(self, input: Any, tools: Any, system_instructions: Any, tracing: Any) -> Any:
        items = copy.deepcopy(_as_items(input))
        self.requests.append(AgentsRequest(system_instructions, items, [t.name for t in tools]))
        content = tracing.include_data()  # as the SDK's models: no content unless allowed
        with generation_span(model=self.model, input=items if content else None) as span:
            output = self._reply(len(self.requests))
            if content:
                span.span_data.output = [output.model_dump()]
            span.span_data.usage = {"input_tokens": 10, "output_tokens": 5}
        return output

    async def get_response(
        self,
        system_instructions: Any,
        input: Any,
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        """Return the next scripted turn as a ``ModelResponse``."""
        output = self._play(input, tools, system_instructions, tracing)
        usage = Usage(requests=1, input_tokens=10, output_tokens=5, total_tokens=15)
        return ModelResponse(output=[output], usage=usage, response_id=None)

    async def stream_response(
        self,
        system_instructions: Any,
        input: Any,
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: Any,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Stream the next scripted turn as one ``response.completed`` event."""
        output = self._play(input, tools, system_instructions, tracing)
        response = response_of(output, self.model, len(self.requests))
        yield ResponseCompletedEvent(
            type="response.completed", sequence_number=0, response=response
        )


class _ResponsesHandler(BaseHTTPRequestHandler):
    server: _ResponsesServer

    def do_POST(self) -> None:
        """Answer ``POST /v1/responses`` with the next scripted turn."""
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.requests.append(body)
            number = len(self.server.requests)
            turn = self.server.turns.pop(0)
        data = response_of(
            reply_item(turn, number), str(body.get("model")), number, body.get("instructions")
        )
        payload = data.model_dump_json().encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


class _ResponsesServer(ThreadingHTTPServer):
    def __init__(self, turns: list[Turn]) -> None:
        super().__init__(("127.0.0.1", 0), _ResponsesHandler)
        self.turns = list(turns)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()


@contextmanager
def serve_responses(turns: list[Turn]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve a scripted Responses API on loopback; yield its base URL and the request bodies."""
    server = _ResponsesServer(turns)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
