"""Every attribute value survives the exporter's OTLP JSON: encode, serialize, decode."""

from __future__ import annotations

import math
from typing import Any

import orjson
from devduck_otel_exporter_zip._otlpjson import decode_key_values, key_values
from hypothesis import given
from hypothesis import strategies as st

_SCALARS = st.one_of(
    st.text(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(st.text()).map(tuple),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1)).map(tuple),
    st.lists(st.floats(allow_nan=True, allow_infinity=True)).map(tuple),
    st.lists(st.booleans()).map(tuple),
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@given(st.dictionaries(st.text(), _VALUES))
def test_attribute_maps_read_back_equal(attributes: dict[str, Any]) -> None:
    """Random maps (NaN, ±Infinity, 64-bit ints, empty arrays, bytes, any key) round-trip."""
    line = orjson.dumps(key_values(attributes))
    back = decode_key_values(orjson.loads(line))
    assert back.keys() == attributes.keys()
    assert all(_same(back[k], v) for k, v in attributes.items())


def test_non_finite_doubles_are_written_as_otlp_json_strings() -> None:
    """NaN and ±Infinity are the strings protobuf's JSON mapping uses, never "None"."""
    line = orjson.dumps(key_values({"a": math.nan, "b": math.inf, "c": -math.inf}))
    values = [item["value"] for item in orjson.loads(line)]
    assert values == [
        {"doubleValue": "NaN"},
        {"doubleValue": "Infinity"},
        {"doubleValue": "-Infinity"},
    ]


def test_empty_and_hostile_input_decodes() -> None:
    """An empty map, a value-less item and an unknown value kind decode without raising."""
    assert decode_key_values([]) == {}
    assert decode_key_values([{"key": "k"}, {"key": "j", "value": {"x": 1}}]) == {
        "k": None,
        "j": None,
    }
