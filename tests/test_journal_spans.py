"""A live journal's spans read back as OTLP spans, the same as from the ZIP."""

from __future__ import annotations

from pathlib import Path

import devduck_otel
from devduck_otel.cli._spans import from_otlp


@devduck_otel.tool
def ping(n: int) -> int:
    """Return n."""
    return n


def test_viewer_reads_the_spans_of_a_live_journal(recordings_dir: Path) -> None:
    """From a journal folder, the timeline gets the tool span with its name and times."""
    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    ping(1)
    rec.journal.flush()
    spans = from_otlp(rec.journal.path)
    names = [span["name"] for span in spans]
    assert names == ["execute_tool ping"]
    zip_path = devduck_otel.stop_recording()
    assert zip_path is not None
    assert [s["name"] for s in from_otlp(Path(zip_path))] == names
