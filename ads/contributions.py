"""Contribution rewards in BNM, from ``treasury:bnm``, under the cooperative's monthly emission budget.

Four rules, their amounts in the one settings table (``ads.reward_settings``):

- ``courier_delivery``: per delivered order, to its courier (subject ``order:<id>``);
- ``review``: per verified review — a buyer's review of a delivered line (``review:<id>``);
- ``checkpoint_cosign``: per checkpoint a replica operator cosigned (``cosign:<reference>``), paid
  by ``reward_cosignatures`` when the replication side reports a count;
- ``first_order``: to a new member when their first order settles (``member:<id>``).

Each payout is one operator-signed ``reward.contribution`` entry with one transfer
``reward-<rule>-<subject>`` and a ``reward_payouts`` row keyed by (rule, subject), so nothing is paid
twice however often the batch runs. When a month's budget would be exceeded the batch stops; what is
left waits for the next month's budget (and is paid then, once). ``run`` is the scheduler's batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from ads import reward_settings
from ads.signals import record_signal
from commerce import validate
from commerce.errors import InvalidInput
from commerce.members import service as members
from commerce.services import Services
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork

TREASURY = "treasury:bnm"
KST = timezone(timedelta(hours=9))
RULES = {
    "courier_delivery": "courier_delivery_units",
    "review": "review_units",
    "checkpoint_cosign": "checkpoint_cosign_units",
    "first_order": "first_order_units",
}


@dataclass(frozen=True, slots=True)
class Payout:
    rule: str
    subject: str
    member_id: int
    units: int
    status: str  # paid | refused | over_budget (not recorded: it waits for the next period)
    seq: int | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    paid: int
    units: int
    refused: int
    over_budget: bool


def period(ms: int) -> str:
    """The budget's period of a moment: the month in Korea time, ``YYYY-MM``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(KST).strftime("%Y-%m")


async def spent(uow: UnitOfWork, month: str) -> int:
    rows = await uow.fetch(
        "SELECT COALESCE(SUM(units), 0) FROM reward_payouts WHERE period = :p AND status = 'paid'", {"p": month}
    )
    return int(rows[0][0])


async def pay(
    market: Services, uow: UnitOfWork, *, rule: str, subject: str, member_id: int, units: int | None = None
) -> Payout:
    """Pay one contribution once; a repeat answers with the first payout. ``units`` default to the rule's."""
    if rule not in RULES:
        raise InvalidInput(f"no contribution rule {rule!r}", field="rule")
    subject = validate.text(subject, "subject", max_len=64)
    earlier = await uow.fetch(
        "SELECT member_id, units, status, seq FROM reward_payouts WHERE rule = :r AND subject = :s",
        {"r": rule, "s": subject},
    )
    if earlier:
        m, u, status, seq = earlier[0]
        return Payout(rule, subject, int(m), int(u), str(status), None if seq is None else int(seq))
    member = await members.get(uow, member_id)
    amount = await reward_settings.value(uow, RULES[rule]) if units is None else units
    validate.whole_number(amount, "units", low=0, high=10**12)
    now = market.clock()
    month = period(now)
    if amount == 0:
        return Payout(rule, subject, member.id, 0, "refused", None)
    budget = await reward_settings.value(uow, "emission_budget_units")
    if await spent(uow, month) + amount > budget:
        return Payout(rule, subject, member.id, amount, "over_budget", None)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="reward.contribution",
            body={"rule": rule, "subject": subject, "member": member.id, "units": amount, "period": month},
            transfers=[Transfer(f"reward-{rule}-{subject}", TREASURY, members.wallet(member.id, "BNM"), amount, "BNM")],
        ),
    )
    await uow.execute(
        "INSERT INTO reward_payouts (rule, subject, member_id, units, period, status, seq, created_ms) "
        "VALUES (:r, :s, :m, :u, :p, 'paid', :seq, :now)",
        {"r": rule, "s": subject, "m": member.id, "u": amount, "p": month, "seq": recorded.seq, "now": now},
    )
    return Payout(rule, subject, member.id, amount, "paid", recorded.seq)


