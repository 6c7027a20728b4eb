"""The ads' rules from settings (pacing, quiet hours, open limits), carried by the market they run in.

``AdsServices`` is the commerce ``Services`` with these rules attached, built once by bootstrap; services and
chat flows read them with ``rules_of(market)``, which falls back to the defaults for a plain ``Services``
(a test or a tool that built one directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ads.consent import QuietHours
from commerce.services import Services


@dataclass(frozen=True, slots=True)
class AdsRules:
    quiet: QuietHours = field(default_factory=QuietHours)
    telegram_rate_per_s: float = 30.0
    telegram_per_chat_s: float = 1.0
    kakao_batch: int = 100
    min_open_ms: int = 1000  # sooner than this after delivery is faster than a human reads
    max_opens_per_day: int = 30
    open_key: bytes | None = None  # None: HMAC with the market's pepper

    @classmethod
    def from_settings(cls, s: Any) -> AdsRules:
        key = s.ads_open_key.get_secret_value().encode() if s.ads_open_key is not None else None
        return cls(
            quiet=QuietHours.parse(s.ads_quiet_start, s.ads_quiet_end, s.ads_timezone, s.ads_kakao_quiet_margin_min),
            telegram_rate_per_s=s.ads_telegram_rate_per_s,
            telegram_per_chat_s=s.ads_telegram_per_chat_s,
            kakao_batch=max(1, min(100, s.ads_kakao_batch)),
            min_open_ms=int(s.ads_min_open_s * 1000),
            max_opens_per_day=s.ads_max_opens_per_day,
            open_key=key,
        )


DEFAULT_RULES = AdsRules()


@dataclass
class AdsServices(Services):
    """A ``Services`` that also knows the ads' rules."""

    ads: AdsRules = field(default_factory=AdsRules)


def rules_of(market: Services) -> AdsRules:
    return market.ads if isinstance(market, AdsServices) else DEFAULT_RULES
