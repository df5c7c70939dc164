"""Property: any mutation of a real session ZIP loads or raises a session error, nothing else."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import tempfile
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devduck_otel.exceptions import SessionFormatError, SessionNotFoundError
from devduck_otel.session._loader import load_session
from tests.support.zipbuilder import (
    bot,
    legacy_entries,
    session_entries,
    tool_result,
    tool_use,
    user,
    write_zip,
)

ENTRY_SETS = ("ours", "legacy")


@functools.cache
def _entries(kind: str) -> dict[str, bytes]:
    if kind == "legacy":
        return legacy_entries()
    turn = [user("hi"), tool_use("t1"), tool_result("t1"), bot("done")]
    return session_entries(events=6, snapshots=[turn[:2], turn])


@functools.cache
def _zip_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _entries(kind).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, bit in flips:
        out[position % len(out)] ^= 1 << bit
    return bytes(out)


def _rezip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


flips = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 7)), min_size=1, max_size=8)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """Draw the bytes of a mutated session ZIP."""
    kind = draw(st.sampled_from(ENTRY_SETS))
    how = draw(st.sampled_from(("flip_zip", "truncate", "swap", "flip_entry", "splice", "json")))
    raw = _zip_bytes(kind)
    if how == "flip_zip":
        return _flip(raw, draw(flips))
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    entries = dict(_entries(kind))
    names = sorted(entries)
    if how == "swap":
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        entries[a], entries[b] = entries[b], entries[a]
    elif how == "flip_entry":
        name = draw(st.sampled_from(names))
        entries[name] = _flip(entries[name], draw(flips)) if entries[name] else b"\xff"
    elif how == "json":
        _mutate_json(draw, entries)
    else:
        name = draw(st.sampled_from(names))
        data = entries[name]
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, len(data)))
        entries[name] = data[:start] + draw(st.binary(max_size=64)) + data[end:]
    return _rezip(entries)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from([10**400, -(10**400), 2**63, "0001-01-01T00:00:00", "9999-12-31T23:59:59"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _mutate_json(draw: st.DrawFn, entries: dict[str, bytes]) -> None:
    """Replace one field of one JSON record with an arbitrary JSON value."""
    name = draw(st.sampled_from(["metadata.json", "snapshots.json", "events.jsonl"]))
    if name == "events.jsonl":
        lines = entries[name].split(b"\n")
        index = draw(st.integers(0, len(lines) - 1))
        record = json.loads(lines[index] or b"{}")
        key = draw(st.sampled_from([*record, "data", "timestamp_ns", "event_type"]))
        record[key] = draw(json_values)
        lines[index] = json.dumps(record).encode()
        entries[name] = b"\n".join(lines)
        return
    doc = json.loads(entries[name])
    target = draw(st.sampled_from(doc)) if isinstance(doc, list) and doc else doc
    if isinstance(target, dict):
        key = draw(st.sampled_from(sorted(target) or ["x"]))
        target[key] = draw(json_values)
    entries[name] = json.dumps(doc).encode()


def _exercise(path: Path) -> None:
    try:
        session = load_session(path)
    except (SessionFormatError, SessionNotFoundError):
        return
    repr(session)
    for snap in session.snapshots:
        session.get_events_until_snapshot(snap["snapshot_id"])
        with contextlib.suppress(SessionFormatError):
            session.resume_from_snapshot(snap["snapshot_id"])


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mutated())
def test_mutated_zip_loads_or_raises_a_session_error(data: bytes) -> None:
    """Bit flips, truncation, entry swaps and splices never escape as other exceptions."""
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(folder) / "fuzzed.zip"
        path.write_bytes(data)
        _exercise(path)


def test_unmutated_bases_load() -> None:
    """The fuzzing bases themselves are valid sessions (so mutations start from real data)."""
    with tempfile.TemporaryDirectory() as folder:
        for kind in ENTRY_SETS:
            path = write_zip(Path(folder) / f"{kind}.zip", _entries(kind))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert len(load_session(path).snapshots) == 2
