"""Open sessions for the CLI and turn loader records into plain dicts.

The loader (``devduck_otel.session._loader``) gives events and snapshots as records with
attribute access; the commands and the viewer work on plain dicts, so they also read
records of other shapes (dicts, dataclasses) the same way.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from devduck_otel_exporter_zip import SPANS_ENTRY, otlp_span_requests

from devduck_otel.exceptions import DevduckError
from devduck_otel.session._bounded import MAX_SPANS, span_request_lines, too_many
from devduck_otel.session._zipsafe import open_source

EVENT_FIELDS = (
    "timestamp_ns",
    "layer",
    "event_type",
    "data",
    "trace_id",
    "span_id",
    "parent_span_id",
    "seq",
)


class CliError(Exception):
    """A problem the user can fix: reported as one line on stderr, exit code 1."""


def open_session(path: Path) -> Any:
    """Load a session ZIP, turning every failure into a :class:`CliError`.

    Args:
        path: The session ZIP.

    Returns:
        The ``LoadedSession``.

    Raises:
        CliError: The file is missing, is not a session ZIP, or is broken.
    """
    from devduck_otel.session._loader import load_session

    if not path.exists():
        raise CliError(f"no such session file: {path}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            session = load_session(path)
    except DevduckError as exc:  # its message often starts with the path already
        detail = str(exc).removeprefix(f"{path}: ")
        raise CliError(f"cannot read {path}: {detail}") from exc
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError) as exc:
        raise CliError(f"cannot read {path}: not a valid session ZIP ({exc})") from exc
    for item in caught:
        sys.stderr.write(f"warning: {item.message}\n")
    return session


def record_to_dict(record: Any) -> dict[str, Any]:
    """Return a shallow dict of a loader record (mapping, dataclass or object).

    Args:
        record: An event or snapshot record.

    Returns:
        Its fields as a new dict.
    """
    if isinstance(record, Mapping):
        return dict(record)
    to_dict = getattr(record, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
        if isinstance(value, Mapping):
            return dict(value)
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return {k: v for k, v in vars(record).items() if not k.startswith("_")}


def event_dict(event: Any) -> dict[str, Any]:
    """Return an event as a dict with the ``events.jsonl`` keys first.

    Args:
        event: An event record from ``LoadedSession.events``.

    Returns:
        The event's fields; missing standard fields are ``None``.
    """
    raw = record_to_dict(event)
    out: dict[str, Any] = {name: raw.get(name) for name in EVENT_FIELDS}
    if not isinstance(out["data"], Mapping):
        out["data"] = {} if out["data"] is None else {"value": out["data"]}
    out.update({k: v for k, v in raw.items() if k not in out})
    return out


def snapshot_dict(snapshot: Any) -> dict[str, Any]:
    """Return a snapshot as a dict whose ``agent_messages`` is the full list.

    Args:
        snapshot: A snapshot record from ``LoadedSession.snapshots``.

    Returns:
        Its fields, with ``agent_messages`` resolved through the record.
    """
    out = record_to_dict(snapshot)
    messages = getattr(snapshot, "agent_messages", None)
    if messages is None and isinstance(snapshot, Mapping):
        messages = snapshot.get("agent_messages")
    out["agent_messages"] = list(messages or [])
    return out


def session_events(session: Any) -> list[dict[str, Any]]:
    """Return the session's events as dicts, in time order."""
    return [event_dict(e) for e in session.events]


def session_snapshots(session: Any) -> list[dict[str, Any]]:
    """Return the session's snapshots as dicts, ordered by id."""
    snaps = [snapshot_dict(s) for s in session.snapshots]
    return sorted(snaps, key=lambda s: _int(s.get("snapshot_id")))


def session_metadata(session: Any) -> dict[str, Any]:
    """Return the session's metadata as a dict."""
    meta = getattr(session, "metadata", None)
    return dict(meta) if isinstance(meta, Mapping) else {}


def iter_otlp_spans(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield ``(span, resource)`` pairs from the ZIP's ``spans.otlp.jsonl``, if any.

    Each line is one OTLP-JSON ``ExportTraceServiceRequest``. A broken line is
    skipped (a hand-edited or truncated ZIP): the events derived from the same spans
    are in ``events.jsonl``.

    Args:
        path: The session ZIP.

    Yields:
        Each OTLP-JSON span with the resource it was exported under.

    Raises:
        SessionFormatError: The entry is corrupt, or holds more than ``MAX_SPANS``
            spans or ``MAX_SPAN_REQUESTS`` lines (the bounded reader's limits).
    """
    if path.is_dir():
        yield from _journal_spans(path / "spans.jsonl")
        return
    count = 0
    with open_source(path) as source:
        for _number, line in span_request_lines(source):
            if line is None:  # over the line limit: its spans' events are in events.jsonl
                continue
            for pair in _spans_of_request(line):
                count += 1
                if count > MAX_SPANS:
                    raise too_many(f"{path}: {SPANS_ENTRY}", "spans", MAX_SPANS)
                yield pair


def _journal_spans(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    # A live or crashed journal keeps compact span rows; the exporter turns them into
    # the same OTLP requests it writes into the ZIP.
    try:
        for line in otlp_span_requests(path):
            yield from _spans_of_request(line)
    except (OSError, ValueError, KeyError, TypeError):
        return


def _spans_of_request(line: bytes) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    try:
        request = json.loads(line)
    except ValueError:
        return
    if not isinstance(request, dict):
        return
    for resource_spans in request.get("resourceSpans") or []:
        if not isinstance(resource_spans, dict):
            continue
        resource = resource_spans.get("resource") or {}
        for scope_spans in resource_spans.get("scopeSpans") or []:
            if not isinstance(scope_spans, dict):
                continue
            for span in scope_spans.get("spans") or []:
                if isinstance(span, dict):
                    yield span, resource


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
