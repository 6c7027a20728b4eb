"""Large honest markets made fast: confirmed orders, BNM holders, members who opted in to ads.

What a benchmark or a crash test starts from, on an empty market. The few producers, shops and
products go through the services; the many members, orders and grants are appended through
``ledger.record_many`` with their rows — the same signed entries the services would make, thousands per
transaction, with explicit ids (SQLite only).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from ads import consent
from chestnut.bootstrap import App
from commerce.members import service as members
from commerce.orders.payment import escrow, hold_id
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallets
from ledger.model import AccountSpec, Transfer
from ledger.requests import Recorded, Request
from ledger.storage.ops import Op, write_many
from ledger.storage.unit_of_work import UnitOfWork

DELIVERY_FEE = 3000


async def _open_office(app: App, uow: UnitOfWork) -> int:
    """The operator's office, on a market that must be empty."""
    await app.ledger.require_empty_market(uow)
    office = await members.register(app.services, uow, channel="web", external_id="bench-office", display_name="사무실")
    await members.make_operator(app.services, uow, office.id)
    return office.id


async def _open_orchards(app: App, rng: random.Random, shops_n: int) -> tuple[int, list[tuple[int, int, int, int]]]:
    """The office and ``shops_n`` verified shops selling one product each: (office, [(shop, owner,
    product, price)])."""
    m = app.services
    async with app.db.unit_of_work() as uow:
        office_id = await _open_office(app, uow)
        catalogue = []
        for s in range(shops_n):
            owner = await members.register(m, uow, channel="web", external_id=f"bench-p{s}", display_name="생산자")
            shop = await shops.open_shop(
                m, uow, owner.id, name=f"가게 {s}", kind="farm", region="수원시", delivery_fee=DELIVERY_FEE
            )
            await shops.verify_shop(m, uow, office_id, shop.id)
            price = 2000 + 100 * rng.randrange(80)
            product = await catalog.add_product(
                m,
                uow,
                owner.id,
                shop.id,
                name=f"사과 {s}",
                category="과일",
                unit="1kg",
                price=price,
                stock=1_000_000,
                origin_region="경북",
                origin_producer="농가",
            )
            catalogue.append((shop.id, owner.id, product.id, price))
        await uow.commit()
    return office_id, catalogue


async def _fund_buyers(app: App, office_id: int, buyers_n: int) -> list[int]:
    buyers = []
    for start in range(0, buyers_n, 250):
        async with app.db.unit_of_work() as uow:
            for i in range(start, min(buyers_n, start + 250)):
                member = await members.register(
                    app.services, uow, channel="web", external_id=f"bench-b{i}", display_name="손님"
                )
                await wallets.topup_at_office(app.services, uow, office_id, member.id, 1_500_000, receipt=f"bench-b{i}")
                buyers.append(member.id)
            await uow.commit()
    return buyers


def _confirmed_order(oid: int, buyer: int, shop_id: int, product_id: int, price: int, qty: int) -> list[Request]:
    """The three signed entries a chat order makes on its way to "confirmed"."""
    subtotal = price * qty
    total = subtotal + DELIVERY_FEE
    label = members.key_label(buyer)
    place = {
        "order": oid,
        "shop": shop_id,
        "lines": [[product_id, qty, price]],
        "subtotal": subtotal,
        "delivery_fee": DELIVERY_FEE,
        "total": total,
        "address": None,
    }
    pay = {"order": oid, "total": total, "btl": total, "bnm_units": 0, "bnm_price": None, "share": 0}
    hold = Transfer(hold_id(oid, "BTL"), members.wallet(buyer, "BTL"), escrow(oid, "BTL"), total, "BTL", type="pending")
    return [
        Request(actor=label, kind="order.place", body=place),
        Request(
            actor=label,
            kind="order.pay",
            body=pay,
            accounts=[AccountSpec(escrow(oid, "BTL"), "BTL")],
            transfers=[hold],
            countersign=True,
        ),
        Request(actor=label, kind="order.confirm", body={"order": oid}),
    ]


