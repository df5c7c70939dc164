"""The real devduck 1.15.7 package's source, as prompt material (its own prompt holds it).

``make unit`` installs devduck into ``.venv-devduck`` (for benchmark case h);
``DEVDUCK_ORIGINAL_VENV`` names another such venv. Missing, the tests that need it
fail with the command that installs it: they never skip.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_VAR = "DEVDUCK_ORIGINAL_VENV"


def devduck_package() -> Path:
    """The installed ``devduck`` package directory.

    Raises:
        FileNotFoundError: devduck 1.15.7 is not installed (run ``make unit``).
    """
    venv = Path(os.environ.get(VENV_VAR) or REPO / ".venv-devduck")
    found = sorted(venv.glob("lib/python3*/site-packages/devduck/__init__.py"))
    if not found:
        raise FileNotFoundError(
            f"devduck 1.15.7 is not installed in {venv}: run `make unit` (or set {VENV_VAR})"
        )
    return found[0].parent


def devduck_prompt(chars: int = 190_000) -> str:
    """About ``chars`` characters of devduck's real source: its ``__init__.py`` first."""
    package = devduck_package()
    parts: list[str] = []
    total = 0
    for name in ("__init__.py", "landing.py", "callback_handler.py", "tui.py"):
        text = (package / name).read_text(encoding="utf-8")
        parts.append(f"# ---- devduck/{name}\n{text}")
        total += len(parts[-1])
        if total >= chars:
            break
    return "".join(parts)[:chars]
