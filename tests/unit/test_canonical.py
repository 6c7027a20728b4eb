"""RFC 8785 (JCS) canonical JSON for the integer-only subset: RFC examples, refusals, round trips."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, canonical_json, parse_canonical
from ledger.errors import EntryTooLarge, MalformedAction

# --- an independent reference, written from RFC 8785 §3.2 -------------------------------------------

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def ref_string(s: str) -> str:
    out = []
    for c in s:
        if c in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[c])
        elif c < " ":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def utf16_units(s: str) -> list[int]:
    units = []
    for c in s:
        cp = ord(c)
        if cp > 0xFFFF:
            cp -= 0x10000
            units += [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
        else:
            units.append(cp)
    return units


def reference(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return ref_string(value)
    if isinstance(value, list):
        return "[" + ",".join(reference(v) for v in value) + "]"
    keys = sorted(value, key=utf16_units)
    return "{" + ",".join(ref_string(k) + ":" + reference(value[k]) for k in keys) + "}"


# --- RFC 8785 examples --------------------------------------------------------------------------------


def test_rfc8785_property_sorting_example() -> None:
    # RFC 8785 §3.2.3. The emoji (surrogates D83D DE00) sorts before U+FB33 by UTF-16 code units,
    # although it is after it by code point, which is what a plain sorted() would give.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_json(value) == expected
    assert parse_canonical(expected) == value
    # And nested inside an otherwise BMP-only value.
    assert canonical_json({"a": [{"b": value}]}) == b'{"a":[{"b":' + expected + b"}]}"


def test_rfc8785_string_example() -> None:
    # RFC 8785 §3.2.2.2's "string" and "literals" members (its "numbers" are floats, outside our subset).
    value = {"string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"\u002f", "literals": [None, True, False]}
    expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode()
    assert canonical_json(value) == expected
    assert parse_canonical(expected) == value


def test_escapes_and_unicode_are_minimal() -> None:
    controls = "".join(chr(c) for c in range(0x20))
    assert canonical_json(controls) == (
        b'"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f'
        b"\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c"
        b'\\u001d\\u001e\\u001f"'
    )
    # DEL, '/', non-ASCII and astral characters are written as themselves, in UTF-8.
    assert canonical_json("\x7f/밤 나무 😀 \u2028") == '"\x7f/밤 나무 😀 \u2028"'.encode()
    assert canonical_json({"b": 1, "a": [True, None, -5, ""]}) == b'{"a":[true,null,-5,""],"b":1}'
    assert canonical_json([]) == b"[]"
    assert canonical_json({}) == b"{}"
    assert canonical_json((1, (2,))) == b"[1,[2]]"


def test_integer_range() -> None:
    assert canonical_json(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    assert canonical_json(0) == b"0"
    for n in (MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30):
        with pytest.raises(MalformedAction, match="outside"):
            canonical_json({"amount": n})


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.0, "not an integer"),
        ({"amount": 0.5}, "not an integer"),
        ([float("nan")], "not an integer"),
        (float("inf"), "not an integer"),
        ("\ud800", "lone surrogate"),
        ({"\udfff": 1}, "lone surrogate"),
        ({"\U0001f600": 1, "x\ud800": 2}, "lone surrogate"),  # the slow (astral-key) path
        ({1: "a"}, "must be strings"),
        ({None: "a"}, "must be strings"),
        ({"a": {1, 2}}, "cannot encode set"),
        (b"bytes", "cannot encode bytes"),
        (Colour.RED, "cannot encode Colour"),
    ],
)
def test_refused_values(value: object, message: str) -> None:
    with pytest.raises(MalformedAction, match=message):
        canonical_json(value)


def test_depth_limit_and_cycles() -> None:
    deep: Any = 0
    for _ in range(MAX_DEPTH):
        deep = [deep]
    canonical_json(deep)
    with pytest.raises(MalformedAction, match="nested deeper"):
        canonical_json([deep])
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(MalformedAction, match="nested deeper"):
        canonical_json(cyclic)


def test_max_size() -> None:
    assert canonical_json("abc", max_size=5) == b'"abc"'
    with pytest.raises(EntryTooLarge) as caught:
        canonical_json("abcd", max_size=5)
    assert caught.value.data == {"size": 6, "limit": 5}
    with pytest.raises(EntryTooLarge):
        parse_canonical(b'"abcd"', max_size=5)
    with pytest.raises(EntryTooLarge):
        parse_canonical(b'"' + b"x" * 70_000 + b'"')  # default limit: the uint16 tile entry size


# --- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":1}', "duplicate"),
        (b'{"a":{"b":1,"b":2}}', "duplicate"),
        (b'{"a":1.0}', "not an integer"),
        (b"1e5", "not an integer"),
        (b"1E5", "not an integer"),
        (b"-0.0", "not an integer"),
        (b"NaN", "not JSON"),
        (b"-Infinity", "not JSON"),
        (b"9007199254740992", "outside"),
        (b"1" * 5000, "not valid JSON"),  # beyond Python's int() digit limit
        (b"\xff", "UTF-8"),
        (b'"\xed\xa0\x80"', "UTF-8"),  # a surrogate encoded in UTF-8
        (b'"\xc0\xaf"', "UTF-8"),  # an overlong '/'
        (b'"\\ud800"', "lone surrogate"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a byte-order mark
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"{} {}", "not valid JSON"),
        (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
        (b"[" * 65 + b"]" * 65, "nested deeper"),
        (b" {}", "canonical form"),
        (b"{}\n", "canonical form"),
        (b'{"a": 1}', "canonical form"),
        (b'{"b":1,"a":2}', "canonical form"),
        (b'{"\xef\xac\xb3":1,"\xf0\x9f\x98\x80":2}', "canonical form"),  # code-point order, not UTF-16
        (b"-0", "canonical form"),
        (b"007", "not valid JSON"),
        (b'"\\u0041"', "canonical form"),
        (b'"\\u001F"', "canonical form"),
        (b'"\\/"', "canonical form"),
        (b'"\\u00e9"', "canonical form"),
    ],
)
def test_refused_bytes(data: bytes, message: str) -> None:
    with pytest.raises(MalformedAction, match=message):
        parse_canonical(data)


def test_refusal_says_where() -> None:
    with pytest.raises(MalformedAction) as caught:
        parse_canonical(b'{"a":1, "b":2}')
    assert caught.value.data == {"offset": 7}
    assert "byte 7" in caught.value.message


# --- properties ---------------------------------------------------------------------------------------

# Keys and strings drawn from all of Unicode except surrogates, so astral characters appear often
# enough to exercise the UTF-16 ordering path.
keys = st.text(st.characters(exclude_categories=["Cs"]), max_size=6) | st.sampled_from(
    ["a", "\ufb33", "\ue000", "\uffff", "\U0001f600", "\U00010000", "😀a", "😀"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)


@given(json_values)
def test_round_trip_and_reference(value: Any) -> None:
    data = canonical_json(value)
    assert data == reference(value).encode("utf-8")
    assert parse_canonical(data) == value
    assert canonical_json(parse_canonical(data)) == data


@given(json_values)
def test_other_spellings_are_refused(value: Any) -> None:
    canonical = canonical_json(value)
    for spelling in (
        json.dumps(value).encode(),  # ASCII escapes and ", " / ": " separators
        json.dumps(value, ensure_ascii=False, indent=1).encode(),
        json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(),  # insertion order
    ):
        if spelling != canonical:
            with pytest.raises(MalformedAction):
                parse_canonical(spelling)
