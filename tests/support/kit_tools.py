"""The real tools every framework's tests wrap: read a file, GET a URL, fail.

Each framework kit wraps these plain functions with its own decorator (LangChain's
``tool``, the Agents SDK's ``function_tool``), so the tools behave the same whatever
runs them.
"""

from __future__ import annotations

from pathlib import Path

import httpx


def read_note(path: str) -> str:
    """Read a text file."""
    return Path(path).read_text(encoding="utf-8")


def fetch(url: str) -> str:
    """GET a URL and return the body."""
    return httpx.get(url, timeout=10).text


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")
