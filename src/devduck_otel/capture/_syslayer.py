"""The sys layer: file opens and processes from an audit hook, HTTP from OTel contrib.

Python cannot remove an audit hook, so the hook is installed once per process and
does nothing (one global read) while no recording runs. It never raises into the
user's ``open()``. Interpreter noise (bytecode, site-packages, /proc, /dev, /sys) and
the package's own writes are filtered out.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import wrapt
from opentelemetry import trace

from devduck_otel import _attributes as A
from devduck_otel._config import env_bool
from devduck_otel._guard import guard, log_internal_error, raise_internal_errors
from devduck_otel._recorder import Recorder
from devduck_otel.capture import _httpwire
from devduck_otel.environment_variables import DEVDUCK_CAPTURE_HTTP_BODIES

_sink: Recorder | None = None
_hook_installed = False
_local = threading.local()
_own_prefixes: tuple[str, ...] = ()
_instrumented: list[Any] = []
_wire_attached = False
_generation = 0

_NOISE_SUFFIXES = (".pyc", ".pyo", ".pyi", ".so", ".pth", ".dist-info", ".egg-link")


def _noise_prefixes() -> tuple[str, ...]:
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = {"/proc/", "/dev/", "/sys/", sys.prefix + os.sep, sys.base_prefix + os.sep}
    paths.add(os.path.join(package, "devduck_otel") + os.sep)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with _ignore():
            paths.add(sysconfig.get_paths()[key] + os.sep)
    with _ignore():
        paths.update(p + os.sep for p in site.getsitepackages())
    return tuple(sorted(paths))


@contextmanager
def _ignore() -> Iterator[None]:
    try:
        yield
    except Exception:  # best effort: a missing path only means less filtering
        return


_NOISE = _noise_prefixes()


@contextmanager
def suppressed() -> Iterator[None]:
    """Do not record the file opens of this thread (the package's own writes)."""
    previous = getattr(_local, "off", False)
    _local.off = True
    try:
        yield
    finally:
        _local.off = previous


def _is_noise(path: str) -> bool:
    return (
        path.endswith(_NOISE_SUFFIXES) or path.startswith(_NOISE) or path.startswith(_own_prefixes)
    )


_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "pty.spawn"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    rec = _sink
    if rec is None:
        return
    if event == "open":
        _on_open(rec, args)
    elif event in _PROCESS_EVENTS:
        _on_process(rec, event, args)
    elif event == "os.exec":
        _on_exec(rec, args)


def _on_open(rec: Recorder, args: tuple[Any, ...]) -> None:
    path = args[0]
    if not isinstance(path, str):
        if not isinstance(path, bytes):
            return  # an open file descriptor, not a path
        path = os.fsdecode(path)
    if _is_noise(path) or getattr(_local, "off", False):
        return
    _local.off = True
    try:
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        rec.emit("sys", "file.open", {"path": path, "mode": mode})
    except Exception as exc:  # never raise into the user's open()
        if raise_internal_errors():
            raise
        log_internal_error("recording a file open", exc)
    finally:
        _local.off = False


def _text(value: Any) -> Any:
    """A path or argument as text (bytes as the OS decodes file names)."""
    if isinstance(value, (bytes, bytearray)):
        return os.fsdecode(bytes(value))
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def process_data(event: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """The ``process.spawn`` data of an audit event (command lines as text)."""
    if event == "os.system":
        return {"command": _text(args[0]), "api": event}
    if event == "pty.spawn":
        argv = args[0]
        items = [_text(a) for a in ([argv] if isinstance(argv, (str, bytes)) else argv)]
        return {"executable": _text(items[0]) if items else None, "args": items, "api": event}
    argv = args[1] if len(args) > 1 else None
    listed = [_text(a) for a in argv] if isinstance(argv, (list, tuple)) else _text(argv)
    return {"executable": _text(args[0]), "args": listed, "api": event}


def _on_process(rec: Recorder, event: str, args: tuple[Any, ...]) -> None:
    if getattr(_local, "off", False):
        return
    _local.off = True
    try:
        data = process_data(event, args)
        if event == "pty.spawn":  # its child's exec is this same program: not twice
            _local.announced = data["args"]
        rec.emit("sys", "process.spawn", data)
    except Exception as exc:  # never raise into the user's subprocess call
        if raise_internal_errors():
            raise
        log_internal_error("recording a process", exc)
    finally:
        _local.off = False


def _on_exec(rec: Recorder, args: tuple[Any, ...]) -> None:
    """``os.exec*``: in a forked child (``pty.fork``, ``os.fork``), for the parent's session."""
    if not rec.journal.forked or getattr(_local, "off", False):
        return  # exec in the recording process itself ends the recording with it
    try:
        data = process_data("os.exec", args[:2])
        if data["args"] == getattr(_local, "announced", None):
            return
        ctx = trace.get_current_span().get_span_context()
        ids = (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", None) if ctx.is_valid else (None,) * 3
        rec.journal.write_from_child("process.spawn", data, ids)
    except Exception as exc:  # the exec goes on whatever happens here
        if raise_internal_errors():
            raise
        log_internal_error("recording a forked child's exec", exc)


def _http_hook(method_of: Callable[[Any], str]) -> Callable[..., None]:
    def hook(span: Any, request: Any, *_: Any) -> None:
        if span is None or not span.is_recording():
            return
        try:
            method = method_of(request)
        except Exception:  # an unexpected request object: the span still has its own attributes
            method = "request"
        span.set_attribute(A.DEVDUCK_LAYER, "sys")
        span.set_attribute(A.DEVDUCK_EVENT_TYPE, f"http.{method.lower()}")

    return hook


def _requests_method(request: Any) -> str:
    return str(request.method)


def _httpx_method(request: Any) -> str:
    method = request[0] if isinstance(request, tuple) else request.method
    return method.decode() if isinstance(method, bytes) else str(method)


def _install_http(rec: Recorder, tracer_provider: Any) -> None:
    """Instrument requests and httpx now if imported, else as soon as they are imported.

    Importing a client library the agent may never use (httpx pulls in click: about
    0.15 s) would delay everything after ``session.start``, the first snapshot included.
    The body wire is attached first, so that it runs inside OpenTelemetry's spans.
    """
    global _wire_attached
    if not _wire_attached:
        _httpwire.attach()
        _wire_attached = True
    bodies = env_bool(DEVDUCK_CAPTURE_HTTP_BODIES, False)
    _httpwire.capture_bodies(rec.redactor if bodies else None)
    _when_imported("requests", lambda: _instrument_requests(tracer_provider))
    _when_imported("httpx", lambda: _instrument_httpx(tracer_provider))


def _when_imported(module: str, install: Callable[[], None]) -> None:
    if module in sys.modules:
        install()
        return
    if importlib.util.find_spec(module) is None:
        return
    generation = _generation

    def on_import(_module: Any) -> None:
        if generation == _generation and _sink is not None:  # still the same recording
            with guard(f"instrumenting {module}"):
                install()

    wrapt.register_post_import_hook(on_import, module)


def _instrument_requests(tracer_provider: Any) -> None:
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    _instrument(RequestsInstrumentor(), tracer_provider, request_hook=_http_hook(_requests_method))


def _instrument_httpx(tracer_provider: Any) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    hook = _http_hook(_httpx_method)

    async def async_hook(span: Any, request: Any) -> None:
        hook(span, request)

    _instrument(
        HTTPXClientInstrumentor(), tracer_provider, request_hook=hook, async_request_hook=async_hook
    )


def _instrument(instrumentor: Any, tracer_provider: Any, **hooks: Any) -> None:
    if instrumentor.is_instrumented_by_opentelemetry:
        return  # the application instrumented it already; its spans reach us through its provider
    instrumentor.instrument(tracer_provider=tracer_provider, **hooks)
    _instrumented.append(instrumentor)


def install(rec: Recorder, tracer_provider: Any) -> None:
    """Start capturing the sys layer into ``rec``."""
    global _sink, _hook_installed, _own_prefixes
    _own_prefixes = (str(rec.directory) + os.sep,)
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    _sink = rec
    if tracer_provider is not None:
        _install_http(rec, tracer_provider)


def uninstall() -> None:
    """Stop capturing: the audit hook goes idle and the HTTP instrumentation is removed."""
    global _sink, _wire_attached, _generation
    _sink = None
    _generation += 1  # hooks waiting for an import belong to the recording that ended
    while _instrumented:
        _instrumented.pop().uninstrument()
    _httpwire.capture_bodies(None)
    if _wire_attached:  # after OpenTelemetry's wrappers are gone
        _httpwire.detach()
        _wire_attached = False
