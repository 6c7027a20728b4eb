"""The catalog: products with their origin; listing, price and stock changes are signed and ledgered."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from commerce import validate
from commerce.errors import InvalidInput
from commerce.members import identity
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.schema import products
from commerce.search import service as search
from commerce.services import Services
from commerce.shops import service as shops
from commerce.shops.errors import ShopNotVerified, UnknownProduct
from commerce.shops.rows import PRODUCT_BY_ID, PRODUCT_COLUMNS, Product, product_of
from commerce.statements import Statement
from ledger.requests import Request
from ledger.storage.ops import in_clause
from ledger.storage.unit_of_work import UnitOfWork

CATEGORIES = ("채소", "과일", "수산", "정육", "곡물", "반찬", "가공식품", "생활용품", "기타")


@functools.cache
def _listing(by_shop: bool, by_category: bool) -> Statement:
    """The active products a listing asks for, in stock first (one statement per combination of filters)."""
    query = select(*PRODUCT_COLUMNS).where(products.c.active == 1)
    if by_shop:
        query = query.where(products.c.shop_id == bindparam("shop"))
    if by_category:
        query = query.where(products.c.category == bindparam("category"))
    in_stock = (products.c.stock > 0).desc()
    return Statement.of(
        query.order_by(in_stock, products.c.name, products.c.id).limit(bindparam("limit")).offset(bindparam("offset"))
    )


# A page of ids (its length varies) is added to it as ``IN (:p0, …)``.
_ANY_OF = Statement.of(select(*PRODUCT_COLUMNS))


async def get(uow: UnitOfWork, product_id: int) -> Product:
    rows = await uow.fetch(PRODUCT_BY_ID.sql, {"id": product_id})
    if not rows:
        raise UnknownProduct(f"no product {product_id}", product=product_id)
    return product_of(PRODUCT_BY_ID.named(rows[0]))


async def get_many(uow: UnitOfWork, product_ids: Sequence[int]) -> dict[int, Product]:
    if not product_ids:
        return {}

    clause, params = in_clause("p", list(product_ids))
    rows = await uow.fetch(f"{_ANY_OF.sql} WHERE products.id IN {clause}", params)
    return {p.id: p for p in (product_of(_ANY_OF.named(r)) for r in rows)}


async def list_products(
    uow: UnitOfWork, *, shop_id: int | None = None, category: str | None = None, limit: int = 50, offset: int = 0
) -> list[Product]:
    listing = _listing(shop_id is not None, category is not None)
    params: dict[str, object] = {"limit": limit, "offset": offset}
    if shop_id is not None:
        params["shop"] = shop_id
    if category is not None:
        params["category"] = category
    return [product_of(listing.named(r)) for r in await uow.fetch(listing.sql, params)]


async def categories_listed(uow: UnitOfWork, *, limit: int) -> list[str]:
    """The categories products are listed under, in order: the first ``limit``."""
    rows = await uow.fetch("SELECT DISTINCT category FROM products ORDER BY category LIMIT :lim", {"lim": limit})
    return [str(r[0]) for r in rows]


def _date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidInput("dates are written YYYY-MM-DD", field="produced_on") from None


def check_price(price: object, market: Services) -> int:
    return validate.whole_number(price, "price", low=1, high=market.rules.max_price)


async def add_product(
    market: Services,
    uow: UnitOfWork,
    producer_id: int,
    shop_id: int,
    *,
    name: str,
    category: str,
    unit: str,
    price: int,
    stock: int,
    origin_region: str,
    origin_producer: str,
    ingredients: str = "",
    certifications: Sequence[str] = (),
    produced_on: str | None = None,
    description: str = "",
    photos: Sequence[str] = (),
) -> Product:
    producer = await members.get(uow, producer_id)
    shop = await shops.require_owner(uow, producer.id, shop_id)
    if not shop.verified:
        raise ShopNotVerified("the market office has not verified this shop yet", shop=shop.id)
    identity.require(producer, identity.OPERATOR, action="sell")
    listing = _Listing.checked(
        market,
        name=name,
        category=category,
        unit=unit,
        price=price,
        stock=stock,
        origin_region=origin_region,
        origin_producer=origin_producer,
        ingredients=ingredients,
        certifications=certifications,
        produced_on=produced_on,
        description=description,
        photos=photos,
    )
    rows = await uow.fetch(
        "INSERT INTO products (shop_id, name, category, unit, price, stock, photos, active, origin_region, "
        "origin_producer, ingredients, certifications, produced_on, description, search_text, listed_seq, "
        "updated_ms) VALUES (:shop, :name, :category, :unit, :price, :stock, :photos, 1, :origin_region, "
        ":origin_producer, :ingredients, :certs, :on, :description, :search, 0, :now) RETURNING id",
        {**listing.params(), "shop": shop.id, "now": market.clock()},
    )
    product_id = int(rows[0][0])
    recorded = await market.ledger.record(
        uow, Request(actor=producer.key_label, kind="product.list", body=listing.body(product_id, shop.id))
    )
    await uow.execute("UPDATE products SET listed_seq = :seq WHERE id = :id", {"seq": recorded.seq, "id": product_id})
    return await get(uow, product_id)


@dataclass(frozen=True, slots=True)
class _Listing:
    """A new product's fields, checked: what its row and its ``product.list`` entry hold."""

    name: str
    category: str
    unit: str
    price: int
    stock: int
    origin_region: str
    origin_producer: str
    ingredients: str
    certifications: list[str]
    produced_on: str | None
    description: str
    photos: list[str]

    @classmethod
    def checked(
        cls,
        market: Services,
        *,
        name: str,
        category: str,
        unit: str,
        price: int,
        stock: int,
        origin_region: str,
        origin_producer: str,
        ingredients: str,
        certifications: Sequence[str],
        produced_on: str | None,
        description: str,
        photos: Sequence[str],
    ) -> _Listing:
        """``InvalidInput`` naming the first field that is not right."""
        if category not in CATEGORIES:
            raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field="category")
        name = validate.text(name, "name", max_len=60)
        unit = validate.text(unit, "unit", max_len=20)
        origin_region = validate.text(origin_region, "origin_region", max_len=64)
        origin_producer = validate.text(origin_producer, "origin_producer", max_len=64)
        ingredients = validate.text(ingredients, "ingredients", max_len=300, required=False)
        description = validate.text(description, "description", max_len=500, required=False, multiline=True)
        certs = [validate.text(c, "certification", max_len=40) for c in certifications]
        photo_refs = [validate.text(p, "photo", max_len=200) for p in photos][:5]
        clean_price = check_price(price, market)
        clean_stock = validate.whole_number(stock, "stock", low=0, high=1_000_000)
        on = _date(produced_on)
        return cls(
            name=name,
            category=category,
            unit=unit,
            price=clean_price,
            stock=clean_stock,
            origin_region=origin_region,
            origin_producer=origin_producer,
            ingredients=ingredients,
            certifications=certs,
            produced_on=on,
            description=description,
            photos=photo_refs,
        )

    def params(self) -> dict[str, object]:
        return {
            "name": self.name,
            "unit": self.unit,
            "origin_region": self.origin_region,
            "origin_producer": self.origin_producer,
            "ingredients": self.ingredients,
            "description": self.description,
            "category": self.category,
            "price": self.price,
            "stock": self.stock,
            "photos": json.dumps(self.photos, ensure_ascii=False),
            "certs": json.dumps(self.certifications, ensure_ascii=False),
            "on": self.produced_on,
            "search": search.index_text(self.name, self.category),
        }

    def body(self, product_id: int, shop_id: int) -> dict[str, object]:
        return {
            "product": product_id,
            "shop": shop_id,
            "name": self.name,
            "category": self.category,
            "unit": self.unit,
            "price": self.price,
            "stock": self.stock,
            "origin": {"region": self.origin_region, "producer": self.origin_producer},
            "ingredients": self.ingredients,
            "certifications": self.certifications,
            "produced_on": self.produced_on,
        }