def _order_rows(recs: list[Recorded], plans: list[tuple[int, ...]], now: int) -> list[Op]:
    """The confirmed orders' rows, naming the entries that placed and paid them."""
    orders = [
        {
            "id": p[0],
            "b": p[1],
            "s": p[2],
            "sub": p[6],
            "total": p[7],
            "pseq": recs[3 * i].seq,
            "payseq": recs[3 * i + 1].seq,
            "now": now,
        }
        for i, p in enumerate(plans)
    ]
    return [
        write_many(
            "INSERT INTO orders (id, buyer_id, shop_id, state, subtotal, delivery_fee, total, bnm_share, "
            "btl_amount, bnm_units, refund_due, placed_seq, paid_seq, created_ms, paid_ms, delivered_ms, "
            "updated_ms) VALUES (:id, :b, :s, 'confirmed', :sub, 3000, :total, 0, :total, 0, 0, :pseq, "
            ":payseq, :now, :now, :now, :now)",
            orders,
        ),
        write_many(
            "INSERT INTO order_lines (order_id, product_id, name, unit, price, qty) "
            "VALUES (:o, :p, '사과', '1kg', :price, :q)",
            [{"o": p[0], "p": p[3], "price": p[4], "q": p[5]} for p in plans],
        ),
        write_many("UPDATE products SET stock = stock - :q WHERE id = :p", [{"q": p[5], "p": p[3]} for p in plans]),
    ]


