"""Redaction at every stage: previews, bytes, resource attributes, valid output throughout."""

from __future__ import annotations

import base64
import json
import warnings
import zipfile
from typing import Any

import dill
import pytest
from devduck_otel_exporter_zip.schema import PREVIEW_CHARS, cut_preview
from opentelemetry import trace
from strands import Agent, tool

import devduck_otel
from devduck_otel.redaction import Redactor
from tests.support.otlp import zip_spans
from tests.support.otlp_grpc import OtlpGrpcSink

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8"
OPENAI = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8xyz"


def _entries(path: str) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _no_trace(entries: dict[str, bytes], *secrets: str) -> None:
    """No secret, nor its first 8 characters, nor its bytes' base64, in any entry."""
    for name, data in entries.items():
        for secret in secrets:
            for needle in (secret[:8], base64.b64encode(secret.encode())[:16].decode()):
                assert needle.encode() not in data, (name, needle)


# -- previews --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 10, 20, 35])
def test_a_preview_never_keeps_part_of_a_token(offset: int) -> None:
    """A token straddling the cut is left out whole; short text is returned as is."""
    text = "x " * ((PREVIEW_CHARS - offset) // 2) + GITHUB + " tail"
    cut = cut_preview(text)
    assert len(cut) <= PREVIEW_CHARS
    assert "ghp_" not in cut or GITHUB in cut
    assert cut_preview("short") == "short"
    assert cut_preview("") == ""


def test_a_long_run_is_cut_at_the_limit() -> None:
    """Base64 (a run longer than any short token) is cut where the limit says."""
    blob = base64.b64encode(bytes(range(256)) * 8).decode()
    assert cut_preview(blob) == blob[:PREVIEW_CHARS]


@tool
def fetch_config(name: str) -> str:
    """Return a config file whose token straddles the preview's cut.

    Args:
        name: The file.
    """
    return "#" * (PREVIEW_CHARS - 16) + " GITHUB_PAT " + GITHUB + " end"


def test_tool_result_previews_hold_no_cut_secret() -> None:
    """The ZIP's ``result_preview`` keeps no fragment of a token the full result holds."""
    from devduck_otel.testing import ScriptedModel, tool_turn

    model = ScriptedModel([tool_turn("fetch_config", {"name": "app"}), "done"])
    agent = Agent(model=model, tools=[fetch_config], callback_handler=None, name="cfg")
    devduck_otel.instrument(agent)
    agent("read the config")
    path = devduck_otel.stop_recording()
    assert path is not None
    entries = _entries(path)
    previews = [
        json.loads(line)["data"]["result_preview"]
        for line in entries["events.jsonl"].splitlines()
        if b'"result_preview"' in line
    ]
    assert previews
    _no_trace(entries, GITHUB)


# -- bytes -----------------------------------------------------------------------------


class _Holder:
    def __init__(self, messages: list[Any], state: Any) -> None:
        self.messages = messages
        self.system_prompt = "plain"
        self.state = state
        self.tool_names: list[str] = []


@devduck_otel.tool
def upload(payload: bytes, image: bytes) -> str:
    """A tool taking bytes, which also puts bytes on its span."""
    trace.get_current_span().set_attribute("upload.body", payload)
    trace.get_current_span().set_attribute("upload.image", image)
    return "ok"


def test_bytes_that_are_text_are_scanned_everywhere() -> None:
    """Tool arguments, document blocks, pickled state and span attributes of bytes."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    secret_text = f"export GITHUB_TOKEN={GITHUB}\n".encode()
    devduck_otel.start_recording()
    upload(secret_text, png)
    document = {"document": {"format": "txt", "name": "env", "source": {"bytes": secret_text}}}
    image = {"image": {"format": "png", "source": {"bytes": png}}}
    messages = [{"role": "user", "content": [document, image]}]
    devduck_otel.snapshot(_Holder(messages, {"raw": secret_text, "n": 1}), "bytes")
    path = devduck_otel.stop_recording()
    assert path is not None
    entries = _entries(path)
    _no_trace(entries, GITHUB)
    session = devduck_otel.load_session(path, allow_pickle=True)
    (snap,) = [s for s in session.snapshots if s["description"] == "bytes"]
    blocks = snap["agent_messages"][0]["content"]
    assert blocks[0]["document"]["source"]["bytes"] == b"export GITHUB_TOKEN=[REDACTED]\n"
    assert blocks[1]["image"]["source"]["bytes"] == png  # not text: kept exactly
    state = session.blobs[snap["state_blob"]]
    assert state == {"raw": b"export GITHUB_TOKEN=[REDACTED]\n", "n": 1}
    (span,) = [s for s in zip_spans(path).values() if s["name"].endswith("upload")]
    attrs = {a["key"]: a["value"] for a in span["attributes"]}
    assert base64.b64decode(attrs["upload.body"]["bytesValue"]) == (
        b"export GITHUB_TOKEN=[REDACTED]\n"
    )
    assert base64.b64decode(attrs["upload.image"]["bytesValue"]) == png
    listed = {(r["path"], r["rule"]) for r in snap["redactions"]}
    assert ("$.agent_messages[0].content[0].document.source.bytes", "github-token") in listed
    assert ("$.state_blob", "pickled-state") in listed


def test_pickled_bytes_are_redacted_as_text() -> None:
    """A dill blob's bytes that decode as text lose their secret; others stay exact."""
    redactor = Redactor()
    blob = redactor.dill_dumps({"cmd": f"TOKEN={GITHUB}".encode(), "raw": b"\xff\x00"})
    assert dill.loads(blob) == {"cmd": b"TOKEN=[REDACTED]", "raw": b"\xff\x00"}


# -- resource attributes -----------------------------------------------------------------


def test_secret_resource_attributes_reach_neither_collector_nor_zip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``OTEL_RESOURCE_ATTRIBUTES`` secrets are redacted for a real gRPC collector and the ZIP."""
    with OtlpGrpcSink() as sink:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint)
        monkeypatch.setenv(
            "OTEL_RESOURCE_ATTRIBUTES",
            f"deployment.api_key=plain-value-123,ci.note=token {GITHUB},team=core",
        )
        devduck_otel.start_recording()
        upload(b"hello", b"\x00")
        path = devduck_otel.stop_recording()
        assert path is not None
        assert sink.span_count() > 0
        for request in sink.requests:
            for resource in request.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource.resource.attributes}
                assert attrs["deployment.api_key"] == "[REDACTED]"
                assert attrs["ci.note"] == "token [REDACTED]"
                assert attrs["team"] == "core"
    entries = _entries(path)
    _no_trace(entries, GITHUB)
    assert b"plain-value-123" not in entries["spans.otlp.jsonl"]
    assert b'"core"' in entries["spans.otlp.jsonl"]


# -- every stage stays valid under hostile input -----------------------------------------

_HOSTILE_EXTRA = [
    '{"content":"Enter your password:","role":"user"}',
    '{"token_limit": 5, "auth.retries": 3, "password_min_len": 12, "api_key": null}',
    'password: "unterminated',
    '\\"api_key\\":\\"' + GITHUB + '\\"',
    "token=" + "," * 5000,
    ",".join(f"https://x.io/{i}?sig=abc{i}&token=t0k3n{i:04d}" for i in range(300)),
    "\x00\x1f\u2028\ud7ff\U0001f600 Bearer " + GITHUB,
]


@devduck_otel.tool
def echo(text: str, count: int) -> str:
    """Return ``text``; put it and secret-named numbers on the span."""
    span = trace.get_current_span()
    span.set_attribute("echo.text", text)
    span.set_attribute("session.turn", count)
    span.set_attribute("llm.token_count.prompt", count)
    span.set_attribute("auth.retries", float("nan") if count % 2 else float("inf"))
    span.set_attribute("api_key", text)
    return text


def test_every_stage_is_valid_json_and_otlp_under_hostile_input() -> None:
    """events, spans, snapshots, messages and what a collector gets parse, and hold no secret."""
    from google.protobuf import json_format  # type: ignore[import-untyped]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from tests.support.redaction_corpus import ordinary_items, secret_items

    pairs = secret_items()[::3]
    texts = [t for t, _ in pairs] + ordinary_items()[::7] + _HOSTILE_EXTRA
    with OtlpGrpcSink() as sink, pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_TRACES_EXPORTER", "otlp")
        env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint)
        devduck_otel.start_recording(capture_content=True)
        for count, text in enumerate(texts):
            echo(text, count)
        messages = [{"role": "user", "content": [{"text": t}]} for t in texts]
        devduck_otel.snapshot(_Holder(messages, {"notes": texts[:20]}), "hostile")
        path = devduck_otel.stop_recording()
        assert path is not None
        received = sink.span_count()
        collected = [json_format.MessageToJson(r) for r in sink.requests]
    entries = _entries(path)
    for name in ("events.jsonl", "messages.jsonl"):
        for line in entries[name].splitlines():
            json.loads(line)
    snapshots = json.loads(entries["snapshots.json"])
    assert any(s["redactions"] for s in snapshots)
    spans = 0
    for line in entries["spans.otlp.jsonl"].splitlines():
        request = json_format.Parse(line, ExportTraceServiceRequest())
        spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    assert spans >= len(texts) and received >= len(texts)
    by_name = {s["name"]: s for s in zip_spans(path).values()}
    assert len([n for n in by_name if n.endswith("echo")]) >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the loader warns of every line it skips
        session = devduck_otel.load_session(path)
    (snap,) = [s for s in session.snapshots if s["description"] == "hostile"]
    assert len(snap["agent_messages"]) == len(texts)
    assert len([e for e in session.events if e.get("event_type") == "tool.call"]) >= len(texts)
    everything = b"".join(entries.values()) + "".join(collected).encode()
    for _, secret in pairs:
        assert secret.encode() not in everything, secret
    assert GITHUB.encode() not in everything


# -- the new entry points, with empty, broken and hostile input -------------------------


def test_list_redactions_names_paths_and_rules_never_values() -> None:
    """Paths use JSONPath (brackets for odd keys); unchanged input lists nothing."""
    redactor = Redactor()
    assert redactor.list_redactions(None, None) == []
    assert redactor.list_redactions("", "") == []
    clean = {"a": [1, "two", {"b": None}]}
    assert redactor.list_redactions(clean, redactor.redact_value(clean)) == []
    doc = {
        "x-api-key": "k-1",
        'we"ird\\': [f"use {GITHUB}"],
        "nested": {"tokens": {GITHUB: 1}},
        "blob": f"TOKEN={GITHUB}".encode(),
    }
    listed = redactor.list_redactions(doc, redactor.redact_value(doc), root="$.state")
    assert {"path": '$.state["x-api-key"]', "rule": "secret-name"} in listed
    assert {"path": '$.state["we\\"ird\\\\"][0]', "rule": "github-token"} in listed
    assert {"path": '$.state.nested.tokens["[REDACTED]#1"]', "rule": "secret-used-as-key"} in (
        listed
    )
    assert any(r["path"] == "$.state.blob" for r in listed)
    assert GITHUB not in repr(listed) and "k-1" not in repr(listed)
    # Shapes that do not match (a caller's mistake) list what differs, and never raise.
    assert redactor.list_redactions({"a": "x"}, ["x"]) == []
    assert redactor.list_redactions([1, 2, 3], [1]) == []


def test_dill_dumps_counted_counts_what_it_redacted() -> None:
    """Zero for clean state; the count for secret state; dill's own error otherwise."""
    redactor = Redactor()
    assert redactor.dill_dumps_counted({"n": 1, "s": "hello"})[1] == 0
    blob, count = redactor.dill_dumps_counted({"api_key": "x1", "note": f"key {GITHUB}"})
    assert count == 2 and dill.loads(blob) == {"api_key": "[REDACTED]", "note": "key [REDACTED]"}
    with pytest.raises(TypeError):
        redactor.dill_dumps_counted(x for x in "ab")  # dill cannot carry a generator


def test_may_contain_secret_on_empty_binary_and_huge_input() -> None:
    """Empty and binary data are clean; a trigger at the end of 1 MB is found."""
    redactor = Redactor()
    assert not redactor.may_contain_secret("")
    assert not redactor.may_contain_secret(b"")
    assert not redactor.may_contain_secret(b"\xff\xfe\x00" * 1000)
    assert not redactor.may_contain_secret("\ud800 lone surrogate")
    assert redactor.may_contain_secret("," * 1_000_000 + f" {GITHUB}")
    assert Redactor(extra_patterns=["zz+"]).may_contain_secret("anything")


def test_cut_preview_edges() -> None:
    """A zero limit gives nothing; fewer than 64 token characters before the cut go."""
    assert cut_preview("abc", 0) == ""
    assert cut_preview("a" * 1000, 10) == ""
    assert cut_preview("a" * 1000, 500) == "a" * 500
    assert cut_preview("word " * 200, 12) == "word word "
