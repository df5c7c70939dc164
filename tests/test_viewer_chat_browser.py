"""The HTML timeline in headless Chromium: errors marked, flags apart, snapshots as chats.

Sessions are recorded with the real API (the demo's own agent for the demo session);
the page is driven with clicks and keys, as a user would.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

import devduck_otel
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.cli_sessions import T0, event, otlp_span, write_zip
from tests.support.recording import run_json_child
from tests.support.strands_kit import calc_agent
from tests.test_viewer_browser import HOSTILE, browser, open_page, page, view

__all__ = ["browser", "page"]  # the fixtures, imported for this module

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Agent:
    """A generic agent: Strands-shaped messages, a system prompt and a state dict."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.system_prompt = "You divide numbers."
        self.state: dict[str, Any] = {"turns": 0}


def record_errors() -> Path:
    """Four divisions through a recorded tool; the second and fourth fail."""

    @devduck_otel.tool
    def divide(a: int, b: int) -> float:
        return a / b

    devduck_otel.start_recording(session_id="errors")
    for b in (2, 0, 5, 0):
        with contextlib.suppress(ZeroDivisionError):
            divide(10, b)
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


def record_conversation() -> Path:
    """Three snapshots of a conversation: a question with an image, a failed tool, an answer."""
    agent = Agent()
    devduck_otel.start_recording(session_id="chat")
    agent.messages.append(
        {
            "role": "user",
            "content": [
                {"text": "What is 10 / 0?"},
                {"image": {"format": "png", "source": {"bytes": PNG}}},
            ],
        }
    )
    devduck_otel.snapshot(agent, "asked", last_query="What is 10 / 0?")
    agent.messages.append(
        {
            "role": "assistant",
            "content": [
                {"text": "Dividing."},
                {"toolUse": {"toolUseId": "t1", "name": "divide", "input": {"a": 10, "b": 0}}},
            ],
        }
    )
    agent.messages.append(
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "t1",
                        "status": "error",
                        "content": [{"text": "ZeroDivisionError: division by zero"}],
                    }
                }
            ],
        }
    )
    agent.state = {"turns": 1, "failed": True}
    devduck_otel.snapshot(agent, "tool failed", last_query="What is 10 / 0?")
    agent.messages.append({"role": "assistant", "content": "It cannot be divided by zero."})
    agent.state = {"turns": 2, "failed": True}
    devduck_otel.snapshot(agent, "answered", last_query="What is 10 / 0?")
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


DEMO_CHILD = """
import contextlib, io, json, sys
sys.path.insert(0, "examples")
import demo
from demo_agent import loopback_server
with contextlib.redirect_stdout(io.StringIO()), loopback_server() as url:
    path = demo.record(__import__("pathlib").Path(sys.argv[1]), url)
print(json.dumps({"path": path}))
"""


def record_demo(workdir: Path) -> Path:
    """The demo's own recording (examples/demo.py: three turns, one failed tool).

    In a child interpreter: the demo runs its async tool with ``asyncio.run``, which
    cannot run beside Playwright's event loop.
    """
    return Path(run_json_child(DEMO_CHILD, str(workdir))["path"])


def record_many_snapshots(count: int) -> Path:
    """A long session: a tool call and a snapshot per turn, ``count`` turns."""

    @devduck_otel.tool
    def step(i: int) -> int:
        return i * 2

    agent = Agent()
    devduck_otel.start_recording(session_id="long")
    for i in range(count):
        agent.messages.append({"role": "user", "content": f"step {i}"})
        agent.messages.append({"role": "assistant", "content": str(step(i))})
        devduck_otel.snapshot(agent, f"turn {i}")
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


def data(page: Page, expression: str) -> Any:
    """Evaluate ``expression`` on the page's embedded data (``D``)."""
    return page.evaluate(
        f"(() => {{ const D = JSON.parse(document.getElementById('devduck-data').textContent);"
        f" return {expression}; }})()"
    )


def selected_row(page: Page) -> str | None:
    """The event index of the selected list row."""
    return page.locator("#event-spacer .row.selected").get_attribute("data-event")


def pixel(page: Page, point: dict[str, float]) -> list[int]:
    """The canvas colour (RGBA) at a page point."""
    return list(
        page.evaluate(
            """([x, y]) => {
                const c = document.getElementById('timeline-canvas'), r = c.getBoundingClientRect();
                const d = window.devicePixelRatio || 1;
                return Array.from(c.getContext('2d').getImageData(
                    Math.round((x - r.left) * d), Math.round((y - r.top) * d), 1, 1).data);
            }""",
            [point["x"], point["y"]],
        )
    )


