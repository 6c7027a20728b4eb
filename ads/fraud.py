"""Fraud rules for recommendations and comment brokering: each verdict names its rule and reason.

A share of an order's proceeds is *due*, *held* for an operator, or *refused*; anything but due is
written to the shared signal list (``ads.signals``) in the caller's transaction, with the figures that
led to it. The rules, in the order they are tried:

- ``self_referral`` / ``self_brokering``: the buyer would pay themself — refused. Two accounts of one
  person (a phone one holds and the other asked a code for, or a device both used) — held.
- ``circular_referral``: A recommended to B and now B recommends to A (A→B→A) — held.
- ``fresh_account``: the recommender or commenter joined minutes before the sale — held.

``scan_shared_phones`` raises ``shared_phone`` for a phone behind many accounts (code requests count:
``phone_codes`` keeps who asked to verify which number, members hold one phone each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ads import reward_settings
from ads.signals import record_signal, signals
from commerce.orders.rows import Order
from commerce.services import Services
from ledger.storage.ops import read
from ledger.storage.unit_of_work import UnitOfWork

Status = Literal["due", "held", "refused"]
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    kind: str | None = None  # the rule, also the signal's kind
    reason: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


DUE = Verdict("due")

_PHONES = (
    "SELECT phone FROM members WHERE id = :m AND phone IS NOT NULL "
    "UNION SELECT phone FROM phone_codes WHERE member_id = :m"
)


async def linked(uow: UnitOfWork, a: int, b: int) -> str | None:
    """How two accounts are one person, if they are: ``"phone"`` or ``"device"`` (``None``: not linked)."""
    if a == b:
        return "same_member"
    phones_a, phones_b, devices = await uow.batch(
        [
            read(_PHONES, {"m": a}),
            read(_PHONES, {"m": b}),
            read(
                "SELECT 1 FROM member_devices d1 JOIN member_devices d2 ON d1.device_ref = d2.device_ref "
                "WHERE d1.member_id = :a AND d2.member_id = :b",
                {"a": a, "b": b},
            ),
        ]
    )
    if {str(r[0]) for r in phones_a} & {str(r[0]) for r in phones_b}:
        return "phone"
    return "device" if devices else None


async def _joined_ms(uow: UnitOfWork, member_id: int) -> int:
    rows = await uow.fetch("SELECT created_ms FROM members WHERE id = :m", {"m": member_id})
    return int(rows[0][0]) if rows else 0


async def _fresh(uow: UnitOfWork, member_id: int, at_ms: int) -> Verdict | None:
    minutes = await reward_settings.value(uow, "fresh_account_minutes")
    joined = await _joined_ms(uow, member_id)
    if at_ms - joined < minutes * MINUTE_MS:
        return Verdict(
            "held",
            "fresh_account",
            f"the account joined less than {minutes} minutes before the sale",
            {"joined_ms": joined, "sale_ms": at_ms, "minutes": minutes},
        )
    return None


async def judge_referral(uow: UnitOfWork, order: Order, referrer_id: int) -> Verdict:
    """May ``referrer_id`` earn the commission on ``order``?"""
    if referrer_id == order.buyer_id:
        return Verdict("refused", "self_referral", "the buyer used their own recommendation link", {})
    via = await linked(uow, referrer_id, order.buyer_id)
    if via is not None:
        return Verdict(
            "held",
            "self_referral",
            f"the recommender and the buyer share a {via}: likely one person",
            {"via": via, "buyer": order.buyer_id},
        )
    back = await uow.fetch(
        "SELECT p.order_id FROM order_payees p JOIN orders o ON o.id = p.order_id "
        "WHERE p.role = 'referral' AND p.member_id = :buyer AND o.buyer_id = :referrer LIMIT 1",
        {"buyer": order.buyer_id, "referrer": referrer_id},
    )
    if back:
        return Verdict(
            "held",
            "circular_referral",
            "the buyer earlier recommended to this recommender (A→B→A)",
            {"earlier_order": int(back[0][0]), "buyer": order.buyer_id},
        )
    return await _fresh(uow, referrer_id, order.created_ms) or DUE


async def judge_brokering(uow: UnitOfWork, order: Order, author_id: int) -> Verdict:
    """May the author of a comment the buyer credited earn the brokering reward on ``order``?"""
    if author_id == order.buyer_id:
        return Verdict("refused", "self_brokering", "the buyer credited their own comment", {})
    via = await linked(uow, author_id, order.buyer_id)
    if via is not None:
        return Verdict(
            "held",
            "self_brokering",
            f"the commenter and the buyer share a {via}: likely one person",
            {"via": via, "buyer": order.buyer_id},
        )
    return await _fresh(uow, author_id, order.created_ms) or DUE


async def record(market: Services, uow: UnitOfWork, verdict: Verdict, member_id: int, subject: str) -> None:
    """Write the verdict to the signal list unless the share is simply due."""
    if verdict.status == "due" or verdict.kind is None or verdict.reason is None:
        return
    await record_signal(
        uow,
        kind=verdict.kind,
        member_id=member_id,
        subject=subject,
        reason=verdict.reason,
        evidence=verdict.evidence,
        status=verdict.status,
        now_ms=market.clock(),
    )


async def note_device(market: Services, uow: UnitOfWork, member_id: int, fingerprint: str) -> None:
    """Remember that ``member_id`` used a device (an adapter's device or session fingerprint, hashed)."""
    ref = await market.personal_ref(uow, "device", fingerprint)
    await uow.execute(
        "INSERT INTO member_devices (device_ref, member_id, seen_ms) VALUES (:d, :m, :now) "
        "ON CONFLICT (device_ref, member_id) DO UPDATE SET seen_ms = excluded.seen_ms",
        {"d": ref, "m": member_id, "now": market.clock()},
    )


async def scan_shared_phones(market: Services, uow: UnitOfWork) -> list[str]:
    """Raise ``shared_phone`` once per phone behind too many accounts; returns the new subjects."""
    threshold = await reward_settings.value(uow, "shared_phone_accounts")
    rows = await uow.fetch(
        "SELECT phone, COUNT(DISTINCT member_id) FROM (SELECT phone, id AS member_id FROM members "
        "WHERE phone IS NOT NULL UNION SELECT phone, member_id FROM phone_codes) AS seen "
        "GROUP BY phone HAVING COUNT(DISTINCT member_id) >= :n",
        {"n": max(2, threshold)},
    )
    raised = []
    for phone, count in rows:
        subject = f"phone:{(await market.personal_ref(uow, 'phone', str(phone)))[:40]}"
        if await signals(uow, kind="shared_phone", subject=subject, limit=1):
            continue
        await record_signal(
            uow,
            kind="shared_phone",
            member_id=None,
            subject=subject,
            reason=f"{int(count)} accounts are behind one phone number",
            evidence={"accounts": int(count)},
            status="held",
            now_ms=market.clock(),
        )
        raised.append(subject)
    return raised
