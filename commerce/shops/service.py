"""Shops: a producer's stall, farm, boat or alley shop — opened by the producer, verified by an operator."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import bindparam, case, select

from commerce import events, validate
from commerce.delivery import windows
from commerce.errors import InvalidInput, NotAllowed
from commerce.members import service as members
from commerce.schema import shops
from commerce.services import Services
from commerce.shops.errors import UnknownShop
from commerce.shops.events import ShopReviewed
from commerce.shops.rows import SHOP_BY_ID, SHOP_COLUMNS, Shop, shop_of
from commerce.statements import Statement
from ledger.requests import Request
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

KINDS = ("farm", "fishery", "market_stall", "alley_shop")


@functools.cache
def _listing(verified_only: bool, by_market: bool, by_region: bool) -> Statement:
    """The shops a listing asks for (one statement per combination of filters, made on first use)."""
    query = select(*SHOP_COLUMNS)
    if verified_only:
        query = query.where(shops.c.status == "verified")
    if by_market:
        query = query.where(shops.c.market == bindparam("market"))
    if by_region:
        query = query.where(shops.c.region == bindparam("region"))
    return Statement.of(query.order_by(shops.c.name, shops.c.id))


_OWNED_BY = Statement.of(
    select(*SHOP_COLUMNS)
    .where(shops.c.owner_id == bindparam("o"))
    .order_by(case({"verified": 0, "pending": 1}, value=shops.c.status, else_=2), shops.c.id)
    .limit(1)
)
_WAITING = Statement.of(
    select(*SHOP_COLUMNS).where(shops.c.status == "pending").order_by(shops.c.id).limit(bindparam("limit"))
)


async def get(uow: UnitOfWork, shop_id: int) -> Shop:
    rows = await uow.fetch(SHOP_BY_ID.sql, {"id": shop_id})
    if not rows:
        raise UnknownShop(f"no shop {shop_id}", shop=shop_id)
    return shop_of(SHOP_BY_ID.named(rows[0]))


async def names(uow: UnitOfWork, shop_ids: Sequence[int]) -> dict[int, str]:
    """Shop names by id, in one read: what a list mixing several shops' goods labels them with."""
    if not shop_ids:
        return {}
    clause, params = in_clause("s", sorted(set(shop_ids)))
    rows = await uow.fetch(f"SELECT id, name FROM shops WHERE id IN {clause}", params)
    return {int(i): str(n) for i, n in rows}


async def list_shops(
    uow: UnitOfWork, *, market: str | None = None, region: str | None = None, verified_only: bool = True
) -> list[Shop]:
    listing = _listing(verified_only, market is not None, region is not None)
    params = {name: value for name, value in (("market", market), ("region", region)) if value is not None}
    return [shop_of(listing.named(r)) for r in await uow.fetch(listing.sql, params)]


async def owned_by(uow: UnitOfWork, owner_id: int) -> Shop | None:
    """The member's shop: the verified one first, then one waiting for the office, then any other."""
    rows = await uow.fetch(_OWNED_BY.sql, {"o": owner_id})
    return shop_of(_OWNED_BY.named(rows[0])) if rows else None


async def waiting_for_review(uow: UnitOfWork, *, limit: int = 20) -> list[Shop]:
    """Shops the market office has not looked at yet, oldest first."""
    rows = await uow.fetch(_WAITING.sql, {"limit": limit})
    return [shop_of(_WAITING.named(r)) for r in rows]


async def list_markets(uow: UnitOfWork) -> list[tuple[str, int]]:
    """Markets with verified shops, and how many shops each has."""
    rows = await uow.fetch(
        "SELECT market, COUNT(*) FROM shops WHERE status = 'verified' AND market IS NOT NULL "
        "GROUP BY market ORDER BY market"
    )
    return [(str(m), int(n)) for m, n in rows]


async def regions(uow: UnitOfWork, *, limit: int) -> list[str]:
    """The regions shops are in, in order: the first ``limit``."""
    rows = await uow.fetch("SELECT DISTINCT region FROM shops ORDER BY region LIMIT :lim", {"lim": limit})
    return [str(r[0]) for r in rows]


async def open_shop(
    market: Services,
    uow: UnitOfWork,
    owner_id: int,
    *,
    name: str,
    kind: str,
    region: str,
    market_name: str | None = None,
    phone: str | None = None,
    business_no: str | None = None,
    bnm_max_share: int = 0,
    delivery_regions: Sequence[str] = (),
    delivery_fee: int = 3000,
    referral_bp: int = 0,
) -> Shop:
    owner = await members.get(uow, owner_id)
    fields = _checked(
        name=name,
        kind=kind,
        region=region,
        market_name=market_name,
        phone=phone,
        business_no=business_no,
        bnm_max_share=bnm_max_share,
        delivery_regions=delivery_regions,
        delivery_fee=delivery_fee,
        referral_bp=referral_bp,
    )
    rows = await uow.fetch(
        "INSERT INTO shops (owner_id, name, kind, market, region, phone, business_no, bnm_max_share, "
        "delivery_regions, delivery_fee, status, referral_bp, created_ms) VALUES (:owner, :name, :kind, :market, "
        ":region, :phone, :bno, :share, :regions, :fee, 'pending', :referral, :now) RETURNING id",
        {**fields, "owner": owner.id, "now": market.clock()},
    )
    shop_id = int(rows[0][0])
    body = {
        "shop": shop_id,
        "name": fields["name"],
        "kind": kind,
        "market": fields["market"],
        "region": fields["region"],
        "bnm_max_share": fields["share"],
        "delivery_fee": fields["fee"],
    }
    await market.ledger.record(uow, Request(actor=owner.key_label, kind="shop.open", body=body))
    return await get(uow, shop_id)


