"""Product codes for labels and URLs: Crockford base32 of the product id and one check symbol.

Why not the bare id: a code is printed on a label and read off it, sometimes typed by hand. Crockford's
alphabet has no I, L, O or U (read as 1, 1, 0 and refused), and the check symbol (Luhn mod 32) catches
every single wrong symbol and every swap of two neighbours, so a mistyped code is a friendly 404
rather than somebody else's apples. Codes are at least four symbols plus the check: ``0001`` + check.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_VALUE.update({"I": 1, "L": 1, "O": 0})
MIN_DIGITS = 4
MAX_LEN = 14


def _check(digits: list[int]) -> int:
    """Luhn mod N (N = 32) over the digits, rightmost doubled first."""
    total, factor = 0, 2
    for d in reversed(digits):
        addend = factor * d
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return (32 - total % 32) % 32


def encode(product_id: int) -> str:
    if product_id < 1:
        raise ValueError("product ids start at 1")
    digits: list[int] = []
    n = product_id
    while n:
        n, r = divmod(n, 32)
        digits.append(r)
    digits.extend([0] * (MIN_DIGITS - len(digits)))
    digits.reverse()
    return "".join(ALPHABET[d] for d in digits) + ALPHABET[_check(digits)]


def decode(code: str) -> int | None:
    """The product id, or None for anything that is not a well-formed code (never raises)."""
    if not isinstance(code, str) or not MIN_DIGITS + 1 <= len(code) <= MAX_LEN or not code.isascii():
        return None
    values = [_VALUE.get(c) for c in code.upper().replace("-", "")]
    if any(v is None for v in values) or len(values) < MIN_DIGITS + 1:
        return None
    digits = [v for v in values if v is not None]
    if _check(digits[:-1]) != digits[-1]:
        return None
    n = 0
    for d in digits[:-1]:
        n = n * 32 + d
    return n or None


def page_path(product_id: int) -> str:
    """The product's public page (``web.provenance``), from the server's root."""
    return f"/p/{encode(product_id)}"
