"""MessageEncoder: reusing the last snapshot's work never changes what is recorded."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from devduck_otel.capture._snapshot import MessageEncoder
from devduck_otel.session import _jsonsafe

_texts = st.text(max_size=20)
_messages = st.builds(
    lambda role, text, raw: {"role": role, "content": [{"text": text}, {"bytes": raw}]},
    st.sampled_from(["user", "assistant"]),
    _texts,
    st.binary(max_size=8),
)
_operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), _messages),
        st.tuples(st.just("edit"), _texts),
        st.tuples(st.just("pop"), st.none()),
        st.tuples(st.just("same"), st.none()),
    ),
    max_size=25,
)


def _fresh(messages: list[Any]) -> list[bytes]:
    return [_jsonsafe.dumps(m) for m in messages]


@settings(max_examples=200, deadline=None)
@given(_operations)
def test_encoding_equals_a_fresh_encoding_after_any_edits(
    operations: list[tuple[str, Any]],
) -> None:
    """Appends, in-place edits and removals: the result always equals encoding from scratch."""
    encoder = MessageEncoder(_jsonsafe.dumps)
    messages: list[dict[str, Any]] = []
    for kind, value in operations:
        if kind == "append":
            messages.append(value)
        elif kind == "edit" and messages:
            messages[0]["content"][0]["text"] = value
        elif kind == "pop" and messages:
            messages.pop()
        assert encoder.encode(messages) == _fresh(messages)


def test_growing_conversation_reuses_the_known_prefix() -> None:
    """After an append, the bytes of earlier messages are the very objects encoded before."""
    encoder = MessageEncoder(_jsonsafe.dumps)
    messages = [{"role": "user", "content": [{"text": "one"}]}]
    first = encoder.encode(messages)
    messages.append({"role": "assistant", "content": [{"text": "two"}]})
    second = encoder.encode(messages)
    assert second[0] is first[0]
    assert second == _fresh(messages)
