"""Resuming into an agent of another framework reports the mismatch instead of hiding it."""

from __future__ import annotations

from typing import Any

from strands import Agent, tool

import devduck_otel
from devduck_otel.testing import ScriptedModel


@tool
def lookup(term: str) -> str:
    """Look a term up."""
    return term.upper()


class Plain:
    """A generic agent."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": "hi"}]}]
        self.tool_names = ["search"]


def test_generic_snapshot_into_strands_agent_reports_framework_and_tools() -> None:
    """A generic snapshot restored into a Strands agent says so, and names tool differences."""
    devduck_otel.start_recording()
    devduck_otel.snapshot(Plain())
    path = devduck_otel.stop_recording()
    assert path is not None
    target = Agent(model=ScriptedModel(["ok"]), tools=[lookup], callback_handler=None)
    report = devduck_otel.load_session(path).resume_from_snapshot(1, agent=target)
    assert report["framework"] == "strands" and report["framework_mismatch"] is True
    assert any("taken from a generic agent" in note for note in report["notes"])
    assert report["missing_tools"] == ["search"] and report["extra_tools"] == ["lookup"]
    assert target.messages == [{"role": "user", "content": [{"text": "hi"}]}]


def test_same_framework_reports_no_mismatch() -> None:
    """Restoring into an agent of the same framework reports no mismatch."""
    devduck_otel.start_recording()
    devduck_otel.snapshot(Plain())
    path = devduck_otel.stop_recording()
    assert path is not None
    report = devduck_otel.load_session(path).resume_from_snapshot(1, agent=Plain())
    assert report["framework"] == "generic" and report["framework_mismatch"] is False
