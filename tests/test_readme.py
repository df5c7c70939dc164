"""The README's quick starts run as written (the Strands one with a scripted model)."""

from __future__ import annotations

import os
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


def _run(code: str, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
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


def test_replay_block_runs_on_a_recorded_session(tmp_path: Path) -> None:
    """The replay block, given a recorded Strands session and its `make_agent`, runs as written."""
    prelude = textwrap.dedent(
        """
        import shutil
        import devduck_otel
        from devduck_otel.testing import ScriptedModel, tool_turn
        from strands import Agent, tool

        @tool
        def word_count(text: str) -> int:
            \"\"\"Count the words in a text.\"\"\"
            return len(text.split())

        def make_agent():
            return Agent(model=ScriptedModel(["live"]), tools=[word_count], callback_handler=None)

        recorded = make_agent()
        recorded.model = ScriptedModel([tool_turn("word_count", {"text": "a b"}), "2 words."])
        devduck_otel.instrument(recorded)
        recorded("How many words in 'a b'?")
        shutil.copy(devduck_otel.stop_recording(), "session.zip")
        """
    )
    epilogue = "\nprint(result.diverged, fork.session_path)\n"
    out = _run(prelude + readme_block("replay") + epilogue, tmp_path).splitlines()
    assert out[:3] == ["1 model scripted-model-1", "2 tool word_count", "3 model scripted-model-1"]
    diverged, fork = out[3].split(" ", 1)
    assert diverged == "False" and Path(fork).is_file() and len(out) == 4


def test_cli_block_commands_run(tmp_path: Path) -> None:
    """Every command of the README's `See a session` block exits 0 on a real recording.

    `push` is left out here (it needs a collector on :4317; tests/test_cli.py pushes to a
    real one) and `--open` too (it starts a browser; tests/test_cli.py checks it).
    """
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- cli -->\s*```\n(.*?)```", text, re.S)
    assert match, "README has no block after <!-- cli -->"
    lines = [line.split("#", 1)[0].split() for line in match.group(1).splitlines()]
    code = textwrap.dedent(
        """
        import sys
        import devduck_otel
        from devduck_otel.cli import main

        class Agent:
            def __init__(self):
                self.messages = [{"role": "user", "content": [{"text": "hi"}]}]

        paths = []
        for n in range(2):
            devduck_otel.start_recording(sys_layer=False)
            agent = Agent()
            devduck_otel.snapshot(agent, "one")
            agent.messages.append({"role": "assistant", "content": [{"text": str(n)}]})
            devduck_otel.snapshot(agent, "two")
            paths.append(devduck_otel.stop_recording())
        names = {"SESSION.zip": paths[0], "A.zip": paths[0], "B.zip": paths[1]}
        for line in sys.argv[1:]:
            args = [names.get(a, a) for a in line.split()[1:] if a != "--open"]
            try:
                main(args)
            except SystemExit as exc:
                print("EXIT", args[0], exc.code or 0)
        """
    )
    commands = [" ".join(words) for words in lines if words and words[1] != "push"]
    assert len(commands) == 7, commands
    env = {**os.environ, "DEVDUCK_RECORDINGS_DIR": str(tmp_path / "rec")}
    out = _run(code, tmp_path, *commands, env=env)
    exits = [line for line in out.splitlines() if line.startswith("EXIT")]
    assert exits == [f"EXIT {c.split()[1]} 0" for c in commands], out
    assert (tmp_path / "timeline.html").is_file()
