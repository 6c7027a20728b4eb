"""Builders for a small market through the real services (no shortcuts into tables)."""

from __future__ import annotations

from dataclasses import dataclass

from chestnut.bootstrap import App
from commerce.delivery import addresses
from commerce.members import service as members
from commerce.shops import catalog
from commerce.shops import service as shops
from commerce.wallet import service as wallet
from tests.support.identity import HOME, verify


@dataclass
class Cast:
    operator: int
    producer: int
    shop: int
    courier: int
    shopper: int
    product: int


async def cast(app: App, *, stock: int = 20, price: int = 6000, bnm_max_share: int = 50, topup: int = 100_000) -> Cast:
    m = app.services
    async with app.db.unit_of_work() as uow:
        operator = await members.register(m, uow, channel="web", external_id="op", display_name="사무장")
        await members.make_operator(m, uow, operator.id)
        producer = await members.register(m, uow, channel="telegram", external_id="101", display_name="김농부")
        shop = await shops.open_shop(
            m,
            uow,
            producer.id,
            name="김씨네 과수원",
            kind="farm",
            region="수원시",
            market_name="못골시장",
            bnm_max_share=bnm_max_share,
            delivery_regions=["수원시"],
            delivery_fee=3000,
        )
        await shops.verify_shop(m, uow, operator.id, shop.id)
        product = await catalog.add_product(
            m,
            uow,
            producer.id,
            shop.id,
            name="사과",
            category="과일",
            unit="1kg",
            price=price,
            stock=stock,
            origin_region="경북 청송",
            origin_producer="김씨네 과수원",
            produced_on="2026-11-20",
        )
        courier = await members.register(m, uow, channel="kakao", external_id="c1", display_name="박배달")
        await members.grant_role(m, uow, operator.id, courier.id, "courier")
        await addresses.add(m, uow, courier.id, label="집", text=HOME)  # couriers shop here too
        shopper = await members.register(m, uow, channel="kakao", external_id="s1", display_name="이할머니")
        await verify(app, uow, shopper.id)  # paying needs a verified phone, a delivery an address
        if topup:
            await wallet.topup_at_office(m, uow, operator.id, shopper.id, topup, receipt="R-1")
        await uow.commit()
    return Cast(operator.id, producer.id, shop.id, courier.id, shopper.id, product.id)
