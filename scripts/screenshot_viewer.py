"""Record a small demo agent run and screenshot its HTML timeline for the README.

Usage (from the repository root)::

    .venv/bin/python scripts/screenshot_viewer.py            # writes docs/img/timeline.png
    .venv/bin/python scripts/screenshot_viewer.py -o out.png --html out.html

The run is real: ``devduck_otel.start_recording``, ``@devduck_otel.agent`` and
``@devduck_otel.tool`` functions that read a file and call an HTTP server on
loopback, and snapshots before and after each turn. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class _Weather(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        """Answer with a fixed forecast."""
        time.sleep(0.03)
        body = json.dumps(
            {"city": self.path.rsplit("/", 1)[-1], "forecast": "sunny", "high_c": 21}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@contextmanager
def weather_server() -> Iterator[str]:
    """Serve the forecast on loopback; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Weather)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class DemoAgent:
    """A scripted agent: messages, a system prompt, tools and a model name."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.system_prompt = "You plan trips. Use the tools; answer briefly."
        self.tool_names = ["read_notes", "get_forecast", "add_days"]
        self.model = "scripted-demo-model"


def record_demo(folder: Path) -> Path:
    """Record the demo run under ``folder`` and return the session ZIP."""
    os.environ["DEVDUCK_RECORDINGS_DIR"] = str(folder / "recordings")
    import requests

    import devduck_otel

    notes = folder / "trip-notes.txt"
    notes.write_text("Lisbon in May. Leave on day 3. Budget: 900 EUR.\n", encoding="utf-8")

    with weather_server() as base:

        @devduck_otel.tool
        def read_notes(path: str) -> str:
            time.sleep(0.02)
            return Path(path).read_text(encoding="utf-8")

        @devduck_otel.tool
        def get_forecast(city: str) -> dict[str, Any]:
            response = requests.get(f"{base}/forecast/{city}", timeout=5)
            return dict(response.json())

        @devduck_otel.tool
        def add_days(start: int, days: int) -> int:
            time.sleep(0.01)
            return start + days

        @devduck_otel.agent(name="trip-planner")
        def turn(agent: DemoAgent, question: str) -> str:
            agent.messages.append({"role": "user", "content": [{"text": question}]})
            devduck_otel.snapshot(agent, f"before: {question}", last_query=question)
            text = read_notes(str(notes))
            forecast = get_forecast("Lisbon")
            back = add_days(3, 4)
            answer = f"Leave on day 3, back on day {back}; {forecast['forecast']} ({text.split('.')[0]})."
            agent.messages.append({"role": "assistant", "content": [{"text": answer}]})
            devduck_otel.snapshot(
                agent, f"after: {question}", last_query=question, last_result=answer
            )
            return answer

        devduck_otel.start_recording(session_id="trip-planner-demo")
        agent = DemoAgent()
        turn(agent, "Plan my Lisbon trip from my notes.")
        time.sleep(0.05)
        turn(agent, "And the weather there?")
        path = devduck_otel.stop_recording()
    if path is None:
        raise SystemExit("recording produced no ZIP")
    return Path(path)


def screenshot(html: Path, png: Path) -> None:
    """Open the page in headless Chromium, open the snapshot after a tool call, screenshot it."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.support.browser import ARGS, CHROMIUM

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 820})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(html.as_uri())
        page.wait_for_selector("#event-spacer .row:not([hidden])")
        page.locator("#event-spacer .row:not([hidden])", has_text="get_forecast").first.click()
        page.keyboard.press("]")  # the next snapshot: its chat and what changed
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png))
        browser.close()
    if errors:
        raise SystemExit(f"the page raised JavaScript errors: {errors}")


def main() -> None:
    """Record, render and screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "img" / "timeline.png")
    parser.add_argument("--html", type=Path, help="Also keep the HTML page here.")
    args = parser.parse_args()
    from devduck_otel.cli import main as devduck_otel_cli

    with tempfile.TemporaryDirectory(prefix="devduck-demo-") as tmp:
        zip_path = record_demo(Path(tmp))
        html = args.html or Path(tmp) / "timeline.html"
        try:
            devduck_otel_cli(["view", str(zip_path), "-o", str(html)])
        except SystemExit as exc:
            if exc.code:
                raise
        screenshot(html, args.output)
    print(args.output)


if __name__ == "__main__":
    main()
