"""``GET /p/<code>`` over real HTTP: the page, friendly 404s, the label image, and no personal data."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App, build
from chestnut.demo import build_demo
from chestnut.settings import Settings
from commerce.provenance import service as provenance
from commerce.reviews import service as reviews
from commerce.shops import product_code
from ledger.storage.unit_of_work import UnitOfWork
from tests.support.chat import ChatUser
from web.app import make_web_app
from web.provenance import ProvenancePages


@pytest.fixture
async def client(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[App, TestClient]]:
    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    await build_demo(app.services, app.db, shoppers=30)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await app.close()


async def test_every_demo_product_has_a_page_with_its_signed_steps(client: tuple[App, TestClient]) -> None:
    app, http = client
    async with app.db.snapshot() as snap:
        products = await snap.fetch("SELECT id, name, listed_seq FROM products ORDER BY id")
        people = await snap.fetch("SELECT display_name, phone FROM members WHERE id > 1")
        addresses = await snap.fetch("SELECT text FROM addresses")
    for pid, name, listed in products[:12]:
        r = await http.get(f"/p/{product_code.encode(int(pid))}")
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/html")
        page = await r.text()
        assert str(name) in page and f'data-seq="{int(listed)}"' in page and "data-verify" in page
        assert "Traceback" not in page
        # No reviewer, courier or shopper names, phones or addresses on a public page.
        for display_name, phone in people:
            if len(str(display_name)) >= 3:
                assert f">{display_name}<" not in page
            if phone:
                assert str(phone) not in page
        for (text,) in addresses:
            assert str(text) not in page
    lowered = await http.get(f"/p/{product_code.encode(int(products[0][0])).lower()}")
    assert lowered.status == 200


@pytest.mark.parametrize("code", ["0001Z", "zz", "0000000000000", "%3Cscript%3E", "ÄÄÄÄÄ", "0001Y0001Y0001Y0"])
async def test_unknown_or_mangled_codes_are_a_friendly_404_page(client: tuple[App, TestClient], code: str) -> None:
    _app, http = client
    r = await http.get(f"/p/{code}")
    assert r.status == 404
    page = await r.text()
    assert "찾지 못했어요" in page and "<script>" not in page.replace('<script src="/static/verify.js"', "")
    assert "Traceback" not in page


async def test_an_unknown_product_with_a_valid_code_is_404_too(client: tuple[App, TestClient]) -> None:
    _app, http = client
    r = await http.get(f"/p/{product_code.encode(99_999)}")
    assert r.status == 404 and "찾지 못했어요" in await r.text()
    assert (await http.get("/p/")).status == 404


async def test_the_label_image_is_a_png_qr_of_the_page(client: tuple[App, TestClient]) -> None:
    _app, http = client
    r = await http.get(f"/p/{product_code.encode(1)}/label.png")
    assert r.status == 200 and r.headers["Content-Type"] == "image/png"
    body = await r.read()
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) > 2000
    assert (await http.get("/p/0001Z/label.png")).status == 404


async def _reviewable(app: App) -> tuple[int, int, int] | None:
    """(buyer, order, product) of a delivered order line nobody has reviewed yet."""
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT o.buyer_id, o.id, l.product_id FROM orders o JOIN order_lines l ON l.order_id = o.id "
            "WHERE o.state IN ('delivered', 'confirmed', 'settled') AND o.delivered_ms IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM reviews r WHERE r.order_id = o.id AND r.product_id = l.product_id) ORDER BY o.id LIMIT 1"
        )
    return (int(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None


async def test_a_new_step_or_review_is_on_the_page_within_the_staleness_bound(
    client: tuple[App, TestClient],
) -> None:
    """Pages are served from memory; a commit is on the page for every request ``revalidate_s`` after it."""
    app, http = client
    bound = ProvenancePages(app.db).cache.revalidate_s  # the documented bound (PageCache)
    async with app.db.snapshot() as snap:
        pid, owner = (await snap.fetch("SELECT p.id, s.owner_id FROM products p JOIN shops s ON s.id = p.shop_id"))[0]
    url = f"/p/{product_code.encode(int(pid))}"
    before = await http.get(url)
    assert before.status == 200
    async with app.db.unit_of_work() as uow:
        step = await provenance.record_event(
            app.services, uow, int(owner), int(pid), stage="packed", note="오후에 다시 포장한 상자"
        )
        await uow.commit()
    await asyncio.sleep(bound + 0.05)
    page = await (await http.get(url)).text()
    assert f'data-seq="{step.seq}"' in page and "오후에 다시 포장한 상자" in page

    found = await _reviewable(app)
    assert found is not None, "the demo market has a delivered order left to review"
    buyer, order, product = found
    url = f"/p/{product_code.encode(product)}"
    shown = re.search(r"후기 \((\d+)개 중 최근\)", await (await http.get(url)).text())  # cached before the review
    assert shown is not None
    async with app.db.unit_of_work() as uow:
        review = await reviews.post_review(app.services, uow, buyer, order, product, rating=4, text="새로 쓴 후기")
        await uow.commit()
    await asyncio.sleep(bound + 0.05)
    page = await (await http.get(url)).text()
    assert f'data-seq="{review.seq}"' in page and "새로 쓴 후기" in page
    # The shop's reputation, folded from the ledger, counts it too (not figures from before the entry).
    assert f"후기 ({int(shown[1]) + 1}개 중 최근)" in page


async def test_pages_are_served_from_memory_with_an_etag_and_revalidated_with_304(
    client: tuple[App, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, http = client
    url = f"/p/{product_code.encode(1)}"
    first = await http.get(url)
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('"') and first.headers["Cache-Control"] == "public, no-cache"
    assert "default-src 'self'" in first.headers["Content-Security-Policy"]
    snapshots = 0
    opened = app.db.snapshot

    def counted() -> UnitOfWork:
        nonlocal snapshots
        snapshots += 1
        return opened()

    monkeypatch.setattr(app.db, "snapshot", counted)
    for _ in range(20):
        again = await http.get(url)
        assert again.status == 200 and again.headers["ETag"] == etag and await again.read() == await first.read()
    assert snapshots <= 2, "a cached page read the database on every request"  # at most a size check or two
    unchanged = await http.get(url, headers={"If-None-Match": f'W/{etag}, "other"'})
    assert unchanged.status == 304 and await unchanged.read() == b"" and unchanged.headers["ETag"] == etag
    assert (await http.get(url, headers={"If-None-Match": '"other"'})).status == 200
    assert (await http.get(f"/p/{product_code.encode(99_999)}", headers={"If-None-Match": "*"})).status == 404


async def test_readers_arriving_at_once_share_one_render(
    client: tuple[App, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, http = client
    async with app.db.snapshot() as snap:
        ids = [int(r[0]) for r in await snap.fetch("SELECT id FROM products ORDER BY id")]
    snapshots = 0
    opened = app.db.snapshot

    def counted() -> UnitOfWork:
        nonlocal snapshots
        snapshots += 1
        return opened()

    monkeypatch.setattr(app.db, "snapshot", counted)
    paths = [f"/p/{product_code.encode(i)}" for i in ids] * 3 + [f"/p/{product_code.encode(99_999)}"]
    answers = await asyncio.gather(*(http.get(p) for p in paths))
    assert [a.status for a in answers] == [200] * (len(paths) - 1) + [404]
    for answer in answers[:-1]:
        assert 'data-seq="' in await answer.text() and answer.headers["ETag"]
    # The ledger size once, then every page in a few batches (not one snapshot per request).
    assert snapshots <= 4, snapshots


async def test_the_chats_where_from_screen_opens_the_products_page(client: tuple[App, TestClient]) -> None:
    app, http = client
    async with app.db.snapshot() as snap:
        (pid, name), *_ = await snap.fetch("SELECT id, name FROM products ORDER BY id LIMIT 1")
    shopper = ChatUser(app.dialogue, "telegram", "where-1", "손님")
    await shopper.send(f"/start p{int(pid)}")
    await shopper.tap("어디서 왔나요")
    page = shopper.find("웹에서 직접 확인")
    assert page.url == f"{app.settings.public_url}/p/{product_code.encode(int(pid))}"
    opened = await http.get(page.url.removeprefix(app.settings.public_url))
    assert opened.status == 200 and str(name) in await opened.text()
    # A server with no public address has no link to give: the screen keeps only its way back.
    app.dialogue.config = replace(app.dialogue.config, public_url="")
    await shopper.tap("물건으로")
    await shopper.tap("어디서 왔나요")
    assert [b.url for b in shopper.buttons() if b.url] == []
    assert shopper.find("물건으로")
