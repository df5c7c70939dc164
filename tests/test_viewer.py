"""The HTML timeline page: self-contained, escaped, and fed the right data."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import devduck_otel
from devduck_otel.cli import main
from devduck_otel.cli._viewer import _SCRIPTS
from devduck_otel.cli._viewer_marks import (
    errors_payload,
    event_error,
    failed_tool_results,
    page_value,
    span_error,
)
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.cli_sessions import T0, conversation_zip, event, otlp_span, write_zip
from tests.support.strands_kit import calc_agent
from tests.support.zipbuilder import build_legacy_zip

HOSTILE = (
    '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> & \u2028'
)
DATA_RE = re.compile(r'<script type="application/json" id="devduck-data">(.*?)</script>', re.S)


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def page_for(path: Path) -> str:
    """Run `devduck-otel view SESSION -o PAGE` and return the page."""
    target = path.with_suffix(".page.html")
    with pytest.raises(SystemExit) as exc:
        main(["view", str(path), "-o", str(target)])
    assert exc.value.code == 0
    return target.read_text(encoding="utf-8")


def data_text(page: str) -> str:
    """Return the raw text of the page's JSON data element."""
    match = DATA_RE.search(page)
    assert match is not None
    return match.group(1)


def embedded(page: str) -> Any:
    """Return the JSON data embedded in a page (strict: no NaN)."""
    return _strict(data_text(page))


def test_data_has_nothing_that_could_close_the_script(tmp_path: Path) -> None:
    """<, >, & and line separators never appear raw in the data, which still round-trips."""
    path = conversation_zip(
        tmp_path / "h.zip", [("echo", {"t": HOSTILE}, HOSTILE)], question=HOSTILE
    )
    text = data_text(page_for(path))
    assert not set("<>&\u2028") & set(text)
    data = _strict(text)
    assert data["events"]["d"][0]["data"]["content"] == HOSTILE
    assert data["events"]["d"][2]["data"]["args"] == {"t": HOSTILE}


def test_a_hostile_message_stays_data(tmp_path: Path) -> None:
    """A message that tries to close the script tag ends up only inside the JSON."""
    path = conversation_zip(
        tmp_path / "h.zip", [("echo", {"text": HOSTILE}, HOSTILE)], question=HOSTILE
    )
    page = page_for(path)
    assert "\\u003c/script\\u003e\\u003cscript\\u003ewindow.__pwned=1" in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page
    data = embedded(page)
    texts = [d["data"].get("content") for d in data["events"]["d"]]
    assert HOSTILE in texts


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    """No external scripts, styles, images or fetches; a CSP forbids network access."""
    page = page_for(conversation_zip(tmp_path / "s.zip", [("add", {"a": 1}, 1)]))
    assert "default-src 'none'" in page
    assert not re.search(r"<(link|img|iframe)\b", page)
    assert not re.search(r"\bsrc\s*=", page)
    assert not re.search(r"https?://", page)
    assert "__DEVDUCK_" not in page


def test_the_script_never_writes_html() -> None:
    """The page's scripts set text only: no innerHTML, outerHTML, insertAdjacentHTML or eval."""
    folder = resources.files("devduck_otel.cli")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".js"))
    assert names == sorted(_SCRIPTS)  # every script is on the page, and only these
    script = "".join(folder.joinpath(name).read_text(encoding="utf-8") for name in names)
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
    ):
        assert sink not in script


def test_payload_holds_events_spans_and_snapshots(tmp_path: Path) -> None:
    """Events are columns in time order; spans come from OTLP; snapshot messages are shared."""
    path = conversation_zip(tmp_path / "s.zip", [("add", {"a": 1, "b": 2}, 3)], session_id="sess-1")
    data = embedded(page_for(path))
    assert data["title"] == "sess-1"
    assert data["layers"] == ["agent", "tool", "sys"]
    times = data["events"]["t"]
    assert times == sorted(times) and len(times) == 7
    assert data["events"]["s"][2] == "add(a=1, b=2)"
    assert [s["n"] for s in data["spans"]] == ["invoke_agent demo", "execute_tool add"]
    first, second = data["snapshots"]
    assert second["m"][: len(first["m"])] == first["m"]  # the first message is stored once
    assert len(data["messages"]) == 3


