"""Loading recorded sessions: ``load_session``, ``LoadedSession`` and ``list_sessions``.

Reads session ZIPs of this package (``format_version`` 1), ZIPs of the original devduck
recorder, and live or crashed journal directories (``<session_id>.journal/``). Broken
parts are skipped with a warning; broken or hostile files raise
:class:`~devduck_otel.exceptions.SessionFormatError`.

Example:
    >>> import devduck_otel
    >>> session = devduck_otel.load_session("session-20250101-120000.zip")  # doctest: +SKIP
    >>> print(session)  # doctest: +SKIP
    LoadedSession(events=42, snapshots=3, duration=124.5s)
    >>> session.get_snapshot(2).agent_messages  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devduck_otel_exporter_zip import recordings_dir

from devduck_otel.exceptions import SessionFormatError
from devduck_otel.replay import _steps as _replay
from devduck_otel.replay._steps import Step
from devduck_otel.resume import _resume
from devduck_otel.session import _legacy
from devduck_otel.session._loadparse import (
    check_format,
    gc_paused,
    parse_events,
    parse_records,
    read_metadata,
)
from devduck_otel.session._messages import SnapshotRecord, snapshot_record
from devduck_otel.session._prefetch import prefetched
from devduck_otel.session._signatures import Signatures
from devduck_otel.session._trust import json_entry, message_table, unpickle_all
from devduck_otel.session._zipsafe import (
    DirSource,
    EntrySource,
    open_source,
)

if TYPE_CHECKING:
    from devduck_otel.replay._run import ReplayResult

__all__ = [
    "LoadedSession",
    "SnapshotRecord",
    "list_sessions",
    "load_session",
]


class LoadedSession:
    """A recorded session read back: its events, snapshots and metadata.

    Attributes:
        events: Every event, in time order (dicts as in ``events.jsonl``).
        snapshots: The snapshots, ordered by ``snapshot_id``.
        metadata: The session metadata (times carry a timezone).
        session_id: The session id.
        duration: The session duration in seconds.
        path: Where the session was loaded from.
        pickled_state: The unpickled ``session.pkl`` (only with ``allow_pickle=True``).
        blobs: Unpickled state blobs by entry name (only with ``allow_pickle=True``).
    """

    def __init__(
        self,
        *,
        events: list[dict[str, Any]],
        snapshots: list[SnapshotRecord],
        metadata: dict[str, Any],
        path: Path,
        pickled_state: Any = None,
        blobs: dict[str, Any] | None = None,
    ) -> None:
        self.events = events
        self.snapshots = snapshots
        self.metadata = metadata
        self.path = path
        self.pickled_state = pickled_state
        self.blobs: dict[str, Any] = blobs or {}
        self.session_id = _session_id(metadata, path)
        self.duration = _duration(metadata, events)

    def __repr__(self) -> str:
        return (
            f"LoadedSession(events={len(self.events)}, snapshots={len(self.snapshots)}, "
            f"duration={self.duration:.1f}s)"
        )

    def get_events_by_layer(self, layer: str) -> list[dict[str, Any]]:
        """Return the events of one layer.

        Args:
            layer: ``"sys"``, ``"tool"`` or ``"agent"``.

        Returns:
            The matching events, in order.
        """
        return [e for e in self.events if e.get("layer") == layer]

    def get_events_by_type(self, event_type: str) -> list[dict[str, Any]]:
        """Return the events of one type.

        Args:
            event_type: For example ``"file.open"`` or ``"tool.call"``.

        Returns:
            The matching events, in order.
        """
        return [e for e in self.events if e.get("event_type") == event_type]

    def get_snapshot(self, snapshot_id: int) -> SnapshotRecord:
        """Return the snapshot with this id.

        Args:
            snapshot_id: The snapshot id (counted from 1).

        Returns:
            The snapshot record.

        Raises:
            ValueError: The session has no such snapshot.
        """
        for snap in self.snapshots:
            if snap["snapshot_id"] == snapshot_id:
                return snap
        ids = ", ".join(str(s["snapshot_id"]) for s in self.snapshots) or "none"
        raise ValueError(
            f"{self.path}: no snapshot {snapshot_id!r} in session {self.session_id} "
            f"(snapshots: {ids})"
        )

    def get_events_until_snapshot(self, snapshot_id: int) -> list[dict[str, Any]]:
        """Return the events up to and including the snapshot's ``snapshot.created`` event.

        Without that event (a cut-down file), events up to the snapshot's timestamp.

        Args:
            snapshot_id: The snapshot id.

        Returns:
            The events, in order.

        Raises:
            ValueError: The session has no such snapshot.
        """
        snap = self.get_snapshot(snapshot_id)
        for index, event in enumerate(self.events):
            data = event.get("data")
            if (
                event.get("event_type") == "snapshot.created"
                and isinstance(data, dict)
                and data.get("snapshot_id") == snapshot_id
            ):
                return self.events[: index + 1]
        stamp = _finite(snap.get("timestamp"))
        if stamp is None:
            return []
        limit = stamp * 1e9
        return [e for e in self.events if _ns(e) <= limit]

    def resume_from_snapshot(
        self, snapshot_id: int, agent: Any = None, *, change_cwd: bool = False
    ) -> dict[str, Any]:
        """Restore an agent to a snapshot; see :func:`devduck_otel.resume._resume.resume_from_snapshot`.

        Args:
            snapshot_id: The snapshot to resume from.
            agent: The agent to restore (its messages, system prompt and state are
                replaced by deep copies); ``None`` only reports.
            change_cwd: Also change the working directory to the snapshot's.

        Returns:
            The resume report (``status``, ``messages_restored``, ...).
        """
        return _resume.resume_from_snapshot(self, snapshot_id, agent, change_cwd=change_cwd)

    def resume_and_continue(
        self, snapshot_id: int, query: str, agent: Any = None
    ) -> dict[str, Any]:
        """Restore an agent to a snapshot and run it on ``query`` in a new, linked recording.

        Args:
            snapshot_id: The snapshot to resume from.
            query: The next prompt for the agent.
            agent: The agent to restore and run (required).

        Returns:
            The resume report plus ``agent_result`` and ``session_path``.
        """
        return _resume.resume_and_continue(self, snapshot_id, query, agent)

    @property
    def steps(self) -> list[Step]:
        """The recorded model and tool steps, in time order, numbered from 1."""
        return _replay.steps_of(self.events)

    def replay(self, agent: Any, **options: Any) -> ReplayResult:
        """Run the session again on ``agent``: see :func:`devduck_otel.replay._run.replay`."""
        from devduck_otel.replay._run import replay  # here: replay imports the recorder

        return replay(self, agent, **options)


def _ns(event: dict[str, Any]) -> float:
    value = event.get("timestamp_ns")
    return value if isinstance(value, (int, float)) else math.inf


def _session_id(metadata: dict[str, Any], path: Path) -> str:
    value = metadata.get("session_id")
    if isinstance(value, str) and value:
        return value
    name = path.name
    for suffix in (".zip", ".journal"):
        name = name.removesuffix(suffix)
    return name


def _finite(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` (also for bools and huge ints)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _duration(metadata: dict[str, Any], events: list[dict[str, Any]]) -> float:
    value = _finite(metadata.get("duration_seconds"))
    if value is not None:
        return value
    stamps = [s for s in (e.get("timestamp_ns") for e in events) if type(s) is int]
    span = _finite((max(stamps) - min(stamps)) // 1000) if len(stamps) >= 2 else None
    return 0.0 if span is None else span / 1e6


def load_session(path: str | os.PathLike[str], *, allow_pickle: bool = False) -> LoadedSession:
    """Load a session ZIP (ours or the original devduck's) or a journal directory.

    Args:
        path: The ``.zip`` file or ``<session_id>.journal`` directory.
        allow_pickle: Unpickle ``session.pkl``, state blobs and pickled values inside
            messages. A pickle is code: only allow it for files you trust. With
            ``DEVDUCK_SIGNING_KEY`` set, pickles also need a valid HMAC signature
            in ``signatures.json`` (pickled values inside an unsigned JSON entry
            then stay tags). Pickles in ZIPs of the original devduck are never
            unpickled.

    Returns:
        The loaded session.

    Raises:
        SessionNotFoundError: Nothing is at ``path``.
        SessionFormatError: The file is not a session, is hostile, or has an
            unknown ``format_version``.
        UnsafeSessionError: A pickle was allowed but its signature is missing or wrong.

    Warns:
        UserWarning: A part was skipped: a bad line (named by number), a broken
            ``snapshots.json`` or ``metadata.json``, a broken message reference.
    """
    target = Path(os.fspath(path))
    with open_source(target) as source, gc_paused():
        return _read(source, target, allow_pickle=allow_pickle)


def _read(source: EntrySource, path: Path, *, allow_pickle: bool) -> LoadedSession:
    journal = isinstance(source, DirSource)
    if journal and not {"meta.json", "events.jsonl"} & set(source.names()):
        raise SessionFormatError(f"{source.label}: a folder with no meta.json or events.jsonl")
    metadata = read_metadata(source, "meta.json" if journal else "metadata.json")
    legacy = _legacy.is_legacy(metadata) and "messages.jsonl" not in source.names()
    check_format(source.label, metadata, legacy)
    allow_pickle = allow_pickle and not legacy  # devduck's pickles hold devduck classes
    chunks = source.chunks("events.jsonl")
    if chunks is None and not journal:
        raise SessionFormatError(f"{source.label}: missing events.jsonl")
    events = parse_events(prefetched(chunks or iter(())), f"{source.label}: events.jsonl")
    signatures = Signatures(source)
    snapshots_name = "snapshots.jsonl" if journal else "snapshots.json"
    raw, trusted = json_entry(source, snapshots_name, signatures, allow_pickle)
    records = parse_records(raw, f"{source.label}: {snapshots_name}", array=not journal)
    if legacy:
        metadata = _legacy.normalize_metadata(metadata)
        _legacy.normalize_events(events)
        records = _legacy.normalize_snapshots(records, events)
    table = message_table(source, signatures, allow_pickle)
    try:
        snapshots = [snapshot_record(r, table, trusted) for r in records]
    except ValueError as exc:
        raise SessionFormatError(f"{source.label}: {exc}") from exc
    snapshots.sort(key=lambda s: s["snapshot_id"])
    session = LoadedSession(events=events, snapshots=snapshots, metadata=metadata, path=path)
    if allow_pickle:
        state, blobs = unpickle_all(source, snapshots, signatures)
        session.pickled_state = state
        session.blobs.update(blobs)
    return session


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """List the session ZIPs in a folder, newest first.

    Args:
        directory: The folder. Default: ``DEVDUCK_RECORDINGS_DIR``, else
            ``<tempdir>/devduck/recordings``.

    Returns:
        One dict per ZIP: ``path``, ``name``, ``size_kb`` (float) and ``modified``
        (ISO 8601 with offset). An absent folder gives an empty list.

    Raises:
        NotADirectoryError: ``directory`` exists but is not a folder.
    """
    folder = recordings_dir(directory)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a directory")
    found: list[tuple[float, dict[str, Any]]] = []
    for entry in os.scandir(folder):
        if not entry.name.endswith(".zip") or entry.name.startswith("."):
            continue
        try:
            stat = entry.stat()
        except OSError:
            continue  # removed while listing, or a dangling link
        if not entry.is_file():
            continue
        modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc).astimezone()
        info = {
            "path": str(Path(entry.path)),
            "name": entry.name,
            "size_kb": round(stat.st_size / 1024, 1),
            "modified": modified.isoformat(),
        }
        found.append((stat.st_mtime, info))
    found.sort(key=lambda pair: (pair[0], pair[1]["name"]), reverse=True)
    return [info for _, info in found]
