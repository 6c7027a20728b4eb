"""Typed answers, for every flow that asks for one: the screen that waits for text, reading what came
back ("1만2천" → 12000, a text the services will take), and a short line over a screen that says why
it is shown again.

The producer's, the courier's, the cash-out's and the office's flows ask the same way, so a person
meets the same phrasing and the same tolerance everywhere.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bots.context import Ctx
from bots.messages import Button, Reply, Screen
from commerce import validate
from commerce.errors import InvalidInput


def parse_amount(text: str) -> int | None:
    """A whole number as people type it: "12000", "12,000원", "1만2천", "3만", "10개" — None if not one."""
    s = re.sub(r"[\s,]", "", text or "").lower()
    s = re.sub(r"(원|won|개|kg)$", "", s)
    if not s or len(s) > 16:
        return None
    m = re.fullmatch(r"(?:(\d+)만)?(?:(\d+)천)?(\d*)", s)
    if m is None or not any(m.groups()):
        return None
    man, cheon, rest = m.groups()
    return int(man or 0) * 10_000 + int(cheon or 0) * 1_000 + int(rest or 0)


def with_note(screen: Screen, text: str) -> Screen:
    """The same screen with a short line above it: a hint after an answer that did not fit, or "done"."""
    return replace(screen, replies=(Reply(text), *screen.replies))


def clean_text(value: str, max_len: int) -> str | None:
    """The typed answer as the services will store it, or None (too long, empty, control characters)."""
    try:
        return validate.text(value, "answer", max_len=max_len)
    except InvalidInput:
        return None


def expects_text(ctx: Ctx, state: str, text: str, *rows: list[Button], **draft: Any) -> Screen:
    ctx.go(state, **draft)
    return ctx.say(text, *rows, expects="text")
