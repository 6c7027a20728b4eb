"""The shared JSON body reader: what it refuses, with which reason, and what it lets through unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ChestnutError
from ledger.jsonbody import MAX_DEPTH, BadJsonBody, parse_json, scrub


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


def reason_of(raw: bytes) -> str:
    with pytest.raises(BadJsonBody) as caught:
        parse_json(raw)
    assert caught.value.code == "bad_json" and caught.value.message
    return str(caught.value.data["reason"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not_json"),
        (b"{not json", "not_json"),
        (b'{"a": NaN}', "not_json"),
        (b"[Infinity]", "not_json"),
        (b"1" * 5000, "not_json"),  # int() refuses more than 4,300 digits
        (b'{"a": 1e999}', "bad_number"),
        (b'{"text": "\xff\xfe"}', "not_utf8"),
        (b'{"text": "\xed\xa0\x80"}', "not_utf8"),  # a surrogate encoded as UTF-8: json.loads(bytes) takes it
        ('{"text": "a"}'.encode("utf-16"), "not_utf8"),  # … and UTF-16 too
        (b"\xef\xbb\xbf{}", "not_json"),
        (b"[" * 10_000, "too_deep"),
        (nested(10_000), "too_deep"),
        (nested(MAX_DEPTH + 1), "too_deep"),
        (b'{"a":' * 500 + b"1" + b"}" * 500, "too_deep"),
        (b'{"text": "\\ud800"}', "lone_surrogate"),
        (b'{"text": "a\\udfffb"}', "lone_surrogate"),
        (b'{"\\udc00": 1}', "lone_surrogate"),
        (b'[[[{"deep": ["ok", {"x": "\\ud83d"}]}]]]', "lone_surrogate"),
        (b'{"text": "a\\u0000b"}', "nul_character"),
    ],
)
def test_junk_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    assert reason_of(raw) == reason


@pytest.mark.parametrize(
    "raw",
    [
        nested(MAX_DEPTH),
        b'{"text": "\\ud83d\\ude00 \xea\xb0\x80"}',  # a surrogate pair is one emoji: fine
        b'{"date": 18446744073709551616, "n": -0, "f": 1.5e-400}',  # large ints are the route's business
        b"null",
        b'"text"',
    ],
)
def test_good_json_comes_back_as_json_loads_reads_it(raw: bytes) -> None:
    assert parse_json(raw) == json.loads(raw)


def test_the_route_chooses_the_error_class_and_so_its_code() -> None:
    class RouteError(ChestnutError):
        code = "route_says_no"

    with pytest.raises(RouteError) as caught:
        parse_json(b"[" * 10_000, error=RouteError)
    assert caught.value.to_json()["data"] == {"reason": "too_deep"}


def test_scrub_replaces_what_no_text_column_or_encoder_takes() -> None:
    assert scrub("a\ud800b\x00c\U0001f600") == "a\ufffdb\ufffdc\U0001f600"
    scrub("\udfff" * 3).encode("utf-8")


json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, derandomize=True, database=None)
@given(json_texts)
def test_any_json_either_round_trips_or_is_a_bad_json_body(value: Any) -> None:
    raw = json.dumps(value).encode()  # ASCII: every surrogate and NUL as a \\u escape
    try:
        parsed = parse_json(raw)
    except BadJsonBody as exc:
        assert exc.data["reason"] in ("lone_surrogate", "nul_character", "too_deep")
        return
    assert parsed == value
    json.dumps(parsed, ensure_ascii=False).encode("utf-8")  # whatever passes can be answered