async def seed_confirmed_orders(
    app: App,
    orders_n: int,
    *,
    shops_n: int = 20,
    per_tx: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """``orders_n`` orders placed, paid into escrow and confirmed by their buyers, fast but honest.

    Members, shops, products and top-ups go through the services. Each order is then the three signed
    entries a chat order makes on its way to "confirmed" (``order.place`` and ``order.pay`` by the buyer,
    the latter countersigned and opening the escrow, ``order.confirm`` by the buyer), appended through
    ``ledger.record_many`` a thousand orders per transaction with their rows (explicit ids: SQLite only,
    on an empty market). Returns the expected settlement totals to the won.
    """
    rng = random.Random(20261202)  # noqa: S311 - benchmark data
    fee_bp = app.services.rules.platform_fee_bp
    office_id, catalogue = await _open_orchards(app, rng, shops_n)
    buyers = await _fund_buyers(app, office_id, max(10, -(-orders_n // 50)))
    expected = {"orders": orders_n, "btl": 0, "fees": 0, "producers": 0}
    async with app.db.snapshot() as snap:
        next_id = int((await snap.fetch("SELECT COALESCE(MAX(id), 0) FROM orders"))[0][0]) + 1
    done = 0
    while done < orders_n:
        batch_n = min(per_tx, orders_n - done)
        now = app.services.clock()
        requests: list[Request] = []
        plans: list[tuple[int, ...]] = []
        for k in range(batch_n):
            oid, buyer = next_id + done + k, buyers[(done + k) % len(buyers)]
            shop_id, _owner, product_id, price = catalogue[rng.randrange(len(catalogue))]
            qty = 1 + rng.randrange(2)
            subtotal = price * qty
            total, fee = subtotal + DELIVERY_FEE, subtotal * fee_bp // 10_000
            expected["btl"] += total
            expected["fees"] += fee
            expected["producers"] += total - fee
            requests += _confirmed_order(oid, buyer, shop_id, product_id, price, qty)
            plans.append((oid, buyer, shop_id, product_id, price, qty, subtotal, total))

        def rows(recs: list[Recorded], plans: list[tuple[int, ...]] = plans, now: int = now) -> list[Op]:
            return _order_rows(recs, plans, now)

        async with app.db.unit_of_work() as uow:
            prepared = await app.ledger.prepare(uow, requests)
            await uow.batch([*prepared.ops, *rows(prepared.recorded)])
            await uow.commit()
        done += batch_n
        if progress:
            progress(done, orders_n)
    return expected


async def seed_bnm_holders(
    app: App, holders_n: int, *, per_entry: int = 150, entries_per_tx: int = 20, first_id: int = 10_000_001
) -> int:
    """``holders_n`` BNM holders: wallets opened and BNM granted in operator-signed entries.

    The holders are self-custody members (``owner`` is their public key; no custodial key is made for
    a million benchmark holders), so their wallets are opened by the operator, whose rules allow it.
    Returns the BNM supply granted.
    """
    rng = random.Random(20261203)  # noqa: S311 - benchmark data
    supply = 0
    per_tx = per_entry * entries_per_tx
    for start in range(0, holders_n, per_tx):
        requests = []
        for first in range(start, min(holders_n, start + per_tx), per_entry):
            ids = range(first_id + first, first_id + min(holders_n, first + per_entry, start + per_tx))
            owners = {i: os.urandom(32) for i in ids}
            grants = {i: 1 + rng.randrange(5000) for i in ids}
            supply += sum(grants.values())
            requests.append(
                Request(
                    actor="system:operator",
                    kind="bench.holders",
                    body={"first": first},
                    accounts=[
                        spec
                        for i in ids
                        for spec in (
                            AccountSpec(f"wallet:{i}:btl", "BTL", owners[i]),
                            AccountSpec(f"wallet:{i}:bnm", "BNM", owners[i]),
                        )
                    ],
                    transfers=[
                        Transfer(f"bench-bnm-{i}", "treasury:bnm", f"wallet:{i}:bnm", grants[i], "BNM") for i in ids
                    ],
                )
            )
        async with app.db.unit_of_work() as uow:
            await app.ledger.record_many(uow, requests)
            await uow.commit()
    return supply


async def _open_advertiser(app: App) -> tuple[int, int, int]:
    """The office and a producer with a verified shop, one product and money for a campaign: (owner,
    product, the first free member id)."""
    m = app.services
    async with app.db.unit_of_work() as uow:
        office_id = await _open_office(app, uow)
        owner = await members.register(m, uow, channel="web", external_id="bench-p", display_name="생산자")
        shop = await shops.open_shop(
            m, uow, owner.id, name="벤치 과수원", kind="farm", region="수원시", delivery_fee=DELIVERY_FEE
        )
        await shops.verify_shop(m, uow, office_id, shop.id)
        product = await catalog.add_product(
            m,
            uow,
            owner.id,
            shop.id,
            name="사과",
            category="과일",
            unit="1kg",
            price=6000,
            stock=1000,
            origin_region="경북",
            origin_producer="농가",
        )
        await wallets.topup_at_office(m, uow, office_id, owner.id, 2_000_000, receipt="bench")
        first = int((await uow.fetch("SELECT COALESCE(MAX(id), 0) FROM members"))[0][0]) + 1
        await uow.commit()
    return owner.id, product.id, first


def _joined_and_consenting(ids: list[int], public_keys: list[bytes]) -> list[Request]:
    """Each member's ``member.join`` (wallets under their custodial key) and ``ad.consent`` to any ad."""
    requests: list[Request] = []
    for i, public_key in zip(ids, public_keys, strict=True):
        label = members.key_label(i)
        wallets_opened = [
            AccountSpec(members.wallet(i, "BTL"), "BTL", public_key),
            AccountSpec(members.wallet(i, "BNM"), "BNM", public_key),
        ]
        consent_body = {"member": i, "scope": "category", "value": consent.ANY, "granted": True}
        requests.append(Request(actor=label, kind="member.join", body={"member": i}, accounts=wallets_opened))
        requests.append(Request(actor=label, kind="ad.consent", body=consent_body))
    return requests


def _opted_in_rows(recs: list[Recorded], ids: list[int], now: int) -> list[Op]:
    """The members' rows: Telegram identities, and consent to any category and region of ad."""
    consents = [
        {"id": i, "s": s, "now": now, "seq": recs[2 * k + 1].seq}
        for k, i in enumerate(ids)
        for s in ("category", "region")
    ]
    return [
        write_many(
            "INSERT INTO members (id, display_name, roles, lang, bnm_share_pref, status, created_ms) "
            "VALUES (:id, '손님', 'shopper', 'ko', 0, 'active', :now)",
            [{"id": i, "now": now} for i in ids],
        ),
        write_many(
            "INSERT INTO member_identities (channel, external_id, member_id, created_ms) "
            "VALUES ('telegram', :e, :id, :now)",
            [{"e": str(10_000_000 + i), "id": i, "now": now} for i in ids],
        ),
        write_many(
            "INSERT INTO ad_consents (member_id, scope, value, status, confirmed_ms, updated_ms, seq) "
            "VALUES (:id, :s, '*', 'granted', :now, :now, :seq)",
            consents,
        ),
    ]


async def seed_opted_in(app: App, n: int, progress: Callable[[int, int], None] | None) -> tuple[int, int, int]:
    """``n`` Telegram members who agreed to any ad, and a producer to advertise to them: (the producer's
    member id, their product, the first opted-in member's id)."""
    owner, product, first = await _open_advertiser(app)
    now = app.services.clock()
    step = 5000
    for start in range(0, n, step):
        ids = list(range(first + start, first + min(n, start + step)))
        async with app.db.unit_of_work() as uow:
            keys = await app.keys.create_many(uow, [members.key_label(i) for i in ids])
            requests = _joined_and_consenting(ids, [k.public_key for k in keys])

            def rows(recs: list[Recorded], ids: list[int] = ids) -> list[Op]:
                return _opted_in_rows(recs, ids, now)

            prepared = await app.ledger.prepare(uow, requests)
            await uow.batch([*prepared.ops, *rows(prepared.recorded)])
            await uow.commit()
        if progress:
            progress(min(n, start + step), n)
    return owner, product, first
