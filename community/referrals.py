"""Recommendations: a member shares a product with a personal link; a purchase through it within the
window pays the recommender the shop's commission, out of the shop's proceeds, at settlement.

The link is ``r<token>``, the token 22 random URL-safe characters kept with the member's share
(``referral_links.token``): a Telegram deep link ``https://t.me/<bot>?start=rW3v…``, the web chat's
``/chat?start=rW3v…``, and a ready-made text for KakaoTalk's share sheet. The link names neither the
member nor their number, so a stranger holding it learns nothing of whose it is. A link shared before
links carried tokens (``r<member>p<product>``) still credits its member if that member really shared
that product then (a ``legacy`` row); any other such link just opens the product. Opening a link sets the
order's ``referrer_id`` (``bots.flows.home.start`` through ``resolve``); when the order is paid, however it is
paid, ``attribute_paid`` (an ``OrderPaid`` handler bootstrap registers) decides — in the paying transaction,
through ``ads.fraud`` — whether the recommender is *due* a share (an
``order_payees`` row read by ``commerce.orders.settlement``), *held* for review, or *refused*. Nothing moves
until the order settles, so a cancelled or refunded order pays nobody.

The commission is the shop's ``referral_bp`` at the moment of purchase, at most 50 % (5,000 bp).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from ads import fraud, reward_settings
from ads.errors import AdsError
from commerce.errors import InvalidInput, InvalidState
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.orders.events import OrderPaid
from commerce.orders.rows import Order
from commerce.services import Services
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.shops.rows import Product, Shop
from community import queries
from ledger import reads
from ledger.requests import Request
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

ROLE = "referral"
MAX_COMMISSION_BP = 5_000
DAY_MS = 86_400_000


class CommissionTooHigh(AdsError):
    """A shop offered recommenders more than half of the goods' value."""

    code = "referral_commission_too_high"


class ProductNotShared(AdsError):
    """The product is no longer sold (deleted, or its shop is not open): there is nothing to recommend."""

    code = "referral_product_not_sold"


@dataclass(frozen=True, slots=True)
class Share:
    product_id: int
    payload: str  # r<token>
    telegram: str | None  # https://t.me/<bot>?start=…, when the bot's username is configured
    web: str  # <public url>/chat?start=…
    kakao_text: str  # what KakaoTalk's share sheet sends: the product, the shop, the web link
    commission_bp: int
    first: bool  # the first time this member shared this product (a ``referral.share`` entry)


@dataclass(frozen=True, slots=True)
class Attribution:
    order_id: int
    referrer_id: int
    bp: int
    status: str  # due | held | refused
    reason: str | None


_TOKEN = re.compile(r"^r([A-Za-z0-9_\-]{22})$")
_LEGACY = re.compile(r"^r([0-9]{1,12})p([0-9]{1,12})$")


@dataclass(frozen=True, slots=True)
class Opened:
    """What a recommendation link leads to: the product, and whom a purchase through it credits."""

    product_id: int
    referrer_id: int | None


def payload(token: str) -> str:
    return f"r{token}"


def new_token() -> str:
    return secrets.token_urlsafe(16)  # 128 bits: 22 characters a Telegram start parameter accepts


def is_link(link: str) -> bool:
    """Whether ``link`` has the shape of a recommendation link (a token, or the old ``r<id>p<id>``)."""
    return bool(_TOKEN.match(link) or _LEGACY.match(link))


async def resolve(uow: UnitOfWork, link: str) -> Opened | None:
    """The product and recommender of a link; None for an unknown token or anything not a link.

    An old ``r<member>p<product>`` link opens its product, and credits the member only if they shared that
    product before links carried tokens: a made-up one credits nobody.
    """
    token = _TOKEN.match(link)
    if token:
        rows = await uow.fetch(
            "SELECT referrer_id, product_id FROM referral_links WHERE token = :t", {"t": token.group(1)}
        )
        if rows:
            return Opened(int(rows[0][1]), int(rows[0][0]))
    legacy = _LEGACY.match(link)
    if not legacy:
        return None
    member, product = int(legacy.group(1)), int(legacy.group(2))
    rows = await uow.fetch(
        "SELECT 1 FROM referral_links WHERE referrer_id = :m AND product_id = :p AND legacy = 1",
        {"m": member, "p": product},
    )
    return Opened(product, member if rows else None)


