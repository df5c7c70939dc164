"""The README's quick starts run as written (the Strands one with a scripted model)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_block(marker: str) -> str:
    """Return the python block after ``<!-- marker -->`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no python block after <!-- {marker} -->"
    return match.group(1)


def check_printed(block: str, stdout: str) -> None:
    """Assert ``stdout`` is what the block's ``print(...)  # comment`` lines promise.

    Each such comment is one printed line (blank lines aside: a Strands result
    ends in a newline); ``...`` in it stands for any text.
    """
    promised = re.findall(r"^\s*print\(.*\)  # (.*)$", block, re.M)
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == len(promised), (promised, lines)
    for want, got in zip(promised, lines, strict=True):
        pattern = ".*".join(re.escape(part) for part in want.split("..."))
        assert re.fullmatch(pattern, got), f"README says {want!r}, the block prints {got!r}"


def _run(code: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    """The quick start prints what its comments say: the session, the tool event, the restored count."""
    block = readme_block("quickstart")
    check_printed(block, _run(block, tmp_path))


def test_strands_quickstart_runs_as_written(tmp_path: Path) -> None:
    """The Strands quick start runs without credentials and prints what its comments say."""
    block = readme_block("strands-quickstart")
    check_printed(block, _run(block, tmp_path))


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
    out = _run(prelude + readme_block("openai-agents-quickstart"), tmp_path)
    assert out.strip().splitlines()[-1].strip() == "2 words."


def test_langgraph_quickstart_runs_as_written(tmp_path: Path) -> None:
    """The LangGraph quick start runs offline as written and prints what its comments say."""
    block = readme_block("langgraph-quickstart")
    check_printed(block, _run(block, tmp_path))