def _checked(
    *,
    name: str,
    kind: str,
    region: str,
    market_name: str | None,
    phone: str | None,
    business_no: str | None,
    bnm_max_share: int,
    delivery_regions: Sequence[str],
    delivery_fee: int,
    referral_bp: int,
) -> dict[str, object]:
    """A new shop's fields as its row takes them; ``InvalidInput`` naming the first that is not right."""
    if kind not in KINDS:
        raise InvalidInput(f"shop kind must be one of {KINDS}", field="kind")
    clean_name = validate.text(name, "name", max_len=60)
    clean_region = validate.text(region, "region", max_len=64)
    clean_market = validate.text(market_name, "market", max_len=60) if market_name is not None else None
    clean_phone = validate.phone(phone) if phone is not None else None
    if business_no is not None and (
        not business_no.replace("-", "").isdigit() or len(business_no.replace("-", "")) != 10
    ):
        raise InvalidInput("a business number has 10 digits (123-45-67890)", field="business_no")
    regions = [validate.text(r, "delivery region", max_len=64) for r in delivery_regions]
    if any("," in r for r in regions):
        raise InvalidInput("delivery regions are names without commas", field="delivery_regions")
    return {
        "name": clean_name,
        "kind": kind,
        "market": clean_market,
        "region": clean_region,
        "phone": clean_phone,
        "bno": business_no.replace("-", "") if business_no else None,
        "share": validate.whole_number(bnm_max_share, "bnm_max_share", low=0, high=100),
        "regions": ",".join(regions),
        "fee": validate.whole_number(delivery_fee, "delivery_fee", low=0, high=1_000_000),
        # A recommender's commission comes from the shop's proceeds: at most half.
        "referral": validate.whole_number(referral_bp, "referral_bp", low=0, high=5000),
    }


async def verify_shop(
    market: Services, uow: UnitOfWork, operator_id: int, shop_id: int, *, approve: bool = True
) -> Shop:
    """An operator has seen the business number / ID at the market office."""
    operator = await members.require_role(uow, operator_id, "operator")
    shop = await get(uow, shop_id)
    status = "verified" if approve else "suspended"
    await uow.execute("UPDATE shops SET status = :s WHERE id = :id", {"s": status, "id": shop.id})
    if approve:
        owner = await members.get(uow, shop.owner_id)
        if not owner.has("producer"):
            await uow.execute(
                "UPDATE members SET roles = :r WHERE id = :m",
                {"r": ",".join(sorted(owner.roles | {"producer"})), "m": owner.id},
            )
    await market.ledger.record(
        uow,
        Request(
            actor="system:operator", kind="shop.verify", body={"shop": shop.id, "status": status, "by": operator.id}
        ),
    )
    await events.emit(market, uow, ShopReviewed(shop.id, shop.owner_id, approve))
    return await get(uow, shop.id)


async def require_owner(uow: UnitOfWork, producer_id: int, shop_id: int) -> Shop:
    shop = await get(uow, shop_id)
    if shop.owner_id != producer_id:
        raise NotAllowed("only the shop's owner can do this", shop=shop_id)
    return shop


async def set_terms(
    market: Services,
    uow: UnitOfWork,
    producer_id: int,
    shop_id: int,
    *,
    hours: str | None = None,
    pickup: bool | None = None,
    delivery_windows: str | None = None,
) -> Shop:
    """The shop's opening hours, whether buyers may collect there, and its delivery windows (public
    terms of the shop, so the change is a signed ``shop.terms`` entry like the shop's opening)."""
    shop = await require_owner(uow, producer_id, shop_id)
    new_hours = shop.hours if hours is None else hours.strip()
    new_windows = shop.windows if delivery_windows is None else delivery_windows.strip()
    windows.parse_hours(new_hours)
    windows.parse_slots(new_windows, new_hours)
    new_pickup = shop.pickup if pickup is None else bool(pickup)
    await uow.execute(
        "UPDATE shops SET hours = :h, pickup = :p, windows = :w WHERE id = :s",
        {"h": new_hours, "p": int(new_pickup), "w": new_windows, "s": shop.id},
    )
    owner = await members.get(uow, shop.owner_id)
    await market.ledger.record(
        uow,
        Request(
            actor=owner.key_label,
            kind="shop.terms",
            body={"shop": shop.id, "hours": new_hours, "pickup": new_pickup, "windows": new_windows},
        ),
    )
    return await get(uow, shop.id)
