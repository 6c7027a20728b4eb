"""KakaoTalk end to end: real-format SkillPayload JSON posted over HTTP to ``POST /kakao/skill`` of the
server ``chestnut serve`` assembles (``make_web_app``), on SQLite and PostgreSQL; every answer checked
against Kakao's limits by ``tests/support/kakao_standin.py`` (written from kakao.md, not from our code).
Pushes go through the Event API stand-in on loopback.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bots.kakao import KakaoSkill, SkillGuard, parse_skill_payload
from bots.kakao_events import KakaoEventNotifier
from bots.kakao_render import render
from bots.messages import Button, Reply, Screen
from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.delivery import queries as delivery_queries
from commerce.members import service as members
from commerce.orders import queries as order_queries
from commerce.reviews import queries as review_queries
from commerce.wallet import queries as wallet_queries
from commerce.wallet import service as wallet
from ledger.verify import verify_ledger
from tests.support.chat import ChatUser
from tests.support.kakao_standin import KakaoEventApi, KakaoUser, check_skill_response, skill_payload, texts
from tests.support.market import cast
from web.app import error_middleware, make_web_app

SECRET = "kakao-skill-secret-for-tests-0f3a"  # noqa: S105 - a test value
HEADER = "X-Chestnut-Skill-Secret"
AUTH = {HEADER: SECRET}

Client = TestClient[web.Request, web.Application]


def kakao_settings(tmp_path: Path, db_url: str, **kw: object) -> Settings:
    values: dict[str, object] = {"kakao_skill_secret": SecretStr(SECRET), "environment": "test", **kw}
    return Settings(home=tmp_path / "home", database_url=db_url, **values)  # type: ignore[arg-type]


@pytest.fixture
async def kakao_app(tmp_path: Path, db_url: str) -> AsyncIterator[App]:
    app = await build(kakao_settings(tmp_path, db_url))
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def client(kakao_app: App) -> AsyncIterator[Client]:
    async with TestClient(TestServer(make_web_app(kakao_app))) as http:
        yield http


async def post_raw(client: Client, data: bytes | str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    async with client.post("/kakao/skill", data=data, headers={**AUTH, **(headers or {})}) as r:
        assert r.content_type == "application/json", await r.text()
        return r.status, await r.json()


# ----------------------------------------------------------------------------------- who may call


async def test_a_missing_or_wrong_secret_header_is_401_and_the_right_one_is_answered(client: Client) -> None:
    body = json.dumps(skill_payload("u-401", "시작하기", {"p": "home"}))
    for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET[:-1]}, {"X-Other": SECRET}):
        async with client.post("/kakao/skill", data=body, headers=headers) as r:
            assert r.status == 401
            assert (await r.json())["error"] == "unauthorized"
    status, resp = await post_raw(client, body)
    assert status == 200 and not check_skill_response(resp)
    assert "반가워요" in texts(resp)  # type: ignore[arg-type]


async def test_the_header_name_is_configurable(tmp_path: Path, sqlite_url: str) -> None:
    app = await build(kakao_settings(tmp_path, sqlite_url, kakao_skill_header="X-Kakao-Custom"))
    try:
        async with TestClient(TestServer(make_web_app(app))) as http:
            body = skill_payload("u-h", "안녕")
            async with http.post("/kakao/skill", json=body, headers=AUTH) as r:
                assert r.status == 401
            async with http.post("/kakao/skill", json=body, headers={"X-Kakao-Custom": SECRET}) as r:
                assert r.status == 200
    finally:
        await app.close()


@pytest.mark.parametrize(("environment", "status"), [("test", 401), ("production", 401), ("development", 200)])
async def test_with_no_secret_set_only_development_answers(
    tmp_path: Path, sqlite_url: str, environment: str, status: int
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=sqlite_url, environment=environment)  # type: ignore[arg-type]
    app = await build(settings)
    try:
        async with (
            TestClient(TestServer(make_web_app(app))) as http,
            http.post("/kakao/skill", json=skill_payload("u-dev", "안녕")) as r,
        ):
            assert r.status == status
            if status == 200:
                assert not check_skill_response(await r.json())
    finally:
        await app.close()


# ----------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"hello": "world"}',
        b"{" * 5000,
        b"[" * 10_000,
        b'{"userRequest":' * 1000 + b"{}" + b"}" * 1000,
        b'{"userRequest": {"user": {"id": "u-1"}, "utterance": "\xed\xa0\x80"}}',  # a surrogate as UTF-8 bytes
    ],
)
async def test_junk_that_is_not_kakao_at_all_is_400_json(client: Client, junk: bytes) -> None:
    status, body = await post_raw(client, junk)
    assert status == 400
    assert isinstance(body, dict) and body["error"] == "not_a_skill_payload" and body["message"]


@pytest.mark.parametrize(
    "broken",
    [
        {"userRequest": {}},
        {"userRequest": "x", "bot": {}},
        {"userRequest": {"user": {"id": 12345}}},
        {"userRequest": {"user": {"id": ""}}},
        {"userRequest": {"user": {"id": "u" * 500}}},
        {"userRequest": {"user": {"id": "u-b", "properties": []}}},
        {"userRequest": {"user": {"id": "u-b"}, "utterance": 42}},
        {"userRequest": {"user": {"id": "u-b"}, "utterance": "안녕"}, "action": "x"},
        {"userRequest": {"user": {"id": "u-b"}, "utterance": "안녕"}, "action": {"clientExtra": ["p"]}},
        {"action": {"clientExtra": {"p": "home"}}},
    ],
)
async def test_a_kakao_payload_with_missing_or_wrong_fields_gets_a_kind_valid_answer(
    client: Client, broken: dict[str, object]
) -> None:
    status, resp = await post_raw(client, json.dumps(broken))
    assert status == 200
    assert not check_skill_response(resp), resp
    assert "죄송해요" in texts(resp)  # type: ignore[arg-type]


@pytest.mark.parametrize("odd", ["\ud800", "사과\udfff", "a\x00b"])
async def test_an_utterance_no_text_can_hold_gets_the_kind_answer_and_the_user_goes_on(
    client: Client, odd: str
) -> None:
    """Kakao's servers escape a lone surrogate (an emoji cut in half) as ``\\ud800``: Kakao-shaped, so the
    person gets the kind SkillResponse with the menu, not a 400 that Kakao shows as a broken bot."""
    status, resp = await post_raw(client, json.dumps(skill_payload("u-sur", odd)))
    assert status == 200 and not check_skill_response(resp), resp
    assert "죄송해요" in texts(resp)  # type: ignore[arg-type]
    status, resp = await post_raw(client, json.dumps(skill_payload("u-sur", "도움말", {"p": "help"})))
    assert status == 200 and "사용법" in texts(resp)  # type: ignore[arg-type]


async def test_odd_but_harmless_fields_are_tolerated(client: Client) -> None:
    """A foreign or oversized ``extra`` is typed text; a missing utterance is an empty message (home)."""
    for body in (
        skill_payload("u-odd", "도움말", {"p": "x" * 65}),
        skill_payload("u-odd", "도움말", {"p": 7, "other": {"deep": [1]}}),
        {"userRequest": {"user": {"id": "u-odd"}}},
    ):
        status, resp = await post_raw(client, json.dumps(body))
        assert status == 200 and not check_skill_response(resp), resp


def test_properties_in_camel_case_and_snake_case_become_extra_ids() -> None:
    camel = parse_skill_payload(
        skill_payload("bk-1", "안녕", properties={"botUserKey": "bk-1", "plusfriendUserKey": "pf-1", "appUserId": "77"})
    )
    snake = parse_skill_payload(
        skill_payload("bk-1", "안녕", properties={"plusfriend_user_key": "pf-1", "app_user_id": "77", "isFriend": True})
    )
    assert camel.extra_ids == snake.extra_ids == {"plusfriendUserKey": "pf-1", "appUserId": "77"}
    assert camel.user_id == "bk-1" and camel.text == "안녕" and camel.payload is None and camel.channel == "kakao"
    tapped = parse_skill_payload(skill_payload("bk-1", "❓ 도움말", {"p": "help"}))
    assert tapped.payload == "help" and tapped.text is None
    for lang, hint in (("ko", "ko"), ("kr", "ko"), ("en", "en"), ("ja", None)):
        assert parse_skill_payload(skill_payload("bk-1", "hi", lang=lang)).lang_hint == hint


async def test_snake_case_properties_are_accepted_over_http(client: Client) -> None:
    body = skill_payload(
        "u-snake",
        "시작하기",
        {"p": "home"},
        properties={"plusfriend_user_key": "pf-snake", "app_user_status": "REGISTERED"},
    )
    status, resp = await post_raw(client, json.dumps(body))
    assert status == 200 and "반가워요" in texts(resp)  # type: ignore[arg-type]


async def test_an_english_first_contact_is_answered_in_english(client: Client) -> None:
    status, resp = await post_raw(client, json.dumps(skill_payload("u-en", "Start", {"p": "home"}, lang="en")))
    assert status == 200 and not check_skill_response(resp)
    assert "처음으로" not in json.dumps(resp, ensure_ascii=False)


# ----------------------------------------------------------------------------------- deadline


async def test_a_turn_past_the_deadline_says_tap_again_and_its_work_is_kept(kakao_app: App) -> None:
    """Kakao waits 5 s and never retries: past our 4 s (here: 0 s, so every turn is past it) the shopper
    is told to tap again, the turn still finishes (and commits) in the background, and the next tap
    shows its result. Not 1 ms: SQLite's writer runs on the loop, so a turn may finish before the loop
    gets to look at the clock again."""
    skill = KakaoSkill(kakao_app.dialogue, SkillGuard(SECRET.encode(), HEADER, "test"), deadline_s=0.0)
    web_app = web.Application(middlewares=[error_middleware])
    web_app.add_routes(skill.routes())
    async with TestClient(TestServer(web_app)) as http:
        user = KakaoUser(http, "u-slow", AUTH)
        resp = await user.say("안녕하세요")
        assert "한 번 더 눌러" in texts(resp)
        await skill.drain()
    async with kakao_app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT COUNT(*) FROM member_identities WHERE channel = 'kakao' AND external_id = 'u-slow'"
        )
    assert int(rows[0][0]) == 1  # the member registered by the slow turn is there


# ----------------------------------------------------------------------------------- journeys


async def test_a_kakao_user_moves_around_with_quick_replies_only(client: Client) -> None:
    user = KakaoUser(client, "u-walk", AUTH)
    await user.start()
    assert "반가워요" in user.text
    await user.tap("도움말")
    assert "사용법" in user.text
    await user.tap("처음으로")
    assert "반가워요" in user.text
    await user.tap("더보기")
    await user.tap("Language")
    await user.tap("English")
    assert "처음으로" not in json.dumps(user.last, ensure_ascii=False)
    for resp in user.responses:
        assert {"home", "help"} <= {q["extra"]["p"] for q in resp["template"]["quickReplies"]}


async def buy_apples(user: KakaoUser, qty: str = "2개 담기") -> None:
    await user.start()
    await user.tap("장보기")
    await user.tap("못골시장")
    await user.tap("김씨네 과수원")
    await user.tap("사과")
    await user.tap(qty)


async def test_the_elderly_shoppers_order_using_only_buttons(kakao_app: App, client: Client) -> None:
    """이할머니 orders two bags of apples without typing a letter: each tap sends the messageText and
    extra of a button from the previous answer, exactly as KakaoTalk would."""
    c = await cast(kakao_app)
    grandma = KakaoUser(client, "s1", AUTH)  # the cast's shopper, on Kakao
    await buy_apples(grandma)
    assert "합계: 15,000원" in grandma.text and "배달비: 3,000원" in grandma.text
    await grandma.tap("15,000원 결제하기")
    assert "결제됐어요" in grandma.text
    async with kakao_app.db.snapshot() as snap:
        (paid,) = await order_queries.list_for_buyer(snap, c.shopper)
        code = await delivery_queries.delivery_code(snap, c.shopper, paid.id)
        money = await wallet_queries.balances(kakao_app.services, snap, c.shopper)
    assert (paid.state, paid.total) == ("paid", 15_000)
    assert code in grandma.text and money.btl_available == 100_000 - 15_000
    await grandma.tap("주문 보기")
    assert code in grandma.text
    assert len(grandma.responses) >= 8  # every one of them passed the limits check in KakaoUser.post
    report = await verify_ledger(kakao_app.db, kakao_app.settings.ledger_origin, workers=0)
    assert report.ok, report.problem


async def test_a_kakao_courier_delivers_by_code_and_the_shopper_reviews_on_kakao(
    kakao_app: App, client: Client
) -> None:
    """After 이할머니's order, 박배달 (a courier on Kakao in the cast) takes the job, picks it up and types
    her code; she confirms receipt and leaves five stars — all by buttons, all on Kakao."""
    c = await cast(kakao_app)
    grandma = KakaoUser(client, "s1", AUTH)
    await buy_apples(grandma, "1개 담기")
    await grandma.tap("9,000원 결제하기")
    code = re.search(r"🔑 (\d{6})", grandma.text)
    assert code, grandma.text

    rider = KakaoUser(client, "c1", AUTH)
    await rider.start()
    await rider.tap("배달 일감")
    await rider.tap("맡기")
    await rider.tap("물건 받았어요")
    assert "6자리 번호" in rider.text
    await rider.say(code.group(1))
    assert "배달 완료" in rider.text, rider.text

    await grandma.tap("처음으로")
    await grandma.tap("내 주문")
    await grandma.tap("번")
    await grandma.tap("잘 받았어요")
    await grandma.tap("후기 쓰기")
    await grandma.tap("⭐⭐⭐⭐⭐")
    await grandma.tap("글 없이 올리기")
    async with kakao_app.db.snapshot() as snap:
        (bought,) = await order_queries.list_for_buyer(snap, c.shopper)
        rating = await review_queries.rating_summary(snap, product_id=c.product)
    assert bought.state in ("confirmed", "settled") and bought.courier_id == c.courier
    assert rating.count == 1 and rating.average_x10 == 50
    report = await verify_ledger(kakao_app.db, kakao_app.settings.ledger_origin, workers=0)
    assert report.ok, report.problem


async def test_a_member_from_telegram_continues_on_kakao_after_confirming_the_phone(
    kakao_app: App, client: Client
) -> None:
    """순자 starts on Telegram (her contact shared there), later writes to the Kakao channel, confirms
    the same number with the code, and finds her wallet and her order there: one member, two messengers."""
    c = await cast(kakao_app)
    async with kakao_app.db.unit_of_work() as uow:
        await wallet.topup_at_office(kakao_app.services, uow, c.operator, c.producer, 50_000, receipt="R-tg")
        await uow.commit()
    tg = ChatUser(kakao_app.dialogue, "telegram", "101", "김농부")  # the cast's producer, on Telegram
    await tg.send("/start")
    await tg.send(phone="+82 10-2222-3333")
    assert "전화번호가 등록됐어요" in tg.text
    await tg.tap("장보기")
    await tg.tap("못골시장")
    await tg.tap("김씨네 과수원")
    await tg.tap("사과")
    await tg.tap("1개 담기")
    assert "어디로 보내 드릴까요" in tg.text
    await tg.send(location=(37.2790, 127.0203))  # Telegram's location button
    await tg.tap("9,000원 결제하기")
    assert "결제됐어요" in tg.text

    kakao = KakaoUser(client, "kakao-bk-farmer", AUTH)
    await kakao.start()
    await kakao.tap("더보기")
    await kakao.tap("전화번호 등록")
    await kakao.say("010-2222-3333")
    code = re.search(r"인증번호: (\d{6})", kakao.text)
    assert code, kakao.text
    await kakao.say(code.group(1))
    assert "전화번호가 등록됐어요" in kakao.text
    await kakao.tap("내 지갑")
    assert "41,000원" in kakao.text  # 50,000원 less the 9,000원 order paid on Telegram
    await kakao.tap("처음으로")
    await kakao.tap("내 주문")
    assert any("9,000원" in label for label in kakao.labels()), kakao.labels()
    async with kakao_app.db.snapshot() as snap:
        member = await members.by_identity(snap, "kakao", "kakao-bk-farmer")
    assert member is not None and member.id == c.producer


# ----------------------------------------------------------------------------------- pushes


async def test_pushes_go_through_the_event_api_in_batches_of_100_with_outcomes(tmp_path: Path) -> None:
    async with KakaoEventApi(unreachable={"u-7", "u-150"}) as kakao, aiohttp.ClientSession() as session:
        notifier = KakaoEventNotifier(session, kakao.base_url, kakao.bot_id, kakao.rest_key, poll_interval_s=0.01)
        screen = Screen((Reply("주문이 들어왔어요: 사과 1kg 2개", buttons=((Button("보기", payload="o:1"),),)),))
        assert await notifier.push("u-1", screen) == "ok"
        assert await notifier.push("u-7", screen) == "unreachable"
        outcomes = await notifier.push_many([f"u-{i}" for i in range(250)], screen)
    assert len(outcomes) == 250
    assert {k for k, v in outcomes.items() if v != "ok"} == {"u-7", "u-150"}
    sizes = [len(t["user"]) for t in kakao.talks]
    assert sizes == [1, 1, 100, 100, 50]
    assert all(t["event"]["data"]["text"].startswith("주문이 들어왔어요") for t in kakao.talks)
    assert all(call["auth"] == f"KakaoAK {kakao.rest_key}" for call in kakao.calls)
    assert any(call["method"] == "GET" and call["path"].startswith("/v1/tasks/") for call in kakao.calls)


async def test_a_wrong_rest_key_is_a_typed_refusal_not_an_unreachable_member() -> None:
    from bots.kakao_events import KakaoPushFailed

    async with KakaoEventApi() as kakao, aiohttp.ClientSession() as session:
        notifier = KakaoEventNotifier(session, kakao.base_url, kakao.bot_id, "wrong-key", poll_interval_s=0.01)
        with pytest.raises(KakaoPushFailed) as refused:
            await notifier.push("u-1", Screen((Reply("안녕"),)))
    assert refused.value.code == "kakao_push_failed" and "wrong-key" not in refused.value.message
    assert not kakao.talks


def test_rendered_screens_used_in_pushes_stay_valid() -> None:
    assert not check_skill_response(render(Screen((Reply("x" * 5000),))))


# ----------------------------------------------------------------------------------- the benchmark


async def test_the_chat_benchmark_orders_over_http_and_refuses_a_used_ledger(tmp_path: Path, sqlite_url: str) -> None:
    from chestnut.bench.chat import run_chat_bench
    from ledger.errors import LedgerNotEmpty

    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    try:
        result = await run_chat_bench(app, shoppers=6)
        assert result["failed"] == 0 and result["orders_paid"] == 6 and result["verify_ok"] is True
        assert result["messages"] == 6 * 7 and result["messages_per_s"] > 0
        assert 0 < result["p50_ms"] <= result["p99_ms"]
        with pytest.raises(LedgerNotEmpty):
            await run_chat_bench(app, shoppers=1)
    finally:
        await app.close()