def test_errors_are_marked_and_next_error_walks_them(page: Page, tmp_path: Path) -> None:
    """Failed tool results are red rows with a banner; the header counts them; `e` walks them."""
    open_page(page, view(record_errors(), tmp_path / "errors.html"))
    assert page.locator("#error-count").text_content() == "2 errors"
    failed = [str(i) for i in data(page, "D.errors.map(x => x.ev)")]
    results = data(
        page, "D.events.s.map((s, i) => [i, s]).filter(p => p[1].startsWith('divide ->'))"
    )
    assert len(failed) == 2 and len(results) == 4
    rows = page.locator("#event-spacer .row.error")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.event)")) == sorted(failed)
    page.locator(f"#event-spacer .row[data-event='{failed[0]}']").click()
    assert "ZeroDivisionError" in (page.locator("#details-error").text_content() or "")
    assert page.locator("#details-error").is_visible()
    page.keyboard.press("e")
    assert selected_row(page) == failed[1]
    assert "2 of 2" in (page.locator("#details-fields").text_content() or "")
    page.locator("#next-error").click()
    assert selected_row(page) == failed[0]
    ok = next(str(i) for i, s in results if str(i) not in failed)
    page.locator(f"#event-spacer .row[data-event='{ok}']").click()
    assert page.locator("#details-error").is_hidden()


def two_tool_spans(path: Path) -> Path:
    """Two wide tool spans, the second failed (its status ERROR, its result an error)."""
    events, spans = [], []
    for n, error in enumerate((None, "ZeroDivisionError: division by zero")):
        span, start = f"{n + 1:016x}", T0 + n * 40_000_000
        data: dict[str, Any] = {"name": "divide", "result": None if error else 5.0}
        if error:
            data["error"] = error
        events.append(event(start, "tool", "tool.call", {"name": "divide"}, span, None, 2 * n))
        events.append(event(start + 30_000_000, "tool", "tool.result", data, span, None, 2 * n + 1))
        spans.append(otlp_span("execute_tool divide", "tool", span, "", start, start + 30_000_000))
        if error:
            spans[-1]["status"] = {"code": 2, "message": error}
    return write_zip(path, events, [], session_id="spans", spans=spans)


def test_a_failed_span_is_drawn_red_and_shows_its_status(page: Page, tmp_path: Path) -> None:
    """The failed tool span's bar is red, a successful one is not; clicking it shows ERROR."""
    open_page(page, view(two_tool_spans(tmp_path / "spans.zip"), tmp_path / "spans.html"))
    assert data(page, "D.errors.map(x => [x.ev, x.sp])") == [[3, 1]]
    red = pixel(page, page.evaluate("devduckViewer.pointFor('span', 1)"))
    plain = pixel(page, page.evaluate("devduckViewer.pointFor('span', 0)"))
    assert red[0] > 200 and red[1] < 140, red
    assert not (plain[0] > 200 and plain[1] < 140), plain
    point = page.evaluate("devduckViewer.pointFor('span', 1)")
    page.mouse.click(point["x"], point["y"])
    assert page.evaluate("devduckViewer.selected()") == {"kind": "span", "index": 1}
    assert "ERROR" in (page.locator("#details-fields").text_content() or "")
    assert "ZeroDivisionError" in (page.locator("#details-error").text_content() or "")
    assert "1 error" in (page.locator("#error-count").text_content() or "")


def chat_roles(page: Page) -> list[str]:
    """The roles of the chat's messages, in order."""
    return page.locator("#chat .msg .msg-role").all_text_contents()


