"""Recall and precision of redaction, measured on two corpora of realistic traffic.

Both hold text (env, args, results, headers, URLs, messages, exception text), the
real devduck package's source as a 192,000-character system prompt, and pickled
agent state (redacted as it is pickled).
"""

from __future__ import annotations

import dill
import pytest

from devduck_otel.redaction import Redactor
from tests.support.devduck_source import devduck_prompt
from tests.support.redaction_corpus import (
    ordinary_items,
    pickled_ordinary_items,
    pickled_secret_items,
    prompt_items,
    secret_items,
)

PROMPT_CHARS = 192_000


def _text_survives(redactor: Redactor, text: str, secret: str) -> bool:
    return secret in redactor.redact_text(text) or secret in str(
        redactor.redact_value({"content": [text]})
    )


def _pickle_survives(redactor: Redactor, state: object, secret: str) -> bool:
    """Pickles hold strings and bytes as UTF-8: a secret that survives is in the blob."""
    blob = redactor.dill_dumps(state)
    dill.loads(blob)  # and the blob still loads
    return secret.encode() in blob


def test_every_secret_of_the_secret_corpus_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recall is 100 %: no secret survives in text, under any key, in a prompt or a pickle."""
    redactor = Redactor()
    planted, _ = prompt_items(devduck_prompt(PROMPT_CHARS))
    texts = secret_items() + planted
    pickles = pickled_secret_items()
    assert len(texts) + len(pickles) >= 300
    missed = [text[:80] for text, secret in texts if _text_survives(redactor, text, secret)]
    missed += [repr(s)[:80] for s, secret in pickles if _pickle_survives(redactor, s, secret)]
    total = len(texts) + len(pickles)
    with capsys.disabled():
        print(f"\nredaction recall: {total - len(missed)}/{total}")
    assert missed == []


def test_ordinary_corpus_survives_byte_identical(capsys: pytest.CaptureFixture[str]) -> None:
    """Precision: at least 99.5 % of ordinary items come back byte-identical."""
    redactor = Redactor()
    _, prompts = prompt_items(devduck_prompt(PROMPT_CHARS))
    assert len(prompts[0]) == PROMPT_CHARS
    texts = ordinary_items() + prompts
    pickles = pickled_ordinary_items()
    assert len(texts) + len(pickles) >= 300
    changed = [text[:80] for text in texts if redactor.redact_text(text) != text]
    changed += [
        repr(vars(state))[:80]
        for state in pickles
        if redactor.dill_dumps(state) != dill.dumps(state)
        or dill.loads(redactor.dill_dumps(state)) != state
    ]
    total = len(texts) + len(pickles)
    share = (total - len(changed)) / total
    with capsys.disabled():
        print(f"\nredaction precision: {total - len(changed)}/{total} = {share:.2%}")
    assert share >= 0.995, changed
