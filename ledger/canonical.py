"""RFC 8785 JSON Canonicalization Scheme (JCS), for the integer-only subset the ledger signs.

Every action is signed and hashed as canonical bytes, so two parties who hold the same value must
produce the same bytes, and a parser must accept only those bytes (otherwise one signed action could
have many encodings). The subset: objects with string keys, arrays, strings, integers within I-JSON's
exact range (|n| ≤ 2**53 - 1, RFC 7493 §2.2), ``true``, ``false``, ``null``. Floats are refused
outright: money is integers, and RFC 8785's ECMAScript number formatting is then never needed.

Within the subset JCS is: no whitespace, UTF-8, only the mandatory string escapes (``\\"`` ``\\\\``
``\\b`` ``\\f`` ``\\n`` ``\\r`` ``\\t``, other controls as lowercase ``\\u00xx``) — exactly what
Python's C JSON encoder emits with ``ensure_ascii=False`` — and object members sorted by the UTF-16
code units of their names (RFC 8785 §3.2.3). That order equals Python's code-point order unless a
name has a character above U+FFFF, so such objects take a slower path that sorts by UTF-16.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ledger.errors import EntryTooLarge, MalformedAction

__all__ = ["MAX_DEPTH", "MAX_ENTRY_SIZE", "MAX_SAFE_INTEGER", "canonical_json", "parse_canonical"]

MAX_SAFE_INTEGER = 2**53 - 1
# Nesting beyond this is never a real action; the limit also stops a cyclic value from recursing forever.
MAX_DEPTH = 64
# tlog-tiles entry bundles prefix each entry with a big-endian uint16 length, so no entry can be larger.
MAX_ENTRY_SIZE = 0xFFFF

# One C encoder shared by every call. check_circular is off because _scan's depth limit catches cycles.
_dumps: Callable[[object], str] = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    sort_keys=True,
    allow_nan=False,
    check_circular=False,
).encode
_quote: Callable[[str], str] = json.encoder.encode_basestring


def canonical_json(value: object, *, max_size: int | None = None) -> bytes:
    """The RFC 8785 bytes of ``value``; raises ``MalformedAction`` for anything outside the subset.

    ``max_size`` (bytes), if given, raises ``EntryTooLarge`` for a longer result.
    """
    try:
        text = _encode_wide(value) if _scan(value, 0) else _dumps(value)
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Python strings can hold lone surrogates; UTF-8 (and so JSON text, RFC 8259 §8.1) cannot.
        bad = exc.object[exc.start : exc.end]
        raise MalformedAction(f"string contains a lone surrogate {bad!a}, which has no UTF-8 form") from None
    if max_size is not None and len(data) > max_size:
        raise EntryTooLarge(
            f"canonical JSON is {len(data)} bytes, over the limit of {max_size}",
            size=len(data),
            limit=max_size,
        )
    return data


def parse_canonical(data: bytes, *, max_size: int = MAX_ENTRY_SIZE) -> Any:
    """Parse ``data``, accepting it only if it is exactly the canonical encoding of its value.

    Refuses (``MalformedAction``) non-UTF-8 input, invalid JSON, duplicate member names, any number
    that is not a plain integer, integers outside ±(2**53 - 1), lone surrogates, and any other
    spelling of a valid value (whitespace, unsorted members, needless escapes, ``-0``…).
    Input longer than ``max_size`` bytes raises ``EntryTooLarge`` before any parsing.
    """
    if len(data) > max_size:
        raise EntryTooLarge(f"entry is {len(data)} bytes, over the limit of {max_size}", size=len(data), limit=max_size)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedAction(f"not valid UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_float=_refuse_fraction,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise MalformedAction("JSON nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, or int() refusing thousands of digits
        raise MalformedAction(f"not valid JSON: {exc}") from None
    canonical = canonical_json(value)
    if canonical != data:
        at = next((i for i, (a, b) in enumerate(zip(canonical, data, strict=False)) if a != b), None)
        if at is None:
            at = min(len(canonical), len(data))
        raise MalformedAction(
            f"JSON is valid but not in RFC 8785 canonical form (first difference at byte {at})",
            offset=at,
        )
    return value


def _scan(value: object, depth: int) -> bool:
    """Check ``value`` is inside the subset; True if some object has a member name above U+FFFF."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise MalformedAction(f"JSON nested deeper than {MAX_DEPTH} levels")
        wide = False
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise MalformedAction(f"object member names must be strings, found {type(key).__name__}")
            # isascii() is a C-speed shortcut for the common case; max() finds astral characters.
            if not key.isascii() and max(key) > "\uffff":
                wide = True
            # Strings and safe integers (most members) are checked here, without a call per value.
            if type(item) is str or (type(item) is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER):
                continue
            if _scan(item, depth + 1):
                wide = True
        return wide
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            raise MalformedAction(f"JSON nested deeper than {MAX_DEPTH} levels")
        wide = False
        for item in value:  # type: ignore[attr-defined]
            if type(item) is str or (type(item) is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER):
                continue
            if _scan(item, depth + 1):
                wide = True
        return wide
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:  # type: ignore[operator]
            return False
        raise MalformedAction(
            f"integer {value} is outside ±(2**53 - 1), the exact range of I-JSON numbers",
            value=str(value),
        )
    if kind is str or kind is bool or value is None:
        return False
    if kind is float:
        raise MalformedAction(f"number {value!r} is not an integer; amounts are integers, never floats")
    # Exact types only (no IntEnum, no dict subclasses): the caller converts, so the bytes are unambiguous.
    raise MalformedAction(
        f"cannot encode {kind.__name__} as canonical JSON (only dict, list, tuple, str, int, bool and None are allowed)"
    )


def _utf16_order(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as the sequence of UTF-16 code units does.
    return key.encode("utf-16-be")


def _encode_wide(value: object) -> str:
    """The slow path, for values with a member name above U+FFFF; ``value`` is already scanned."""
    parts: list[str] = []
    _emit(value, parts.append)
    return "".join(parts)


def _emit(value: object, out: Callable[[str], None]) -> None:
    if type(value) is dict:
        out("{")
        for n, key in enumerate(sorted(value, key=_utf16_order)):
            if n:
                out(",")
            out(_quote(key))
            out(":")
            _emit(value[key], out)
        out("}")
    elif type(value) is list or type(value) is tuple:
        out("[")
        for n, item in enumerate(value):
            if n:
                out(",")
            _emit(item, out)
        out("]")
    else:
        out(_dumps(value))


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedAction(f"duplicate object member name {key!a}", key=key)
            seen.add(key)
    return obj


def _refuse_fraction(literal: str) -> Any:
    raise MalformedAction(f"number {literal} is not an integer; amounts are integers, never floats")


def _refuse_constant(literal: str) -> Any:
    raise MalformedAction(f"{literal} is not JSON")
