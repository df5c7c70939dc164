"""Shared fixtures: every test records into its own folder, and telemetry bugs fail tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.strands_kit"]


@pytest.fixture(autouse=True)
def recordings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point DEVDUCK_RECORDINGS_DIR at a fresh folder and make internal errors raise."""
    folder = tmp_path / "recordings"
    monkeypatch.setenv("DEVDUCK_RECORDINGS_DIR", str(folder))
    monkeypatch.setenv("DEVDUCK_RAISE_INTERNAL_ERRORS", "true")
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_SAMPLER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    yield folder
    try:
        from devduck_otel import _api
    except ImportError:
        return
    _api.reset_for_tests()
