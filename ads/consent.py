"""Consent to ads: the ONE place that decides whether an ad may reach a member now (정보통신망법 §50).

A member opts in per product category and per region (``"*"`` stands for any), and separately for the
night (21:00–08:00 Asia/Seoul by default; Kakao blocks 20:50–08:00, so KakaoTalk sends stop
``kakao_margin_min`` earlier). A consent given or re-confirmed more than two years ago no longer counts
until the member confirms it again. Every change — a grant, a withdrawal, the one-tap opt-out in an ad,
a re-confirmation — is a ledger entry signed by the member (``ad.consent``, ``ad.opt_out``,
``ad.consent_confirm``), so the cooperative can show when and how each consent was given.

``decide`` is a pure function over the member's consent rows; dispatch calls ``load`` + ``decide`` at
the moment of sending, the campaign's audience fill uses ``candidates`` only to choose whom to try.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ads.errors import InvalidConsent, NoConsent
from commerce.members import service as members
from commerce.services import Services
from ledger.requests import Request
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

ANY = "*"
SCOPES = ("category", "region", "night")
TTL_MS = 730 * 86_400_000  # two years: consent must be re-confirmed after this
MAX_VALUE = 64


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The night in which ads need the separate night consent, in local time (minutes after midnight)."""

    start_min: int = 21 * 60
    end_min: int = 8 * 60
    timezone: str = "Asia/Seoul"
    kakao_margin_min: int = 10  # Kakao and its dealers block ads from 20:50

    @classmethod
    def parse(cls, start: str, end: str, timezone: str = "Asia/Seoul", kakao_margin_min: int = 10) -> QuietHours:
        def minutes(hhmm: str) -> int:
            hours, _, mins = hhmm.partition(":")
            value = int(hours) * 60 + int(mins or 0)
            if not 0 <= value < 24 * 60:
                raise ValueError(f"not a time of day: {hhmm!r}")
            return value

        return cls(minutes(start), minutes(end), timezone, kakao_margin_min)

    def local_minute(self, now_ms: int) -> int:
        local = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(ZoneInfo(self.timezone))
        return local.hour * 60 + local.minute

    def contains(self, now_ms: int, channel: str = "") -> bool:
        minute = self.local_minute(now_ms)
        start = self.start_min - (self.kakao_margin_min if channel == "kakao" else 0)
        start %= 24 * 60
        if start <= self.end_min:
            return start <= minute < self.end_min
        return minute >= start or minute < self.end_min


@dataclass(frozen=True, slots=True)
class ConsentRow:
    scope: str  # category | region | night
    value: str  # a category, a region, "*"; "" for night
    status: str  # granted | withdrawn
    confirmed_ms: int


@dataclass(frozen=True, slots=True)
class Decision:
    ok: bool
    reason: str  # ok | no_consent | withdrawn | expired | quiet_hours


@dataclass(frozen=True, slots=True)
class ConsentView:
    """What the settings screen shows: granted and still valid, and whether anything needs re-confirming."""

    categories: tuple[str, ...]
    regions: tuple[str, ...]
    night: bool
    expired: bool  # some granted consent is older than two years


def _scope_state(rows: Iterable[ConsentRow], scope: str, values: set[str], now_ms: int) -> str:
    state = "no_consent"
    for row in rows:
        if row.scope != scope or row.value not in values:
            continue
        if row.status == "granted":
            if now_ms - row.confirmed_ms < TTL_MS:
                return "ok"
            state = "expired"
        elif state == "no_consent":
            state = "withdrawn"
    return state


def decide(
    rows: Sequence[ConsentRow],
    *,
    categories: Collection[str],
    regions: Collection[str],
    now_ms: int,
    quiet: QuietHours,
    channel: str = "",
) -> Decision:
    """May an ad about ``categories`` for ``regions`` reach this member at ``now_ms`` on ``channel``?

    The member must have a valid consent to one of the ad's categories (or any) and one of its regions
    (or any); in the quiet hours also a valid night consent.
    """
    for scope, values in (("category", categories), ("region", regions)):
        state = _scope_state(rows, scope, {*values, ANY}, now_ms)
        if state != "ok":
            return Decision(False, state)
    if quiet.contains(now_ms, channel) and _scope_state(rows, "night", {""}, now_ms) != "ok":
        return Decision(False, "quiet_hours")
    return Decision(True, "ok")


def _row(r: tuple[object, ...]) -> ConsentRow:
    return ConsentRow(str(r[0]), str(r[1]), str(r[2]), int(r[3]))  # type: ignore[call-overload]


async def load(uow: UnitOfWork, member_ids: Sequence[int]) -> dict[int, list[ConsentRow]]:
    """Every consent row of these members, read in one statement per 500 members."""
    out: dict[int, list[ConsentRow]] = {m: [] for m in member_ids}
    ids = list(dict.fromkeys(member_ids))
    for start in range(0, len(ids), 500):
        clause, params = in_clause("m", ids[start : start + 500])
        rows = await uow.fetch(
            f"SELECT member_id, scope, value, status, confirmed_ms FROM ad_consents WHERE member_id IN {clause}",
            params,
        )
        for r in rows:
            out[int(r[0])].append(_row(r[1:]))
    return out


async def check(
    uow: UnitOfWork,
    member_id: int,
    *,
    categories: Collection[str],
    regions: Collection[str],
    now_ms: int,
    quiet: QuietHours,
    channel: str = "",
) -> Decision:
    rows = (await load(uow, [member_id]))[member_id]
    return decide(rows, categories=categories, regions=regions, now_ms=now_ms, quiet=quiet, channel=channel)