def test_spans_nest_below_their_parent_in_the_same_layer(tmp_path: Path) -> None:
    """A child goes below its parent even where a row above is free; siblings share rows."""
    events = [event(T0 + 10, "tool", "tool.call", {"name": "a", "args": {}}, "a", None, 0)]
    spans = [
        otlp_span("execute_tool a", "tool", "a", "", T0, T0 + 20),
        otlp_span("execute_tool b", "tool", "b", "", T0 + 5, T0 + 100),
        otlp_span("execute_tool c", "tool", "c", "b", T0 + 30, T0 + 40),
        otlp_span("execute_tool d", "tool", "d", "b", T0 + 50, T0 + 60),
        otlp_span("execute_tool e", "tool", "e", "d", T0 + 52, T0 + 58),
        otlp_span("invoke_agent z", "agent", "z", "", T0, T0 + 100),
    ]
    path = write_zip(tmp_path / "n.zip", events, [], session_id="nest", spans=spans)
    rows = {s["n"].split()[-1]: s["r"] for s in embedded(page_for(path))["spans"]}
    assert rows == {"a": 0, "b": 1, "c": 2, "d": 2, "e": 3, "z": 0}


def test_spans_are_derived_from_events_without_otlp(tmp_path: Path) -> None:
    """With no spans.otlp.jsonl, spans come from the events' span ids and parents."""
    path = conversation_zip(tmp_path / "s.zip", [("add", {"a": 1}, 1)], with_spans=False)
    spans = {s["n"]: s["d"] for s in embedded(page_for(path))["spans"]}
    assert set(spans) == {"invoke_agent", "execute_tool add"}
    tool = spans["execute_tool add"]
    assert tool["parent_span_id"] == spans["invoke_agent"]["span_id"]
    assert tool["duration_ms"] >= 4.0  # widened back by the result's duration_ms


def test_snapshots_without_events_still_reach_the_page(tmp_path: Path) -> None:
    """A snapshot listed only in snapshots.json is on the page with its messages."""
    events = [
        event(T0 + i, "sys", "file.open", {"path": f"/f{i}"}, None, None, i) for i in range(3)
    ]
    snap = {
        "snapshot_id": 1,
        "timestamp": (T0 + 1) / 1e9,
        "description": "lonely",
        "agent_messages": [{"role": "user", "content": "hi"}],
    }
    path = write_zip(tmp_path / "s.zip", events, [snap], session_id="lonely")
    data = embedded(page_for(path))
    assert data["snapshots"][0]["d"]["description"] == "lonely"
    assert data["messages"] == [{"role": "user", "content": "hi"}]


def test_a_zip_of_the_original_devduck_makes_a_valid_page(tmp_path: Path) -> None:
    """ZIPs of devduck 1.15 (NaN in data, no span ids) give strict JSON, no spans, both snapshots."""
    data = embedded(page_for(build_legacy_zip(tmp_path / "legacy.zip")))
    assert data["spans"] == []
    assert [s["id"] for s in data["snapshots"]] == [1, 2]
    call = data["events"]["d"][data["events"]["s"].index("add(a=1, b=NaN)")]
    assert call["data"]["args"]["b"] == "nan"


def _failing_tool(ts: int, seq: int, span: str, error: Any) -> list[dict[str, Any]]:
    call = event(ts, "tool", "tool.call", {"name": "div", "args": {}}, span, None, seq)
    data = {"name": "div", "result": None, "error": error}
    return [call, event(ts + 5, "tool", "tool.result", data, span, None, seq + 1)]


def test_a_failed_tool_and_its_span_are_one_error(tmp_path: Path) -> None:
    """The payload lists failures in time order; an errored result and its ERROR span merge."""
    events = _failing_tool(T0 + 10, 0, "a", "ZeroDivisionError: division by zero")
    events += _failing_tool(T0 + 50, 2, "b", None)  # succeeded
    events.append(
        event(T0 + 90, "agent", "message", {"role": "error", "content": "boom"}, None, None, 4)
    )
    spans = [otlp_span(f"execute_tool {s}", "tool", s, "", T0 + 5, T0 + 20) for s in "ab"]
    spans[0]["status"] = {"code": 2, "message": "ZeroDivisionError: division by zero"}
    spans.append(otlp_span("chat", "agent", "c", "", T0 + 60, T0 + 70))
    spans[2]["status"] = {"code": "STATUS_CODE_ERROR", "message": "model down"}
    path = write_zip(tmp_path / "e.zip", events, [], session_id="errors", spans=spans)
    data = embedded(page_for(path))
    names = [s["n"] for s in data["spans"]]
    found = [(x["ev"], None if x["sp"] is None else names[x["sp"]], x["m"]) for x in data["errors"]]
    assert found == [
        (1, "execute_tool a", "ZeroDivisionError: division by zero"),
        (None, "chat", "model down"),
        (4, None, "boom"),
    ]


