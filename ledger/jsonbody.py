"""The one reader of JSON request bodies: every JSON route parses through here, so junk is a 4xx, never a 500.

What it refuses, each as a typed error with a stable ``reason`` in its data:

- ``too_large`` — a body over the route's limit;
- ``content_type`` — a route that wants ``application/json`` got something else;
- ``not_utf8`` — bytes that are not strict UTF-8 (``json.loads`` on bytes would take UTF-16 and
  UTF-8-encoded surrogates);
- ``not_json`` — not JSON, including ``NaN``/``Infinity`` and integers of thousands of digits;
- ``bad_number`` — a number that only fits a float as infinity (``1e999``);
- ``too_deep`` — arrays and objects nested deeper than ``MAX_DEPTH`` (no request we serve needs more;
  the C parser would otherwise recurse until ``RecursionError``);
- ``lone_surrogate`` / ``nul_character`` — a key or string with a lone UTF-16 surrogate (``"\\ud800"``:
  no UTF-8 encoder, database or JSON answer can carry it) or U+0000 (PostgreSQL text cannot store it).

The route chooses the error class, so each keeps its own stable code (the web chat's ``bad_request``,
Kakao's ``not_a_skill_payload`` …); ``BadJsonBody`` (``bad_json``) is the default. The server's error
middleware renders it as ``{"error", "message", "data": {"reason"}}`` with the class's status.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Protocol

from aiohttp import web

from ledger.errors import ChestnutError

MAX_DEPTH = 32
JSON = "application/json"
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_REPLACEMENT = "\ufffd"


class BadJsonBody(ChestnutError):
    code = "bad_json"


class ErrorClass(Protocol):
    def __call__(self, message: str, **data: Any) -> ChestnutError: ...


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise OverflowError(text)
    return value


def loads(raw: bytes, *, error: ErrorClass = BadJsonBody) -> Any:
    """Strict UTF-8, standard JSON, finite numbers; nothing about depth or characters yet (``check``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("the body is not UTF-8", reason="not_utf8") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise error(f"the JSON is nested more than {MAX_DEPTH} levels deep", reason="too_deep") from None
    except OverflowError:
        raise error("a number in the JSON is too large", reason="bad_number") from None
    except ValueError:  # json.JSONDecodeError, NaN, or int() refusing thousands of digits
        raise error("the body is not JSON", reason="not_json") from None


def bad_text(text: str) -> str | None:
    """The reason a string cannot be taken as text (``lone_surrogate``, ``nul_character``), or None."""
    found = _BAD_CHARS.search(text)
    if found is None:
        return None
    return "nul_character" if found.group() == "\x00" else "lone_surrogate"


def scrub(text: str) -> str:
    """``text`` with every lone surrogate and U+0000 replaced by U+FFFD, for input no route reader saw."""
    return _BAD_CHARS.sub(_REPLACEMENT, text)


def check(value: Any, *, error: ErrorClass = BadJsonBody, depth: bool = True, strings: bool = True) -> None:
    """Refuse nesting past ``MAX_DEPTH`` and keys or strings that ``bad_text`` refuses (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, str):
            reason = bad_text(node) if strings else None
            if reason is not None:
                what = "U+0000" if reason == "nul_character" else "a lone UTF-16 surrogate"
                raise error(f"a string in the JSON contains {what}", reason=reason)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth and level > MAX_DEPTH:
            raise error(f"the JSON is nested more than {MAX_DEPTH} levels deep", reason="too_deep")
        if isinstance(node, dict):
            stack.extend((k, level) for k in node)
            stack.extend((v, level + 1) for v in node.values())
        else:
            stack.extend((v, level + 1) for v in node)


def parse_json(raw: bytes, *, error: ErrorClass = BadJsonBody) -> Any:
    """A JSON body as Python values, or ``error`` with the reason (see the module's docstring)."""
    value = loads(raw, error=error)
    check(value, error=error)
    return value


async def read_json(
    request: web.Request,
    *,
    max_bytes: int,
    error: ErrorClass = BadJsonBody,
    content_type: str | None = JSON,
    strings: bool = True,
) -> Any:
    """Read and parse a request's JSON body. ``content_type=None`` takes any content type;
    ``strings=False`` leaves the character check to the caller (``check(value, depth=False)``)."""
    if content_type is not None and request.content_type != content_type:
        raise error(f"send JSON with Content-Type: {content_type}", reason="content_type")
    if request.content_length is not None and request.content_length > max_bytes:
        raise error(f"the body is larger than {max_bytes} bytes", reason="too_large", max_bytes=max_bytes)
    raw = await request.read()  # the server's client_max_size bounds a body without a length
    if len(raw) > max_bytes:
        raise error(f"the body is larger than {max_bytes} bytes", reason="too_large", max_bytes=max_bytes)
    value = loads(raw, error=error)
    check(value, error=error, strings=strings)
    return value
