"""Snapshot records and the content-addressed message table they point into.

``messages.jsonl`` is read through the bounded reader (at most
:data:`~devduck_otel.session._bounded.MAX_MESSAGE_ROWS` rows), and all snapshots of a
session together resolve at most :data:`MAX_RESOLVED_MESSAGES` references.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from devduck_otel.session._bounded import MAX_MESSAGE_ROWS
from devduck_otel.session._loadparse import BAD, MAX_WARNED_LINES, LineParser, restore, warn

__all__ = ["MAX_RESOLVED_MESSAGES", "MessageTable", "SnapshotRecord", "snapshot_record"]

MAX_RESOLVED_MESSAGES: Final = 10_000_000
"""Most message references all snapshots of a session may resolve to, together."""


class MessageTable:
    """The content-addressed ``messages.jsonl``: row number -> restored message."""

    def __init__(
        self,
        data: bytes | Iterable[bytes] | None,
        where: str,
        *,
        allow_pickle: bool,
        scan: re.Pattern[bytes] | None = None,
    ) -> None:
        self._where = where
        self.allow_pickle = allow_pickle
        """Whether pickled values in messages are restored (may be decided after reading)."""
        parser = LineParser(where, MAX_MESSAGE_ROWS, "message rows", scan)
        for chunk in (data,) if isinstance(data, bytes) else data or ():
            parser.feed(chunk)
        rows = parser.close()
        self.matched = parser.matched
        """Whether a row matched ``scan`` (a pickle tag, say)."""
        self._rows: list[Any] = [
            r["message"] if type(r) is dict and "message" in r else BAD for r in rows
        ]
        self._restored: dict[int, Any] = {}
        self.resolved = 0
        """Message references resolved so far (bounded by MAX_RESOLVED_MESSAGES)."""
        self.troubled = 0
        """Snapshots with broken references so far (warned about up to MAX_WARNED_LINES)."""

    def resolve(self, ranges: Any, snapshot_id: int, notes: list[str]) -> list[Any]:
        """Return the messages of ``[start, end)`` row ranges; broken parts become notes.

        Raises:
            ValueError: The session references more messages than allowed in total.
        """
        out: list[Any] = []
        if not isinstance(ranges, list):
            ranges = []
            notes.append("agent_messages_ref is not a list; no messages")
        bad_ranges = broken = 0
        for pair in ranges:
            if not _is_range(pair, len(self._rows)):
                bad_ranges += 1
                continue
            self.resolved += pair[1] - pair[0]
            if self.resolved > MAX_RESOLVED_MESSAGES:
                raise ValueError(f"more than {MAX_RESOLVED_MESSAGES} message references")
            for row in range(pair[0], pair[1]):
                message = self._message(row)
                if message is BAD:
                    broken += 1
                else:
                    out.append(message)
        if bad_ranges:
            notes.append(f"{bad_ranges} message ranges are malformed or out of bounds; skipped")
        if broken:
            notes.append(f"{broken} referenced message rows are broken; skipped")
        if notes:
            self.troubled += 1
            if self.troubled <= MAX_WARNED_LINES:
                warn(f"{self._where}: snapshot {snapshot_id}: {'; '.join(notes)}")
        return out

    def _message(self, row: int) -> Any:
        if row in self._restored:
            return self._restored[row]
        value = self._rows[row]
        if value is not BAD:
            value = restore(value, allow_pickle=self.allow_pickle)
        self._restored[row] = value
        return value


def _is_range(pair: Any, rows: int) -> bool:
    if not isinstance(pair, list) or len(pair) != 2:
        return False
    start, end = pair
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in pair)
    return ints and 0 <= start <= end <= rows


class SnapshotRecord(dict[str, Any]):
    """One snapshot: a dict whose keys also read as attributes (``snap.description``).

    ``agent_messages`` always holds the full, resolved message list.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"snapshot record has no field {name!r}") from None


def snapshot_record(raw: dict[str, Any], table: MessageTable, allow_pickle: bool) -> SnapshotRecord:
    """Return a snapshot record with its messages resolved and lossless tags restored."""
    record = SnapshotRecord(raw)
    notes = record.get("notes")
    notes = list(notes) if isinstance(notes, list) else []
    inline = record.get("agent_messages")
    if isinstance(inline, list):
        messages = [restore(m, allow_pickle=allow_pickle) for m in inline]
    elif "agent_messages_ref" in record:
        new_notes: list[str] = []
        messages = table.resolve(record["agent_messages_ref"], record["snapshot_id"], new_notes)
        notes.extend(new_notes)
    else:
        messages = []
    record["agent_messages"] = messages
    record.setdefault("agent_messages_count", len(messages))
    record.setdefault("description", "")
    record["agent_state"] = restore(record.get("agent_state"), allow_pickle=allow_pickle)
    record["notes"] = notes
    record["redactions"] = _redactions(record.get("redactions"))
    return record


def _redactions(stored: Any) -> list[dict[str, str]]:
    """The snapshot's ``redactions`` (JSON path and rule); absent in older sessions: ``[]``."""
    if not isinstance(stored, list):
        return []
    return [
        {"path": item["path"], "rule": item["rule"]}
        for item in stored
        if isinstance(item, dict)
        and isinstance(item.get("path"), str)
        and isinstance(item.get("rule"), str)
    ]
