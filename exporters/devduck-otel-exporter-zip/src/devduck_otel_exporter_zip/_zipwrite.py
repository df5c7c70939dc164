"""Journal directory to session ZIP: streamed, time-ordered, atomic.

The ZIP is written to a temp file beside the target, fsynced, then renamed over
it, so a failed export (disk full, say) never leaves a partial ZIP at the final
path and the previous ZIP there survives.
"""

from __future__ import annotations

import heapq
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
from typing import IO, Any, Final

import dill
import orjson

from devduck_otel_exporter_zip._otlpjson import compact_to_otlp
from devduck_otel_exporter_zip.version import __version__

logger = logging.getLogger("devduck_otel_exporter_zip")

FORMAT_NAME: Final = "devduck-otel-session"
FORMAT_VERSION: Final = 1
REORDER_WINDOW: Final = 8192
"""Events are re-ordered by time within this many lines (threads append out of order)."""
SPANS_PER_LINE: Final = 512
SPANS_ENTRY: Final = "spans.otlp.jsonl"
"""The ZIP entry holding the spans as OTLP JSON, one request a line (file exporter format)."""


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
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "messages_storage": "content-addressed",
        "devduck_otel_version": __version__,
        "pid": os.getpid(),
    }


def iter_lines(path: Path) -> Iterator[bytes]:
    """Yield the complete lines of a journal file; a torn last line is skipped."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                logger.warning("devduck-otel: skipped a torn last line in %s", path)
                return
            line = line.rstrip(b"\n")
            if line:
                yield line


def _timestamp(line: bytes) -> int:
    start = line.find(b":") + 1
    end = line.find(b",", start)
    try:
        return int(line[start:end])
    except ValueError:
        return 0


def ordered_events(path: Path) -> Iterator[bytes]:
    """Yield event lines in time order (stable), using a bounded re-order window."""
    heap: list[tuple[int, int, bytes]] = []
    for index, line in enumerate(iter_lines(path)):
        heapq.heappush(heap, (_timestamp(line), index, line))
        if len(heap) > REORDER_WINDOW:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


def otlp_span_requests(path: Path) -> Iterator[bytes]:
    """Yield a journal's ``spans.jsonl`` as OTLP JSON ``ExportTraceServiceRequest`` lines."""
    resources: dict[int, Any] = {}
    batch: list[dict[str, Any]] = []
    key: tuple[int, str, str | None] | None = None
    scope: Any = None
    for line in iter_lines(path):
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(item, dict):
            resources[item["resource"]] = {"attributes": item["attributes"]}
            continue
        resource, item_scope, span = compact_to_otlp(item)
        item_key = (resource, item_scope["name"], item_scope.get("version"))
        if batch and key is not None and (item_key != key or len(batch) >= SPANS_PER_LINE):
            yield _request(resources.get(key[0], {}), scope, batch)
            batch = []
        key, scope = item_key, item_scope
        batch.append(span)
    if batch and key is not None:
        yield _request(resources.get(key[0], {}), scope, batch)


def _request(resource: Any, scope: Any, spans: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "resourceSpans": [
                {"resource": resource, "scopeSpans": [{"scope": scope, "spans": spans}]}
            ]
        }
    )


def _write_stream(
    zf: zipfile.ZipFile, name: str, lines: Iterator[bytes], mac: hmac.HMAC | None = None
) -> int:
    """Write lines joined by newlines (no trailing one), in chunks of about 1 MiB.

    ``mac``, when given, is updated with exactly the bytes written.
    """
    count = 0
    chunk: list[bytes] = []
    size = 0
    written = False
    with zf.open(name, "w", force_zip64=True) as out:
        for line in lines:
            chunk.append(line)
            size += len(line)
            count += 1
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


def _load_json_lines(path: Path) -> list[Any]:
    out = []
    for line in iter_lines(path):
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            logger.warning("devduck-otel: skipped a broken line in %s", path)
    return out


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
) -> Path:
    """Write the session ZIP for a journal directory, atomically.

    Args:
        journal_dir: The ``<session_id>.journal`` directory.
        output_path: Where the ZIP goes; replaced atomically.
        stopped: Whether the recording has ended (adds ``end_time`` and duration).
        signing_key: When given, pickled entries are signed with HMAC-SHA256.

    Returns:
        The path of the ZIP.
    """
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.tmp")
    meta = orjson.loads((journal_dir / "meta.json").read_bytes())
    try:
        with open(tmp, "wb") as raw:
            _write_entries(raw, journal_dir, meta, stopped=stopped, signing_key=signing_key)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, output_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return output_path


def _write_entries(
    raw: IO[bytes],
    journal_dir: Path,
    meta: dict[str, Any],
    *,
    stopped: bool,
    signing_key: bytes | None,
) -> None:
    signatures: dict[str, str] = {}
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        events = _write_stream(zf, "events.jsonl", ordered_events(journal_dir / "events.jsonl"))
        snapshots = _load_json_lines(journal_dir / "snapshots.jsonl")
        snapshots_json = orjson.dumps(snapshots, option=orjson.OPT_INDENT_2)
        zf.writestr("snapshots.json", snapshots_json)
        signatures["snapshots.json"] = _sign(signing_key, snapshots_json)
        final = finish_metadata(meta, events, len(snapshots), stopped=stopped)
        zf.writestr("metadata.json", orjson.dumps(final, option=orjson.OPT_INDENT_2))
        messages = [row.get("message") for row in _load_json_lines(journal_dir / "messages.jsonl")]
        pickled = dill.dumps({"metadata": final, "snapshots": snapshots, "messages": messages})
        zf.writestr("session.pkl", pickled)
        signatures["session.pkl"] = _sign(signing_key, pickled)
        mac = hmac.new(signing_key, digestmod="sha256") if signing_key else None
        _write_stream(zf, "messages.jsonl", iter_lines(journal_dir / "messages.jsonl"), mac)
        signatures["messages.jsonl"] = mac.hexdigest() if mac is not None else ""
        _write_stream(zf, SPANS_ENTRY, otlp_span_requests(journal_dir / "spans.jsonl"))
        for blob in sorted((journal_dir / "blobs").glob("*.dill")):
            data = blob.read_bytes()
            zf.writestr(f"blobs/{blob.name}", data)
            signatures[f"blobs/{blob.name}"] = _sign(signing_key, data)
        if signing_key:
            zf.writestr(
                "signatures.json",
                orjson.dumps({"algorithm": "hmac-sha256", "entries": signatures}),
            )


def _sign(key: bytes | None, data: bytes) -> str:
    if not key:
        return ""
    return hmac.new(key, data, "sha256").hexdigest()
