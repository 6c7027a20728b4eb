"""Campaigns: a producer pays members for attention, from a budget held on the ledger.

draft → running ⇄ paused → ended. ``start`` moves the budget from the producer's wallet into
``campaign:<id>`` (an account opened in that same signed entry, countersigned by the operator because
an unowned account is opened) and chooses the recipients once (``dispatch.fill``); rewards are paid
from that account only; ``end`` returns what is left to the producer in an operator-signed entry
(the campaign account is unowned, so only the operator may debit it — no new rule is needed).
So at every moment: paid + remaining (+ refunded) = budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ads.errors import BudgetOverBalance, CampaignState, EmptyAudience, InvalidCampaign, UnknownCampaign
from commerce.members import identity
from commerce.members import service as members
from commerce.services import Services
from commerce.shops import catalog
from commerce.shops import service as shops
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.storage.ops import Op, Row, read
from ledger.storage.unit_of_work import UnitOfWork

MAX_MESSAGE = 500
MAX_PHOTO = 300
MAX_PER_MEMBER = 10
_COLUMNS = (
    "id, shop_id, producer_id, product_id, message, photo, audience, reward, per_member_limit, budget, status, "
    "filled, refunded, created_ms, started_ms, ended_ms"
)


def account(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may get the ad: consent to one of ``categories`` and one of ``regions`` (the ad's subject),
    and, when given, buyers in ``markets`` or past buyers of the shop."""

    categories: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    past_buyers: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "categories": list(self.categories),
                "regions": list(self.regions),
                "markets": list(self.markets),
                "past_buyers": self.past_buyers,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Audience:
        obj = json.loads(text)
        return cls(tuple(obj["categories"]), tuple(obj["regions"]), tuple(obj["markets"]), bool(obj["past_buyers"]))


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    shop_id: int
    producer_id: int
    product_id: int
    message: str
    photo: str | None
    audience: Audience
    reward: int
    per_member_limit: int
    budget: int
    status: str
    filled: bool
    refunded: int
    created_ms: int
    started_ms: int | None
    ended_ms: int | None
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return account(self.id)


def _campaign(r: tuple[object, ...]) -> Campaign:
    return Campaign(
        int(r[0]),  # type: ignore[call-overload]
        int(r[1]),  # type: ignore[call-overload]
        int(r[2]),  # type: ignore[call-overload]
        int(r[3]),  # type: ignore[call-overload]
        str(r[4]),
        None if r[5] is None else str(r[5]),
        Audience.from_json(str(r[6])),
        int(r[7]),  # type: ignore[call-overload]
        int(r[8]),  # type: ignore[call-overload]
        int(r[9]),  # type: ignore[call-overload]
        str(r[10]),
        bool(r[11]),
        int(r[12]),  # type: ignore[call-overload]
        int(r[13]),  # type: ignore[call-overload]
        None if r[14] is None else int(r[14]),  # type: ignore[call-overload]
        None if r[15] is None else int(r[15]),  # type: ignore[call-overload]
    )


async def get(uow: UnitOfWork, campaign_id: int, *, lock: bool = False) -> Campaign:
    return one_of((await uow.batch([select(uow, campaign_id, lock=lock)]))[0], campaign_id)


def select(uow: UnitOfWork, campaign_id: int, *, lock: bool = False) -> Op:
    """The campaign's row, as one statement of a caller's batch (``one_of`` reads the answer)."""
    suffix = uow.for_update if lock else ""
    return read(f"SELECT {_COLUMNS} FROM ad_campaigns WHERE id = :id{suffix}", {"id": campaign_id})


def one_of(rows: list[Row], campaign_id: int) -> Campaign:
    if not rows:
        raise UnknownCampaign(f"no campaign {campaign_id}", campaign=campaign_id)
    return _campaign(rows[0])


