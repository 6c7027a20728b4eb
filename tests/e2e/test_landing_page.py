"""``GET /`` over real HTTP: what this is, in Korean or English, and every way on from it works."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.shops import product_code
from tests.support.market import Cast, cast
from web.app import make_web_app


@pytest.fixture
async def site(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[Cast, TestClient]]:
    app: App = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    people = await cast(app)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        yield people, client
    finally:
        await client.close()
        await app.close()


async def _page(http: TestClient, path: str = "/", **headers: str) -> str:
    response = await http.get(path, headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/html"
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' only
    return await response.text()


async def test_the_front_page_says_what_this_is_and_every_link_leads_somewhere(
    site: tuple[Cast, TestClient],
) -> None:
    _people, http = site
    text = await _page(http)
    assert '<html lang="ko">' in text
    assert "밤나무 장터" in text and "직거래 장터" in text and "공개 장부" in text
    assert "채팅으로 장보기" in text and "어디서 왔는지 확인하기" in text
    links = set(re.findall(r'(?:href|src|action)="([^"]+)"', text))
    assert {"/chat", "/ledger/", "/p", "/?lang=en"} <= links
    for link in sorted(links - {"data:,"}):  # /p alone is the form's target: the "no such product" page
        assert (await http.get(link)).status == (404 if link == "/p" else 200), link


@pytest.mark.parametrize(
    ("query", "accept", "lang"),
    [
        ("", "", "ko"),
        ("?lang=en", "", "en"),
        ("", "en-US,en;q=0.9", "en"),
        ("", "ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        ("", "fr-FR, en;q=0.5", "en"),
        ("", "en;q=0, ko", "ko"),
        ("", "en;q=0.4, ko;q=0.6", "ko"),
        ("?lang=ko", "en-US", "ko"),
        ("?lang=%3Cscript%3E", "en", "en"),  # not a language of ours: the browser's, and nothing echoed
    ],
)
async def test_korean_first_english_when_asked(
    site: tuple[Cast, TestClient], query: str, accept: str, lang: str
) -> None:
    _people, http = site
    text = await _page(http, "/" + query, **({"Accept-Language": accept} if accept else {}))
    assert f'<html lang="{lang}">' in text
    if lang == "en":
        assert "direct-trade market" in text and "Shop by chat" in text and "public ledger" in text
        assert "직거래" not in text and '<a href="/?lang=ko">한국어</a>' in text
    else:
        assert "직거래 장터" in text and "Shop by chat" not in text and '<a href="/?lang=en">English</a>' in text
    assert "<script>" not in text


async def test_the_code_form_opens_the_products_page(site: tuple[Cast, TestClient]) -> None:
    people, http = site
    code = product_code.encode(people.product)
    found = await http.get(f"/p?code=+{code.lower()}+", allow_redirects=False)  # as typed, in lower case
    assert found.status == 303 and found.headers["Location"] == f"/p/{code}"
    text = await _page(http, f"/p?code={code.lower()}")
    assert "사과" in text and "김씨네 과수원" in text
    for typed in ("", "0001Z", "사과", "x" * 500):
        wrong = await http.get("/p", params={"code": typed}, allow_redirects=False)
        assert wrong.status == 404 and "그런 물건을 찾지 못했어요" in await wrong.text(), typed


async def test_other_methods_on_the_front_page_are_refused(site: tuple[Cast, TestClient]) -> None:
    _people, http = site
    response = await http.post("/", data=b"{}")
    assert response.status == 405 and (await response.json())["error"] == "method_not_allowed"
