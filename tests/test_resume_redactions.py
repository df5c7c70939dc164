"""Resume is exact where nothing was secret; where something was, the snapshot says where.

The system prompt is the real devduck 1.15.7 package's source (about 190,000
characters, as devduck's own prompt carries it), the messages hold code, and the
agent is a real ``strands.Agent`` driven by a scripted model.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from strands import Agent

import devduck_otel
from devduck_otel.exceptions import RedactedSnapshotWarning
from devduck_otel.session._loader import load_session
from tests.support.devduck_source import devduck_package, devduck_prompt
from tests.support.strands_kit import add
from tests.support.zipbuilder import session_entries, user, write_zip

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8xyz"
BEARER = "A1b2C3d4E5f6G7h8J9k0L1m2N3p4"


def _agent(model: Any, prompt: str) -> Agent:
    return Agent(model=model, tools=[add], system_prompt=prompt, callback_handler=None, name="duck")


def _code_query() -> str:
    source = (devduck_package() / "callback_handler.py").read_text(encoding="utf-8")
    return "Review this module and tell me what the handler prints:\n```python\n" + source + "```"


def _record(agent: Agent, *queries: str) -> tuple[devduck_otel.LoadedSession, str]:
    devduck_otel.instrument(agent)
    for query in queries:
        agent(query)
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path), path


def _stored_snapshots(path: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        stored: list[dict[str, Any]] = json.loads(zf.read("snapshots.json"))
    return stored


def test_clean_source_prompt_and_code_messages_resume_byte_identical() -> None:
    """The ~190,000-character devduck source prompt and code messages come back unchanged."""
    from devduck_otel.testing import ScriptedModel, tool_turn

    prompt = devduck_prompt()
    assert len(prompt) >= 190_000
    landing = (devduck_package() / "landing.py").read_text(encoding="utf-8")
    model = ScriptedModel(
        [
            "It prints tool names and streamed text:\n```python\n" + landing[:4000] + "\n```",
            tool_turn("add", {"a": 2, "b": 3}),
            "5",
        ]
    )
    original = _agent(model, prompt)
    session, path = _record(original, _code_query(), "add 2 and 3")
    stored = _stored_snapshots(path)
    assert stored and all(s["redactions"] == [] for s in stored)
    last = max(s["snapshot_id"] for s in session.snapshots)
    fresh = _agent(ScriptedModel(), "another prompt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RedactedSnapshotWarning)
        report = session.resume_from_snapshot(last, agent=fresh)
    assert report["redactions"] == []
    assert fresh.system_prompt == prompt
    assert orjson.dumps(fresh.messages) == orjson.dumps(original.messages)


def test_secret_bearing_snapshot_lists_where_and_resume_reports_it() -> None:
    """Redacted places are listed (path and rule, no value) and resume warns naming them."""
    from devduck_otel.testing import ScriptedModel

    prompt = f"Deploy with the key {OPENAI_KEY} when asked.\n" + devduck_prompt(50_000)
    original = _agent(ScriptedModel(["done"]), prompt)
    query = f"curl -H 'Authorization: Bearer {BEARER}' https://api.example.com/v1/models"
    session, path = _record(original, query)
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            assert OPENAI_KEY.encode() not in data and BEARER.encode() not in data, name
    last = max(s["snapshot_id"] for s in session.snapshots)
    expected = [
        {"path": "$.system_prompt", "rule": "openai-or-anthropic-key"},
        {"path": "$.agent_messages[0].content[0].text", "rule": "bearer-token"},
    ]
    stored = {s["snapshot_id"]: s for s in _stored_snapshots(path)}
    assert [r for r in stored[last]["redactions"] if r in expected] == expected
    fresh = _agent(ScriptedModel(), "another prompt")
    with pytest.warns(RedactedSnapshotWarning) as caught:
        report = session.resume_from_snapshot(last, agent=fresh)
    message = str(caught[0].message)
    assert "$.system_prompt (openai-or-anthropic-key)" in message
    assert "$.agent_messages[0].content[0].text (bearer-token)" in message
    assert [r for r in report["redactions"] if r in expected] == expected
    assert any("[REDACTED]" in note for note in report["notes"])
    assert fresh.system_prompt == prompt.replace(OPENAI_KEY, "[REDACTED]")
    assert fresh.messages[0]["content"][0]["text"] == query.replace(BEARER, "[REDACTED]")
    assert orjson.dumps(fresh.messages[1:]) == orjson.dumps(original.messages[1:])


class _Vault:
    """Agent state that is not JSON: it is pickled (redacted as it is pickled)."""

    def __init__(self) -> None:
        self.api_key = OPENAI_KEY
        self.region = "eu-west-1"


class _PlainAgent:
    def __init__(self, state: Any) -> None:
        self.messages: list[Any] = [user("hello")]
        self.system_prompt = "plain"
        self.state = state
        self.tool_names: list[str] = []


def test_pickled_state_with_a_secret_is_listed() -> None:
    """A state blob that holds [REDACTED] is listed as ``$.state_blob`` (pickled-state)."""
    devduck_otel.start_recording()
    devduck_otel.snapshot(_PlainAgent(_Vault()), "vault")
    devduck_otel.snapshot(_PlainAgent({"clean": True}), "clean")
    path = devduck_otel.stop_recording()
    assert path is not None
    snaps = {s["description"]: s for s in _stored_snapshots(path)}
    assert snaps["vault"]["redactions"] == [{"path": "$.state_blob", "rule": "pickled-state"}]
    assert snaps["clean"]["redactions"] == []


@pytest.mark.parametrize(
    "stored",
    [None, "everything", [1, None, {"path": 3, "rule": "x"}, {"path": "$.a"}], {"path": "$"}],
)
def test_older_or_broken_redactions_read_as_empty(tmp_path: Path, stored: Any) -> None:
    """Sessions written before ``redactions`` existed (or with garbage there) resume quietly."""
    entries = session_entries(snapshots=[[user("a")]])
    records = orjson.loads(entries["snapshots.json"])
    if stored is not None:
        records[0]["redactions"] = stored
    entries["snapshots.json"] = orjson.dumps(records)
    session = load_session(write_zip(tmp_path / "old.zip", entries))
    assert session.get_snapshot(1)["redactions"] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", RedactedSnapshotWarning)
        assert session.resume_from_snapshot(1)["redactions"] == []


def test_a_listed_redaction_warns_even_without_an_agent(tmp_path: Path) -> None:
    """A stored list is reported as read; the warning names at most 20 places."""
    entries = session_entries(snapshots=[[user("a")]])
    records = orjson.loads(entries["snapshots.json"])
    records[0]["redactions"] = [{"path": f"$.x[{i}]", "rule": "jwt"} for i in range(25)]
    entries["snapshots.json"] = orjson.dumps(records)
    session = load_session(write_zip(tmp_path / "s.zip", entries))
    with pytest.warns(RedactedSnapshotWarning, match=r"\$\.x\[19\] \(jwt\) and 5 more"):
        report = session.resume_from_snapshot(1)
    assert len(report["redactions"]) == 25
