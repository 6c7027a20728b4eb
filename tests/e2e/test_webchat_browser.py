"""The web chat in a real browser: an order from the first screen to the paid order, by clicks alone.

Debian's Chromium (``/usr/bin/chromium``, installed by ``make test`` where missing) driven by Playwright's
Python API — Playwright's own browser download is never used. The server is the real aiohttp app on
127.0.0.1 in this process, so the test can top up the new web member at the "market office" through the
real wallet service. Where the browser cannot start the test skips with the reason, except under
``CI=true``, where that fails the run (the same policy as PostgreSQL in ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from aiohttp.test_utils import TestServer

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.wallet import service as wallet
from tests.support.identity import verify
from tests.support.market import cast
from web.app import make_web_app

CHROMIUM = os.environ.get("CHESTNUT_TEST_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 412, "height": 915}  # a common Android phone, where most elderly shoppers are


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true requires the browser test; `make test` installs chromium)")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import Error, async_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed: {exc}")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as pw:
        try:
            launched = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {exc.message.splitlines()[0]}")
        try:
            yield launched
        finally:
            await launched.close()


async def _screenshot(page: Any, shot: Path) -> None:
    """Into the test's tmp dir (and ``CHESTNUT_SCREENSHOT_DIR`` when set, to look at the page by eye)."""
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
    if keep := os.environ.get("CHESTNUT_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(keep) / shot.name)


@pytest.fixture
async def served(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[App, str]]:
    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    server = TestServer(make_web_app(app), host="127.0.0.1")
    await server.start_server()
    try:
        yield app, str(server.make_url("/chat"))
    finally:
        await server.close()
        await app.close()


async def test_an_elderly_shopper_orders_apples_by_clicking_big_buttons(
    browser: Any, served: tuple[App, str], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    app, url = served
    c = await cast(app, stock=20, price=6000)
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", reduced_motion="reduce")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

    await page.goto(url)
    newest = page.locator(".turn").last

    def button(name: str) -> Any:
        return newest.get_by_role("button", name=name)

    await expect(button("장보기")).to_be_visible()
    await expect(page.locator("#menu").get_by_role("button", name="처음으로")).to_be_visible()

    session = next(k["value"] for k in await context.cookies() if k["name"] == "chestnut_chat").split(".")[0]
    async with app.db.unit_of_work() as uow:  # 50,000원 in cash at the market office
        me = await members.by_identity(uow, "web", session)
        assert me is not None
        await wallet.topup_at_office(app.services, uow, c.operator, me.id, 50_000, receipt="W-1")
        await verify(app, uow, me.id)  # paying needs a verified phone (the chat's phone steps: test_webchat)
        await uow.commit()

    # Big type and big buttons: what an elderly reader checks first.
    text_px = await page.locator(".bubble.bot .text").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    box = await button("장보기").bounding_box()
    assert text_px >= 22, text_px
    assert box is not None and box["height"] >= 56, box

    await button("장보기").click()
    await button("못골시장").click()
    await button("김씨네 과수원").click()
    await button("사과").click()
    await expect(newest).to_contain_text("경북 청송")  # where the apples come from, on the card
    await button("1개 담기").click()
    await expect(newest).to_contain_text("사과 1개를 담았어요")
    await expect(newest).to_contain_text("주문 확인")
    await expect(newest).to_contain_text("합계: 9,000원")  # every won shown before anything is charged
    await _screenshot(page, tmp_path / "webchat-confirm.png")
    await button("9,000원 결제하기").click()
    await expect(newest).to_contain_text("결제됐어요! 주문 번호는 1번이에요.")
    await expect(newest).to_contain_text("낸 돈: 9,000원")
    await expect(newest.get_by_role("button", name="주문 보기")).to_be_visible()
    assert await page.locator(".rows").count() == 1  # only the newest screen has buttons to press

    await _screenshot(page, tmp_path / "webchat-paid.png")

    # Typing works too: 초성 finds the apples.
    await page.get_by_role("textbox").fill("ㅅㄱ")
    await page.get_by_role("textbox").press("Enter")
    await expect(newest.get_by_role("button", name=re.compile("사과"))).to_be_visible()

    async with app.db.unit_of_work() as uow:
        placed = await order_queries.list_for_buyer(uow, me.id)
    assert [(o.state, o.total) for o in placed] == [("paid", 9000)]
    assert problems == []
    await context.close()


async def test_a_new_visitor_pays_in_ten_clicks_typing_phone_code_and_address_once(
    browser: Any, served: tuple[App, str], tmp_path: Path
) -> None:
    """A first order from a visitor with money but no phone and no address: the confirmation asks for
    each where it stands, and the count of what the person did stays within the target."""
    from playwright.async_api import expect

    app, url = served
    c = await cast(app, stock=20, price=6000)
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(url)
    newest = page.locator(".turn").last
    clicks, typed = 0, []

    async def click(name: str) -> None:
        nonlocal clicks
        clicks += 1
        await newest.get_by_role("button", name=name).click()

    async def type_in(text: str) -> None:
        typed.append(text)
        await page.get_by_role("textbox").fill(text)
        await page.get_by_role("textbox").press("Enter")

    await expect(newest.get_by_role("button", name="장보기")).to_be_visible()
    session = next(k["value"] for k in await context.cookies() if k["name"] == "chestnut_chat").split(".")[0]
    async with app.db.unit_of_work() as uow:  # 50,000원 in cash at the market office
        me = await members.by_identity(uow, "web", session)
        assert me is not None
        await wallet.topup_at_office(app.services, uow, c.operator, me.id, 50_000, receipt="W-2")
        await uow.commit()

    for name in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
        await click(name)
    await expect(newest).to_contain_text("휴대폰 번호를 적어 주세요")
    await type_in("010-4567-8901")
    await expect(newest).to_contain_text("인증번호:")  # the test server shows it (no SMS sender)
    code = re.search(r"인증번호: (\d{6})", await newest.inner_text())
    assert code is not None
    await type_in(code.group(1))
    await expect(newest).to_contain_text("받으실 주소를 적어 주세요")
    await type_in("수원시 팔달구 매산로 1, 101동 1203호")
    await expect(newest).to_contain_text("이 주소가 맞나요?")
    await click("✅ 맞아요, 집 주소로 저장")
    await expect(newest).to_contain_text("받는 곳 (집): 수원시 팔달구 매산로 1, 101동 1203호")
    await _screenshot(page, tmp_path / "webchat-where.png")
    await click("✅ 9,000원 결제하기")
    await expect(newest).to_contain_text("결제됐어요!")
    assert clicks <= 10 and len(typed) == 3, (clicks, typed)
    async with app.db.unit_of_work() as uow:
        (placed,) = await order_queries.list_for_buyer(uow, me.id)
    assert placed.state == "paid" and placed.address_id is not None
    await context.close()
