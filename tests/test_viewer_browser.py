"""The HTML timeline in a real headless Chromium: clicks, filters, safety and scale.

These tests fail (never skip) when Debian's Chromium is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

import devduck_otel
from devduck_otel.cli import main
from tests.support.browser import ARGS, CHROMIUM
from tests.support.cli_sessions import big_zip, conversation_zip, write_zip

pytestmark = pytest.mark.browser

HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
MAX_NODES = 1500


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that fails the test on any JavaScript error or console error."""
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    opened.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    yield opened
    context.close()
    assert errors == []


def view(session: Path, out: Path) -> Path:
    """Run `devduck-otel view SESSION -o OUT` and return the page."""
    with pytest.raises(SystemExit) as exc:
        main(["view", str(session), "-o", str(out)])
    assert exc.value.code == 0
    return out


def open_page(page: Page, html: Path) -> None:
    """Load the page and wait until the list has rows."""
    page.goto(html.as_uri())
    page.wait_for_selector("#event-spacer .row:not([hidden])")


def record_real_session() -> Path:
    """Record a small agent run with the devduck_otel API and return its ZIP."""

    class Agent:
        def __init__(self) -> None:
            self.messages: list[dict[str, Any]] = []
            self.system_prompt = "You add numbers."

    @devduck_otel.tool
    def add(a: int, b: int) -> int:
        return a + b

    agent = Agent()
    devduck_otel.start_recording(session_id="browser-run")
    agent.messages.append({"role": "user", "content": [{"text": "What is 20 + 22?"}]})
    devduck_otel.snapshot(agent, "question asked")
    result = add(20, 22)
    agent.messages.append({"role": "assistant", "content": [{"text": f"It is {result}."}]})
    devduck_otel.snapshot(agent, "answered")
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


def row_texts(page: Page, column: str) -> list[str]:
    """The texts of one column in the rendered (visible) list rows."""
    return page.locator(f"#event-spacer .row:not([hidden]) .{column}").all_text_contents()


def test_clicking_an_event_shows_its_data(page: Page, tmp_path: Path) -> None:
    """A click on the tool.call row of a real recording shows its name and arguments."""
    html = view(record_real_session(), tmp_path / "real.html")
    open_page(page, html)
    assert page.locator("#details-json").text_content() == ""
    page.locator("#event-spacer .row:not([hidden])", has_text="tool.call").first.click()
    details = page.locator("#details-json").text_content() or ""
    assert '"name": "add"' in details and '"a": 20' in details and '"b": 22' in details
    assert "tool.call" in (page.locator("#details-title").text_content() or "")
    assert page.locator("#event-spacer .row.selected").count() == 1


def test_clicking_a_snapshot_flag_on_the_canvas_shows_its_messages(
    page: Page, tmp_path: Path
) -> None:
    """The second snapshot's flag opens its restored messages (from the list, if clustered)."""
    html = view(record_real_session(), tmp_path / "real.html")
    open_page(page, html)
    point = page.evaluate("devduckViewer.pointFor('snapshot', 1)")
    page.mouse.click(point["x"], point["y"])
    if page.locator("#cluster-list").count():  # both flags on one: pick #2 from its list
        page.locator("#cluster-list button", has_text="#2").click()
    assert "snapshot #2" in (page.locator("#details-title").text_content() or "")
    chat = page.locator("#chat .msg[data-index]").all_text_contents()
    assert len(chat) == 2 and "What is 20 + 22?" in chat[0] and "It is 42." in chat[1]


def test_clicking_a_span_on_the_canvas_shows_it(page: Page, tmp_path: Path) -> None:
    """Spans are drawn as a waterfall; clicking the tool span shows its attributes."""
    calls = [("add", {"a": 1, "b": 2}, 3), ("mul", {"a": 2, "b": 5}, 10)]
    html = view(conversation_zip(tmp_path / "c.zip", calls), tmp_path / "c.html")
    open_page(page, html)
    names = page.evaluate(
        "JSON.parse(document.getElementById('devduck-data').textContent).spans.map(s => s.n)"
    )
    index = names.index("execute_tool mul")
    point = page.evaluate(f"devduckViewer.pointFor('span', {index})")
    page.mouse.click(point["x"], point["y"])
    assert page.locator("#details-title").text_content() == "execute_tool mul"
    assert '"devduck.layer": "tool"' in (page.locator("#details-json").text_content() or "")


def test_filtering_layers_and_types(page: Page, tmp_path: Path) -> None:
    """Unticking a layer hides its events; choosing a type keeps only that type."""
    calls = [("add", {"a": 1, "b": 2}, 3), ("mul", {"a": 2, "b": 5}, 10)]
    html = view(conversation_zip(tmp_path / "c.zip", calls), tmp_path / "c.html")
    open_page(page, html)
    assert "sys" in row_texts(page, "c-layer")
    page.locator("#layer-sys").uncheck()
    layers = row_texts(page, "c-layer")
    assert "sys" not in layers and len(layers) == 8
    assert page.locator("#list-status").text_content() == "showing 8 of 10 events"
    page.locator("#type-filter").select_option(label="tool.call")
    assert row_texts(page, "c-type") == ["tool.call", "tool.call"]
    page.locator("#layer-sys").check()
    page.locator("#type-filter").select_option(label="all event types")
    assert page.evaluate("devduckViewer.shown()") == 10
    page.locator("#text-filter").fill("mul")
    page.wait_for_function("() => devduckViewer.shown() === 3")
    assert all("mul" in text for text in row_texts(page, "c-sum"))


