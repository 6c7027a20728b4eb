"""Message catalogues: every word the chat says, Korean first, English complete.

Flows never hold literals; they ask ``t(lang, key, **values)``. Amounts are formatted here, once:
``won(12000)`` → "12,000원", and BNM units (1 unit = 0.001 BNM) as "1.250 BNM", with integer
arithmetic only. ``tests/unit/test_texts.py`` checks that both catalogues have the same keys and the
same placeholders.
"""

from __future__ import annotations

from bots.catalog_ads_en import ADS_EN
from bots.catalog_ads_ko import ADS_KO
from bots.catalog_bnm_en import BNM_EN
from bots.catalog_bnm_ko import BNM_KO
from bots.catalog_community_en import COMMUNITY_EN
from bots.catalog_community_ko import COMMUNITY_KO
from bots.catalog_en import EN
from bots.catalog_ko import KO
from bots.catalog_trust_en import TRUST_EN
from bots.catalog_trust_ko import TRUST_KO
from bots.catalog_work_en import WORK_EN
from bots.catalog_work_ko import WORK_KO

# The shopper's words, the work flows' (producer, courier, operator) and the BNM market's, one catalogue per language.
CATALOGUES: dict[str, dict[str, str]] = {
    "ko": {**KO, **WORK_KO, **BNM_KO, **ADS_KO, **COMMUNITY_KO, **TRUST_KO},
    "en": {**EN, **WORK_EN, **BNM_EN, **ADS_EN, **COMMUNITY_EN, **TRUST_EN},
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


def labels(key: str) -> set[str]:
    """A text in every language: how a typed menu label (Telegram's reply keyboard) is recognised."""
    return {catalogue[key] for catalogue in CATALOGUES.values() if key in catalogue}
