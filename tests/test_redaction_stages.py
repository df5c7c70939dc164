"""Redaction at every stage: previews, bytes, resource attributes, valid output throughout."""

from __future__ import annotations

import base64
import json
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
