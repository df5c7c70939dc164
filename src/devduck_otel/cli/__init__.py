"""The ``devduck-otel`` command line: inspect, compare and view session recordings.

Example:
    .. code-block:: console

        $ devduck-otel list
        $ devduck-otel show session-20260101-120000-ab12.zip --layer tool
        $ devduck-otel view session-20260101-120000-ab12.zip -o timeline.html --open
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from devduck_otel.cli._app import app
from devduck_otel.cli._session import CliError
from devduck_otel.exceptions import DevduckError

__all__ = ["app", "main"]


def _fail(message: str, code: int = 1) -> None:
    text = " ".join(str(message).split()).encode("utf-8", "backslashreplace").decode("utf-8")
    sys.stderr.write(f"devduck-otel: error: {text}\n")
    sys.exit(code)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "JSON nested too deep"
    if isinstance(exc, UnicodeError):
        return "text with a lone surrogate or invalid encoding"
    if isinstance(exc, OverflowError):
        return "a number out of range"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exits with the command's status.

    Bad input (a missing or broken ZIP, an unknown command or option) prints one
    line on stderr and exits non-zero, without a traceback.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args or ["--help"], prog_name="devduck-otel", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors derive from it
        _fail(exc.format_message(), int(getattr(exc, "exit_code", 2)))
    except (CliError, DevduckError) as exc:
        _fail(str(exc))
    except typer.Abort:
        _fail("aborted", 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except (RecursionError, UnicodeError, OverflowError, ValueError, MemoryError) as exc:
        # hostile values orjson accepts: 1,000-deep JSON, lone surrogates, 1e400
        _fail(f"the session holds a value that cannot be shown ({_reason(exc)})")
    sys.exit(code if isinstance(code, int) else 0)
