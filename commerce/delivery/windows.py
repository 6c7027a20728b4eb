"""Delivery windows and opening hours, in Seoul time.

A shop has opening hours ("09:00-19:00") and, optionally, the windows it delivers in each day
("09-13,13-19"; none set: the opening hours as one window). Buyers are offered the windows of the next
two days that still have any, each at least ``LEAD_MIN`` minutes before it closes. A window is stored
on the order as its start and end (ms since the epoch), so what the buyer chose never depends on how
the shop's settings read later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from commerce.delivery.errors import WindowUnavailable
from commerce.errors import InvalidInput

KST = dt.timezone(dt.timedelta(hours=9))
DAYS = 2
LEAD_MIN = 60  # a window closing sooner than this is too late to prepare and bring an order
PRESETS = {  # what a producer picks by chat instead of typing
    "hours": "",
    "halves": "09-13,13-19",
    "thirds": "09-12,12-16,16-20",
}
HOURS_PRESETS = ("07:00-19:00", "08:00-20:00", "09:00-18:00", "10:00-21:00")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_SLOT = re.compile(r"^([01]?\d|2[0-3])-([01]?\d|2[0-4])$")


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int
    end_ms: int

    def starts(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start_ms / 1000, KST)

    def ends(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.end_ms / 1000, KST)


def parse_hours(hours: str) -> tuple[int, int]:
    """ "09:00-19:00" → (540, 1140), minutes after midnight; refuses a closing time before opening."""
    found = _HOURS.match(hours.strip())
    if found is None:
        raise InvalidInput("opening hours look like 09:00-19:00", field="hours")
    h1, m1, h2, m2 = map(int, found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start or end > 24 * 60:
        raise InvalidInput("a shop closes after it opens", field="hours")
    return start, end


def parse_slots(windows: str, hours: str) -> list[tuple[int, int]]:
    """A day's windows in minutes; "" means the opening hours as one window."""
    if not windows.strip():
        return [parse_hours(hours)]
    slots = []
    for part in windows.split(","):
        found = _SLOT.match(part.strip())
        if found is None:
            raise InvalidInput("delivery windows look like 09-13,13-19", field="windows")
        start, end = int(found.group(1)) * 60, int(found.group(2)) * 60
        if end <= start:
            raise InvalidInput("a window ends after it starts", field="windows")
        slots.append((start, end))
    return sorted(slots)


def offered(hours: str, windows: str, now_ms: int, *, days: int = DAYS) -> list[Window]:
    """The windows a buyer may choose now: the next ``days`` days that still have one."""
    slots = parse_slots(windows, hours)
    today = dt.datetime.fromtimestamp(now_ms / 1000, KST).date()
    found: list[Window] = []
    day_count = 0
    for offset in range(days + 1):
        day = dt.datetime.combine(today + dt.timedelta(days=offset), dt.time(), KST)
        day_windows = [
            Window(_ms(day, start), _ms(day, end)) for start, end in slots if _ms(day, end) - LEAD_MIN * 60_000 > now_ms
        ]
        if day_windows:
            found += day_windows
            day_count += 1
        if day_count == days:
            break
    return found


def _ms(day: dt.datetime, minutes: int) -> int:
    return int((day + dt.timedelta(minutes=minutes)).timestamp() * 1000)


def check(hours: str, windows: str, chosen: Window, now_ms: int) -> Window:
    """The chosen window if the shop offers it now; else ``WindowUnavailable`` with what it does offer."""
    choices = offered(hours, windows, now_ms)
    if chosen in choices:
        return chosen
    reason = "past" if chosen.end_ms - LEAD_MIN * 60_000 <= now_ms else "not_offered"
    raise WindowUnavailable(
        "the shop does not deliver in that window", reason=reason, offered=[[w.start_ms, w.end_ms] for w in choices]
    )


def is_open(hours: str, now_ms: int) -> bool:
    start, end = parse_hours(hours)
    now = dt.datetime.fromtimestamp(now_ms / 1000, KST)
    minute = now.hour * 60 + now.minute
    return start <= minute < end
