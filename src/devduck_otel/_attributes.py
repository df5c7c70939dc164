"""Span and event attribute names used by devduck-otel (GenAI semconv where one exists)."""

from __future__ import annotations

from typing import Final, Literal

Layer = Literal["sys", "tool", "agent"]

DEVDUCK_LAYER: Final = "devduck.layer"
DEVDUCK_EVENT_TYPE: Final = "devduck.event_type"
DEVDUCK_SESSION_ID: Final = "devduck.session.id"
DEVDUCK_SNAPSHOT_ID: Final = "devduck.snapshot.id"
DEVDUCK_SNAPSHOT_SHA256: Final = "devduck.snapshot.sha256"
DEVDUCK_SNAPSHOT_SIZE: Final = "devduck.snapshot.size"
DEVDUCK_SNAPSHOT_DESCRIPTION: Final = "devduck.snapshot.description"
DEVDUCK_CONTENT: Final = "devduck.content"
"""JSON of an event's data on an OTel span event; set only when content capture is on."""

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
ERROR_TYPE: Final = "error.type"

OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