def test_clicking_a_snapshot_shows_its_conversation(page: Page, tmp_path: Path) -> None:
    """The chat shows roles in order, a tool use, a failed tool result, an image; state last, folded."""
    open_page(page, view(record_conversation(), tmp_path / "chat.html"))
    point = page.evaluate("devduckViewer.pointFor('snapshot', 1)")
    page.mouse.click(point["x"], point["y"])
    if page.locator("#cluster-list").count():  # flags that share a place: pick from the list
        page.locator("#cluster-list button", has_text="#2").click()
    assert "snapshot #2" in (page.locator("#details-title").text_content() or "")
    assert chat_roles(page) == ["system prompt", "user", "assistant", "user"]
    messages = page.locator("#chat .msg[data-index]")
    assert "What is 10 / 0?" in (messages.nth(0).text_content() or "")
    use = messages.nth(1).locator(".b-tool-use")
    assert "divide" in (use.text_content() or "") and '"a": 10' in (use.text_content() or "")
    result = messages.nth(2).locator(".b-tool-result")
    assert result.get_attribute("class") == "b-tool-result error"
    assert "ZeroDivisionError: division by zero" in (result.text_content() or "")
    image = messages.nth(0).locator(".b-image")
    assert f"image/png · {len(PNG)} bytes" in (image.text_content() or "")
    assert image.locator("img").evaluate("i => i.complete && i.naturalWidth") == 1
    order = page.evaluate(
        "['changes', 'chat', 'snapshot-state', 'snapshot-env'].map(id => document.getElementById(id))"
        ".map(n => Array.from(document.getElementById('details').querySelectorAll('*')).indexOf(n))"
    )
    assert order == sorted(order) and order[0] >= 0
    env = page.locator("#snapshot-env")
    assert env.evaluate("d => d.open") is False
    assert "variables" in (env.locator("summary").text_content() or "")
    assert not env.locator("pre").is_visible()
    assert page.locator("#details-json").text_content() == ""


def test_keys_step_through_snapshots_and_show_what_changed(page: Page, tmp_path: Path) -> None:
    """`]` / `[` (and n / p) step through snapshots; each shows what changed since the last."""
    open_page(page, view(record_conversation(), tmp_path / "chat.html"))
    page.keyboard.press("]")
    assert "snapshot #1" in (page.locator("#details-title").text_content() or "")
    assert "First snapshot" in (page.locator("#changes").text_content() or "")
    page.keyboard.press("]")
    assert "snapshot #2" in (page.locator("#details-title").text_content() or "")
    changes = page.locator("#changes")
    assert "Changed since #1" in (changes.text_content() or "")
    assert "2 messages added" in (changes.text_content() or "")
    new = page.locator("#chat .msg.new").evaluate_all("ms => ms.map(m => m.dataset.index)")
    assert new == ["1", "2"]
    keys = changes.locator("li").evaluate_all(
        "ls => Object.fromEntries(ls.map(l => [l.dataset.key, l.className]))"
    )
    assert keys["agent_state.turns"] == "key-changed"
    assert keys["agent_state.failed"] == "key-added"
    page.keyboard.press("n")
    assert "snapshot #3" in (page.locator("#details-title").text_content() or "")
    assert page.locator("#chat .msg.new").evaluate_all("ms => ms.map(m => m.dataset.index)") == [
        "3"
    ]
    assert "It cannot be divided by zero." in (page.locator("#chat .msg.new").text_content() or "")
    page.keyboard.press("]")  # the last one stays
    assert "snapshot #3" in (page.locator("#details-title").text_content() or "")
    page.keyboard.press("p")
    page.keyboard.press("[")
    assert "snapshot #1" in (page.locator("#details-title").text_content() or "")
    page.locator("#help-toggle").click()
    help_text = page.locator("#help").text_content() or ""
    assert "next snapshot" in help_text and "next / previous error" in help_text
    page.keyboard.press("Escape")
    assert page.locator("#help").is_hidden()


def flag_boxes(page: Page) -> list[dict[str, Any]]:
    """The visible flag buttons: their boxes and the snapshots each stands for.

    Waits (up to 5 s) until every visible flag names its snapshots: a flag left
    without them for longer fails the test.
    """
    page.wait_for_function(
        "[...document.querySelectorAll('#flags .flag:not([hidden])')]"
        ".every(b => b.dataset.snapshots)",
        timeout=5000,
    )
    return list(
        page.locator("#flags .flag:not([hidden])").evaluate_all(
            """bs => bs.map(b => { const r = b.getBoundingClientRect();
                return { x0: r.left, x1: r.right, y0: r.top, y1: r.bottom, text: b.textContent,
                         members: b.dataset.snapshots.split(',').map(Number) }; })"""
        )
    )


def assert_apart(boxes: list[dict[str, Any]]) -> None:
    """No two flag boxes overlap."""
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
            )
            assert apart, (a, b)