async def require(
    uow: UnitOfWork,
    member_id: int,
    *,
    categories: Collection[str],
    regions: Collection[str],
    now_ms: int,
    quiet: QuietHours,
    channel: str = "",
) -> None:
    """Raise ``NoConsent`` (with the reason) unless an ad may reach this member now."""
    decision = await check(
        uow, member_id, categories=categories, regions=regions, now_ms=now_ms, quiet=quiet, channel=channel
    )
    if not decision.ok:
        raise NoConsent(f"no valid consent for this ad ({decision.reason})", member=member_id, reason=decision.reason)


def _check_value(scope: str, value: str) -> str:
    if scope not in SCOPES:
        raise InvalidConsent(f"consent scope must be one of {SCOPES}", scope=scope)
    value = "" if scope == "night" else value.strip()
    if scope != "night" and (not value or len(value) > MAX_VALUE):
        raise InvalidConsent(f"a {scope} consent names a {scope} or '*'", scope=scope)
    return value


async def set_consent(
    market: Services, uow: UnitOfWork, member_id: int, scope: str, value: str, *, granted: bool
) -> None:
    """Grant or withdraw one consent, in the member's signed ``ad.consent`` entry."""
    value = _check_value(scope, value)
    member = await members.get(uow, member_id)
    now = market.clock()
    recorded = await market.ledger.record(
        uow,
        Request(
            actor=member.key_label,
            kind="ad.consent",
            body={"member": member.id, "scope": scope, "value": value, "granted": granted},
        ),
    )
    await uow.execute(
        "INSERT INTO ad_consents (member_id, scope, value, status, confirmed_ms, updated_ms, seq) "
        "VALUES (:m, :s, :v, :st, :now, :now, :seq) ON CONFLICT (member_id, scope, value) DO UPDATE SET "
        "status = excluded.status, updated_ms = excluded.updated_ms, seq = excluded.seq, "
        "confirmed_ms = CASE WHEN excluded.status = 'granted' THEN excluded.confirmed_ms "
        "ELSE ad_consents.confirmed_ms END",
        {
            "m": member.id,
            "s": scope,
            "v": value,
            "st": "granted" if granted else "withdrawn",
            "now": now,
            "seq": recorded.seq,
        },
    )


async def opt_out(market: Services, uow: UnitOfWork, member_id: int, *, campaign_id: int | None = None) -> int:
    """The one-tap "광고 그만 받기": every consent withdrawn at once, effective for the very next send."""
    member = await members.get(uow, member_id)
    now = market.clock()
    recorded = await market.ledger.record(
        uow,
        Request(actor=member.key_label, kind="ad.opt_out", body={"member": member.id, "campaign": campaign_id}),
    )
    rows = await uow.fetch(
        "UPDATE ad_consents SET status = 'withdrawn', updated_ms = :now, seq = :seq "
        "WHERE member_id = :m AND status = 'granted' RETURNING scope",
        {"m": member.id, "now": now, "seq": recorded.seq},
    )
    return len(rows)


async def reconfirm(market: Services, uow: UnitOfWork, member_id: int) -> int:
    """Re-confirm every granted consent (the two-year rule), in a signed ``ad.consent_confirm``."""
    member = await members.get(uow, member_id)
    now = market.clock()
    recorded = await market.ledger.record(
        uow, Request(actor=member.key_label, kind="ad.consent_confirm", body={"member": member.id})
    )
    rows = await uow.fetch(
        "UPDATE ad_consents SET confirmed_ms = :now, updated_ms = :now, seq = :seq "
        "WHERE member_id = :m AND status = 'granted' RETURNING scope",
        {"m": member.id, "now": now, "seq": recorded.seq},
    )
    return len(rows)


async def view(uow: UnitOfWork, member_id: int, now_ms: int) -> ConsentView:
    rows = (await load(uow, [member_id]))[member_id]
    valid = [r for r in rows if r.status == "granted" and now_ms - r.confirmed_ms < TTL_MS]
    expired = any(r.status == "granted" and now_ms - r.confirmed_ms >= TTL_MS for r in rows)
    return ConsentView(
        tuple(sorted(r.value for r in valid if r.scope == "category")),
        tuple(sorted(r.value for r in valid if r.scope == "region")),
        any(r.scope == "night" for r in valid),
        expired,
    )


async def candidates(uow: UnitOfWork, *, categories: Sequence[str], regions: Sequence[str], now_ms: int) -> list[int]:
    """Members with a granted, unexpired consent to one of ``categories`` and one of ``regions``.

    Only whom to try: the decision at the moment of sending is ``decide``'s.
    """
    cats, cat_params = in_clause("c", [*dict.fromkeys([*categories, ANY])])
    regs, reg_params = in_clause("r", [*dict.fromkeys([*regions, ANY])])
    rows = await uow.fetch(
        "SELECT c.member_id FROM ad_consents c JOIN members m ON m.id = c.member_id AND m.status = 'active' "
        "WHERE c.scope = 'category' AND c.status = 'granted' "
        f"AND c.confirmed_ms > :since AND c.value IN {cats} AND EXISTS (SELECT 1 FROM ad_consents r "
        "WHERE r.member_id = c.member_id AND r.scope = 'region' AND r.status = 'granted' "
        f"AND r.confirmed_ms > :since AND r.value IN {regs}) GROUP BY c.member_id ORDER BY c.member_id",
        {**cat_params, **reg_params, "since": now_ms - TTL_MS},
    )
    return [int(r[0]) for r in rows]
