"""(k) Redaction of clean text: milliseconds per 200 KB for adversarial shapes."""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable

from bench_util import CaseResult, Sizes, median

from devduck_otel.redaction import Redactor

_SIZE = 200_000


def _shapes() -> dict[str, str]:
    rng = random.Random(11)  # noqa: S311 (test data, not crypto)
    urls = ",".join(f"https://example.com/api/v1/items/{i}?page={i}&sort=asc" for i in range(5000))
    return {
        "comma-separated URL list": urls[:_SIZE],
        "long comma run": "," * _SIZE,
        "base64 image": base64.b64encode(rng.randbytes(_SIZE * 3 // 4)).decode()[:_SIZE],
        "prose about tokens and passwords": (
            "The token count, the password policy and the session timeout are set here. " * 3000
        )[:_SIZE],
        "JSON tool result": ('{"id":1,"name":"item","tags":["a","b"],"ok":true},' * 4000)[:_SIZE],
    }


def _time(redact: Callable[[str], str], text: str, reps: int) -> float:
    runs = []
    for _ in range(reps):
        start = time.perf_counter()
        redact(text)
        runs.append(time.perf_counter() - start)
    return median(runs) * 1000


def case_k(sizes: Sizes) -> CaseResult:
    """Redact each 200 KB clean shape; the figure is the worst median in ms."""
    result = CaseResult("k", "Redaction of 200 KB of clean text")
    redactor = Redactor()
    reps = 3 if sizes.quick else 15
    worst = 0.0
    for label, text in _shapes().items():
        ms = _time(redactor.redact_text, text, reps)
        worst = max(worst, ms)
        result.row(f"{label} (redact_text)", f"{ms:.2f} ms")
    result.target("≤ 2 ms per 200 KB of clean text (worst shape)", f"{worst:.2f} ms", worst <= 2)
    # Text the prefilter lets through (a secret in every URL): the precise scan is linear.
    dirty = ",".join(f"https://x.io/a/{i}?token=t0k3n{i:06d}&page={i}" for i in range(20000))
    small, large = (_time(redactor.redact_text, dirty[:n], reps) for n in (_SIZE, 2 * _SIZE))
    result.row("URL list with a token in every URL, 200 KB", f"{small:.2f} ms")
    result.row("the same, 400 KB (linear: about twice)", f"{large:.2f} ms")
    return result
