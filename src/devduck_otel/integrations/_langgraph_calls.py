"""Chat-model and tool calls of a LangGraph run, as LangChain callbacks report them."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from devduck_otel import _attributes as attr
from devduck_otel._guard import guard
from devduck_otel.capture._genai import error_text, mark_error, text_preview, tool_attributes
from devduck_otel.integrations import _langgraph_data as data
from devduck_otel.integrations._base import EVENT_MESSAGE, EVENT_MODEL_CALL, set_usage
from devduck_otel.integrations._langgraph_runs import RunTable, close_run_span


class CallCallbacks(RunTable):
    """The LangChain callbacks of chat models and tools: ``chat`` and ``execute_tool`` spans."""

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open ``chat {model}`` and keep the whole request."""
        with guard("langgraph chat model start"):
            run = self._join(run_id, parent_run_id)
            if run is None:
                return
            params = dict(kwargs.get("invocation_params") or {})
            name = data.model_name(metadata, params)
            provider = (metadata or {}).get("ls_provider")
            self.record.meta.update(model=name, provider=provider)
            opened = self._start_span(
                run,
                run_id,
                f"{attr.OP_CHAT} {name}",
                {
                    attr.DEVDUCK_LAYER: "agent",
                    attr.DEVDUCK_EVENT_TYPE: EVENT_MODEL_CALL,
                    attr.GEN_AI_OPERATION_NAME: attr.OP_CHAT,
                    attr.GEN_AI_REQUEST_MODEL: name,
                    attr.GEN_AI_CONVERSATION_ID: run.inv.recorder.session_id,
                },
            )
            request = data.chat_request(messages, params, name)
            opened.extra.update(name=name, provider=provider, request=request)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the model call whole (request and response); end its span."""
        with guard("langgraph chat model end"):
            self._end_model(run_id, response, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the failed model call; end its span."""
        with guard("langgraph chat model error"):
            self._end_model(run_id, None, error)

    def _end_model(self, run_id: UUID, response: Any, error: BaseException | None) -> None:
        run, opened = self._run_of(run_id), self._forget(run_id)
        if run is None or opened is None or "request" not in opened.extra:
            if opened is not None:
                close_run_span(opened)
            return
        try:
            rec, extra = run.inv.recorder, opened.extra
            record: dict[str, Any] = {
                "name": extra["name"],
                "model_id": extra["name"],
                "provider": extra["provider"],
                "duration_ms": round((time.monotonic() - opened.started) * 1000, 3),
                "request": extra["request"],
                "response": None,
            }
            message = None
            if response is not None:
                record["response"], message = data.chat_response(response)
                tokens = data.usage_of(message)
                record["input_tokens"], record["output_tokens"] = tokens
                set_usage(opened.span, *tokens)
            if error is not None:
                record["error"] = error_text(error)
                mark_error(opened.span, error)
            rec.emit("agent", EVENT_MODEL_CALL, record, span=opened.span)
            if message is not None:
                rec.emit("agent", EVENT_MESSAGE, data.message_event(message), span=opened.span)
        finally:
            close_run_span(opened)

    def on_tool_start(
        self,
        serialized: Any,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open ``execute_tool {name}`` and record the call."""
        with guard("langgraph tool start"):
            run = self._join(run_id, parent_run_id)
            if run is None:
                return
            name = str(kwargs.get("name") or (serialized or {}).get("name") or "tool")
            call_id = str(kwargs.get("tool_call_id") or run_id)
            opened = self._start_span(
                run, run_id, f"{attr.OP_EXECUTE_TOOL} {name}", tool_attributes(name, call_id)
            )
            opened.extra.update(name=name, call_id=call_id)
            args = data.encode(inputs) if inputs is not None else input_str
            call = {"name": name, "args": args, "call_id": call_id}
            run.inv.recorder.emit("tool", "tool.call", call, span=opened.span)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the tool's result (a ``ToolMessage`` of status error is a failure)."""
        with guard("langgraph tool end"):
            result, failure = data.tool_output(output)
            self._end_tool(run_id, result, failure, None)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the tool's exception."""
        with guard("langgraph tool error"):
            self._end_tool(run_id, None, error_text(error), error)

    def _end_tool(
        self, run_id: UUID, result: Any, failure: str | None, error: BaseException | None
    ) -> None:
        run, opened = self._run_of(run_id), self._forget(run_id)
        if run is None or opened is None or "call_id" not in opened.extra:
            if opened is not None:
                close_run_span(opened)
            return
        try:
            outcome: dict[str, Any] = {
                "name": opened.extra["name"],
                "call_id": opened.extra["call_id"],
                "result": result,
                "result_preview": text_preview(result),
                "duration_ms": round((time.monotonic() - opened.started) * 1000, 3),
                "status": "error" if failure else "success",
            }
            if failure is not None:
                outcome["error"] = failure
                mark_error(opened.span, error if error is not None else failure)
            run.inv.recorder.emit("tool", "tool.result", outcome, span=opened.span)
        finally:
            close_run_span(opened)
