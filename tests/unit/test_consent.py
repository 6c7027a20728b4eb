"""Consent enforcement as a property: for any consents and any ad, nothing reaches a member without
a valid consent, and nothing in the quiet hours without a valid night consent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ads.consent import ANY, TTL_MS, ConsentRow, QuietHours, decide

CATS = ["과일", "채소", "수산", ANY]
REGS = ["수원시", "청송군", ANY]
BASE = 1_796_000_400_000
QUIET = QuietHours()

rows = st.lists(
    st.builds(
        ConsentRow,
        scope=st.sampled_from(["category", "region", "night"]),
        value=st.sampled_from([*CATS, *REGS, ""]),
        status=st.sampled_from(["granted", "withdrawn"]),
        confirmed_ms=st.integers(BASE - 2 * TTL_MS, BASE),
    ),
    max_size=8,
)


def valid(rs: list[ConsentRow], scope: str, values: set[str], now: int) -> bool:
    return any(
        r.scope == scope and r.value in values and r.status == "granted" and now - r.confirmed_ms < TTL_MS for r in rs
    )


@settings(max_examples=400, deadline=None)
@given(
    rs=rows,
    cats=st.sets(st.sampled_from(CATS[:3]), min_size=1),
    regs=st.sets(st.sampled_from(REGS[:2]), min_size=1),
    offset=st.integers(0, 3 * 86_400_000),
    channel=st.sampled_from(["telegram", "kakao", "web"]),
)
def test_no_ad_without_valid_consent(
    rs: list[ConsentRow], cats: set[str], regs: set[str], offset: int, channel: str
) -> None:
    now = BASE + offset
    decision = decide(rs, categories=cats, regions=regs, now_ms=now, quiet=QUIET, channel=channel)
    if decision.ok:
        assert valid(rs, "category", {*cats, ANY}, now)
        assert valid(rs, "region", {*regs, ANY}, now)
        if QUIET.contains(now, channel):
            assert valid(rs, "night", {""}, now)
    else:
        assert decision.reason in ("no_consent", "withdrawn", "expired", "quiet_hours")


def test_quiet_hours_are_seoul_time_and_kakao_stops_at_2050() -> None:
    day = BASE - BASE % 86_400_000  # 00:00 UTC = 09:00 KST
    at = lambda h, m=0: day + ((h - 9) % 24) * 3_600_000 + m * 60_000  # noqa: E731
    assert not QUIET.contains(at(12)) and not QUIET.contains(at(20, 55))
    assert QUIET.contains(at(20, 55), "kakao") and QUIET.contains(at(23)) and QUIET.contains(at(7, 59))
    assert not QUIET.contains(at(8))
