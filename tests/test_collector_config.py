"""collector-config/: the Collector pipelines name defined components; compose wires them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

CONFIG_DIR = Path(__file__).resolve().parents[1] / "collector-config"
KINDS = ("receivers", "processors", "exporters")


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CONFIG_DIR / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The Collector configuration."""
    return _load("otel-collector.yaml")


def test_every_pipeline_component_is_defined(config: dict[str, Any]) -> None:
    """Each receiver, processor and exporter a pipeline names is defined above it."""
    pipelines = config["service"]["pipelines"]
    assert pipelines
    for pipeline in pipelines.values():
        for kind in KINDS:
            for name in pipeline.get(kind, []):
                assert name in (config.get(kind) or {}), f"{kind} {name!r} is not defined"
    for name in config["service"].get("extensions", []):
        assert name in config["extensions"], f"extension {name!r} is not defined"


def test_traces_fan_out_to_jaeger_and_a_file(config: dict[str, Any]) -> None:
    """The traces pipeline: OTLP in, memory_limiter first then batch, Jaeger and file out."""
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert traces["processors"][0] == "memory_limiter"
    assert "batch" in traces["processors"]
    exporters = {name.split("/")[0]: name for name in traces["exporters"]}
    assert set(exporters) == {"otlp", "file"}
    assert config["exporters"][exporters["otlp"]]["endpoint"] == "jaeger:4317"
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}


def test_compose_starts_jaeger_and_the_collector_with_this_config(config: dict[str, Any]) -> None:
    """The compose file mounts this config, publishes OTLP ports, names the Jaeger host."""
    compose = _load("docker-compose.yaml")
    services = compose["services"]
    assert services["jaeger"]["image"].startswith("jaegertracing/all-in-one:")
    collector = services["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    mounted = [v.split(":")[0] for v in collector["volumes"]]
    assert "./otel-collector.yaml" in mounted
    config_arg = next(a for a in collector["command"] if a.startswith("--config="))
    inside = config_arg.removeprefix("--config=")
    assert any(v.split(":")[1] == inside for v in collector["volumes"])
    published = {p.split(":")[-1] for p in collector["ports"]}
    assert {"4317", "4318"} <= published
    assert all(p.startswith("127.0.0.1:") for s in services.values() for p in s.get("ports", []))
    file_dir = str(Path(config["exporters"]["file"]["path"]).parent)
    assert any(v.split(":")[1] == file_dir for v in collector["volumes"])
    for tag in (services["jaeger"]["image"], collector["image"]):
        assert not tag.endswith(":latest"), "images are pinned"