def test_a_hostile_message_is_shown_as_text_and_never_runs(page: Page, tmp_path: Path) -> None:
    """Script in a message is displayed literally; nothing injected runs or renders."""
    html = view(
        conversation_zip(tmp_path / "h.zip", [("echo", {"t": HOSTILE}, HOSTILE)], question=HOSTILE),
        tmp_path / "h.html",
    )
    open_page(page, html)
    page.locator("#event-spacer .row[data-event='0']").click()
    assert HOSTILE in (page.locator("#details-json").text_content() or "")
    assert HOSTILE in (page.locator("#details-title").text_content() or "")
    page.locator("#event-spacer .row", has_text="tool.call").first.click()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2


def count_nodes(page: Page) -> int:
    """Elements in the document."""
    return int(page.evaluate("document.getElementsByTagName('*').length"))


def test_100000_events_keep_the_dom_small(page: Page, tmp_path: Path) -> None:
    """With 100,000 events the DOM stays bounded while scrolling, filtering and clicking."""
    html = view(big_zip(tmp_path / "big.zip", 100_000), tmp_path / "big.html")
    open_page(page, html)
    assert page.evaluate("devduckViewer.shown()") == 100_000
    assert count_nodes(page) < MAX_NODES
    page.locator("#event-list").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = page.locator("#event-spacer .row[data-event='99999']")
    last.wait_for()
    assert count_nodes(page) < MAX_NODES
    last.click()
    assert '"/tmp/f99999"' in (page.locator("#details-json").text_content() or "")
    page.locator("#layer-agent").uncheck()
    assert page.evaluate("devduckViewer.shown()") == 66_667
    assert count_nodes(page) < MAX_NODES


def test_past_100000_events_the_page_shows_the_first_and_counts_all(
    page: Page, tmp_path: Path
) -> None:
    """Beyond the viewer's 100,000 events the page says so and counts every event."""
    html = view(big_zip(tmp_path / "bigger.zip", 100_030), tmp_path / "bigger.html")
    open_page(page, html)
    assert page.evaluate("devduckViewer.shown()") == 100_000
    note = page.locator("#aggregate-note")
    assert note.is_visible()
    text = note.text_content() or ""
    assert text.startswith("Showing the first 100,000 of 100,030 events")
    # big_zip cycles sys, tool, agent: 33,344 + 33,343 + 33,343 events
    for kind in ("sys file.open 33,344", "tool tool.call 33,343", "agent message 33,343"):
        assert kind in text, text
    assert count_nodes(page) < MAX_NODES


def test_a_small_session_has_no_aggregate_note(page: Page, tmp_path: Path) -> None:
    """Up to 100,000 events every event is drawn and no note is shown."""
    open_page(page, view(big_zip(tmp_path / "small.zip", 30), tmp_path / "small.html"))
    assert page.locator("#aggregate-note").is_hidden()


def test_screenshot(page: Page, tmp_path: Path) -> None:
    """The page renders to a non-trivial screenshot after a click."""
    html = view(record_real_session(), tmp_path / "real.html")
    open_page(page, html)
    page.locator("#event-spacer .row", has_text="tool.call").first.click()
    shot = tmp_path / "timeline.png"
    page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000


def test_zoom_pan_hover_and_keyboard(page: Page, tmp_path: Path) -> None:
    """Buttons and the wheel zoom, dragging pans, double-click fits, arrows walk the list."""
    calls = [("add", {"a": 1, "b": 2}, 3), ("mul", {"a": 2, "b": 5}, 10)]
    html = view(conversation_zip(tmp_path / "c.zip", calls), tmp_path / "c.html")
    open_page(page, html)
    full = page.evaluate("devduckViewer.view()")
    page.locator("#zoom-in").click()
    zoomed = page.evaluate("devduckViewer.view()")
    assert zoomed[1] - zoomed[0] == pytest.approx((full[1] - full[0]) / 2)
    box = page.locator("#timeline-canvas").bounding_box()
    assert box is not None
    y = box["y"] + 60
    page.mouse.move(box["x"] + 400, y)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        f"() => devduckViewer.view()[1] - devduckViewer.view()[0] < {zoomed[1] - zoomed[0]}"
    )
    before = page.evaluate("devduckViewer.view()")
    page.mouse.down()
    page.mouse.move(box["x"] + 600, y, steps=5)
    page.mouse.up()
    after = page.evaluate("devduckViewer.view()")
    assert after[0] < before[0]
    page.mouse.dblclick(box["x"] + 300, y)
    assert page.evaluate("devduckViewer.view()") == full
    point = page.evaluate("devduckViewer.pointFor('event', 2)")
    page.mouse.move(point["x"], point["y"])
    assert "tool.call" in (page.locator("#tooltip").text_content() or "")
    assert page.locator("#tooltip").is_visible()
    page.locator("#event-spacer .row[data-event='0']").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.locator("#event-spacer .row.selected").get_attribute("data-event") == "2"
    assert "add(a=1, b=2)" in (page.locator("#details-title").text_content() or "")


def test_an_empty_session_opens_cleanly(page: Page, tmp_path: Path) -> None:
    """A session with no events, spans or snapshots renders without JavaScript errors."""
    html = view(write_zip(tmp_path / "empty.zip", [], [], session_id="empty"), tmp_path / "e.html")
    page.goto(html.as_uri())
    page.wait_for_function("() => document.getElementById('list-status').textContent !== ''")
    assert page.locator("#list-status").text_content() == "0 events"
    assert page.locator("#session-title").text_content() == "empty"
    box = page.locator("#timeline-canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 300, box["y"] + 40)
    assert page.locator("#details-json").text_content() == ""
