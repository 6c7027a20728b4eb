"""Input checks shared by every service: text, quantities, prices, percentages.

Each returns the clean value or raises ``InvalidInput`` naming the field, so a chat can say which
answer to give again.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from commerce.errors import InvalidInput

_PHONE = re.compile(r"^01[016789]\d{7,8}$")


def text(value: Any, field: str, *, max_len: int, required: bool = True, multiline: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    clean = unicodedata.normalize("NFC", value).strip()
    for ch in clean:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and not (multiline and ch == "\n"):
            raise InvalidInput(f"{field} contains control characters", field=field)
    if required and not clean:
        raise InvalidInput(f"{field} is empty", field=field)
    if len(clean) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters", field=field, max_len=max_len)
    return clean


def whole_number(value: Any, field: str, *, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field, low=low, high=high)
    return value


def phone(value: Any) -> str:
    """Korean mobile numbers, as typed or shared: '010-1234-5678', '+82 10 1234 5678' → '01012345678'."""
    if not isinstance(value, str):
        raise InvalidInput("phone must be text", field="phone")
    digits = re.sub(r"[\s\-().]", "", value)
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    elif digits.startswith("82") and len(digits) >= 11:
        digits = "0" + digits[2:]
    if not _PHONE.match(digits):
        raise InvalidInput("that does not look like a mobile number (010-1234-5678)", field="phone")
    return digits
