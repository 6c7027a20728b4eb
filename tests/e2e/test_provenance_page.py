"""``GET /p/<code>`` over real HTTP: the page, friendly 404s, the label image, and no personal data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from chestnut.web import make_web_app
from commerce import product_code
from commerce.demo import build_demo


@pytest.fixture
async def client(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[App, TestClient]]:
    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    await build_demo(app.market, app.db, shoppers=30)
    client = TestClient(TestServer(make_web_app(app, background=False), host="127.0.0.1"))
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
    assert "찾지 못했어요" in page and "<script>" not in page.replace('<script src="/ledger/static/verify.js"', "")
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
