"""Recall and precision of redaction, measured on two corpora of realistic traffic."""

from __future__ import annotations

import pytest

from devduck_otel.redaction import Redactor
from tests.support.redaction_corpus import ordinary_items, secret_items


def test_every_secret_of_the_secret_corpus_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recall is 100 %: no secret survives in text or under any key of a structure."""
    redactor = Redactor()
    items = secret_items()
    assert len(items) >= 300
    missed = [
        text
        for text, secret in items
        if secret in redactor.redact_text(text)
        or secret in str(redactor.redact_value({"content": [text]}))
    ]
    with capsys.disabled():
        print(f"\nredaction recall: {len(items) - len(missed)}/{len(items)}")
    assert missed == []


def test_ordinary_corpus_survives_byte_identical(capsys: pytest.CaptureFixture[str]) -> None:
    """Precision: at least 99.5 % of ordinary texts come back byte-identical."""
    redactor = Redactor()
    items = ordinary_items()
    assert len(items) >= 300
    changed = [text for text in items if redactor.redact_text(text) != text]
    share = (len(items) - len(changed)) / len(items)
    with capsys.disabled():
        print(f"\nredaction precision: {len(items) - len(changed)}/{len(items)} = {share:.2%}")
    assert share >= 0.995, changed
