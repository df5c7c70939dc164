"""Run one session command in a child interpreter and measure its memory growth.

The child imports everything first, notes its peak RSS (``ru_maxrss``), runs the
command, and reports the growth of the peak, the time and how the command ended.
Run as a script it measures every hostile ZIP of :mod:`tests.support.huge_zips`
with every command that reads a session::

    python -m tests.support.rss_child /tmp/hostile-zips [ZIP,...] [COMMAND,...]

``DEVDUCK_MEASURE_CAP_MB`` caps the child's address space (a runaway child then
gets ``MemoryError``, not the machine) and ``TIMEOUT`` its seconds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

_CHILD = r"""
import io, json, resource, sys, time, warnings
import devduck_otel, devduck_otel.cli, devduck_otel.tracing._push
from devduck_otel.session._loader import load_session

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

command, args = sys.argv[1], sys.argv[2:]
base = peak_mb()
start = time.monotonic()
outcome, message = "ok", ""
real_out, real_err = sys.stdout, sys.stderr
sys.stdout = io.StringIO()
sys.stderr = io.StringIO()
try:
    if command == "load_session":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            session = load_session(args[0])
        message = f"{len(session.events)} events, {len(session.snapshots)} snapshots"
        message += "".join(f"; warning: {w.message}" for w in caught[:3])
    else:
        devduck_otel.cli.main([command, *args])
except SystemExit as exc:
    outcome = "exit %s" % exc.code
    message = sys.stderr.getvalue().strip()
except Exception as exc:
    outcome, message = type(exc).__name__, str(exc)
elapsed = time.monotonic() - start
real_out.write(json.dumps({
    "outcome": outcome, "message": message[-400:], "seconds": round(elapsed, 2),
    "rss_growth_mb": round(peak_mb() - base, 1),
}))
"""

COMMANDS: dict[str, list[str]] = {
    "load_session": [],
    "show": [],
    "view": ["-o", "{tmp}/view.html"],
    "snapshot": ["1"],
    "snapshots": [],
    "diff": ["{zip}"],
    "steps": [],
    "replay": ["--agent", "no_such_module_here:agent"],
    "push": ["--endpoint", "http://127.0.0.1:9/v1/traces", "--protocol", "http/protobuf"],
}
"""Every command that reads a session, with arguments after the ZIP."""


def _cap_memory() -> None:
    limit = int(os.environ.get("DEVDUCK_MEASURE_CAP_MB", "0")) << 20
    if limit:  # address space, so a runaway child gets MemoryError, not the machine
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_command(command: str, zip_path: Path, tmp: Path, timeout: float = 300) -> dict[str, Any]:
    """Run ``command`` on ``zip_path`` in a child; return outcome, message, seconds, RSS growth.

    Args:
        command: ``load_session`` or a CLI command of :data:`COMMANDS`.
        zip_path: The session ZIP.
        tmp: A folder for the command's output files.
        timeout: Seconds before the child is killed (then ``outcome`` is ``timeout``).
    """
    root = Path(__file__).resolve().parents[2]
    extra = [a.format(tmp=tmp, zip=zip_path) for a in COMMANDS[command]]
    env = dict(os.environ)
    # DEVDUCK_CHILD_PYTHONPATH measures another tree's code (main's, say) with these ZIPs
    code = env.get("DEVDUCK_CHILD_PYTHONPATH") or env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), code]))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, command, str(zip_path), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
            preexec_fn=_cap_memory,
        )
    except subprocess.TimeoutExpired:
        return {"outcome": "timeout", "message": "", "seconds": timeout, "rss_growth_mb": None}
    if done.returncode != 0 or not done.stdout:
        return {
            "outcome": f"crashed ({done.returncode})",
            "message": done.stderr[-400:],
            "seconds": None,
            "rss_growth_mb": None,
        }
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    """Build the hostile ZIPs in the folder given, run every command, print a table."""
    from tests.support import huge_zips

    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else list(huge_zips.BUILDERS)
    commands = sys.argv[3].split(",") if len(sys.argv) > 3 else list(COMMANDS)
    for name in only:
        path = folder / f"{name}.zip"
        if not path.exists():
            huge_zips.BUILDERS[name](path)
        for command in commands:
            got = run_command(command, path, folder, float(os.environ.get("TIMEOUT", "300")))
            print(
                f"{name:14} {command:13} {got['seconds']!s:>7} s {got['rss_growth_mb']!s:>8} MB"
                f"  {got['outcome']}: {got['message'][:150]!r}",
                flush=True,
            )


if __name__ == "__main__":
    main()
