"""The provenance page in a real browser: the in-browser verification passes on real entries and fails
on a tampered proof.

Debian's Chromium (``/usr/bin/chromium``) driven by Playwright, exactly as ``test_webchat_browser.py``
does (same skip policy: skip with the reason where the browser cannot start, fail under ``CI=true``).
The verifier is ``web/static/verify.js`` alone: WebCrypto SHA-256 for the Merkle path and WebCrypto
Ed25519 for the actors' and the checkpoint's signatures. The tampered run changes one hash of each
inclusion proof on its way to the browser — the page must say it could not verify.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from chestnut.bootstrap import App, build
from chestnut.demo import build_demo
from chestnut.settings import Settings
from commerce.shops import product_code
from tests.e2e.test_webchat_browser import PHONE, browser  # noqa: F401  (the shared Chromium fixture)
from web.app import make_web_app

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "provenance-page.png"


@pytest.fixture
async def served(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[App, str]]:
    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    await build_demo(app.services, app.db, shoppers=40)
    server = TestServer(make_web_app(app), host="127.0.0.1")
    await server.start_server()
    try:
        yield app, str(server.make_url("/"))
    finally:
        await server.close()
        await app.close()


async def _richest_product(app: App) -> int:
    """The demo product with the most signed steps and reviews: the best page to look at."""
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT p.id, (SELECT COUNT(*) FROM provenance_events e WHERE e.product_id = p.id) + "
            "3 * (SELECT COUNT(*) FROM reviews r WHERE r.product_id = p.id) AS n FROM products p ORDER BY n DESC, p.id"
        )
    return int(rows[0][0])


async def test_in_browser_verification_passes_on_real_entries_and_fails_on_a_tampered_proof(
    browser: Any,  # noqa: F811
    served: tuple[App, str],
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    app, base = served
    product = await _richest_product(app)
    url = f"{base}p/{product_code.encode(product)}"
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", reduced_motion="reduce")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    await page.goto(url)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    text_px = await page.locator("main p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert text_px >= 19, text_px  # large text for elderly readers
    steps = await page.locator("[data-steps] [data-seq]").count()
    assert steps >= 3

    await page.get_by_role("button", name="확인하기").click()
    result = page.locator("[data-verify-result]")
    await expect(result).to_have_attribute("data-outcome", "verified", timeout=20_000)
    await expect(result).to_contain_text("확인됐어요")
    await expect(result).to_contain_text("서명")
    assert await page.locator("[data-steps] li.verified").count() == steps
    assert await page.locator("[data-steps] li.failed").count() == 0
    shot = tmp_path / "provenance-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if keep := os.environ.get("CHESTNUT_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(keep) / shot.name)
    if os.environ.get("CHESTNUT_SCREENSHOT_DOCS") == "1":  # once, for the README
        DOCS_SHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS_SHOT)
    assert not problems, problems

    # Now a man in the middle flips one hash of every inclusion proof: the page must refuse it.
    async def tamper(route: Any) -> None:
        response = await route.fetch()
        data = await response.json()
        if data.get("inclusion"):
            first = bytearray(__import__("base64").b64decode(data["inclusion"][0]))
            first[0] ^= 1
            data["inclusion"][0] = __import__("base64").b64encode(bytes(first)).decode()
        await route.fulfill(response=response, body=json.dumps(data), content_type="application/json")

    tampered = await context.new_page()
    await tampered.route("**/ledger/proof/**", tamper)
    await tampered.goto(url)
    await tampered.get_by_role("button", name="확인하기").click()
    bad = tampered.locator("[data-verify-result]")
    await expect(bad).to_have_attribute("data-outcome", "failed", timeout=20_000)
    await expect(bad).to_contain_text("확인되지 않았어요")
    assert await tampered.locator("[data-steps] li.failed").count() >= 1
    await tampered.screenshot(path=str(tmp_path / "provenance-tampered.png"), full_page=True)
    await context.close()


async def test_a_stranger_checks_a_restricted_entry_is_in_the_ledger_without_reading_it(
    browser: Any,  # noqa: F811
    served: tuple[App, str],
) -> None:
    """A payment's page shows a stranger its number and leaf hash; the browser proves it is in the ledger."""
    from playwright.async_api import expect

    app, base = served
    async with app.db.snapshot() as snap:
        (seq,) = (await snap.fetch("SELECT MIN(seq) FROM ledger_entries WHERE kind = 'order.pay'"))[0]
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(f"{base}ledger/entry/{int(seq)}")
    await expect(page.get_by_text("비공개 기록")).to_be_visible()
    assert "돈의 움직임" not in await page.content()
    await page.get_by_role("button", name="확인하기").click()
    result = page.locator("[data-verify-result]")
    await expect(result).to_have_attribute("data-outcome", "verified", timeout=20_000)
    await expect(page.locator("[data-steps] li.verified")).to_contain_text("비공개")
    await context.close()
