"""The README's quick starts run as written (the Strands one with a scripted model)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _block(marker: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no python block after <!-- {marker} -->"
    return match.group(1)


def _run(code: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    """The quick start prints the loaded session, the tool event and the restored count."""
    lines = _run(_block("quickstart"), tmp_path).splitlines()
    assert re.fullmatch(r"LoadedSession\(events=\d+, snapshots=2, duration=[\d.]+s\)", lines[0])
    assert lines[1].startswith("{'name': 'add', 'args': {'a': 1, 'b': 2}")
    assert lines[2] == "1"


def test_strands_quickstart_runs_with_a_scripted_model(tmp_path: Path) -> None:
    """The Strands quick start works as written once the LLM is a scripted model."""
    prelude = textwrap.dedent(
        f"""
        import sys, functools
        sys.path.insert(0, {str(ROOT)!r})
        import strands
        from tests.support.scripted_model import ScriptedModel, tool_turn
        _model = ScriptedModel([
            tool_turn("word_count", {{"text": "time travel for agents"}}), "4 words.",
            tool_turn("word_count", {{"text": "hello world"}}), "2 words.",
        ])
        strands.Agent = functools.partial(strands.Agent, model=_model, callback_handler=None)
        """
    )
    out = _run(prelude + _block("strands-quickstart"), tmp_path)
    assert out.strip().splitlines()[-1].strip() == "2 words."


def test_openai_agents_quickstart_runs_with_a_scripted_model(tmp_path: Path) -> None:
    """The OpenAI Agents SDK quick start works as written once the LLM is a scripted model."""
    prelude = textwrap.dedent(
        f"""
        import sys, functools
        sys.path.insert(0, {str(ROOT)!r})
        import agents
        from tests.support.openai_agents_model import ScriptedAgentsModel
        _model = ScriptedAgentsModel([
            ("word_count", {{"text": "time travel for agents"}}), "4 words.",
            "2 words.",
        ])
        agents.Agent = functools.partial(agents.Agent, model=_model)
        """
    )
    out = _run(prelude + _block("openai-agents-quickstart"), tmp_path)
    assert out.strip().splitlines()[-1].strip() == "2 words."
