"""Reading numbers out of button payloads (``verb:12:3``): one rule for every flow.

A payload can be old or hand-made, so a part that is not a short run of digits is no number: the
optional form answers ``None`` (the flow shows its stale-button screen), the required form refuses
with ``InvalidInput`` (the core phrases it kindly).
"""

from __future__ import annotations

from commerce.errors import InvalidInput

MAX_DIGITS = 11  # ids and amounts stay far below 10^11; longer is junk, not a number


def number(args: list[str], i: int, *, signed: bool = False) -> int | None:
    if len(args) <= i:
        return None
    part = args[i][1:] if signed and args[i].startswith("-") else args[i]
    if not part.isdigit() or len(part) > MAX_DIGITS:
        return None
    return int(args[i])


def required(arg: str, field: str = "id") -> int:
    value = number([arg], 0)
    if value is None:
        raise InvalidInput(f"{field} must be a number", field=field)
    return value


def arg(args: list[str], i: int, default: int = 0) -> int:
    """The ``i``-th part as a number, ``default`` when there is none; a part that is no number is refused."""
    return required(args[i]) if len(args) > i and args[i] else default
