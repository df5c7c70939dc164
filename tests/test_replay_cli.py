"""``devduck-otel steps`` / ``replay --check`` and ``assert_replays``, on a real recording."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import devduck_otel
from devduck_otel.testing import assert_replays
from tests.test_cli import run

AGENT_MODULE = textwrap.dedent(
    """
    import devduck_otel

    CALLS = []

    @devduck_otel.llm(name="toy")
    def complete(messages, system):
        CALLS.append("model")
        if messages[-1]["role"] == "user":
            return {"tool": "lookup", "args": {"key": messages[-1]["content"]}}
        return {"text": "answer: " + messages[-1]["content"]}

    @devduck_otel.tool
    def lookup(key):
        CALLS.append("tool")
        return "value of " + key

    class Loop:
        def __init__(self, system="be brief"):
            self.messages = []
            self.system = system

        def __call__(self, query):
            self.messages.append({"role": "user", "content": query})
            reply = complete(list(self.messages), self.system)
            while "tool" in reply:
                self.messages.append({"role": "tool", "content": lookup(**reply["args"])})
                reply = complete(list(self.messages), self.system)
            self.messages.append({"role": "assistant", "content": reply["text"]})
            return reply["text"]

    def make():
        return Loop()

    def make_changed():
        return Loop(system="be verbose")
    """
)


@pytest.fixture
def agent_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A module ``replay_agent_mod`` on sys.path with the agent factories."""
    (tmp_path / "replay_agent_mod.py").write_text(AGENT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("replay_agent_mod")
    sys.modules.pop("replay_agent_mod", None)


@pytest.fixture
def recorded(agent_module: object) -> Path:
    """A session of the module's agent answering one query."""
    agent = agent_module.make()  # type: ignore[attr-defined]
    devduck_otel.instrument(agent)
    agent("alpha")
    path = devduck_otel.stop_recording()
    assert path is not None
    agent_module.CALLS.clear()  # type: ignore[attr-defined]
    return Path(path)


def test_steps_prints_each_step(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``steps`` prints the three steps, numbered, with their kinds and names."""
    code, out, _ = run(capsys, "steps", str(recorded))
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["1", "model", "toy"],
        ["2", "tool", "lookup"],
        ["3", "model", "toy"],
    ]
    assert '{"key": "alpha"}  -> value of alpha' in lines[1]


def test_replay_check_passes_with_zero_calls(
    recorded: Path, agent_module: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """``replay --check`` of an unchanged agent exits 0 and calls nothing live."""
    code, out, _ = run(
        capsys, "replay", str(recorded), "--agent", "replay_agent_mod:make", "--check"
    )
    assert code == 0, out
    assert "replayed 3 steps, no divergence" in out
    assert out.splitlines()[0].split()[:3] == ["1", "model", "toy"]
    assert agent_module.CALLS == []  # type: ignore[attr-defined]


def test_replay_check_fails_on_divergence(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``replay --check`` of a changed agent exits 1 and names the step and field."""
    code, out, _ = run(
        capsys, "replay", str(recorded), "--agent", "replay_agent_mod:make_changed", "--check"
    )
    assert code == 1
    assert "diverged at step 1 (model): args differs" in out
    code, _, _ = run(capsys, "replay", str(recorded), "--agent", "replay_agent_mod:make_changed")
    assert code == 0


def test_replay_fork_with_override(
    recorded: Path, agent_module: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--until 2 --override`` serves two steps and runs the last model call live."""
    args = ("replay", str(recorded), "--agent", "replay_agent_mod:make", "--until", "2")
    code, out, _ = run(capsys, *args, "--override", '"forty-two"')
    assert code == 0, out
    assert "1 step ran live" in out and "recorded as" in out
    assert agent_module.CALLS == ["model"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--agent", "nocolon"), "--agent must be MODULE:FACTORY"),
        (("--agent", "no_such_mod_xyz:make"), "cannot import no_such_mod_xyz"),
        (("--agent", "replay_agent_mod:nothing"), "replay_agent_mod has no nothing"),
        (("--agent", "replay_agent_mod:make", "--until", "9"), "until=9 is out of range"),
        (("--agent", "replay_agent_mod:make", "--until", "1", "--override", "{bad"), "not JSON"),
    ],
)
def test_replay_bad_input_is_one_line(
    recorded: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    """Bad options exit non-zero with one line on stderr naming the problem."""
    code, _, err = run(capsys, "replay", str(recorded), *extra)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1


def test_steps_of_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``steps`` of a missing file is one clear error."""
    code, _, err = run(capsys, "steps", str(tmp_path / "nope.zip"))
    assert code == 1 and "no such session file" in err


def test_assert_replays(recorded: Path, agent_module: object) -> None:
    """assert_replays passes for the same agent and fails with the divergence for a changed one."""
    result = assert_replays(recorded, agent_module.make)  # type: ignore[attr-defined]
    assert result.steps_replayed == 3 and result.session_path is None
    with pytest.raises(AssertionError, match=r"no longer replays: step 1 \(model\): args differs"):
        assert_replays(recorded, agent_module.make_changed)  # type: ignore[attr-defined]
