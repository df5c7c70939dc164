"""Run devduck 1.15.7's own SessionRecorder in its venv (``.venv-devduck``); print JSON.

Importing ``devduck`` runs its whole ``__init__`` (strands, the agent, log files), so
this worker reads the installed ``devduck/__init__.py`` and compiles only the session
recorder's classes (``RecordedEvent``, ``SessionSnapshot``, ``EventBuffer``,
``SessionRecorder``) with the imports they use. Their code is devduck's, unchanged.
Must not import devduck_otel.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

_CLASSES = {"RecordedEvent", "SessionSnapshot", "EventBuffer", "SessionRecorder"}
_PRELUDE = """
import os, sys, threading, platform, socket, logging, time, json, zipfile, builtins
from collections import deque
from dataclasses import dataclass, field, asdict
from pathlib import Path
from datetime import datetime
from typing import Dict, Any, List, Optional, Callable
import dill as serializer
SERIALIZER_NAME = "dill"
logger = logging.getLogger("devduck")
"""


def load_recorder() -> type:
    """Return devduck's ``SessionRecorder`` class, compiled from its installed source."""
    spec = importlib.util.find_spec("devduck")
    if spec is None or spec.origin is None:
        raise RuntimeError("devduck is not installed in this interpreter")
    tree = ast.parse(Path(spec.origin).read_text(), spec.origin)
    body: list[ast.stmt] = [
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in _CLASSES
    ]
    module = ast.Module(body=ast.parse(_PRELUDE).body + body, type_ignores=[])
    recorder = types.ModuleType("devduck_session_recorder")
    sys.modules[recorder.__name__] = recorder  # dataclasses look their module up
    # devduck's own installed code, compiled from its file: the point of this worker
    exec(compile(module, spec.origin, "exec"), recorder.__dict__)  # noqa: S102
    recorder_cls: type = recorder.__dict__["SessionRecorder"]
    return recorder_cls


def lookup(city: str, days: int) -> dict[str, Any]:
    """The same tool as devduck-otel's side of case (h)."""
    return {"city": city, "days": days, "forecast": "sunny"}


def session(recorder_cls: type, tool_calls: int, folder: str) -> tuple[float, int]:
    """Record ``tool_calls`` calls (a call and a result event each) and export; seconds."""
    start = time.perf_counter()
    rec = recorder_cls()
    rec.start(install_hooks=False)
    for i in range(tool_calls):
        rec.record_tool_call("lookup", {"city": "Lisbon", "days": i})
        t0 = time.perf_counter()
        result = lookup("Lisbon", i)
        rec.record_tool_result("lookup", result, (time.perf_counter() - t0) * 1e3)
    rec.stop()
    path = rec.export(str(Path(folder) / f"{rec.session_id}-{time.perf_counter_ns()}.zip"))
    elapsed = time.perf_counter() - start
    Path(path).unlink()
    return elapsed, rec.event_buffer.count


def main() -> int:
    """``devduck_worker.py TOOL_CALLS REPS``: print ``{"seconds": [...], "events": n}``."""
    tool_calls, reps = int(sys.argv[1]), int(sys.argv[2])
    recorder_cls = load_recorder()
    with tempfile.TemporaryDirectory() as folder:
        session(recorder_cls, min(200, tool_calls), folder)  # warm-up
        runs = [session(recorder_cls, tool_calls, folder) for _ in range(reps)]
    version = importlib.metadata.version("devduck")
    print(json.dumps({"seconds": [r[0] for r in runs], "events": runs[-1][1], "version": version}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
