"""Snapshots from ``snapshot.created`` span events: messages stored once, blobs by digest.

The event carries the snapshot record (``devduck.snapshot.record``), its messages one
JSON document each (``devduck.snapshot.messages``), and non-JSON state as a base64 dill
blob (``devduck.snapshot.blob``). Each distinct message is written once to
``messages.jsonl``; a snapshot refers to its messages by row ranges.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry.sdk.trace import Event

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._derive import span_ids
from devduck_otel_exporter_zip._records import SpanRecord, as_list

if TYPE_CHECKING:
    from devduck_otel_exporter_zip._files import JournalFiles
    from devduck_otel_exporter_zip._redacting import Redacting

logger = logging.getLogger("devduck_otel_exporter_zip")


class SnapshotStore:
    """Writes snapshot records, their messages and blobs into a journal."""

    def __init__(self, path: Path, files: JournalFiles, redacting: Redacting) -> None:
        self.path = path
        self.files = files
        self.redacting = redacting
        self._rows: dict[str, int] = {}
        self._row_redactions: dict[int, list[dict[str, str]]] = {}
        self._pending_blobs: dict[Path, bytes] = {}
        self.count = 0

    def store(self, record: SpanRecord, event: Event) -> None:
        """Write the snapshot an event carries (an event without a record is skipped)."""
        attrs = event.attributes or {}
        raw = attrs.get(F.DEVDUCK_SNAPSHOT_RECORD)
        if not isinstance(raw, str):
            return
        try:
            clean, redactions = self.redacting.json_listed(raw)
            snap = orjson.loads(clean)
        except orjson.JSONDecodeError:
            logger.warning("devduck-otel: skipped a snapshot whose record is not JSON")
            return
        if not isinstance(snap, dict):
            return
        messages = [
            m for m in as_list(attrs.get(F.DEVDUCK_SNAPSHOT_MESSAGES)) if isinstance(m, str)
        ]
        trace_id, span_id, _ = span_ids(record)
        ranges = self._ranges(messages)
        for index, message in enumerate(messages):
            for found in self._row_redactions.get(self._rows[message], ()):
                path = f"$.agent_messages[{index}]{found['path'][1:]}"
                redactions.append({"path": path, "rule": found["rule"]})
        snap.update(
            agent_messages_ref=ranges,
            agent_messages_count=len(messages),
            state_blob=self._blob(attrs.get(F.DEVDUCK_SNAPSHOT_BLOB)),
            trace_id=trace_id,
            span_id=span_id,
            sha256=attrs.get(F.DEVDUCK_SNAPSHOT_SHA256),
            size=attrs.get(F.DEVDUCK_SNAPSHOT_SIZE),
        )
        # What the instrumentation redacted itself (a pickled state) comes first.
        earlier = snap.get(F.SNAPSHOT_REDACTIONS)
        snap[F.SNAPSHOT_REDACTIONS] = [*(earlier if isinstance(earlier, list) else []), *redactions]
        self.files.append(F.JOURNAL_SNAPSHOTS, [orjson.dumps(snap, option=orjson.OPT_NON_STR_KEYS)])
        self.count += 1

    def _ranges(self, messages: list[str]) -> list[list[int]]:
        rows = self._rows
        new: list[bytes] = []
        ranges: list[list[int]] = []
        for message in messages:
            row = rows.get(message)
            if row is None:
                row = rows[message] = len(rows)
                text, redactions = self.redacting.json_listed(message)
                if redactions:
                    self._row_redactions[row] = redactions
                clean = text.encode("utf-8", "surrogatepass")
                digest = hashlib.sha256(clean).hexdigest().encode()
                new.append(b'{"sha256":"%b","message":%b}' % (digest, clean))
            if ranges and ranges[-1][1] == row:
                ranges[-1][1] = row + 1
            else:
                ranges.append([row, row + 1])
        if new:
            self.files.append(F.JOURNAL_MESSAGES, new)
        return ranges

    def _blob(self, encoded: Any) -> str | None:
        if not isinstance(encoded, str) or not encoded:
            return None
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            logger.warning("devduck-otel: skipped a snapshot blob that is not base64")
            return None
        digest = hashlib.sha256(data).hexdigest()
        path = self.path / F.JOURNAL_BLOBS / f"{digest}.dill"
        if not path.exists():
            self._pending_blobs[path] = data  # written by write_blobs, retried until it is
        return f"{F.BLOBS_PREFIX}{digest}.dill"

    def write_blobs(self) -> None:
        """Write the blobs that wait; one that fails (a full disk) waits for the next flush.

        Raises:
            OSError: A blob could not be written (its temp file is removed).
        """
        for path, data in list(self._pending_blobs.items()):
            tmp = path.with_suffix(".tmp")
            try:
                tmp.write_bytes(data)
                os.replace(tmp, path)
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            del self._pending_blobs[path]