async def set_commission(market: Services, uow: UnitOfWork, producer_id: int, shop_id: int, bp: int) -> Shop:
    """The shop's owner sets what recommenders earn (basis points of the goods' value; 0 turns it off)."""
    shop = await shops.require_owner(uow, producer_id, shop_id)
    if type(bp) is not int or bp < 0:
        raise InvalidInput("a commission is a whole number of basis points (300 = 3 %)", field="referral_bp")
    if bp > MAX_COMMISSION_BP:
        raise CommissionTooHigh(
            f"a commission of {bp / 100:g}% is over the 50% limit", max_bp=MAX_COMMISSION_BP, asked=bp
        )
    owner = await members.get(uow, shop.owner_id)
    await market.ledger.record(
        uow, Request(actor=owner.key_label, kind="shop.referral", body={"shop": shop.id, "referral_bp": bp})
    )
    await uow.execute("UPDATE shops SET referral_bp = :bp WHERE id = :s", {"bp": bp, "s": shop.id})
    return await shops.get(uow, shop.id)


async def shareable(uow: UnitOfWork, product_id: int) -> tuple[Product, Shop]:
    """The product and its shop, if it can be recommended (sold by an open shop)."""
    product = await catalog.get(uow, product_id)
    shop = await shops.get(uow, product.shop_id)
    if not product.active or not shop.verified:
        raise ProductNotShared(f"{product.name} is no longer sold", product=product.id)
    return product, shop


async def share(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    product_id: int,
    *,
    bot_username: str | None = None,
    public_url: str = "",
) -> Share:
    """The member's personal links for a product; the first share is signed by the member."""
    member = await members.get(uow, member_id)
    product, shop = await shareable(uow, product_id)
    now = market.clock()
    rows = await uow.fetch(
        "UPDATE referral_links SET last_ms = :now WHERE referrer_id = :m AND product_id = :p RETURNING token",
        {"now": now, "m": member.id, "p": product.id},
    )
    first = not rows
    token = str(rows[0][0]) if rows else new_token()
    if first:
        recorded = await market.ledger.record(
            uow, Request(actor=member.key_label, kind="referral.share", body={"product": product.id, "shop": shop.id})
        )
        await uow.execute(
            "INSERT INTO referral_links (referrer_id, product_id, shop_id, first_ms, last_ms, seq, token, legacy) "
            "VALUES (:m, :p, :s, :now, :now, :seq, :t, 0)",
            {"m": member.id, "p": product.id, "s": shop.id, "now": now, "seq": recorded.seq, "t": token},
        )
    link = payload(token)
    web = f"{public_url.rstrip('/')}/chat?start={link}"
    bot = (bot_username or "").lstrip("@")
    telegram = f"https://t.me/{quote(bot)}?start={link}" if bot else None
    kakao = f"🌰 {product.name} {product.unit} — {shop.name} ({shop.market or shop.region})\n{web}"
    return Share(product.id, link, telegram, web, kakao, shop.referral_bp, first)


async def attribute(
    market: Services, uow: UnitOfWork, order_id: int, referrer_id: int | None = None
) -> Attribution | None:
    """Decide, once per order, what the recommender behind it is owed (``None``: no recommendation counts).

    ``referrer_id`` defaults to the order's own; a purchase counts when the recommender shared one of
    the order's products within ``referral_window_days`` before it and the shop offers a commission.
    """
    order = await order_queries.get(uow, order_id)
    existing = await queries.payee(uow, order.id, ROLE)
    if existing is not None:
        return Attribution(order.id, existing.member_id, existing.bp, existing.status, existing.reason)
    referrer = referrer_id if referrer_id is not None else order.referrer_id
    if referrer is None or order.state in ("cancelled", "refunded", "settled"):
        return None
    shop = await shops.get(uow, order.shop_id)
    if shop.referral_bp <= 0:
        return None
    product_id = await _shared_before(uow, referrer, order)
    if product_id is None:
        return None
    verdict = await fraud.judge_referral(uow, order, referrer)
    bp = min(shop.referral_bp, MAX_COMMISSION_BP)
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="referral.attribute",
            body={
                "order": order.id,
                "referrer": referrer,
                "product": product_id,
                "bp": bp,
                "status": verdict.status,
                "rule": verdict.kind,
            },
        ),
    )
    await uow.execute(
        "INSERT INTO order_payees (order_id, role, member_id, bp, status, reason, source, created_ms, seq) "
        "VALUES (:o, :r, :m, :bp, :st, :why, :src, :now, :seq)",
        {
            "o": order.id,
            "r": ROLE,
            "m": referrer,
            "bp": bp,
            "st": verdict.status,
            "why": verdict.kind,
            "src": product_id,
            "now": market.clock(),
            "seq": recorded.seq,
        },
    )
    await fraud.record(market, uow, verdict, referrer, f"order:{order.id}")
    return Attribution(order.id, referrer, bp, verdict.status, verdict.kind)


