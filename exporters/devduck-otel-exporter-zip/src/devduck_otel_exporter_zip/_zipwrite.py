"""Journal directory to session ZIP: streamed, time-ordered, atomic.

The ZIP is written to a temp file beside the target, fsynced, then renamed over
it, so a failed export (disk full, say) never leaves a partial ZIP at the final
path and the previous ZIP there survives.
"""

from __future__ import annotations

import hmac
import logging
import os
import platform
import socket
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import dill
import orjson

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._files import iter_lines, load_json_lines, open_regular
from devduck_otel_exporter_zip._ordering import EventCounter, grouped, merged_blocks, numbered
from devduck_otel_exporter_zip._otlpjson import request_json
from devduck_otel_exporter_zip._prezip import PreparedStreams, new_request, span_line
from devduck_otel_exporter_zip._signing import SIGNATURE_SCHEME, entry_mac
from devduck_otel_exporter_zip._zipraw import PreparedEntry, write_entry
from devduck_otel_exporter_zip.version import __version__

logger = logging.getLogger("devduck_otel_exporter_zip")


def base_metadata(session_id: str, start: datetime) -> dict[str, Any]:
    """Return the metadata known when a recording starts."""
    return {
        "session_id": session_id,
        "start_time": start.isoformat(),
        "start_time_unix": start.timestamp(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python_version": sys.version.split()[0],
        "serializer": "json+dill",
        "format": F.FORMAT_NAME,
        "format_version": F.FORMAT_VERSION,
        "messages_storage": "content-addressed",
        "devduck_otel_version": __version__,
        "pid": os.getpid(),
    }


def otlp_span_requests(path: Path) -> Iterator[bytes]:
    """Yield a journal's ``spans.jsonl`` as OTLP JSON ``ExportTraceServiceRequest`` lines."""
    resources: dict[bytes, bytes] = {}
    scopes: dict[bytes, bytes] = {}
    batch: list[bytes] = []
    key: tuple[bytes, bytes] | None = None
    for line in iter_lines(path):
        item = span_line(line, resources, scopes)
        if item is None:
            continue
        item_key, span = item
        if batch and key is not None and new_request(item_key, key, len(batch)):
            yield request_json(resources.get(key[0], b"{}"), scopes.get(key[1], b"{}"), batch)
            batch = []
        key = item_key
        batch.append(span)
    if batch and key is not None:
        yield request_json(resources.get(key[0], b"{}"), scopes.get(key[1], b"{}"), batch)


def _write_stream(
    zf: zipfile.ZipFile, name: str, blocks: Iterator[list[bytes]], mac: hmac.HMAC | None = None
) -> int:
    """Write blocks of lines joined by newlines (no trailing one), in chunks of about 1 MiB.

    ``mac``, when given, is updated with exactly the bytes written.
    """
    count = 0
    chunk: list[bytes] = []
    size = 0
    written = False
    with zf.open(name, "w", force_zip64=True) as out:
        for block in blocks:
            chunk.extend(block)
            size += sum(map(len, block))
            count += len(block)
            if size >= 1 << 20:
                _put(out, (b"\n" if written else b"") + b"\n".join(chunk), mac)
                chunk, size, written = [], 0, True
        if chunk:
            _put(out, (b"\n" if written else b"") + b"\n".join(chunk), mac)
    return count


def _put(out: IO[bytes], data: bytes, mac: hmac.HMAC | None) -> None:
    out.write(data)
    if mac is not None:
        mac.update(data)


def finish_metadata(
    meta: dict[str, Any], events: int, snapshots: int, *, stopped: bool
) -> dict[str, Any]:
    """Return ``meta`` completed with the export's totals and times."""
    now = datetime.now(timezone.utc).astimezone()
    out = dict(meta)
    out.pop("pid", None)
    out["total_events"] = events
    out["total_snapshots"] = snapshots
    out["export_time"] = now.isoformat()
    out["recording"] = not stopped
    if stopped:
        end = out.get("end_time") or now.isoformat()
        out["end_time"] = end
        start = datetime.fromisoformat(str(out["start_time"]))
        out["duration_seconds"] = round(
            datetime.fromisoformat(end).timestamp() - start.timestamp(), 6
        )
    return out


def write_session_zip(
    journal_dir: Path,
    output_path: Path,
    *,
    stopped: bool,
    signing_key: bytes | None = None,
    replace: bool = True,
    prepared: PreparedStreams | None = None,
) -> Path:
    """Write the session ZIP for a journal directory, atomically.

    Args:
        journal_dir: The ``<session_id>.journal`` directory.
        output_path: Where the ZIP goes; replaced atomically.
        stopped: Whether the recording has ended (adds ``end_time`` and duration).
        signing_key: When given, pickled entries are signed with HMAC-SHA256.
        replace: Whether a file already at ``output_path`` is replaced. ``False``
            places the ZIP with a hard link, which fails when the name is taken,
            so no check-then-write window lets another session's ZIP be replaced.
        prepared: The journal's compressed streams, when it has them: their entries
            are copied instead of compressed (each one still valid; else as without).

    Returns:
        The path of the ZIP.

    Raises:
        FileExistsError: ``replace`` is false and ``output_path`` exists.
    """
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.tmp")
    meta = orjson.loads(_read_regular(journal_dir / F.JOURNAL_META))
    try:
        with open(tmp, "wb") as raw:
            _write_entries(
                raw, journal_dir, meta, stopped=stopped, signing_key=signing_key, prepared=prepared
            )
            raw.flush()
            os.fsync(raw.fileno())
        if replace:
            os.replace(tmp, output_path)
        else:
            _place_new(tmp, output_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return output_path


def _read_regular(path: Path) -> bytes:
    """Read a journal file; a symlink or special file is refused (``JournalError``)."""
    handle = open_regular(path)
    if handle is None:
        raise FileNotFoundError(f"{path}: no such file")
    with handle:
        return handle.read()


def _place_new(tmp: Path, output_path: Path) -> None:
    try:
        os.link(tmp, output_path)
    except FileExistsError:
        raise FileExistsError(
            f"{output_path} already exists (a session of the same id finished first); "
            "it is never replaced"
        ) from None
    tmp.unlink()


def _snapshot_records(journal_dir: Path, counter: EventCounter) -> list[dict[str, Any]]:
    records = [s for s in load_json_lines(journal_dir / F.JOURNAL_SNAPSHOTS) if isinstance(s, dict)]
    for snap in records:
        sid = snap.get("snapshot_id")
        snap["events_since_last"] = counter.since.get(sid, 0) if isinstance(sid, int) else 0
    return records


def _write_entries(
    raw: IO[bytes],
    journal_dir: Path,
    meta: dict[str, Any],
    *,
    stopped: bool,
    signing_key: bytes | None,
    prepared: PreparedStreams | None,
) -> None:
    signatures: dict[str, str] = {}
    events_entry, spans_entry = prepared.entries() if prepared is not None else (None, None)
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        counter = _write_events(zf, journal_dir, events_entry)
        snapshots = _snapshot_records(journal_dir, counter)
        snapshots_json = orjson.dumps(snapshots, option=orjson.OPT_INDENT_2)
        zf.writestr(F.SNAPSHOTS_ENTRY, snapshots_json)
        signatures[F.SNAPSHOTS_ENTRY] = _sign(signing_key, F.SNAPSHOTS_ENTRY, snapshots_json)
        final = finish_metadata(meta, counter.total, len(snapshots), stopped=stopped)
        zf.writestr(F.METADATA_ENTRY, orjson.dumps(final, option=orjson.OPT_INDENT_2))
        rows = load_json_lines(journal_dir / F.JOURNAL_MESSAGES)
        messages = [row.get("message") if isinstance(row, dict) else None for row in rows]
        pickled = dill.dumps({"metadata": final, "snapshots": snapshots, "messages": messages})
        zf.writestr(F.PICKLE_ENTRY, pickled)
        signatures[F.PICKLE_ENTRY] = _sign(signing_key, F.PICKLE_ENTRY, pickled)
        mac = entry_mac(signing_key, F.MESSAGES_ENTRY) if signing_key else None
        messages_lines = grouped(iter_lines(journal_dir / F.JOURNAL_MESSAGES))
        _write_stream(zf, F.MESSAGES_ENTRY, messages_lines, mac)
        signatures[F.MESSAGES_ENTRY] = mac.hexdigest() if mac is not None else ""
        if spans_entry is None or not write_entry(zf, F.SPANS_ENTRY, spans_entry):
            spans = grouped(otlp_span_requests(journal_dir / F.JOURNAL_SPANS))
            _write_stream(zf, F.SPANS_ENTRY, spans)
        for blob in sorted((journal_dir / F.JOURNAL_BLOBS).glob("*.dill")):
            data = _read_regular(blob)
            name = f"{F.BLOBS_PREFIX}{blob.name}"
            zf.writestr(name, data)
            signatures[name] = _sign(signing_key, name, data)
        if signing_key:
            doc = {"algorithm": "hmac-sha256", "scheme": SIGNATURE_SCHEME, "entries": signatures}
            zf.writestr(F.SIGNATURES_ENTRY, orjson.dumps(doc))


def _write_events(
    zf: zipfile.ZipFile, journal_dir: Path, prepared: PreparedEntry | None
) -> EventCounter:
    """Write ``events.jsonl``: the prepared entry when it holds every line, else merged."""
    children = journal_dir / F.JOURNAL_CHILD_EVENTS
    merged = children.exists() and children.stat().st_size > 0
    if prepared is not None and not merged and write_entry(zf, F.EVENTS_ENTRY, prepared):
        return prepared.counter
    counter = EventCounter()
    events = counter.watch(numbered(merged_blocks(journal_dir / F.JOURNAL_EVENTS, children)))
    _write_stream(zf, F.EVENTS_ENTRY, events)
    return counter


def _sign(key: bytes | None, name: str, data: bytes) -> str:
    if not key:
        return ""
    mac = entry_mac(key, name)
    mac.update(data)
    return mac.hexdigest()
