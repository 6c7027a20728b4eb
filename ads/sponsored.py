"""Sponsored search: producers bid per keyword; one result a page is theirs, marked "(광고)".

A bid names a running campaign (its budget pays the opens) and a keyword. ``sponsored_for`` picks, for a
query, the highest bid whose keyword the query contains and whose campaign can still pay one reward —
one result, never more, per result page (the chat layer adds it to the page it shows). Its button carries
an HMAC of (campaign, member) with the ads key (``CHESTNUT_ADS_OPEN_KEY``, or the market's pepper), so
only a member who was shown the result can be paid for opening it; the first open per member per
campaign pays the campaign's reward like an ad open (``ad.sponsored_open``), later ones are thanked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from ads import signals
from ads.campaigns import Campaign
from ads.campaigns import get as get_campaign
from ads.config import rules_of
from ads.errors import CampaignState, InvalidBid, OpenTokenInvalid, OpenTokenReused, UnknownCampaign
from ads.rewards import OpenResult, paid_today, pay
from commerce.members import service as members
from commerce.services import Services
from ledger import reads
from ledger.requests import Request
from ledger.storage.ops import Op, write
from ledger.storage.unit_of_work import UnitOfWork

MAX_KEYWORD = 32
MAX_BID = 1_000_000


def normalise(text: str) -> str:
    return "".join(text.split()).lower()


@dataclass(frozen=True, slots=True)
class Sponsored:
    campaign_id: int
    product_id: int
    keyword: str
    bid: int


async def place_bid(
    market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int, *, keyword: str, bid: int
) -> int:
    """A keyword bid for the producer's campaign, signed by the producer (``ad.bid``)."""
    campaign = await get_campaign(uow, campaign_id)
    if campaign.producer_id != producer_id:
        raise UnknownCampaign(f"no campaign {campaign_id} of this producer", campaign=campaign_id)
    if campaign.status == "ended":
        raise CampaignState("the campaign has ended", campaign=campaign_id, status="ended")
    word = normalise(keyword or "")
    if not word or len(word) > MAX_KEYWORD:
        raise InvalidBid(f"a keyword is 1–{MAX_KEYWORD} characters", field="keyword")
    if type(bid) is not int or not 0 < bid <= MAX_BID:
        raise InvalidBid("a bid is a whole number of 원 above zero", field="bid")
    await market.ledger.record(
        uow,
        Request(
            actor=members.key_label(producer_id),
            kind="ad.bid",
            body={"campaign": campaign_id, "keyword": word, "bid": bid},
        ),
    )
    rows = await uow.fetch(
        "INSERT INTO ad_bids (campaign_id, keyword, bid, status, created_ms) "
        "VALUES (:c, :k, :b, 'active', :now) RETURNING id",
        {"c": campaign_id, "k": word, "b": bid, "now": market.clock()},
    )
    return int(rows[0][0])


async def sponsored_for(uow: UnitOfWork, query: str, *, exclude_shop_owner: int | None = None) -> Sponsored | None:
    """The one sponsored result for this query, or None."""
    q = normalise(query or "")
    if not q:
        return None
    rows = await uow.fetch(
        "SELECT b.campaign_id, c.product_id, b.keyword, b.bid FROM ad_bids b "
        "JOIN ad_campaigns c ON c.id = b.campaign_id "
        f"JOIN {reads.ACCOUNTS} a ON a.id = 'campaign:' || CAST(c.id AS VARCHAR(20)) "
        "WHERE b.status = 'active' AND c.status = 'running' AND c.producer_id != :me "
        "AND a.available >= c.reward "
        "AND (:q LIKE '%' || b.keyword || '%') ORDER BY b.bid DESC, b.id LIMIT 1",
        {"q": q, "me": exclude_shop_owner if exclude_shop_owner is not None else -1},
    )
    if not rows:
        return None
    cid, pid, word, bid = rows[0]
    return Sponsored(int(cid), int(pid), str(word), int(bid))


async def _key(market: Services, uow: UnitOfWork) -> bytes:
    return rules_of(market).open_key or await market.pepper(uow)


async def open_token(market: Services, uow: UnitOfWork, member_id: int, campaign_id: int) -> str:
    mac = hmac.new(await _key(market, uow), f"ad-sponsored\n{campaign_id}\n{member_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


async def open_sponsored(market: Services, uow: UnitOfWork, member_id: int, campaign_id: int, token: str) -> OpenResult:
    """The member opened a sponsored result: pay the first open per campaign like an ad open."""
    expected = await open_token(market, uow, member_id, campaign_id)
    if not hmac.compare_digest(expected.encode(), (token or "").encode()):
        raise OpenTokenInvalid("this sponsored result was not shown to this member", campaign=campaign_id)
    campaign: Campaign = await get_campaign(uow, campaign_id, lock=True)
    seen = await uow.fetch(
        "SELECT paid FROM ad_sponsored_opens WHERE campaign_id = :c AND member_id = :m",
        {"c": campaign_id, "m": member_id},
    )
    if seen:
        raise OpenTokenReused("this sponsored result was already opened", campaign=campaign_id)
    rules, now = rules_of(market), market.clock()

    def mark(paid: int, seq: int | None) -> Op:
        return write(
            "INSERT INTO ad_sponsored_opens (campaign_id, member_id, paid, seq, created_ms) "
            "VALUES (:c, :m, :p, :s, :now)",
            {"c": campaign_id, "m": member_id, "p": paid, "s": seq, "now": now},
        )

    outcome, paid, seq = "held", 0, None
    if member_id == campaign.producer_id:
        outcome = "closed"
    elif (count := await paid_today(uow, member_id, now)) >= rules.max_opens_per_day:
        await signals.record_signal(
            uow,
            kind="open_flood",
            member_id=member_id,
            subject=f"campaign:{campaign_id}",
            reason="more paid ad opens in a day than the limit",
            evidence={"paid_today": count, "limit": rules.max_opens_per_day, "sponsored": True},
            now_ms=now,
        )
    else:
        outcome, paid, seq = await pay(
            market,
            uow,
            campaign,
            member_id,
            kind="ad.sponsored_open",
            transfer_id=f"ad-{campaign_id}-sp-{member_id}",
            mark=mark,
        )
        return OpenResult(campaign, outcome, paid, seq)
    await uow.batch([mark(0, None)])
    return OpenResult(campaign, outcome, paid, seq)
