"""Shop and product rows: ``shops`` into ``Shop``, ``products`` into ``Product``, each read by column name.

``SHOP_COLUMNS`` and ``PRODUCT_COLUMNS`` are what the dataclasses hold; every statement that makes one
selects them (on their own, or joined) and ``shop_of`` / ``product_of`` read its row. ``SHOP_BY_ID`` and
``PRODUCT_BY_ID`` are the reads other services put in a batch of their own (a checkout, a provenance page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from commerce.delivery import districts
from commerce.schema import products, shops
from commerce.statements import Statement

SHOP_COLUMNS = (
    shops.c.id,
    shops.c.owner_id,
    shops.c.name,
    shops.c.kind,
    shops.c.market,
    shops.c.region,
    shops.c.phone,
    shops.c.business_no,
    shops.c.bnm_max_share,
    shops.c.delivery_regions,
    shops.c.delivery_fee,
    shops.c.status,
    shops.c.referral_bp,
    shops.c.hours,
    shops.c.pickup,
    shops.c.windows,
)
PRODUCT_COLUMNS = (
    products.c.id,
    products.c.shop_id,
    products.c.name,
    products.c.category,
    products.c.unit,
    products.c.price,
    products.c.stock,
    products.c.photos,
    products.c.active,
    products.c.origin_region,
    products.c.origin_producer,
    products.c.ingredients,
    products.c.certifications,
    products.c.produced_on,
    products.c.description,
    products.c.listed_seq,
)


@dataclass(frozen=True, slots=True)
class Shop:
    id: int
    owner_id: int
    name: str
    kind: str
    market: str | None
    region: str
    phone: str | None
    business_no: str | None
    bnm_max_share: int
    delivery_regions: tuple[str, ...]
    delivery_fee: int
    status: str
    referral_bp: int
    hours: str  # opening hours, Seoul time: "09:00-19:00"
    pickup: bool  # buyers may collect their order at the shop
    windows: str  # delivery windows a day ("09-13,13-19"); "": the opening hours

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    @property
    def areas(self) -> tuple[str, ...]:
        """Where the shop delivers; none named: anywhere (a farm that ships by parcel)."""
        return self.delivery_regions

    def delivers_to(self, region: str | None) -> bool:
        if not self.delivery_regions:
            return True
        return region is not None and any(districts.serves(area, region) for area in self.delivery_regions)


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    shop_id: int
    name: str
    category: str
    unit: str
    price: int
    stock: int
    photos: tuple[str, ...]
    active: bool
    origin_region: str
    origin_producer: str
    ingredients: str
    certifications: tuple[str, ...]
    produced_on: str | None
    description: str
    listed_seq: int

    @property
    def available(self) -> bool:
        return self.active and self.stock > 0


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def shop_of(row: Mapping[str, Any]) -> Shop:
    return Shop(
        int(row["id"]),
        int(row["owner_id"]),
        str(row["name"]),
        str(row["kind"]),
        _text_or_none(row["market"]),
        str(row["region"]),
        _text_or_none(row["phone"]),
        _text_or_none(row["business_no"]),
        int(row["bnm_max_share"]),
        tuple(r for r in str(row["delivery_regions"]).split(",") if r),
        int(row["delivery_fee"]),
        str(row["status"]),
        int(row["referral_bp"]),
        str(row["hours"]),
        bool(row["pickup"]),
        str(row["windows"]),
    )


def product_of(row: Mapping[str, Any]) -> Product:
    return Product(
        int(row["id"]),
        int(row["shop_id"]),
        str(row["name"]),
        str(row["category"]),
        str(row["unit"]),
        int(row["price"]),
        int(row["stock"]),
        tuple(json.loads(str(row["photos"]))),
        bool(row["active"]),
        str(row["origin_region"]),
        str(row["origin_producer"]),
        str(row["ingredients"]),
        tuple(json.loads(str(row["certifications"]))),
        _text_or_none(row["produced_on"]),
        str(row["description"]),
        int(row["listed_seq"]),
    )


SHOP_BY_ID = Statement.of(select(*SHOP_COLUMNS).where(shops.c.id == bindparam("id")))
PRODUCT_BY_ID = Statement.of(select(*PRODUCT_COLUMNS).where(products.c.id == bindparam("id")))
