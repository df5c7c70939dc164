"""Decompressing ahead in a background thread while the caller parses.

zlib releases the GIL while it inflates, so reading the next chunk of a ZIP entry in a
thread overlaps with parsing the current one in the caller's thread.

Example:
    >>> list(prefetched(iter([b"a", b"b"])))
    [b'a', b'b']
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Final, cast

__all__ = ["PREFETCH_DEPTH", "prefetched"]

PREFETCH_DEPTH: Final = 4
"""Chunks read ahead at most (so memory stays a few chunks above the parsed data)."""

_END: Final = object()
_POLL_SECONDS: Final = 0.05


def prefetched(chunks: Iterator[bytes], depth: int = PREFETCH_DEPTH) -> Iterator[bytes]:
    """Yield ``chunks``, produced ahead by a background thread.

    An exception raised while producing is re-raised here, in the caller's thread.
    Stopping early (an exception in the caller) stops the thread, which is joined
    before this generator finishes.

    Args:
        chunks: The iterator to drain in the background.
        depth: How many chunks may wait in the queue.

    Yields:
        The chunks, in order.
    """
    pending: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                pending.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
        except BaseException as exc:  # handed to the caller's thread, raised there
            put(exc)
            return
        put(_END)

    thread = threading.Thread(target=produce, name="devduck-otel-prefetch", daemon=True)
    thread.start()
    try:
        while (item := pending.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield cast(bytes, item)
    finally:
        stop.set()
        thread.join()