async def _owned(uow: UnitOfWork, producer_id: int, product_id: int) -> tuple[Member, Product]:
    producer = await members.get(uow, producer_id)
    product = await get(uow, product_id)
    await shops.require_owner(uow, producer.id, product.shop_id)
    return producer, product


async def update_price(market: Services, uow: UnitOfWork, producer_id: int, product_id: int, price: int) -> Product:
    producer, product = await _owned(uow, producer_id, product_id)
    new_price = check_price(price, market)
    if new_price == product.price:
        return product
    await uow.execute(
        "UPDATE products SET price = :p, updated_ms = :now WHERE id = :id",
        {"p": new_price, "now": market.clock(), "id": product.id},
    )
    await market.ledger.record(
        uow,
        Request(
            actor=producer.key_label,
            kind="product.price",
            body={"product": product.id, "from": product.price, "to": new_price},
        ),
    )
    return await get(uow, product.id)


async def update_stock(market: Services, uow: UnitOfWork, producer_id: int, product_id: int, *, stock: int) -> Product:
    producer, product = await _owned(uow, producer_id, product_id)
    new_stock = validate.whole_number(stock, "stock", low=0, high=1_000_000)
    await uow.execute(
        "UPDATE products SET stock = :s, updated_ms = :now WHERE id = :id",
        {"s": new_stock, "now": market.clock(), "id": product.id},
    )
    await market.ledger.record(
        uow,
        Request(
            actor=producer.key_label,
            kind="product.stock",
            body={"product": product.id, "from": product.stock, "to": new_stock},
        ),
    )
    return await get(uow, product.id)


async def set_active(market: Services, uow: UnitOfWork, producer_id: int, product_id: int, *, active: bool) -> Product:
    producer, product = await _owned(uow, producer_id, product_id)
    await uow.execute(
        "UPDATE products SET active = :a, updated_ms = :now WHERE id = :id",
        {"a": 1 if active else 0, "now": market.clock(), "id": product.id},
    )
    await market.ledger.record(
        uow, Request(actor=producer.key_label, kind="product.active", body={"product": product.id, "active": active})
    )
    return await get(uow, product.id)
