"""A prepared (already deflated) entry copied into a ``zipfile.ZipFile`` as it is.

``zipfile`` has no public way to write bytes that are compressed already; this module
keeps the one place that uses its internals, with a check of each before use.
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from devduck_otel_exporter_zip._files import JournalError, open_regular
from devduck_otel_exporter_zip._ordering import EventCounter

logger = logging.getLogger("devduck_otel_exporter_zip")

LEVEL: Final = 1
"""The ZIP's deflate level (``compresslevel`` of the ``ZipFile``)."""
_COPY_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """One entry as far as it is compressed: side-file bytes, then ``tail``.

    Attributes:
        path: The side file; its first ``length`` bytes start the entry's data.
        length: Bytes of the side file that belong to the entry.
        crc: CRC-32 of the uncompressed entry.
        size: Size of the uncompressed entry.
        tail: The compressed bytes that end the entry.
        counter: For ``events.jsonl``: the event count and events between snapshots.
    """

    path: Path
    length: int
    crc: int
    size: int
    tail: bytes
    counter: EventCounter = field(default_factory=EventCounter)


def write_entry(zf: zipfile.ZipFile, name: str, entry: PreparedEntry) -> bool:
    """Write a prepared entry into ``zf``, as ``zf.open(name, "w", force_zip64=True)`` would.

    This uses ``ZipFile`` internals (``_open_to_write`` and ``_ZipWriteFile.close`` of
    CPython 3.11 to 3.13: the header with the CRC and sizes, ``start_dir``, ``filelist``,
    ``NameToInfo``). When they are not as expected, or the side file is not, nothing
    stays written and the caller writes the entry the ordinary way.

    Returns:
        Whether the entry was written.
    """
    try:
        handle = open_regular(entry.path)
    except (OSError, JournalError):
        return False
    if handle is None:
        return False
    with handle:
        if os.fstat(handle.fileno()).st_size < entry.length or not _writable(zf):
            return False
        start = zf.start_dir
        try:
            _copy_entry(zf, name, entry, handle)
        except Exception as exc:
            logger.debug("devduck-otel: prepared %s not copied: %r", name, exc)
            zf.start_dir = start
            fp: Any = zf.fp
            fp.seek(start)
            fp.truncate()
            return False
    return True


def _writable(zf: zipfile.ZipFile) -> bool:
    z: Any = zf
    try:
        return bool(
            z.mode == "w"
            and z.compression == zipfile.ZIP_DEFLATED
            and z.compresslevel == LEVEL
            and z._seekable is True
            and z._writing is False
            and z._allowZip64 is True
            and z.fp is not None
            and isinstance(z.start_dir, int)
            and isinstance(z.filelist, list)
            and isinstance(z.NameToInfo, dict)
            and callable(z._writecheck)
        )
    except AttributeError:
        return False


def _copy_entry(zf: zipfile.ZipFile, name: str, entry: PreparedEntry, data: IO[bytes]) -> None:
    z: Any = zf
    info: Any = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = LEVEL
    info.flag_bits = 0
    info.external_attr = 0o600 << 16  # what _open_to_write gives an entry without one
    info.CRC = entry.crc
    info.file_size = entry.size
    info.compress_size = entry.length + len(entry.tail)
    z.fp.seek(z.start_dir)
    info.header_offset = z.fp.tell()
    z._writecheck(info)
    z._didModify = True
    z.fp.write(info.FileHeader(True))  # zip64, as force_zip64 writes it
    remaining = entry.length
    while remaining:
        chunk = data.read(min(remaining, _COPY_BYTES))
        if not chunk:
            raise OSError(f"{entry.path} is shorter than its prepared length")
        z.fp.write(chunk)
        remaining -= len(chunk)
    z.fp.write(entry.tail)
    z.start_dir = z.fp.tell()
    z.filelist.append(info)
    z.NameToInfo[name] = info
