"""The session format, in one place: entry names, journal files, and attribute names.

Everything the exporter writes is derived from OpenTelemetry data; these are the names
it reads on spans and span events, and the names of what it writes. Instrumentation
that wants its data in a session (the ``devduck_otel`` package does) uses these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.trace import SpanKind

FORMAT_NAME: Final = "devduck-otel-session"
FORMAT_VERSION: Final = 1

# -- ZIP entries, in the order they are written ---------------------------------------
EVENTS_ENTRY: Final = "events.jsonl"
SNAPSHOTS_ENTRY: Final = "snapshots.json"
METADATA_ENTRY: Final = "metadata.json"
PICKLE_ENTRY: Final = "session.pkl"
MESSAGES_ENTRY: Final = "messages.jsonl"
SPANS_ENTRY: Final = "spans.otlp.jsonl"
"""The spans as OTLP JSON, one ``ExportTraceServiceRequest`` a line (file exporter format)."""
BLOBS_PREFIX: Final = "blobs/"
SIGNATURES_ENTRY: Final = "signatures.json"

# -- journal files (``<session_id>.journal/``) ----------------------------------------
JOURNAL_SUFFIX: Final = ".journal"
JOURNAL_META: Final = "meta.json"
JOURNAL_EVENTS: Final = "events.jsonl"
JOURNAL_SPANS: Final = "spans.jsonl"
JOURNAL_MESSAGES: Final = "messages.jsonl"
JOURNAL_SNAPSHOTS: Final = "snapshots.jsonl"
JOURNAL_BLOBS: Final = "blobs"
JOURNAL_CHILD_EVENTS: Final = "children.jsonl"
"""Event lines written by forked children (the program a ``fork`` + ``exec`` runs)."""
JOURNAL_FILES: Final = (JOURNAL_EVENTS, JOURNAL_SPANS, JOURNAL_MESSAGES, JOURNAL_SNAPSHOTS)
JOURNAL_EVENTS_DEFLATE: Final = "events.jsonl.z"
"""The ZIP's ``events.jsonl`` entry as raw deflate, written as the journal grows (a cache:
gone when it no longer matches the journal; never read by recovery)."""
JOURNAL_SPANS_DEFLATE: Final = "spans.otlp.jsonl.z"
"""The ZIP's ``spans.otlp.jsonl`` entry as raw deflate, likewise."""

# -- attributes devduck-otel puts on spans and span events ------------------------------
DEVDUCK_LAYER: Final = "devduck.layer"
DEVDUCK_EVENT_TYPE: Final = "devduck.event_type"
DEVDUCK_CONTENT: Final = "devduck.content"
"""JSON of an event's data: the record. Collectors get it only with content capture on."""
DEVDUCK_HTTP_REQUEST: Final = "devduck.http.request"
"""On an HTTP client span: JSON of the request (method, url, headers, body), recorded
with ``DEVDUCK_CAPTURE_HTTP_BODIES``. Collectors get it only with content capture on."""
DEVDUCK_HTTP_RESPONSE: Final = "devduck.http.response"
"""On an HTTP client span: JSON of the response (status, headers, body), as above."""
HTTP_BODY_ATTRIBUTES: Final = (DEVDUCK_HTTP_REQUEST, DEVDUCK_HTTP_RESPONSE)
DEVDUCK_SESSION_ID: Final = "devduck.session.id"
DEVDUCK_DETACHED: Final = "devduck.detached"
"""On an event-carrier span: its events belong to its parent (or to no span at all)."""
DEVDUCK_OWNER_PARENT: Final = "devduck.owner_parent_span_id"
"""On an event-carrier span: the parent span id of the span its events belong to."""
DEVDUCK_CARRIED_TYPES: Final = "devduck.carried_event_types"
"""On a span of another tracer: event types recorded for it explicitly (not derived)."""
DEVDUCK_SNAPSHOT_ID: Final = "devduck.snapshot.id"
DEVDUCK_SNAPSHOT_SHA256: Final = "devduck.snapshot.sha256"
DEVDUCK_SNAPSHOT_SIZE: Final = "devduck.snapshot.size"
DEVDUCK_SNAPSHOT_DESCRIPTION: Final = "devduck.snapshot.description"
DEVDUCK_SNAPSHOT_RECORD: Final = "devduck.snapshot.record"
"""JSON of the snapshot record without its messages (never sent to collectors)."""
DEVDUCK_SNAPSHOT_MESSAGES: Final = "devduck.snapshot.messages"
"""The snapshot's messages, one JSON document each (never sent to collectors)."""
DEVDUCK_SNAPSHOT_BLOB: Final = "devduck.snapshot.blob"
"""Base64 of the dill blob of non-JSON agent state (never sent to collectors)."""
SNAPSHOT_PAYLOAD: Final = (
    DEVDUCK_SNAPSHOT_RECORD,
    DEVDUCK_SNAPSHOT_MESSAGES,
    DEVDUCK_SNAPSHOT_BLOB,
)

SNAPSHOT_REDACTIONS: Final = "redactions"
"""A snapshot record's list of what redaction changed: ``{"path": <JSONPath into the
record, e.g. ``$.system_prompt`` or ``$.agent_messages[2].content[0].text``>, "rule":
<rule name>}`` per change, never the value. Empty when nothing was redacted; absent in
sessions written before it existed (read as empty)."""

EVENT_SNAPSHOT: Final = "snapshot.created"
CARRIER_SPAN_NAME: Final = "devduck.events"

# -- OpenTelemetry GenAI semantic conventions read by the exporter ---------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
ERROR_TYPE: Final = "error.type"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
MODEL_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content"})

# -- OpenInference (Arize) names, for spans of its instrumentations --------------------
OI_SPAN_KIND: Final = "openinference.span.kind"
OI_TOOL_NAME: Final = "tool.name"
OI_INPUT_VALUE: Final = "input.value"
OI_OUTPUT_VALUE: Final = "output.value"
OI_MODEL_NAME: Final = "llm.model_name"

PREVIEW_CHARS: Final = 500
"""Length of ``content_preview`` / ``result_preview`` in derived events."""

_TOKEN_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=%"
)
_SHORT_RUN: Final = 64


def cut_preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """Cut ``text`` to at most ``limit`` characters, never through a short token.

    Previews are redacted like everything else, but a secret cut short (20 of a
    token's 36 characters) no longer looks like one. So a cut that would fall inside
    a run of token characters backs up to the run's start, unless the run's part
    before the cut is long (64 characters or more: a blob, or enough of a token for
    the value rules to know it).

    Args:
        text: The full text.
        limit: The most characters kept.

    Returns:
        ``text`` itself when short enough, else a prefix of it.
    """
    if len(text) <= limit:
        return text
    end = limit
    floor = max(0, limit - _SHORT_RUN)
    if text[end] in _TOKEN_CHARS:
        while end > floor and text[end - 1] in _TOKEN_CHARS:
            end -= 1
        if end == floor and floor > 0 and text[end - 1] in _TOKEN_CHARS:
            end = limit  # a long run: a blob, or a prefix the rules still recognise
    return text[:end]


def http_client_method(kind: SpanKind | None, attributes: Mapping[str, Any]) -> str | None:
    """The HTTP method of an HTTP client span (old or new HTTP conventions), else ``None``.

    The one test of what counts as an HTTP exchange: it becomes an ``http.<method>`` line.
    """
    method = attributes.get("http.request.method") or attributes.get("http.method")
    if kind is not SpanKind.CLIENT or not method:
        return None
    return str(method).upper()
