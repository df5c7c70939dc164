"""``show`` and ``snapshot`` print message content readably; ``--json`` keeps it raw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import devduck_otel
from devduck_otel.cli import main
from devduck_otel.cli._content import content_text, message_text
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.strands_kit import calc_agent

PNG = b"\x89PNG\r\n\x1a\n" + bytes(30)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run ``devduck-otel ARGS`` in-process; return exit code and stdout."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code or 0), capsys.readouterr().out


@pytest.fixture
def strands_zip(recordings_dir: Path) -> Path:
    """A real Strands run: an image in the prompt, a tool that works and one that fails."""
    model = ScriptedModel(
        [
            tool_turn("add", {"a": 1, "b": 2}, text="Adding."),
            tool_turn("explode", {"reason": "no"}),
            "It is 3.",
        ]
    )
    agent = calc_agent(model)
    devduck_otel.instrument(agent)
    prompt: Any = [
        {"text": "What is 1 + 2?"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
    ]
    agent(prompt)
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


EXPECTED = [
    "user: What is 1 + 2? [image png, 38 bytes]",
    "assistant: Adding. tool_use add(a=1, b=2)",
    "user: tool_result success: 3",
    "assistant: tool_use explode(reason=no)",
    "user: tool_result error: Error: boom: no",
    "assistant: It is 3.",
]


def test_show_prints_strands_messages_readably(
    capsys: pytest.CaptureFixture[str], strands_zip: Path
) -> None:
    """Text as text, tool uses and results named, images by format and size: no raw JSON."""
    code, out = run(capsys, "show", str(strands_zip), "--type", "message")
    assert code == 0
    details = [line.split("message", 1)[1].strip() for line in out.splitlines()[1:]]
    assert details == EXPECTED
    assert '{"text"' not in out and "toolUse" not in out


def test_snapshot_prints_strands_messages_readably(
    capsys: pytest.CaptureFixture[str], strands_zip: Path
) -> None:
    """`snapshot N` lists each message as `[i] role: content`, one block a line."""
    code, out = run(capsys, "snapshot", str(strands_zip), "2")
    assert code == 0
    assert "[0] user: What is 1 + 2?\n    [image png, 38 bytes]\n" in out
    section = out.split("messages (6):\n", 1)[1].split("\n\n", 1)[0]
    listed = section.replace("\n    ", " ").splitlines()
    assert listed == [f"[{i}] {line}" for i, line in enumerate(EXPECTED)]


def test_show_json_stays_raw(capsys: pytest.CaptureFixture[str], strands_zip: Path) -> None:
    """`show --json` gives the recorded content blocks untouched, for programs."""
    code, out = run(capsys, "show", str(strands_zip), "--type", "message", "--json")
    assert code == 0
    rows = json.loads(out)
    rows = rows.get("events", rows) if isinstance(rows, dict) else rows
    contents = [row["data"]["content"] for row in rows]
    assert contents[1] == [
        {"text": "Adding."},
        {"toolUse": {"toolUseId": "call-add", "name": "add", "input": {"a": 1, "b": 2}}},
    ]
    assert contents[4][0]["toolResult"]["status"] == "error"


def test_openai_shaped_and_plain_messages_read_the_same_way() -> None:
    """Chat Completions tool calls and tool messages, data-URL images, Responses items."""
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    assert message_text({"role": "assistant", "content": None, "tool_calls": [call]}) == (
        "tool_use add(a=1)"
    )
    assert message_text({"role": "tool", "tool_call_id": "c1", "content": "3"}) == (
        "tool_result: 3"
    )
    url = "data:image/jpeg;base64,/9j/4AAQ"
    parts = [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": url}}]
    assert message_text({"role": "user", "content": parts}) == "see\n[image jpeg, 6 bytes]"
    assert content_text({"type": "image_url", "image_url": {"url": "https://x/y.png"}}) == (
        "[image https://x/y.png]"
    )
    assert content_text({"type": "function_call", "name": "f", "arguments": "{}"}) == "tool_use f()"
    assert content_text({"type": "function_call_output", "output": "ok"}) == "tool_result: ok"
    assert message_text("plain words") == "plain words"
    assert message_text({"role": "user", "content": "hi"}) == "hi"


def test_content_takes_broken_hostile_and_empty_input() -> None:
    """Odd shapes are shown, never dropped, and never raise."""
    assert message_text(None) == "" and message_text({}) == "" and content_text([]) == ""
    assert content_text({"weird": 1}) == '{"weird": 1}'
    assert content_text(42) == "42"
    assert content_text({"toolUse": {"name": "f", "input": "not json"}}) == "tool_use f(not json)"
    bad = {"image": {"format": "png", "source": {"bytes": "!!not base64!!"}}}
    assert content_text(bad) == "[image png]"
    tagged = {"__devduck__": "bytes", "base64": "AAAA"}
    assert content_text({"image": {"source": {"bytes": tagged}}}) == "[image, 3 bytes]"
    deep: Any = "x"
    for _ in range(1000):
        deep = [deep]
    assert content_text(deep) == "…"
    assert message_text({"role": "user", "content": None, "content_preview": "kept"}) == "kept"
    hostile = {"role": "user", "content": [{"text": "</script>\u2028\x00"}]}
    assert message_text(hostile) == "</script>\u2028\x00"