def test_the_demo_flags_never_overlap(page: Page, tmp_path: Path) -> None:
    """Each of the demo's 7 snapshots is on exactly one flag, and no two flags overlap."""
    open_page(page, view(record_demo(tmp_path), tmp_path / "demo.html"))
    boxes = flag_boxes(page)
    assert_apart(boxes)
    assert sorted(k for b in boxes for k in b["members"]) == list(range(7))
    for b in boxes:
        assert b["x1"] - b["x0"] >= 20  # a readable label, never a sliver


def test_92_snapshots_cluster_and_every_one_is_reachable(page: Page, tmp_path: Path) -> None:
    """92 flags become non-overlapping clusters with counts; a cluster lists its members."""
    open_page(page, view(record_many_snapshots(92), tmp_path / "long.html"))
    boxes = flag_boxes(page)
    assert_apart(boxes)
    assert sorted(k for b in boxes for k in b["members"]) == list(range(92))
    clusters = [b for b in boxes if len(b["members"]) > 1]
    assert clusters and len(boxes) < 92
    for b in clusters:
        assert b["text"].endswith(f"({len(b['members'])})")
    biggest = max(clusters, key=lambda b: len(b["members"]))
    before = page.evaluate("devduckViewer.view()")
    page.mouse.click((biggest["x0"] + biggest["x1"]) / 2, (biggest["y0"] + biggest["y1"]) / 2)
    listed = page.locator("#cluster-list button")
    assert listed.count() == len(biggest["members"])
    after = page.evaluate("devduckViewer.view()")
    assert after[1] - after[0] < before[1] - before[0]  # zoomed in on the cluster
    assert_apart(flag_boxes(page))
    last = biggest["members"][-1]
    listed.nth(len(biggest["members"]) - 1).click()
    assert f"snapshot #{last + 1} " in (page.locator("#details-title").text_content() or "")
    for _ in range(3):
        page.locator("#zoom-in").click()
        assert_apart(flag_boxes(page))


def test_hostile_content_in_the_chat_stays_text(page: Page, tmp_path: Path) -> None:
    """Script in text, tool input and image fields is shown as text; no image from it loads."""
    agent = Agent()
    devduck_otel.start_recording(session_id="hostile-chat")
    agent.system_prompt = HOSTILE
    agent.messages = [
        {"role": HOSTILE, "content": HOSTILE},
        {
            "role": "assistant",
            "content": [
                {"text": HOSTILE},
                {"toolUse": {"toolUseId": HOSTILE, "name": HOSTILE, "input": {"x": HOSTILE}}},
                {"image": {"format": "svg+xml", "source": {"bytes": HOSTILE.encode()}}},
                {"image": {"format": 'png" onerror="window.__pwned=3', "source": {"bytes": PNG}}},
                {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png"}},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{HOSTILE}"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "text/html", "data": "PHNjcmlwdD4="},
                },
            ],
        },
    ]
    devduck_otel.snapshot(agent, HOSTILE)
    path = devduck_otel.stop_recording()
    assert path is not None
    open_page(page, view(Path(path), tmp_path / "hostile.html"))
    page.keyboard.press("]")
    chat = page.locator("#chat")
    assert HOSTILE in (chat.locator(".msg-role").first.text_content() or "") or (
        HOSTILE in (chat.text_content() or "")
    )
    assert chat.locator(".b-text", has_text="window.__pwned=1").count() == 3
    assert HOSTILE in (chat.locator(".b-tool-use").text_content() or "")
    assert chat.locator(".b-image").count() == 5
    assert page.locator("img").count() == 0
    assert "remote image http://127.0.0.1:9/x.png" in (chat.text_content() or "")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 2
    assert page.locator("#chat .msg.role-other").count() == 1


def test_a_message_reporting_a_failed_tool_is_marked_with_it(page: Page, tmp_path: Path) -> None:
    """A real Strands run: the failed tool result and the message carrying it are one error."""
    agent = calc_agent(ScriptedModel([tool_turn("explode", {"reason": "no"}), "sorry"]))
    devduck_otel.instrument(agent)
    agent("explode please")
    path = devduck_otel.stop_recording()
    assert path is not None
    open_page(page, view(Path(path), tmp_path / "strands.html"))
    assert page.locator("#error-count").text_content() == "1 error"
    summaries = data(page, "D.events.s")
    wanted = {
        str(i) for i, s in enumerate(summaries) if s.startswith(("explode ->", "user: tool_result"))
    }
    assert len(wanted) == 2
    rows = page.locator("#event-spacer .row.error")
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.event)")) == wanted