async def refuse(market: Services, uow: UnitOfWork, *, rule: str, subject: str, member_id: int, reason: str) -> None:
    """Decide a subject is never paid (a courier delivering their own order), with a signal saying why."""
    await uow.execute(
        "INSERT INTO reward_payouts (rule, subject, member_id, units, period, status, seq, created_ms) "
        "VALUES (:r, :s, :m, 0, :p, 'refused', NULL, :now) ON CONFLICT (rule, subject) DO NOTHING",
        {"r": rule, "s": subject, "m": member_id, "p": period(market.clock()), "now": market.clock()},
    )
    await record_signal(
        uow,
        kind=f"self_{rule}"[:32],
        member_id=member_id,
        subject=subject,
        reason=reason,
        status="refused",
        now_ms=market.clock(),
    )


async def reward_cosignatures(
    market: Services, uow: UnitOfWork, *, member_id: int, count: int, reference: str
) -> Payout:
    """A replica operator cosigned ``count`` checkpoints (``reference`` names them, e.g. ``<witness>-<size>``)."""
    validate.whole_number(count, "count", low=1, high=1_000_000)
    ref = validate.text(reference, "reference", max_len=55)
    if not all(c.isalnum() or c in "-_." for c in ref) or not ref.isascii():
        raise InvalidInput("a reference is letters, digits, '-', '_' and '.'", field="reference")
    per = await reward_settings.value(uow, RULES["checkpoint_cosign"])
    return await pay(
        market, uow, rule="checkpoint_cosign", subject=f"cosign:{ref}", member_id=member_id, units=per * count
    )


async def _candidates(uow: UnitOfWork, limit: int) -> list[tuple[str, str, int, int | None]]:
    """(rule, subject, member, buyer or None) not yet decided, oldest first, ``limit`` per rule."""
    undecided = "NOT EXISTS (SELECT 1 FROM reward_payouts r WHERE r.rule = :rule AND r.subject = :prefix || {col})"
    found: list[tuple[str, str, int, int | None]] = []
    courier = undecided.format(col="CAST(o.id AS VARCHAR(20))")
    for oid, courier_id, buyer in await uow.fetch(
        "SELECT o.id, o.courier_id, o.buyer_id FROM orders o WHERE o.courier_id IS NOT NULL "
        f"AND o.state IN ('delivered', 'confirmed', 'settled') AND {courier} ORDER BY o.id LIMIT :lim",
        {"rule": "courier_delivery", "prefix": "order:", "lim": limit},
    ):
        found.append(("courier_delivery", f"order:{int(oid)}", int(courier_id), int(buyer)))
    review = undecided.format(col="CAST(v.id AS VARCHAR(20))")
    for rid, member_id in await uow.fetch(
        f"SELECT v.id, v.member_id FROM reviews v WHERE v.status = 'visible' AND {review} ORDER BY v.id LIMIT :lim",
        {"rule": "review", "prefix": "review:", "lim": limit},
    ):
        found.append(("review", f"review:{int(rid)}", int(member_id), None))
    first = undecided.format(col="CAST(o.buyer_id AS VARCHAR(20))")
    for (buyer,) in await uow.fetch(
        f"SELECT DISTINCT o.buyer_id FROM orders o WHERE o.state = 'settled' AND {first} ORDER BY o.buyer_id "
        "LIMIT :lim",
        {"rule": "first_order", "prefix": "member:", "lim": limit},
    ):
        found.append(("first_order", f"member:{int(buyer)}", int(buyer), None))
    return found


async def run(market: Services, uow: UnitOfWork, *, limit: int = 200) -> BatchResult:
    """Pay every contribution not yet paid (up to ``limit`` per rule); stops when the budget is spent."""
    paid = units = refused = 0
    for rule, subject, member_id, buyer in await _candidates(uow, limit):
        if rule == "courier_delivery" and buyer == member_id:
            await refuse(
                market, uow, rule=rule, subject=subject, member_id=member_id, reason="the courier delivered own order"
            )
            refused += 1
            continue
        payout = await pay(market, uow, rule=rule, subject=subject, member_id=member_id)
        if payout.status == "over_budget":
            return BatchResult(paid, units, refused, True)
        if payout.status == "paid":
            paid, units = paid + 1, units + payout.units
    return BatchResult(paid, units, refused, False)
