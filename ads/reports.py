"""Reports for producers: what a campaign bought — sent, delivered, opened, paid, cost per order.

An order is attributed to a campaign when its buyer opened that campaign's ad (or sponsored result) and
then paid an order at the same shop within ``ATTRIBUTION_MS`` (7 days) of the open. The cost per
attributed order is what the opens were paid, divided by those orders (integer 원, rounded down).
"""

from __future__ import annotations

from dataclasses import dataclass

from ads.campaigns import get as get_campaign
from ads.campaigns import remaining
from ads.errors import UnknownCampaign
from commerce.services import Services
from ledger.storage.ops import read
from ledger.storage.unit_of_work import UnitOfWork

ATTRIBUTION_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True)
class Report:
    campaign_id: int
    status: str
    recipients: int
    sent: int  # messages that left (or may have left, after a crash)
    delivered: int
    blocked: int
    unreachable: int
    refused: int  # consent withdrawn or expired at the moment of sending
    pending: int
    opened: int
    paid_opens: int
    paid: int  # 원 paid to members
    budget: int
    remaining: int
    refunded: int
    orders: int  # attributed orders
    cost_per_order: int | None


async def report(market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int) -> Report:
    campaign = await get_campaign(uow, campaign_id)
    if campaign.producer_id != producer_id:
        raise UnknownCampaign(f"no campaign {campaign_id} of this producer", campaign=campaign_id)
    p = {"c": campaign_id, "shop": campaign.shop_id, "win": ATTRIBUTION_MS}
    by_status, opens, sponsored, orders = await uow.batch(
        [
            read("SELECT status, COUNT(*) FROM ad_recipients WHERE campaign_id = :c GROUP BY status", p),
            read(
                "SELECT COUNT(opened_ms), SUM(CASE WHEN paid > 0 THEN 1 ELSE 0 END), COALESCE(SUM(paid), 0) "
                "FROM ad_recipients WHERE campaign_id = :c",
                p,
            ),
            read(
                "SELECT COUNT(*), SUM(CASE WHEN paid > 0 THEN 1 ELSE 0 END), COALESCE(SUM(paid), 0) "
                "FROM ad_sponsored_opens WHERE campaign_id = :c",
                p,
            ),
            read(
                "SELECT COUNT(DISTINCT o.id) FROM orders o JOIN ("
                "SELECT member_id, opened_ms AS at FROM ad_recipients WHERE campaign_id = :c AND opened_ms IS NOT NULL "
                "UNION ALL SELECT member_id, created_ms AS at FROM ad_sponsored_opens WHERE campaign_id = :c"
                ") x ON x.member_id = o.buyer_id WHERE o.shop_id = :shop AND o.paid_ms IS NOT NULL "
                "AND o.paid_ms >= x.at AND o.paid_ms <= x.at + :win",
                p,
            ),
        ]
    )
    counts = {str(s): int(n) for s, n in by_status}
    opened = int(opens[0][0] or 0) + int(sponsored[0][0] or 0)
    paid_opens = int(opens[0][1] or 0) + int(sponsored[0][1] or 0)
    paid = int(opens[0][2] or 0) + int(sponsored[0][2] or 0)
    n_orders = int(orders[0][0] or 0)
    delivered = counts.get("sent", 0)
    return Report(
        campaign_id=campaign.id,
        status=campaign.status,
        recipients=sum(counts.values()),
        sent=delivered + counts.get("blocked", 0) + counts.get("unreachable", 0) + counts.get("unknown", 0),
        delivered=delivered,
        blocked=counts.get("blocked", 0),
        unreachable=counts.get("unreachable", 0),
        refused=counts.get("refused", 0) + counts.get("capped", 0),
        pending=counts.get("pending", 0) + counts.get("sending", 0),
        opened=opened,
        paid_opens=paid_opens,
        paid=paid,
        budget=campaign.budget,
        remaining=await remaining(market, uow, campaign),
        refunded=campaign.refunded,
        orders=n_orders,
        cost_per_order=paid // n_orders if n_orders else None,
    )
