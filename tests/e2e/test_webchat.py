"""The web chat over real HTTP (aiohttp's test server on loopback): cookie, screens, bad input, journeys.

A ``WebUser`` is what the page does: it keeps the cookie, posts ``{"text"|"payload", "id"}`` and taps
buttons by the label a person reads on the previous screen, never by a payload it made up.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.wallet import service as wallet
from tests.support.identity import verify
from tests.support.market import cast
from tests.support.sms_standin import API_KEY, SmsStandIn
from web.app import make_web_app

_ids = itertools.count(1)


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(make_web_app(app))) as c:
        yield c


@dataclass
class WebUser:
    client: TestClient[Any, Any]
    last: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> dict[str, Any]:
        response = await self.client.get("/chat/api/start")
        assert response.status == 200, await response.text()
        self.last = await response.json()
        return self.last

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post("/chat/api/message", json=body)
        assert response.status == 200, await response.text()
        self.last = await response.json()
        return self.last

    async def send(self, text: str) -> dict[str, Any]:
        return await self.post({"text": text, "payload": None, "id": f"m{next(_ids)}"})

    def buttons(self) -> list[dict[str, str]]:
        rows = [b for r in self.last["replies"] for row in r["buttons"] for b in row]
        return rows + list(self.last["menu"])

    def find(self, label_part: str) -> dict[str, str]:
        matches = [b for b in self.buttons() if label_part in b["label"]]
        assert matches, f"no button with {label_part!r}; screen has {[b['label'] for b in self.buttons()]}"
        return matches[0]

    async def tap(self, label_part: str) -> dict[str, Any]:
        button = self.find(label_part)
        assert button["kind"] == "payload", button
        return await self.post({"text": None, "payload": button["payload"], "id": f"m{next(_ids)}"})

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.last["replies"])

    def session(self) -> str:
        """The web identity: the cookie's session, before the server's signature."""
        cookies = {c.key: c.value for c in self.client.session.cookie_jar}
        return cookies["chestnut_chat"].split(".")[0]


async def test_the_page_sets_a_private_session_cookie_and_needs_nothing_from_outside(
    client: TestClient[Any, Any],
) -> None:
    page = await client.get("/chat")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert '<html lang="ko">' in html and "밤나무 장터" in html
    cookie = page.cookies["chestnut_chat"]
    session, signature = cookie.value.split(".")
    assert len(session) == 43 and len(signature) == 43  # 32 random bytes, and their HMAC-SHA256
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/chat"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("/chat/static/chat.js", "/chat/static/chat.css"):
        response = await client.get(asset)
        assert response.status == 200, asset
        body = await response.text()
        assert "http://" not in body and "https://" not in body  # offline: no CDN, no external fonts
    assert "https://" not in html and "http://" not in html
    missing = await client.get("/chat/static/secrets.txt")
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"

    again = await client.get("/chat")
    assert "chestnut_chat" not in again.cookies  # the same session from now on


async def test_the_first_screen_is_home_with_big_choices_and_the_menu(client: TestClient[Any, Any]) -> None:
    user = WebUser(client)
    screen = await user.start()
    assert screen["lang"] == "ko"
    assert "밤나무 장터" in user.text
    for label in ("장보기", "내 주문", "내 지갑"):
        assert user.find(label)["kind"] == "payload"
    labels = [b["label"] for r in screen["replies"] for row in r["buttons"] for b in row]
    assert not [label for label in labels if "지난번처럼" in label]  # a new member has no order to repeat
    assert [b["label"] for b in screen["menu"]] == ["🏠 처음으로", "❓ 도움말"]
    assert screen["expects"] == "choice"
    session = user.session()

    help_screen = await user.tap("도움말")
    assert "사용법" in user.text
    call = user.find("전화")
    assert call["kind"] == "phone" and call["phone"]  # a tel: link on the page, a person one tap away
    assert help_screen["replies"][0]["text"].count("\n") >= 3  # newlines travel as they are
    assert user.session() == session


async def test_an_english_browser_gets_english_at_first_contact(client: TestClient[Any, Any]) -> None:
    response = await client.get("/chat/api/start", headers={"Accept-Language": "en-US,en;q=0.9,ko;q=0.5"})
    screen = await response.json()
    assert screen["lang"] == "en"
    labels = [b["label"] for r in screen["replies"] for row in r["buttons"] for b in row]
    assert any("Shop" in label for label in labels), labels


BAD_BODIES: list[tuple[str, bytes]] = [
    ("not JSON", b"hello"),
    ("not UTF-8", b'{"text": "\xff\xfe"}'),
    ("a list", b'["text", "hi"]'),
    ("text not a string", json.dumps({"text": 5}).encode()),
    ("payload not a string", json.dumps({"payload": 7}).encode()),
    ("payload an object", json.dumps({"payload": {"verb": "home"}}).encode()),
    ("text too long", json.dumps({"text": "가" * 1001}).encode()),
    ("both text and payload", json.dumps({"text": "사과", "payload": "home"}).encode()),
    ("neither", json.dumps({"id": "m1"}).encode()),
    ("blank text", json.dumps({"text": "   "}).encode()),
    ("payload not ASCII", json.dumps({"payload": "처음"}).encode()),
    ("payload too long", json.dumps({"payload": "x" * 65}).encode()),
    ("id not a string", json.dumps({"text": "사과", "id": 12}).encode()),
    ("id too long", json.dumps({"text": "사과", "id": "x" * 65}).encode()),
    ("body too large", json.dumps({"text": "사과", "pad": "x" * 20_000}).encode()),
    ("a lone surrogate", b'{"text": "\\ud800"}'),
    ("a lone surrogate as a key", b'{"\\udc00": 1, "text": "a"}'),
    ("a surrogate encoded as UTF-8", b'{"text": "\xed\xa0\x80"}'),
    ("U+0000", b'{"text": "a\\u0000b"}'),
    ("nested 10,000 deep", b"[" * 10_000),
    ("objects nested 1,000 deep", b'{"a":' * 1000 + b"1" + b"}" * 1000),
]


@pytest.mark.parametrize(("why", "body"), BAD_BODIES, ids=[why for why, _ in BAD_BODIES])
async def test_bad_input_is_a_400_with_a_reason_never_a_500(
    client: TestClient[Any, Any], why: str, body: bytes
) -> None:
    response = await client.post("/chat/api/message", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400, (why, await response.text())
    answer = await response.json()
    assert answer["error"] == "bad_request" and answer["message"], answer

    fine = await WebUser(client).send("사과")  # the server is none the worse for it
    assert fine["replies"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b'{"text": "\\ud800"}', "lone_surrogate"), (b"[" * 10_000, "too_deep"), (b"{" * 5000, "not_json")],
)
async def test_a_body_no_page_sends_says_why_in_a_stable_reason(
    client: TestClient[Any, Any], body: bytes, reason: str
) -> None:
    response = await client.post("/chat/api/message", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert await response.json() == {"error": "bad_request", "message": ANY, "data": {"reason": reason}}


async def test_other_bad_requests_are_400_or_405_json(client: TestClient[Any, Any]) -> None:
    form = await client.post("/chat/api/message", data={"text": "사과"})  # a form post, not JSON
    assert form.status == 400 and (await form.json())["error"] == "bad_request"
    link = await client.get("/chat/api/start", params={"start": "<script>"})
    assert link.status == 400 and (await link.json())["error"] == "bad_request"
    wrong_method = await client.get("/chat/api/message")
    assert wrong_method.status == 405 and (await wrong_method.json())["error"] == "method_not_allowed"


async def test_a_forged_cookie_never_names_another_web_identity(app: App, client: TestClient[Any, Any]) -> None:
    c = await cast(app)  # the operator's web identity is "op"
    client.session.cookie_jar.update_cookies({"chestnut_chat": "op"})
    response = await client.get("/chat/api/start")
    assert response.status == 200
    assert response.cookies["chestnut_chat"].value != "op"  # a fresh session instead
    labels = [b["label"] for r in (await response.json())["replies"] for row in r["buttons"] for b in row]
    assert not any("운영" in label for label in labels), labels
    async with app.db.unit_of_work() as uow:
        operator = await members.by_identity(uow, "web", "op")
    assert operator is not None and operator.id == c.operator


async def test_a_repeated_message_id_changes_nothing(client: TestClient[Any, Any], app: App) -> None:
    user = WebUser(client)
    await user.start()
    english = await user.post({"payload": "lang:en", "id": "same-id"})
    assert english["lang"] == "en"
    repeat = await user.post({"payload": "lang:ko", "id": "same-id"})  # a retry — or a different message
    assert repeat["replies"] == []  # already handled: nothing happens
    after = await user.post({"payload": "home", "id": "next-id"})
    assert after["lang"] == "en"  # still English: the repeat did not switch back

    async with TestClient(TestServer(make_web_app(app))) as other_browser:
        other = WebUser(other_browser)
        answered = await other.post({"payload": "lang:en", "id": "same-id"})  # same id, another person
        assert answered["replies"] and answered["lang"] == "en"


async def test_many_new_sessions_from_one_address_are_slowed_down(client: TestClient[Any, Any]) -> None:
    statuses = []
    for _ in range(31):
        client.session.cookie_jar.clear()
        statuses.append((await client.get("/chat")).status)
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    client.session.cookie_jar.clear()
    refused = await client.get("/chat/api/start")
    assert refused.status == 429
    body = await refused.json()
    assert body["error"] == "too_many_sessions" and body["data"]["limit"] == "address"
    assert "this address" in body["message"]


async def _web_members(app: App) -> set[str]:
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT external_id FROM member_identities WHERE channel = 'web'")
    return {row[0] for row in rows}


async def _joins(app: App) -> int:
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'member.join'")
    return int(rows[0][0])


async def test_made_up_cookies_register_no_more_members_than_the_limit_allows(
    app: App, client: TestClient[Any, Any]
) -> None:
    """Each made-up cookie is no session: it asks for a new one, so 50 of them from one address make at
    most the per-address limit of members, and never a member under the made-up value itself."""
    before, joins_before = await _web_members(app), await _joins(app)
    made_up = [secrets.token_urlsafe(32) for _ in range(50)]
    statuses = []
    for cookie in made_up:
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({"chestnut_chat": cookie})
        statuses.append((await client.get("/chat/api/start")).status)
    joined = await _web_members(app) - before
    assert len(joined) <= 30  # the default per-address limit
    assert statuses == [200] * 30 + [429] * 20
    assert not joined & set(made_up)  # each that was served got a session of the server's own instead
    assert await _joins(app) - joins_before == len(joined)  # no member.join but for a session served


async def test_a_signed_session_stays_and_a_forged_signature_is_no_session(
    app: App, client: TestClient[Any, Any]
) -> None:
    user = WebUser(client)
    await user.start()
    mine = {c.key: c.value for c in client.session.cookie_jar}["chestnut_chat"]
    session, signature = mine.split(".")
    again = await client.get("/chat/api/start")
    assert "chestnut_chat" not in again.cookies  # the server's own cookie: the same member, nothing new

    stranger = secrets.token_urlsafe(32)
    for forged in (f"{stranger}.{signature}", f"{stranger}.{'A' * 43}", stranger):
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({"chestnut_chat": forged})
        response = await client.get("/chat/api/start")
        assert response.status == 200
        fresh = response.cookies["chestnut_chat"].value.split(".")[0]
        assert fresh not in (stranger, session)
    assert stranger not in await _web_members(app)


async def test_a_member_whose_cookie_is_not_signed_keeps_their_membership(
    app: App, client: TestClient[Any, Any]
) -> None:
    """An unsigned cookie, or one signed under another master key, naming an existing web member is that
    member: their wallet stays theirs, and the answer carries a cookie signed by this server."""
    user = WebUser(client)
    await user.start()
    session = user.session()
    async with app.db.snapshot() as snap:
        member = await members.by_identity(snap, "web", session)
    assert member is not None
    for cookie in (session, f"{session}.{'B' * 43}"):
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({"chestnut_chat": cookie})
        response = await client.get("/chat/api/start")
        assert response.status == 200
        renewed = response.cookies["chestnut_chat"].value
        assert renewed.split(".")[0] == session and renewed != cookie
        assert "chestnut_chat" not in (await client.get("/chat/api/start")).cookies  # signed from now on
    async with app.db.snapshot() as snap:
        still = await members.by_identity(snap, "web", session)
    assert still is not None and still.id == member.id


async def test_new_sessions_are_limited_overall_across_addresses(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url=sqlite_url,
        environment="test",
        webchat_new_sessions_per_address=3,
        webchat_new_sessions_overall=5,
    )
    app = await build(settings)
    server = TestServer(make_web_app(app), host="127.0.0.1")
    await server.start_server()
    try:
        before = await _web_members(app)
        answers: dict[str, list[tuple[int, str | None]]] = {}
        for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):  # four clients, each its own
            connector = aiohttp.TCPConnector(local_addr=(address, 0))
            async with aiohttp.ClientSession(connector=connector) as browser:
                answers[address] = []
                for _ in range(3):
                    browser.cookie_jar.clear()
                    browser.cookie_jar.update_cookies({"chestnut_chat": secrets.token_urlsafe(32)})
                    response = await browser.get(server.make_url("/chat/api/start"))
                    body = await response.json()
                    answers[address].append((response.status, body.get("data", {}).get("limit")))
        served = [status for each in answers.values() for status, _ in each if status == 200]
        assert len(served) == 5  # the overall limit, though no address reached its own
        refused = [limit for each in answers.values() for status, limit in each if status == 429]
        assert refused == ["overall"] * 7
        assert len(await _web_members(app) - before) == 5
    finally:
        await server.close()
        await app.close()


async def test_an_order_by_buttons_alone(app: App, client: TestClient[Any, Any]) -> None:
    c = await cast(app, stock=20, price=6000)
    user = WebUser(client)
    await user.start()
    async with app.db.unit_of_work() as uow:  # cash at the market office for this web member
        me = await members.by_identity(uow, "web", user.session())
        assert me is not None
        await wallet.topup_at_office(app.services, uow, c.operator, me.id, 50_000, receipt="W-1")
        await verify(app, uow, me.id)  # paying needs a verified phone (the SMS journey is below)
        await uow.commit()

    await user.tap("장보기")
    await user.tap("못골시장")
    await user.tap("김씨네 과수원")
    await user.tap("사과")
    assert "경북 청송" in user.text  # where it came from, on the card
    await user.tap("1개 담기")
    assert "주문 확인" in user.text and "9,000원" in user.text  # 6,000원 + 3,000원 delivery, before paying
    pay = user.find("결제하기")
    await user.tap("결제하기")
    assert "결제됐어요" in user.text

    first = user.text
    await user.post({"payload": pay["payload"], "id": f"m{next(_ids)}"})  # a second tap on the same button
    assert user.text == first  # the same order answered again, not a second one charged
    async with app.db.unit_of_work() as uow:
        placed = await order_queries.list_for_buyer(uow, me.id)
    assert [(o.state, o.total) for o in placed] == [("paid", 9000)]


@pytest.fixture
async def sms() -> AsyncIterator[SmsStandIn]:
    standin = SmsStandIn()
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()


async def test_a_first_payment_verifies_the_phone_by_sms_and_returns_to_the_order(
    tmp_path: Path, db_url: str, sms: SmsStandIn
) -> None:
    """The code goes out through the SMS gateway (never shown in the chat); a wrong code is counted kindly;
    the right one lands the shopper back on the same confirmation, ready to pay, with nothing retyped."""
    settings = Settings(
        home=tmp_path / "sms",
        database_url=db_url,
        environment="test",
        sms_url=sms.url,
        sms_key=SecretStr(API_KEY),
    )
    app = await build(settings)
    try:
        c = await cast(app)
        async with TestClient(TestServer(make_web_app(app))) as client:
            user = WebUser(client)
            await user.start()
            async with app.db.unit_of_work() as uow:
                me = await members.by_identity(uow, "web", user.session())
                assert me is not None
                await wallet.topup_at_office(app.services, uow, c.operator, me.id, 50_000, receipt="W-sms")
                await uow.commit()
            for label in ("장보기", "못골시장", "김씨네 과수원", "사과", "1개 담기"):
                await user.tap(label)
            assert "주문 확인" in user.text and "전화번호 인증이 필요해요" in user.text
            await user.send("010-7777-8888")  # asked for right on the confirmation
            assert "문자로 인증번호 6자리를 보냈어요" in user.text
            code = sms.code_for("01077778888")
            assert code not in user.text and "인증번호:" not in user.text  # by SMS only, never in the chat
            assert "10분 안에" in sms.to("01077778888")[0]
            await user.send("000000" if code != "000000" else "111111")
            assert "번호가 맞지 않아요. 4번 더" in user.text
            await user.send(code)
            assert "전화번호가 등록됐어요" in user.text and "김씨네 과수원 주문 확인" in user.text
            await user.send("수원시 팔달구 매산로 1, 101동 1203호")  # then where it goes, read back
            await user.tap("맞아요, 집 주소로 저장")
            await user.tap("결제하기")
            assert "결제됐어요" in user.text
        async with app.db.snapshot() as snap:
            member = await members.get(snap, me.id)
            placed = await order_queries.list_for_buyer(snap, me.id)
        assert member.phone == "01077778888" and [o.state for o in placed] == ["paid"]
        assert len(sms.messages) == 1
    finally:
        await app.close()


async def test_an_sms_gateway_failure_is_explained_and_uses_up_nothing(
    tmp_path: Path, sqlite_url: str, sms: SmsStandIn
) -> None:
    settings = Settings(
        home=tmp_path / "sms",
        database_url=sqlite_url,
        environment="test",
        sms_url=sms.url,
        sms_key=SecretStr(API_KEY),
    )
    app = await build(settings)
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            user = WebUser(client)
            await user.start()
            await user.tap("더보기")
            await user.tap("전화번호")
            sms.fail_next(503)
            await user.send("010-7777-8888")
            assert "문자를 보내지 못했어요" in user.text
            assert user.find("사람과 이야기")
            await user.send("010-7777-8888")  # the failed send neither counted nor started the minute's wait
            assert "문자로 인증번호 6자리를 보냈어요" in user.text
        assert len(sms.to("01077778888")) == 1
        async with app.db.snapshot() as snap:
            rows = await snap.fetch("SELECT COUNT(*) FROM phone_code_sends")
        assert int(rows[0][0]) == 1
    finally:
        await app.close()