async def of_shop(uow: UnitOfWork, shop_id: int, *, limit: int = 5) -> list[Campaign]:
    rows = await uow.fetch(
        f"SELECT {_COLUMNS} FROM ad_campaigns WHERE shop_id = :s ORDER BY id DESC LIMIT :lim",
        {"s": shop_id, "lim": limit},
    )
    return [_campaign(r) for r in rows]


async def recipients(uow: UnitOfWork, campaign_id: int) -> int:
    """How many members the campaign was chosen to reach (``ads.dispatch.fill``)."""
    rows = await uow.fetch("SELECT COUNT(*) FROM ad_recipients WHERE campaign_id = :c", {"c": campaign_id})
    return int(rows[0][0])


async def remaining(market: Services, uow: UnitOfWork, campaign: Campaign) -> int:
    """What is left in the campaign's account (0 before it started)."""
    if campaign.started_ms is None:
        return 0
    return (await market.ledger.account(uow, campaign.account)).balance


def _clean_list(values: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(out) > 10 or any(len(v) > 64 for v in out):
        raise InvalidCampaign(f"at most 10 {what} of up to 64 characters", field=what)
    return out


async def create(
    market: Services,
    uow: UnitOfWork,
    producer_id: int,
    *,
    product_id: int,
    message: str,
    reward: int,
    budget: int,
    per_member_limit: int = 1,
    photo: str | None = None,
    audience: Audience | None = None,
) -> Campaign:
    """A draft campaign of the producer's own product, checked whole; no money moves yet."""
    producer = identity.require(
        await members.require_role(uow, producer_id, "producer"), identity.OPERATOR, action="ad_campaign"
    )
    product = await catalog.get(uow, product_id)
    shop = await shops.require_owner(uow, producer.id, product.shop_id)
    message = (message or "").strip()
    if not message or len(message) > MAX_MESSAGE:
        raise InvalidCampaign(f"the message must be 1–{MAX_MESSAGE} characters", field="message")
    if photo is not None and (not photo.strip() or len(photo) > MAX_PHOTO):
        raise InvalidCampaign("the photo reference is empty or too long", field="photo")
    if type(reward) is not int or reward <= 0:
        raise InvalidCampaign("the reward per open must be at least 1원", field="reward", value=repr(reward))
    if type(budget) is not int or budget < reward:
        raise InvalidCampaign("the budget must cover at least one reward", field="budget", reward=reward)
    if type(per_member_limit) is not int or not 1 <= per_member_limit <= MAX_PER_MEMBER:
        raise InvalidCampaign(f"the per-member limit is 1–{MAX_PER_MEMBER}", field="per_member_limit")
    aud = audience or Audience()
    aud = Audience(
        _clean_list(aud.categories, "categories") or (product.category,),
        _clean_list(aud.regions, "regions") or (shop.region,),
        _clean_list(aud.markets, "markets"),
        aud.past_buyers,
    )
    now = market.clock()
    rows = await uow.fetch(
        "INSERT INTO ad_campaigns (shop_id, producer_id, product_id, message, photo, audience, reward, "
        "per_member_limit, budget, status, filled, refunded, created_ms) VALUES (:s, :p, :pr, :msg, :ph, :a, "
        ":r, :l, :b, 'draft', 0, 0, :now) RETURNING id",
        {
            "s": shop.id,
            "p": producer.id,
            "pr": product.id,
            "msg": message,
            "ph": photo,
            "a": aud.to_json(),
            "r": reward,
            "l": per_member_limit,
            "b": budget,
            "now": now,
        },
    )
    campaign_id = int(rows[0][0])
    await market.ledger.record(
        uow,
        Request(
            actor=producer.key_label,
            kind="ad.campaign_create",
            body={
                "campaign": campaign_id,
                "shop": shop.id,
                "product": product.id,
                "message": message,
                "reward": reward,
                "budget": budget,
                "per_member_limit": per_member_limit,
                "audience": json.loads(aud.to_json()),
            },
        ),
    )
    return await get(uow, campaign_id)


async def _owned(uow: UnitOfWork, producer_id: int, campaign_id: int) -> Campaign:
    campaign = await get(uow, campaign_id, lock=True)
    if campaign.producer_id != producer_id:
        raise UnknownCampaign(f"no campaign {campaign_id} of this producer", campaign=campaign_id)
    return campaign


async def start(market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int) -> Campaign:
    """Choose the recipients and move the budget into ``campaign:<id>``, in one signed entry."""
    from ads import dispatch  # the recipients table is dispatch's; it needs the campaign first

    campaign = await _owned(uow, producer_id, campaign_id)
    if campaign.status != "draft":
        raise CampaignState(
            f"campaign {campaign_id} is {campaign.status}", campaign=campaign_id, status=campaign.status
        )
    wallet = members.wallet(producer_id, "BTL")
    have = (await market.ledger.account(uow, wallet)).available
    if have < campaign.budget:
        raise BudgetOverBalance(
            "the budget is more than the producer's 밤톨",
            budget=campaign.budget,
            have=have,
            missing=campaign.budget - have,
        )
    count = await dispatch.fill(market, uow, campaign)
    if not count:
        raise EmptyAudience("nobody in this audience has agreed to such ads", campaign=campaign_id)
    await market.ledger.record(
        uow,
        Request(
            actor=members.key_label(producer_id),
            kind="ad.campaign_start",
            body={"campaign": campaign.id, "budget": campaign.budget, "recipients": count},
            accounts=[AccountSpec(campaign.account, "BTL")],
            transfers=[Transfer(f"ad-{campaign.id}-budget", wallet, campaign.account, campaign.budget, "BTL")],
            countersign=True,
        ),
    )
    await uow.execute(
        "UPDATE ad_campaigns SET status = 'running', filled = 1, started_ms = :now WHERE id = :id",
        {"now": market.clock(), "id": campaign.id},
    )
    return await get(uow, campaign.id)


async def _move(market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int, *, to: str) -> Campaign:
    campaign = await _owned(uow, producer_id, campaign_id)
    allowed = {"paused": ("running",), "running": ("paused",)}[to]
    if campaign.status not in allowed:
        raise CampaignState(
            f"campaign {campaign_id} is {campaign.status}", campaign=campaign_id, status=campaign.status
        )
    verb = "pause" if to == "paused" else "resume"
    await market.ledger.record(
        uow, Request(actor=members.key_label(producer_id), kind=f"ad.campaign_{verb}", body={"campaign": campaign.id})
    )
    await uow.execute("UPDATE ad_campaigns SET status = :st WHERE id = :id", {"st": to, "id": campaign.id})
    return await get(uow, campaign.id)


async def pause(market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int) -> Campaign:
    """Stop sending (the dispatcher stops before its next message) and stop paying opens."""
    return await _move(market, uow, producer_id, campaign_id, to="paused")


async def resume(market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int) -> Campaign:
    return await _move(market, uow, producer_id, campaign_id, to="running")


async def end(market: Services, uow: UnitOfWork, producer_id: int, campaign_id: int) -> Campaign:
    """End for good; the unspent budget goes back to the producer's wallet in the operator's entry."""
    campaign = await _owned(uow, producer_id, campaign_id)
    if campaign.status == "ended":
        raise CampaignState(f"campaign {campaign_id} already ended", campaign=campaign_id, status="ended")
    left = await remaining(market, uow, campaign)
    transfers = []
    if left:
        transfers = [
            Transfer(f"ad-{campaign.id}-refund", campaign.account, members.wallet(producer_id, "BTL"), left, "BTL")
        ]
    await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="ad.campaign_end",
            body={"campaign": campaign.id, "by": producer_id, "refund": left},
            transfers=transfers,
        ),
    )
    await uow.execute(
        "UPDATE ad_campaigns SET status = 'ended', refunded = :left, ended_ms = :now WHERE id = :id",
        {"left": left, "now": market.clock(), "id": campaign.id},
    )
    return await get(uow, campaign.id)
