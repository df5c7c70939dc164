"""Snapshots: (d) time on the agent's thread and bytes; (e) a growing conversation."""

from __future__ import annotations

import random
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import orjson
from bench_util import CaseResult, Sizes, fmt_kb, fmt_ms, median, profile

import devduck_otel

_TEXT = (
    "the agent reads file config yaml and returns a summary of the repository layout "
    "tests pass after the fix http request timeout retry json schema tool result error "
    "python function class module import variable value list dict string number user"
)
_WORDS = _TEXT.split()


class Agent:
    """A Strands-shaped agent: ``messages``, ``system_prompt``, ``tool_names``."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.system_prompt = "You are a careful coding assistant. " * 20
        self.tool_names = ["read_file", "write_file", "shell", "http_get"]


def conversation(count: int, *, start: int = 0, seed: int = 6) -> list[dict[str, Any]]:
    """Return ``count`` messages, users ~50-400 characters, assistants ~200-2,000."""
    rng = random.Random(seed + start)  # noqa: S311 - reproducible text, not secrets
    messages = []
    for index in range(start, start + count):
        role = "user" if index % 2 == 0 else "assistant"
        low, high = (50, 400) if role == "user" else (200, 2000)
        length = rng.randint(low, high)
        words: list[str] = [f"[{index}]"]
        size = len(words[0])
        while size < length:
            word = rng.choice(_WORDS)
            words.append(word)
            size += len(word) + 1
        messages.append({"role": role, "content": [{"text": " ".join(words)}]})
    return messages


def _zip_size(folder: Path, name: str) -> int:
    path = Path(devduck_otel.export_recording(str(folder / name)))
    size = path.stat().st_size
    path.unlink()
    return size


def _one_rep(n: int, folder: Path) -> dict[str, float]:
    agent = Agent(conversation(n))
    devduck_otel.start_recording(sys_layer=False)
    try:
        before = _zip_size(folder, "before.zip")
        start = time.perf_counter()
        devduck_otel.snapshot(agent, "first")
        first = time.perf_counter() - start
        after_first = _zip_size(folder, "first.zip")
        agent.messages.extend(conversation(10, start=n))
        start = time.perf_counter()
        devduck_otel.snapshot(agent, "second")
        second = time.perf_counter() - start
        after_second = _zip_size(folder, "second.zip")
    finally:
        devduck_otel.stop_recording()
    return {
        "first": first,
        "second": second,
        "bytes_first": after_first - before,
        "bytes_second": after_second - after_first,
    }


def case_d(sizes: Sizes) -> CaseResult:
    """Run case (d): wall time of ``snapshot(agent)`` and the bytes it adds to the ZIP."""
    n = sizes.d_messages
    result = CaseResult("d", f"Snapshot of a {n:,}-message conversation")
    raw = sum(len(orjson.dumps(m)) for m in conversation(n))
    with tempfile.TemporaryDirectory(prefix="devduck-bench-d-") as tmp:
        folder = Path(tmp)
        _one_rep(min(n, 50), folder)  # warm-up
        reps = [_one_rep(n, folder) for _ in range(sizes.d_reps)]
    first = median([r["first"] for r in reps])
    second = median([r["second"] for r in reps])
    result.row("conversation JSON size", fmt_kb(raw))
    result.row("first snapshot: wall time of snapshot(agent)", fmt_ms(first))
    result.row(
        "first snapshot: bytes added to the ZIP", fmt_kb(median([r["bytes_first"] for r in reps]))
    )
    result.row("second snapshot (+10 messages): wall time", fmt_ms(second))
    result.row(
        "second snapshot: bytes added to the ZIP", fmt_kb(median([r["bytes_second"] for r in reps]))
    )
    result.row("repetitions (each a fresh recording)", str(sizes.d_reps))
    result.notes.append(
        "Bytes added = size of a ZIP exported after the snapshot minus the size exported "
        "before it (deflate level 1; includes the copy of the messages in session.pkl)."
    )
    result.target("first snapshot <= 2 ms on the agent's thread", fmt_ms(first), first <= 2e-3)
    result.target("second snapshot <= 2 ms on the agent's thread", fmt_ms(second), second <= 2e-3)
    if result.missed:
        result.profiles.append((f"20 first snapshots of {n:,} messages", _profile_d(n)))
    return result


def _profile_d(n: int) -> str:
    agents = [Agent(conversation(n, seed=s)) for s in range(20)]
    devduck_otel.start_recording(sys_layer=False)
    try:
        return profile(lambda: [devduck_otel.snapshot(a, "profiled") for a in agents])
    finally:
        devduck_otel.stop_recording()


# --- (e) a growing conversation ----------------------------------------------------


def _entries(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        parts = [f"{i.filename} {i.compress_size / 1e3:.1f}" for i in zf.infolist()]
    return ", ".join(parts)


def _grow(snapshots: int, step: int) -> tuple[Path, float, int]:
    messages = conversation(snapshots * step)
    agent = Agent([])
    inline = 0
    devduck_otel.start_recording(sys_layer=False)
    start = time.perf_counter()
    for i in range(snapshots):
        agent.messages.extend(messages[i * step : (i + 1) * step])
        devduck_otel.snapshot(agent, f"turn {i + 1}")
        inline += sum(len(orjson.dumps(m)) for m in agent.messages)
    seconds = time.perf_counter() - start
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path), seconds, inline


def _once(count: int) -> Path:
    devduck_otel.start_recording(sys_layer=False)
    devduck_otel.snapshot(Agent(conversation(count)), "final")
    path = devduck_otel.stop_recording()
    assert path is not None
    return Path(path)


def case_e(sizes: Sizes) -> CaseResult:
    """Run case (e): ZIP bytes of many snapshots of a growing conversation, against one."""
    k, step = sizes.e_snapshots, sizes.e_step
    result = CaseResult("e", f"{k} snapshots of a conversation growing by {step} messages")
    grown, seconds, inline = _grow(k, step)
    once = _once(k * step)
    many_size, one_size = grown.stat().st_size, once.stat().st_size
    ratio = many_size / one_size
    loaded = devduck_otel.load_session(grown)
    resolved = len(loaded.snapshots[-1].agent_messages) == k * step
    result.row(f"ZIP with {k} snapshots (1 ... {k * step} messages)", fmt_kb(many_size))
    result.row(f"ZIP with one snapshot of the final {k * step} messages", fmt_kb(one_size))
    result.row("ratio", f"{ratio:.2f}x")
    result.row(
        "messages stored inline in every snapshot, as devduck does (uncompressed JSON, reference)",
        fmt_kb(inline),
    )
    result.row(f"time for the {k} snapshots", fmt_ms(seconds))
    result.row("last snapshot loads back with all its messages", "yes" if resolved else "NO")
    result.row("entries of the many-snapshot ZIP (compressed kB)", _entries(grown))
    result.row("entries of the one-snapshot ZIP (compressed kB)", _entries(once))
    result.target("<= 2x the ZIP of one snapshot", f"{ratio:.2f}x", ratio <= 2.0)
    grown.unlink()
    once.unlink()
    return result
