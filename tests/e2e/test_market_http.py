"""Market data over real HTTP on loopback (aiohttp's TestServer around ``make_web_app``), SQLite and PostgreSQL.

What a client reading the market checks: the book by level, trades since a cursor, the reference price
with its source and today's figures, a real PNG chart — and junk parameters answered with a 400 JSON.
"""

from __future__ import annotations

import io
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from chestnut.bootstrap import App
from commerce.exchange import service as market
from commerce.members import service as members
from commerce.wallet import service as wallet
from ledger.model import Transfer
from ledger.requests import Request
from tests.support.identity import verify
from web.app import make_web_app

NOON_KST = 1_798_729_200_000 + 12 * 3_600_000


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient[Any, Any]]:
    app.services.clock = lambda: NOON_KST
    async with TestClient(TestServer(make_web_app(app))) as c:
        yield c


async def trade_some(app: App) -> tuple[int, int]:
    m = app.services
    async with app.db.unit_of_work() as uow:
        op = await members.register(m, uow, channel="web", external_id="op", display_name="op")
        await members.make_operator(m, uow, op.id)
        buyer = await members.register(m, uow, channel="web", external_id="b", display_name="b")
        seller = await members.register(m, uow, channel="web", external_id="s", display_name="s")
        await verify(app, uow, buyer.id)  # trading BNM needs a verified phone
        await verify(app, uow, seller.id)
        await wallet.topup_at_office(m, uow, op.id, buyer.id, 100_000, receipt="R-1")
        await app.ledger.record(
            uow,
            Request(
                actor="system:operator",
                kind="bnm.contribution",
                transfers=[Transfer("g-1", "treasury:bnm", members.wallet(seller.id, "BNM"), 60_000, "BNM")],
            ),
        )
        await market.place(m, uow, seller.id, side="sell", amount=10_000, price=1_100)
        await market.place(m, uow, seller.id, side="sell", amount=10_000, price=1_150)
        await market.place(m, uow, seller.id, side="sell", amount=5_000, price=1_200)
        await market.place(m, uow, buyer.id, side="buy", amount=15_000, price=1_150)  # two trades
        await market.place(m, uow, buyer.id, side="buy", amount=3_000, price=1_000)  # rests
        await uow.commit()
    return buyer.id, seller.id


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


PRICE_LINE, REFERENCE_LINE = (0x8B, 0x5A, 0x2B), (0x2E, 0x7D, 0x32)  # the chart's trade and reference colours


def line_pixels(body: bytes) -> dict[tuple[int, int, int], int]:
    """How many pixels of the decoded PNG are (nearly) each line's colour."""
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG" and image.size == (640, 320)
        colours = image.convert("RGB").getcolors(maxcolors=640 * 320) or []
    return {
        line: sum(n for n, c in colours if max(abs(a - b) for a, b in zip(c, line, strict=True)) <= 24)
        for line in (PRICE_LINE, REFERENCE_LINE)
    }


async def test_an_empty_market_answers_the_operator_price_and_an_empty_book(client: TestClient[Any, Any]) -> None:
    price = await (await client.get("/market/price")).json()
    assert (price["price"], price["source"], price["today"]["last"]) == (1_000, "operator", None)
    assert price["band"] == {"low": 700, "high": 1_300, "anchor": 1_000}
    book = await (await client.get("/market/book")).json()
    assert (book["bids"], book["asks"], book["tick"], book["lot"]) == ([], [], 10, 100)
    assert (await (await client.get("/market/trades")).json()) == {"trades": [], "next": 0}
    chart = await client.get("/market/chart.png")
    assert chart.status == 200 and chart.content_type == "image/png"
    body = await chart.read()
    assert png_size(body) == (640, 320)
    assert line_pixels(body) == {PRICE_LINE: 0, REFERENCE_LINE: 0}  # no trades: no line through the message
    english = await (await client.get("/market/chart.png?lang=en")).read()
    assert english != body and line_pixels(english) == {PRICE_LINE: 0, REFERENCE_LINE: 0}


async def test_book_trades_price_and_chart_after_trading(app: App, client: TestClient[Any, Any]) -> None:
    await trade_some(app)
    book = await (await client.get("/market/book?levels=5")).json()
    assert book["bids"] == [{"price": 1_000, "units": 3_000, "orders": 1}]
    assert book["asks"] == [
        {"price": 1_150, "units": 5_000, "orders": 1},
        {"price": 1_200, "units": 5_000, "orders": 1},
    ]

    trades = await (await client.get("/market/trades?since=0")).json()
    assert [(t["price"], t["units"], t["value"], t["taker_side"]) for t in trades["trades"]] == [
        (1_100, 10_000, 11_000, "buy"),
        (1_150, 5_000, 5_750, "buy"),
    ]
    first = trades["trades"][0]["id"]
    later = await (await client.get(f"/market/trades?since={first}")).json()
    assert [t["id"] for t in later["trades"]] == [trades["next"]]
    assert (await (await client.get(f"/market/trades?since={trades['next']}")).json())["trades"] == []

    price = await (await client.get("/market/price")).json()
    assert price["source"] == "window" and price["volume_units"] == 15_000
    assert price["price"] == 1_117  # (1,100 × 10,000 + 1,150 × 5,000) / 15,000, rounded
    assert price["today"] == {"high": 1_150, "low": 1_100, "last": 1_150, "volume_units": 15_000}
    assert price["week_closes"][-1] == 1_150 and price["week_closes"][0] is None
    async with app.db.snapshot() as snap:
        assert await app.services.prices.reference_price(snap) == price["price"]  # what payments use

    chart = await client.get("/market/chart.png?days=7")
    assert chart.status == 200
    drawn = line_pixels(await chart.read())
    assert drawn[PRICE_LINE] > 0 and drawn[REFERENCE_LINE] > 100  # the trades (two at one moment) and the reference


JUNK = [
    "/market/trades?since=abc",
    "/market/trades?since=-1",
    "/market/trades?since=1e3",
    "/market/trades?limit=0",
    "/market/trades?limit=100000",
    "/market/book?levels=0",
    "/market/book?levels=%EF%BC%91",  # a full-width digit
    "/market/chart.png?days=0",
    "/market/chart.png?days=365",
    "/market/chart.png?lang=fr",
]


async def test_junk_parameters_are_a_400_json(client: TestClient[Any, Any]) -> None:
    for path in JUNK:
        response = await client.get(path)
        assert response.status == 400, path
        assert (await response.json())["error"] == "invalid_input", path
