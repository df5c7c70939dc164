"""The distributions install as a new user installs them, in fresh virtual environments.

Real `make dist`, real `python -m venv` and real `pip install` (dependencies come from
the package index; one pip cache is shared by the tests of this module so the
second and third environments reuse the downloads). Each environment is built
once for the whole module.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from devduck_otel.cli._viewer import _SCRIPTS
from tests.test_readme import ROOT, check_printed, readme_block

EXPORTER = ROOT / "exporters" / "devduck-otel-exporter-zip"


def _run(args: list[str | Path], *, cwd: Path = ROOT, timeout: int = 240) -> str:
    # Without PYTHONPATH: a fresh environment sees only what was installed in it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )
    assert out.returncode == 0, f"{args}\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _venv(where: Path) -> Path:
    _run([sys.executable, "-m", "venv", where])
    return where / "bin" / "python"


def _pip(python: Path, cache: Path, *args: str | Path) -> str:
    return _run([python, "-m", "pip", "install", "-q", "--cache-dir", cache, *args])


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pip cache for the module's environments."""
    return tmp_path_factory.mktemp("pip-cache")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` into a temporary folder (the dev environment counts as installed)."""
    where = tmp_path_factory.mktemp("dist")
    _run(["make", "-o", ".venv/.installed", "dist", f"PY={sys.executable}", f"DIST={where}"])
    return where


def test_make_dist_builds_both_wheels_and_sdists(dist: Path) -> None:
    """`make dist` leaves a wheel and an sdist of each distribution, and nothing else."""
    names = sorted(p.name for p in dist.iterdir())
    assert len(names) == 4, names
    for prefix in ("devduck_otel-", "devduck_otel_exporter_zip-"):
        assert any(n.startswith(prefix) and n.endswith("-py3-none-any.whl") for n in names)
        assert any(n.startswith(prefix) and n.endswith(".tar.gz") for n in names)


def test_metadata_pins_no_dependency_exactly(dist: Path) -> None:
    """Requirements in the built wheels are ranges: an exact pin stops other versions."""
    import zipfile

    for wheel in dist.glob("*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            text = zf.read(meta).decode()
        requires = re.findall(r"^Requires-Dist: (.*)$", text, re.M)
        assert requires, wheel.name
        pinned = [r for r in requires if "==" in r.split(";")[0]]
        assert not pinned, (wheel.name, pinned)


def test_sdists_hold_the_package_and_no_tests(dist: Path, tmp_path: Path) -> None:
    """Each sdist ships its package, README and metadata only, and still builds its wheel."""
    wanted = {
        "devduck_otel-": ("src/devduck_otel/cli/viewer.js", "README.md"),
        "devduck_otel_exporter_zip-": ("src/devduck_otel_exporter_zip/__init__.py",),
    }
    for prefix, needed in wanted.items():
        (sdist,) = dist.glob(f"{prefix}*.tar.gz")
        with tarfile.open(sdist) as tar:
            names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        package = needed[0].rsplit("/", 1)[0].split("/cli")[0] + "/"
        allowed = (package, *needed, "pyproject.toml", "PKG-INFO", ".gitignore")
        assert sorted(n for n in names if not n.startswith(allowed)) == [], sdist.name
        assert set(needed) <= names, sdist.name
        built = tmp_path / prefix
        pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]
        _run([*pip_wheel, "--no-build-isolation", "-w", built, sdist])
        assert len(list(built.glob("*.whl"))) == 1


def test_find_links_install_passes_pip_check_and_runs_quick_start(
    dist: Path, cache: Path, tmp_path: Path, recordings_dir: Path
) -> None:
    """`pip install --find-links dist devduck-otel` resolves, `pip check` is clean, the quick start runs.

    The installed `devduck-otel view` writes a page with the viewer's scripts inlined:
    the wheel ships them.
    """
    python = _venv(tmp_path / "venv")
    _pip(python, cache, "--find-links", dist, "devduck-otel")
    assert "No broken requirements found" in _run([python, "-m", "pip", "check"])
    block = readme_block("quickstart")
    check_printed(block, _run([python, "-c", block], cwd=tmp_path))
    script = tmp_path / "venv" / "bin" / "devduck-otel"
    assert "push" in _run([script, "--help"], cwd=tmp_path)
    (session,) = recordings_dir.glob("*.zip")
    _run([script, "view", session, "-o", tmp_path / "page.html"], cwd=tmp_path)
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    for name in _SCRIPTS:
        source = (ROOT / "src" / "devduck_otel" / "cli" / name).read_text(encoding="utf-8")
        assert source in page, name


def test_exporter_wheel_alone_imports(dist: Path, cache: Path, tmp_path: Path) -> None:
    """The exporter wheel alone (no devduck_otel) imports and writes a session ZIP (issue 10.6)."""
    python = _venv(tmp_path / "venv")
    (wheel,) = dist.glob("devduck_otel_exporter_zip-*.whl")
    _pip(python, cache, wheel)
    code = (
        "import importlib.util, sys, zipfile\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from devduck_otel_exporter_zip import DevduckZipSpanExporter\n"
        "assert importlib.util.find_spec('devduck_otel') is None\n"
        "exporter = DevduckZipSpanExporter(directory=sys.argv[1])\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(exporter.processor())\n"
        "provider.get_tracer('alone').start_span('execute_tool lookup').end()\n"
        "provider.shutdown()\n"
        "print(sorted(zipfile.ZipFile(exporter.zip_path).namelist()))\n"
    )
    out = _run([python, "-c", code, tmp_path / "rec"], cwd=tmp_path)
    assert "'events.jsonl'" in out, out
    assert "'spans.otlp.jsonl'" in out, out


def test_readme_install_command_works_from_the_clone(cache: Path, tmp_path: Path) -> None:
    """The README's install command, in a fresh venv at the clone, installs both distributions.

    Strands and LangChain are not installed there: ``devduck_otel.testing`` still
    imports, and its scripted models say which extra they need.
    """
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- install -->\s*```shell\n(.*?)```", text, re.S)
    assert match, "README has no shell block after <!-- install -->"
    command = match.group(1).strip()
    assert command.startswith("pip install "), command
    python = _venv(tmp_path / "venv")
    _pip(python, cache, *command.split()[2:])
    assert "No broken requirements found" in _run([python, "-m", "pip", "check"])
    code = (
        "import devduck_otel, devduck_otel_exporter_zip\n"
        "from devduck_otel.testing import ScriptedModel\n"
        "try:\n"
        "    ScriptedModel()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    from devduck_otel.testing import ScriptedChatModel\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = _run([python, "-c", code], cwd=tmp_path).strip().splitlines()
    assert out == [
        'ScriptedModel needs strands-agents: pip install "devduck-otel[strands]"',
        'ScriptedChatModel needs langchain-core: pip install "devduck-otel[langgraph]"',
    ]
