"""Reading the spans a session ZIP holds in OTLP JSON, independently of the package."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any


def zip_spans(path: str | Path) -> dict[str, dict[str, Any]]:
    """Return the ZIP's OTLP-JSON spans keyed by span id."""
    spans: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(path) as zf:
        # Lines end at "\n" only: U+2028 and friends may stand raw inside a JSON string.
        for line in zf.read("spans.otlp.jsonl").decode().split("\n"):
            if not line:
                continue
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    spans.update({s["spanId"]: s for s in ss["spans"]})
    return spans