async def _shared_before(uow: UnitOfWork, referrer_id: int, order: Order) -> int | None:
    """The product of the order the recommender shared last within ``referral_window_days`` before it."""
    window = await reward_settings.value(uow, "referral_window_days")
    clause, params = in_clause("p", [line.product_id for line in order.lines] or [0])
    shared = await uow.fetch(
        f"SELECT product_id, last_ms FROM referral_links WHERE referrer_id = :r AND product_id IN {clause} "
        "AND last_ms >= :since AND last_ms <= :at ORDER BY last_ms DESC",
        {"r": referrer_id, "since": order.created_ms - window * DAY_MS, "at": order.created_ms, **params},
    )
    return int(shared[0][0]) if shared else None


async def attribute_paid(market: Services, uow: UnitOfWork, paid: OrderPaid) -> None:
    """``OrderPaid``, in the paying transaction: attribute the recommendation the order came by (most
    orders came by none, and cost no read here)."""
    if paid.referrer_id is not None:
        await attribute(market, uow, paid.order_id)


@dataclass(frozen=True, slots=True)
class Earnings:
    referral_btl: int  # commissions paid (settled orders)
    broker_btl: int  # brokering rewards paid
    pending_orders: int  # due shares on orders not settled yet
    held_orders: int  # shares held for review
    contribution_units: int  # BNM contribution rewards


async def earnings(uow: UnitOfWork, member_id: int) -> Earnings:
    """What a member earned by recommending, brokering and contributing — from the ledger's transfers."""
    wallet = members.wallet(member_id, "BTL")
    paid = await uow.fetch(
        f"SELECT p.role, COALESCE(SUM(t.amount), 0) FROM order_payees p JOIN {reads.TRANSFERS} t "
        "ON t.id = 'order-' || CAST(p.order_id AS VARCHAR(20)) || '-' || p.role AND t.credit = :w "
        "WHERE p.member_id = :m GROUP BY p.role",
        {"w": wallet, "m": member_id},
    )
    by_role = {str(role): int(total) for role, total in paid}
    waiting = await uow.fetch(
        "SELECT p.status, COUNT(*) FROM order_payees p JOIN orders o ON o.id = p.order_id "
        "WHERE p.member_id = :m AND o.state NOT IN ('settled', 'cancelled', 'refunded') GROUP BY p.status",
        {"m": member_id},
    )
    counts = {str(s): int(n) for s, n in waiting}
    units = await uow.fetch(
        "SELECT COALESCE(SUM(units), 0) FROM reward_payouts WHERE member_id = :m AND status = 'paid'", {"m": member_id}
    )
    return Earnings(
        by_role.get("referral", 0),
        by_role.get("broker", 0),
        counts.get("due", 0),
        counts.get("held", 0),
        int(units[0][0]),
    )


async def review_share(
    market: Services, uow: UnitOfWork, operator_id: int, order_id: int, role: str, *, approve: bool
) -> str:
    """An operator decides a held share (a recommender's or a commenter's) before the order settles:
    approved, it is paid at settlement; refused, never. Returns the new status."""
    operator = await members.require_role(uow, operator_id, "operator")
    order = await order_queries.lock(uow, order_id)
    rows = await uow.fetch(
        "SELECT status FROM order_payees WHERE order_id = :o AND role = :r", {"o": order.id, "r": role}
    )
    if not rows or str(rows[0][0]) != "held":
        raise InvalidState(f"order {order.id} has no held {role} share", order=order.id, role=role)
    if order.state in ("settled", "cancelled", "refunded"):
        raise InvalidState(f"order {order.id} is {order.state}; its shares are decided", order=order.id)
    status = "due" if approve else "refused"
    await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="payee.review",
            body={"order": order.id, "role": role, "status": status, "by": operator.id},
        ),
    )
    await uow.execute(
        "UPDATE order_payees SET status = :s WHERE order_id = :o AND role = :r", {"s": status, "o": order.id, "r": role}
    )
    return status
