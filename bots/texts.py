"""Message catalogues: every word the chat says, Korean first, English complete.

Flows never hold literals; they ask ``t(lang, key, **values)``. Amounts are formatted here, once:
``won(12000)`` → "12,000원", and BNM units (1 unit = 0.001 BNM) as "1.250 BNM", with integer
arithmetic only. ``tests/unit/test_texts.py`` checks that both catalogues have the same keys and the
same placeholders.
"""

from __future__ import annotations

import datetime as dt

from bots.catalog_ads_en import ADS_EN
from bots.catalog_ads_ko import ADS_KO
from bots.catalog_bnm_en import BNM_EN
from bots.catalog_bnm_ko import BNM_KO
from bots.catalog_community_en import COMMUNITY_EN
from bots.catalog_community_ko import COMMUNITY_KO
from bots.catalog_delivery_en import DELIVERY_EN
from bots.catalog_delivery_ko import DELIVERY_KO
from bots.catalog_en import EN
from bots.catalog_ko import KO
from bots.catalog_trust_en import TRUST_EN
from bots.catalog_trust_ko import TRUST_KO
from bots.catalog_work_en import WORK_EN
from bots.catalog_work_ko import WORK_KO

# The shopper's words, the work flows' (producer, courier, operator) and the BNM market's, one catalogue per language.
CATALOGUES: dict[str, dict[str, str]] = {
    "ko": {**KO, **WORK_KO, **BNM_KO, **ADS_KO, **COMMUNITY_KO, **TRUST_KO, **DELIVERY_KO},
    "en": {**EN, **WORK_EN, **BNM_EN, **ADS_EN, **COMMUNITY_EN, **TRUST_EN, **DELIVERY_EN},
}
LANGS = tuple(CATALOGUES)


def t(lang: str, key: str, **values: object) -> str:
    catalogue = CATALOGUES.get(lang, CATALOGUES["ko"])
    template = catalogue.get(key) or CATALOGUES["ko"][key]
    return template.format(**values) if values else template


def won(amount: int, lang: str = "ko") -> str:
    return f"{amount:,}원" if lang == "ko" else f"{amount:,} won"


def bnm(units: int) -> str:
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 1000)
    return f"{sign}{whole:,}.{frac:03d} BNM"


def _clock(lang: str, moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    half = t(lang, "win.am" if moment.hour < 12 else "win.pm")
    if moment.minute:
        return t(lang, "win.hour_min", half=half, hour=hour, minute=f"{moment.minute:02d}")
    return t(lang, "win.hour", half=half, hour=hour)


def window(lang: str, start: dt.datetime, end: dt.datetime, today: dt.date) -> str:
    """A delivery window as people say it: "내일 오전 9시~오후 1시", "12월 9일(수) 오후 1시~7시"."""
    days = (start.date() - today).days
    if 0 <= days <= 2:
        day = t(lang, ("win.today", "win.tomorrow", "win.day_after")[days])
    else:
        weekday = t(lang, "win.weekdays").split(",")[start.weekday()]
        day = t(lang, "win.date", month=start.month, day=start.day, weekday=weekday)
    end_text = _clock(lang, end)
    if lang == "ko" and (start.hour < 12) == (end.hour < 12) and end.hour != 0:
        end_text = end_text.split(" ", 1)[1]  # "오후 1시~7시", not "오후 1시~오후 7시"
    return t(lang, "win.range", day=day, start=_clock(lang, start), end=end_text)


def labels(key: str) -> set[str]:
    """A text in every language: how a typed menu label (Telegram's reply keyboard) is recognised."""
    return {catalogue[key] for catalogue in CATALOGUES.values() if key in catalogue}
