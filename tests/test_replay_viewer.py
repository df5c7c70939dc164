"""The HTML timeline of a replay: its step count, parent session and fork point."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from strands import Agent

import devduck_otel
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.test_replay_strands import weather
from tests.test_viewer_browser import browser, open_page, page, view

__all__ = ["browser", "page"]  # the fixtures, imported for this module


def test_a_fork_shows_its_parent_and_fork_point(page: Page, tmp_path: Path) -> None:
    """A fork's header names its parent and fork step; a step's span tooltip shows its number."""
    model = ScriptedModel([tool_turn("weather", {"city": "Oslo"}), "Rainy."])
    agent = Agent(model=model, tools=[weather], callback_handler=None)
    devduck_otel.instrument(agent)
    agent("Weather in Oslo?")
    session = devduck_otel.load_session(devduck_otel.stop_recording() or "")
    fresh = Agent(model=ScriptedModel(["Live answer."]), tools=[weather], callback_handler=None)
    result = session.replay(fresh, until=2, override="sunny")
    open_page(page, view(Path(result.session_path or ""), tmp_path / "fork.html"))
    stats = page.locator("#session-stats").text_content() or ""
    assert "3 steps" in stats
    assert f"replay of {session.session_id}, forked at step 2" in stats
    names = page.evaluate(
        "JSON.parse(document.getElementById('devduck-data').textContent).spans.map(s => s.n)"
    )
    index = names.index("execute_tool weather")
    point = page.evaluate(f"devduckViewer.pointFor('span', {index})")
    page.mouse.move(point["x"], point["y"])
    assert (page.locator("#tooltip").text_content() or "").startswith(
        "step 2  execute_tool weather"
    )