def test_a_message_reporting_a_failed_tool_is_part_of_that_error(recordings_dir: Path) -> None:
    """A real Strands run: the failed toolResult message joins its tool.result's error."""
    agent = calc_agent(ScriptedModel([tool_turn("explode", {"reason": "no"}), "sorry"]))
    devduck_otel.instrument(agent)
    agent("explode please")
    path = devduck_otel.stop_recording()
    assert path is not None
    data = embedded(page_for(Path(path)))
    summaries, errors = data["events"]["s"], data["errors"]
    assert len(errors) == 1, errors
    (error,) = errors
    assert summaries[error["ev"]].startswith("explode -> ")
    assert data["spans"][error["sp"]]["n"] == "execute_tool explode"
    assert [summaries[i] for i in error["also"]] == ["user: tool_result error: Error: boom: no"]


def test_a_failed_tool_result_message_alone_is_its_own_error() -> None:
    """Without a failed tool.result of the same call id, the message is an error itself."""

    def result(call_id: Any, status: str) -> dict[str, Any]:
        block = {"toolResult": {"toolUseId": call_id, "status": status, "content": [{"text": "x"}]}}
        return {"event_type": "message", "data": {"role": "user", "content": [block]}}

    failed = {"event_type": "tool.result", "data": {"call_id": "c1", "error": "E"}}
    events = [failed, result("c1", "error"), result("c2", "error"), result(None, "error")]
    events += [result(None, "error"), result("c3", "success")]
    found = errors_payload(events, [], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [])
    assert [(e["ev"], e.get("also"), e["m"]) for e in found] == [
        (0, [1], "E"),
        (2, None, "x"),
        (3, None, "x"),
        (4, None, "x"),
    ]
    anthropic = {"type": "tool_result", "tool_use_id": "t", "is_error": True, "content": "bad"}
    message = {"event_type": "message", "data": {"content": [anthropic, "text", None]}}
    assert failed_tool_results(message) == [("t", "bad")]
    assert failed_tool_results({"event_type": "message", "data": {"content": "plain"}}) == []
    assert failed_tool_results({"event_type": "message", "data": None}) == []
    assert failed_tool_results({}) == []


def test_error_marks_take_broken_hostile_and_empty_input() -> None:
    """Odd shapes never raise: no data, a non-dict status, a huge error text, nothing at all."""
    assert errors_payload([], [], [], []) == []
    assert event_error({}) is None
    assert event_error({"data": "not a dict", "event_type": "tool.result"}) is None
    assert event_error({"data": {"error": ""}}) is None
    assert event_error({"data": {"status": "error"}}) == "error"
    assert event_error({"event_type": "exception", "data": None}) == "exception"
    huge = event_error({"data": {"error": HOSTILE * 1000}})
    assert huge is not None and len(huge) <= 200
    assert span_error({"status": "ERROR"}) is None
    assert span_error({"status": {"code": 1}}) is None
    assert span_error({"status": {"code": 2}, "attributes": {"error.type": "ValueError"}}) == (
        "ValueError"
    )
    assert span_error({"status": {"code": 2}, "attributes": None}) == "error"


def test_message_bytes_reach_the_page_as_base64() -> None:
    """Bytes anywhere in a message become tagged base64 with their size; the rest is kept."""
    message = {"role": "user", "content": [{"image": {"source": {"bytes": b"\x89PNG"}}}, (1, 2)]}
    shown = page_value(message)
    tag = shown["content"][0]["image"]["source"]["bytes"]
    assert tag == {"__devduck__": "bytes", "base64": "iVBORw==", "size": 4}
    assert shown["content"][1] == [1, 2] and shown["role"] == "user"
    assert page_value(bytearray()) == {"__devduck__": "bytes", "base64": "", "size": 0}
    assert page_value(None) is None
