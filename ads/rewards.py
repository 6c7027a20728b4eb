"""Reward on open: the first tap of "자세히 보기" per member per campaign pays, from ``campaign:<id>``.

The button's payload carries the recipient's random token (``ad_recipients.token``, 128 bits): a token
another member holds, or one we never sent, is refused (``OpenTokenInvalid``); a second open by the same
member is ``OpenTokenReused`` — the chat thanks them and shows the product, nothing is paid. A paid open is
one operator-signed ``ad.open`` entry (the campaign account is unowned) in the same transaction that
marks the row opened, so a double tap pays once. Opens of a paused or ended campaign, or after the budget
ran out, are thanked, not paid. Opens sooner than a human could read (``min_open_ms`` after delivery) or
beyond ``max_opens_per_day`` are held with a fraud signal (``ads.signals``) for an operator to review.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from ads import campaigns, signals
from ads.campaigns import Campaign
from ads.config import rules_of
from ads.errors import OpenTokenInvalid, OpenTokenReused
from commerce.members import service as members
from commerce.services import Services
from ledger.errors import InsufficientBalance
from ledger.model import Transfer
from ledger.requests import Request
from ledger.storage.ops import Op, read, write
from ledger.storage.unit_of_work import UnitOfWork

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class OpenResult:
    campaign: Campaign
    outcome: str  # paid | exhausted | closed | held
    paid: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """An ad a member got and can open from their inbox: its campaign, their token, the shop's name."""

    campaign_id: int
    token: str
    shop: str


async def received(uow: UnitOfWork, member_id: int, *, limit: int = 5) -> list[Received]:
    """The ads that reached the member (or may have), newest first."""
    rows = await uow.fetch(
        "SELECT r.campaign_id, r.token, s.name FROM ad_recipients r JOIN ad_campaigns c ON c.id = r.campaign_id "
        "JOIN shops s ON s.id = c.shop_id WHERE r.member_id = :m AND r.status IN ('sent', 'unknown') "
        "ORDER BY r.sent_ms DESC LIMIT :lim",
        {"m": member_id, "lim": limit},
    )
    return [Received(int(c), str(t), str(name)) for c, t, name in rows]


def paid_today_op(member_id: int, now_ms: int) -> Op:
    """Paid opens (messages and sponsored results) of this member in the last 24 hours, as one statement."""
    return read(
        "SELECT (SELECT COUNT(*) FROM ad_recipients WHERE member_id = :m AND paid > 0 AND opened_ms >= :since) + "
        "(SELECT COUNT(*) FROM ad_sponsored_opens WHERE member_id = :m AND paid > 0 AND created_ms >= :since)",
        {"m": member_id, "since": now_ms - DAY_MS},
    )


async def paid_today(uow: UnitOfWork, member_id: int, now_ms: int) -> int:
    return int((await uow.batch([paid_today_op(member_id, now_ms)]))[0][0][0])


async def pay(
    market: Services,
    uow: UnitOfWork,
    campaign: Campaign,
    member_id: int,
    *,
    kind: str,
    transfer_id: str,
    mark: Callable[[int, int | None], Op],
) -> tuple[str, int, int | None]:
    """Pay one open from the campaign if it runs and its budget covers the reward: (outcome, paid, seq).

    ``mark(paid, seq)`` is the statement that records the open; it is written in one batch with the
    ledger's writes, since opens arrive by the thousand and each round trip holds the one SQLite writer.
    """
    if campaign.status != "running":
        await uow.batch([mark(0, None)])
        return "closed", 0, None
    request = Request(
        actor="system:operator",
        kind=kind,
        body={"campaign": campaign.id, "member": member_id, "reward": campaign.reward},
        transfers=[Transfer(transfer_id, campaign.account, members.wallet(member_id, "BTL"), campaign.reward, "BTL")],
    )
    try:
        prepared = await market.ledger.prepare(uow, [request])
    except InsufficientBalance:  # the ledger is the one judge of what is left in campaign:<id>
        await uow.batch([mark(0, None)])
        return "exhausted", 0, None
    recorded = prepared.recorded[0]
    await uow.batch([*prepared.ops, mark(campaign.reward, recorded.seq)])
    return "paid", campaign.reward, recorded.seq


async def open_ad(market: Services, uow: UnitOfWork, member_id: int, campaign_id: int, token: str) -> OpenResult:
    """The member tapped the ad's tracked button: check the token, pay the first open or say why not."""
    rules = rules_of(market)
    now = market.clock()
    campaign_rows, rows, counted = await uow.batch(
        [
            campaigns.select(uow, campaign_id, lock=True),  # one open of a campaign at a time
            read(
                "SELECT token, status, sent_ms, opened_ms FROM ad_recipients WHERE campaign_id = :c AND member_id = :m"
                + uow.for_update,
                {"c": campaign_id, "m": member_id},
            ),
            paid_today_op(member_id, now),
        ]
    )
    campaign = campaigns.one_of(campaign_rows, campaign_id)
    if (
        not rows
        or str(rows[0][1]) not in ("sent", "unknown")
        or not hmac.compare_digest(str(rows[0][0]).encode(), (token or "").encode())
    ):
        raise OpenTokenInvalid("this ad button was not sent to this member", campaign=campaign_id)
    _token, _status, sent_ms, opened_ms = rows[0]
    if opened_ms is not None:
        raise OpenTokenReused("this ad was already opened", campaign=campaign_id)

    def mark(paid: int, seq: int | None) -> Op:
        return write(
            "UPDATE ad_recipients SET opened_ms = :now, paid = :paid, open_seq = :seq "
            "WHERE campaign_id = :c AND member_id = :m",
            {"now": now, "paid": paid, "seq": seq, "c": campaign_id, "m": member_id},
        )

    since_delivery = None if sent_ms is None else now - int(sent_ms)
    count = int(counted[0][0])
    if since_delivery is not None and since_delivery < rules.min_open_ms:
        await signals.record_signal(
            uow,
            kind="fast_open",
            member_id=member_id,
            subject=f"campaign:{campaign_id}",
            reason="opened faster than a person can read the ad",
            evidence={"ms_after_delivery": since_delivery, "min_ms": rules.min_open_ms},
            now_ms=now,
        )
    elif count >= rules.max_opens_per_day:
        await signals.record_signal(
            uow,
            kind="open_flood",
            member_id=member_id,
            subject=f"campaign:{campaign_id}",
            reason="more paid ad opens in a day than the limit",
            evidence={"paid_today": count, "limit": rules.max_opens_per_day},
            now_ms=now,
        )
    else:
        outcome, paid, seq = await pay(
            market,
            uow,
            campaign,
            member_id,
            kind="ad.open",
            transfer_id=f"ad-{campaign_id}-open-{member_id}",
            mark=mark,
        )
        return OpenResult(campaign, outcome, paid, seq)
    await uow.batch([mark(0, None)])
    return OpenResult(campaign, "held", 0, None)
