"""Telegram end to end: python-telegram-bot itself polls a Bot API stand-in on loopback.

People are played through the stand-in (text, taps on inline buttons as callback queries, contacts,
photos); the tests assert on what the Bot API received and on the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from telegram import Bot

from bots.messages import Button, Reply, Screen
from bots.notify import reachable_identities, record_reach
from bots.telegram.bot import TelegramBot
from bots.telegram.push import TelegramNotifier
from bots.texts import t
from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from commerce.members import service as members
from commerce.members.rows import Member
from commerce.orders import queries as order_queries
from commerce.reviews import queries as review_queries
from commerce.wallet import service as wallet
from ledger.verify import verify_ledger
from tests.support.market import cast
from tests.support.telegram_standin import BotApiStandIn, TgUser
from web.app import make_web_app

HOME = t("ko", "menu.home")
HELP = t("ko", "menu.help")


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    api = BotApiStandIn()
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def lite_app(tmp_path: Path, sqlite_url: str) -> AsyncIterator[App]:
    """The protocol tests need one backend; the journeys run on both (the ``app`` fixture)."""
    built = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    try:
        yield built
    finally:
        await built.close()


@asynccontextmanager
async def polling(app: App, api: BotApiStandIn) -> AsyncIterator[TelegramBot]:
    bot = TelegramBot(app.dialogue, api.token, base_url=api.base_url, poll_timeout_s=1)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def member_of(app: App, user: TgUser) -> Member:
    async with app.db.snapshot() as snap:
        found = await members.by_identity(snap, "telegram", str(user.id))  # type: ignore[arg-type]
    assert found is not None
    return found


def reply_keyboard_labels(markup: dict[str, Any]) -> list[str]:
    return [b["text"] for row in markup["keyboard"] for b in row]


# ------------------------------------------------------------------------------------ the protocol


async def test_the_start_screen_arrives_with_the_persistent_menu(lite_app: App, standin: BotApiStandIn) -> None:
    async with polling(lite_app, standin):
        user = standin.user(501, "순자", "이")
        await user.say("/start")

    assert [c.method for c in standin.calls[:2]] == ["getMe", "deleteWebhook"]
    assert standin.allowed_updates == ["message", "callback_query"]
    assert t("ko", "start.welcome", name="이순자") in user.text  # family name first, no space: 이순자님
    # the welcome bubble has no inline buttons, so the big-button menu rides on it
    first = user.last[0].params["reply_markup"]
    assert first["is_persistent"] is True and first["resize_keyboard"] is True
    assert reply_keyboard_labels(first) == [HOME, HELP]
    # the home bubble's choices are inline buttons with short callback data
    assert t("ko", "home.shop") in user.inline_labels()
    for call in user.last:
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                assert len(button["callback_data"].encode()) <= 64
    member = await member_of(lite_app, user)
    assert member.display_name == "이순자" and member.lang == "ko" and member.phone is None


async def test_names_are_written_the_way_their_language_writes_them(lite_app: App, standin: BotApiStandIn) -> None:
    async with polling(lite_app, standin):
        for user_id, first, last, expected in (
            (511, "순자", "이", "이순자"),
            (512, "길동", "홍", "홍길동"),
            (513, "Jane", "Doe", "Jane Doe"),
            (514, "영희", None, "영희"),
            (515, "Minji", "김", "Minji 김"),  # not both Hangul: as Telegram gives it
        ):
            user = standin.user(user_id, first, last)
            await user.say("/start")
            assert t("ko", "start.welcome", name=expected) in user.text
            assert (await member_of(lite_app, user)).display_name == expected


async def test_menu_buttons_come_back_as_text_and_english_follows_the_language_code(
    lite_app: App, standin: BotApiStandIn
) -> None:
    async with polling(lite_app, standin):
        user = standin.user(502, "Jane", language_code="en-GB")
        await user.say("/start")
        assert t("en", "menu.help") in reply_keyboard_labels(user.last[0].params["reply_markup"])
        await user.press(t("en", "menu.help"))
        assert t("en", "help.text", phone=lite_app.settings.office_phone).split("\n")[0] in user.text
        # Telegram has no dial button: the call button becomes a line with the number
        assert f"{lite_app.settings.office_phone}" in user.text.split("\n")[-1]
        await user.tap(t("en", "menu.home"))
        assert t("en", "home.shop") in user.inline_labels()


async def test_a_contact_card_of_someone_else_is_refused_and_ones_own_is_taken(
    lite_app: App, standin: BotApiStandIn
) -> None:
    async with polling(lite_app, standin):
        user = standin.user(503, "영수")
        await user.say("/start")
        await user.tap(t("ko", "home.more"))
        await user.tap(t("ko", "more.phone"))
        # waiting for a phone: the reply keyboard offers Telegram's contact button on top, and every
        # word about it names it by the label it really has
        contact_key = user.keyboard[0][0]
        assert contact_key["request_contact"] is True
        (hint,) = [c.params["text"] for c in user.last if "keyboard" in (c.params.get("reply_markup") or {})]
        assert f"'{contact_key['text']}'" in hint and f"'{contact_key['text']}'" in user.text

        await user.share_contact("+82 10-9999-8888", owner_id=999_999, first_name="남의 번호")
        assert "본인 것만" in user.text and f"'{contact_key['text']}'" in user.text
        assert (await member_of(lite_app, user)).phone is None

        await user.share_contact("821055556666")
        assert t("ko", "signup.done") in user.text
        assert (await member_of(lite_app, user)).phone is not None
        assert "request_contact" not in str(user.keyboard)  # back to the plain menu


async def test_a_repeated_update_changes_nothing(lite_app: App, standin: BotApiStandIn) -> None:
    async with polling(lite_app, standin):
        user = standin.user(504, "말순")
        await user.say("/start")
        before = len(standin.calls_to(user.id))
        # Telegram delivers at least once: the same update twice, as after a lost confirmation
        message = user._message(text="사과")
        standin.inject("message", message, update_id=9000)
        standin.inject("message", message, update_id=9000)
        await user.silence(9000)
        searched = standin.calls_to(user.id)[before:]
        assert len({c.params["text"] for c in searched}) == len(searched) >= 1  # one answer, not two
        answer_count = len(searched)

        # the same tap delivered twice in one batch: both queries answered, one screen sent
        message, button = user.find(t("ko", "home.shop"))
        shown = len(standin.calls_to(user.id))
        tap = {"id": "cq-twice", "from": user.sender, "chat_instance": "ci", "message": message}
        standin.inject("callback_query", {**tap, "data": button["callback_data"]}, update_id=9100)
        standin.inject("callback_query", {**tap, "data": button["callback_data"]}, update_id=9100)
        await user.silence(9100)
        answers = [c for c in standin.calls if c.params.get("callback_query_id") == "cq-twice"]
        assert len(answers) == 2
        markets = standin.calls_to(user.id)[shown:]
        assert len(markets) == 1 and markets[0].params["text"] == t("ko", "browse.markets")
        assert answer_count >= 1


async def test_updates_the_market_does_not_use_are_ignored(lite_app: App, standin: BotApiStandIn) -> None:
    async with polling(lite_app, standin):
        user = standin.user(505, "철수")
        group = {**user._message(text="안녕하세요"), "chat": {"id": -100123, "type": "group", "title": "동네"}}
        ignored = standin.inject("message", group)
        # a tap on a message sent in inline mode carries no chat: answered, nothing else
        standin.inject("callback_query", {"id": "cq-inline", "from": user.sender, "chat_instance": "x", "data": "home"})
        await standin.wait_for(lambda c: c.method == "answerCallbackQuery")
        assert await user.silence(ignored) == []
        assert not standin.calls_to(-100123)
        # a sticker has nothing to read: the answer is the menu, never silence
        sticker = {"file_id": "st1", "file_unique_id": "st1u", "type": "regular", "width": 512, "height": 512}
        standin.inject("message", user._message(sticker={**sticker, "is_animated": False, "is_video": False}))
        await user._answered(0)
        assert t("ko", "home.shop") in user.inline_labels()
    async with lite_app.db.snapshot() as snap:
        assert await members.by_identity(snap, "telegram", "-100123") is None  # type: ignore[arg-type]


async def test_a_photo_arrives_as_the_largest_file_id_and_is_sent_back_by_file_id(
    lite_app: App, standin: BotApiStandIn
) -> None:
    async with polling(lite_app, standin) as bot:
        user = standin.user(506, "사진")
        await user.say("/start")
        await bot.send_screen(user.id, Screen((Reply("오늘 잡은 고등어", image_url="tg:AgACfile-xyz"),)))
        await bot.send_screen(user.id, Screen((Reply("사과", image_url="https://example.test/apple.jpg"),)))
        await bot.send_screen(user.id, Screen((Reply("내부 그림", image_url="/static/x.png"),)))
    photos = standin.calls_to(user.id, "sendPhoto")
    assert [p.params["photo"] for p in photos] == ["AgACfile-xyz", "https://example.test/apple.jpg"]
    assert photos[0].params["caption"] == "오늘 잡은 고등어"
    assert standin.calls_to(user.id)[-1].params["text"] == "내부 그림"


# ------------------------------------------------------------------------------------ the webhook


async def test_the_webhook_checks_the_secret_and_feeds_real_updates(tmp_path: Path, standin: BotApiStandIn) -> None:
    secret = "s3cret_-for-the-webhook"  # noqa: S105 - the stand-in's
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        environment="test",
        telegram_token=SecretStr(standin.token),
        telegram_base_url=standin.base_url,
        telegram_webhook_url="https://market.example.test/telegram/webhook",
        telegram_webhook_secret=SecretStr(secret),
    )
    app = await build(settings)
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            hook = await standin.wait_for(lambda c: c.method == "setWebhook")
            assert hook.params["url"] == "https://market.example.test/telegram/webhook"
            assert hook.params["secret_token"] == secret

            update = {
                "update_id": 77,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 601, "type": "private"},
                    "from": {"id": 601, "is_bot": False, "first_name": "웹훅", "language_code": "ko"},
                    "text": "/start",
                },
            }
            response = await client.post("/telegram/webhook", json=update)
            assert response.status == 403
            assert (await response.json())["error"] == "forbidden"
            response = await client.post(
                "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
            )
            assert response.status == 403

            good = {"X-Telegram-Bot-Api-Secret-Token": secret}
            for body, content_type in (
                (b"{not json", "application/json"),
                (b"[1, 2]", "application/json"),
                (b'{"update_id": "x"}', "application/json"),
                (b"{}", "text/plain"),
                (b"\xff\xfe", "application/json"),
                (b"[" * 10_000, "application/json"),
                (b'{"update_id": 80, "message": {"text": "\\ud800"}}', "application/json"),
            ):
                response = await client.post(
                    "/telegram/webhook", data=body, headers={**good, "Content-Type": content_type}
                )
                assert response.status == 400, body
                assert "error" in await response.json()

            response = await client.post("/telegram/webhook", json=update, headers=good)
            assert response.status == 200
            welcome = await standin.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 601)
            assert t("ko", "start.welcome", name="웹훅") in welcome.params["text"]

            # kinds the market does not use are accepted (so Telegram stops retrying) and ignored
            edited = {"update_id": 78, "edited_message": {**update["message"], "edit_date": int(time.time())}}
            channel = {
                "update_id": 79,
                "channel_post": {
                    "message_id": 5,
                    "date": int(time.time()),
                    "chat": {"id": -1001, "type": "channel", "title": "장터 소식"},
                    "text": "공지",
                },
            }
            await _quiet(standin)
            sent = len(standin.calls_to(601))
            for body in (edited, channel, update):  # … and a repeat of the first is dropped by the core
                response = await client.post("/telegram/webhook", json=body, headers=good)
                assert response.status == 200
            await _quiet(standin)
            assert len(standin.calls_to(601)) == sent
    finally:
        await app.close()
    assert not [c for c in standin.calls if c.method == "getUpdates"]  # webhook mode never polls


def unreadable_updates(update_id: int, chat_id: int) -> list[dict[str, Any]]:
    """Updates python-telegram-bot cannot read, or whose fields have types the Bot API never sends."""
    person = {"id": chat_id, "is_bot": False, "first_name": "독", "language_code": "ko"}
    message = {"message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"}, "from": person}
    return [
        {"update_id": update_id, "message": {**message, "date": 18446744073709551616, "text": "/start"}},
        {"update_id": update_id + 1, "message": {**message, "date": "yesterday", "text": "/start"}},
        {"update_id": update_id + 2, "message": "hello"},
        {"update_id": update_id + 3, "message": {**message, "chat": {"id": "x", "type": "private"}, "text": "/start"}},
        {"update_id": update_id + 4, "message": {**message, "from": {**person, "id": [chat_id]}, "text": "/start"}},
        {"update_id": update_id + 5, "callback_query": {"id": 5, "from": person, "chat_instance": "c", "data": "home"}},
        # read by PTB, but with fields of the wrong type: to_incoming ignores them
        {"update_id": update_id + 6, "message": {**message, "text": 7}},
        {"update_id": update_id + 7, "message": {**message, "from": {**person, "first_name": 5}, "text": "/start"}},
        {"update_id": update_id + 8, "message": {**message, "location": {"latitude": "north", "longitude": 1}}},
        {"update_id": update_id + 9, "message": {**message, "photo": [{"file_id": 5, "width": "w", "height": 1}]}},
        {"update_id": update_id + 10, "message": {**message, "contact": {"phone_number": 10, "user_id": chat_id}}},
        {"update_id": update_id + 11, "callback_query": {"id": "cq", "from": person, "chat_instance": "c", "data": {}}},
    ]


async def test_the_webhook_answers_unreadable_updates_200_and_ignores_them(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram resends an update it got no 200 for: one PTB cannot read must not be answered 400 or 500."""
    secret = "s3cret_-for-the-webhook"  # noqa: S105 - the stand-in's
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        environment="test",
        telegram_token=SecretStr(standin.token),
        telegram_base_url=standin.base_url,
        telegram_webhook_url="https://market.example.test/telegram/webhook",
        telegram_webhook_secret=SecretStr(secret),
    )
    app = await build(settings)
    good = {"X-Telegram-Bot-Api-Secret-Token": secret}
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            await standin.wait_for(lambda c: c.method == "setWebhook")
            for update in unreadable_updates(300, 602):
                response = await client.post("/telegram/webhook", json=update, headers=good)
                assert response.status == 200, (update, await response.text())
                assert (await response.json())["ok"] is True
            await _quiet(standin)
            assert not standin.calls_to(602)
            fine = unreadable_updates(400, 602)[0]
            fine["message"]["date"] = int(time.time())
            response = await client.post("/telegram/webhook", json=fine, headers=good)
            welcome = await standin.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 602)
            assert t("ko", "start.welcome", name="독") in welcome.params["text"]
    finally:
        await app.close()
    assert "telegram update 300 cannot be read" in caplog.text and "telegram update 306 ignored" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_polling_skips_unreadable_updates_and_goes_on(
    lite_app: App, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """PTB reads a getUpdates batch as a whole: one bad update used to fail every poll, for good."""
    user = standin.user(603, "독")
    for update in unreadable_updates(2000, user.id):
        standin.updates.append(update)
    standin._next_update_id = 3000
    async with polling(lite_app, standin):
        await user.say("/start")
        assert t("ko", "start.welcome", name="독") in user.text
        assert standin.confirmed > 2011
        assert len(user.last) == len(standin.calls_to(user.id))  # the unreadable ones got no answer
        await user.say("사과\udfff")  # PTB's own JSON reading lets a lone surrogate through
        assert user.last
    assert "telegram update 2000 cannot be read" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def _quiet(api: BotApiStandIn, quiet_s: float = 0.5) -> None:
    import asyncio

    while True:
        count = len(api.calls)
        await asyncio.sleep(quiet_s)
        if len(api.calls) == count:
            return


async def test_the_server_polls_when_no_webhook_is_configured(tmp_path: Path, standin: BotApiStandIn) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        environment="test",
        telegram_token=SecretStr(standin.token),
        telegram_base_url=standin.base_url,
    )
    app = await build(settings)
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            await standin.wait_for(lambda c: c.method == "deleteWebhook")  # start_polling began
            user = standin.user(651, "폴링")
            await user.say("/start")
            assert t("ko", "start.welcome", name="폴링") in user.text
            response = await client.post("/telegram/webhook", json={"update_id": 1})
            assert response.status == 404  # polling mode mounts no webhook route
    finally:
        await app.close()
    assert standin.webhook is None and any(c.method == "deleteWebhook" for c in standin.calls)


async def test_a_webhook_url_without_a_secret_refuses_to_start(tmp_path: Path, sqlite_url: str) -> None:
    from bots.telegram.bot import TelegramSettingsError

    settings = Settings(
        home=tmp_path / "home",
        database_url=sqlite_url,
        environment="test",
        telegram_token=SecretStr("123:abc"),
        telegram_webhook_url="https://market.example.test/telegram/webhook",
    )
    app = await build(settings)
    try:
        with pytest.raises(TelegramSettingsError, match="WEBHOOK_SECRET"):
            make_web_app(app)
    finally:
        await app.close()


# ------------------------------------------------------------------------------------ update ids per bot


async def _help_twice(api: BotApiStandIn, user: TgUser, update_id: int) -> list[str]:
    """/help delivered twice under one update id (a lost confirmation); the texts the bot answered."""
    message = user._message(text="/help")
    api.inject("message", message, update_id=update_id)
    api.inject("message", message, update_id=update_id)
    return [str(c.params["text"]) for c in await user.silence(update_id)]


async def test_a_new_bot_token_starts_update_ids_anew_and_its_messages_are_answered(
    lite_app: App, standin: BotApiStandIn
) -> None:
    async with polling(lite_app, standin):
        user = standin.user(508, "새토큰")
        await user.say("/start")
        first = await _help_twice(standin, user, 5000)
        assert first, "the first delivery is answered"
        help_text = first[-1]
        assert first.count(help_text) == 1, "… and its repeat is dropped"

    # The operator swaps the token (@BotFather: a new bot): its update ids start anew, so 5000 comes again.
    other = BotApiStandIn(token="7000002:another-bot_token")  # noqa: S106 - a stand-in's token
    await other.start()
    try:
        async with polling(lite_app, other):
            same_person = other.user(508, "새토큰")
            again = await _help_twice(other, same_person, 5000)
    finally:
        await other.close()
    # (A new bot's first screen may come with a hint carrying the menu keyboard: it knows no keyboard yet.)
    assert again.count(help_text) == 1, "a message under an update id another bot used is answered, once"


# ------------------------------------------------------------------------------------ supervision


def _polling_settings(tmp_path: Path, api: BotApiStandIn) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
        environment="test",
        telegram_token=SecretStr(api.token),
        telegram_base_url=api.base_url,
    )


async def _health(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.get("/health")
    return response.status, await response.json()


@pytest.mark.parametrize(
    "answer",
    [b'{"ok": true, "result": {"id": 7000001, "is_bo', {"ok": True, "result": {"is_bot": True, "first_name": "?"}}],
    ids=["not-json", "not-a-user"],
)
async def test_a_bot_that_cannot_start_is_retried_with_growing_pauses_and_health_says_so(
    tmp_path: Path, standin: BotApiStandIn, answer: bytes | dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    standin.garble("getMe", answer)
    app = await build(_polling_settings(tmp_path, standin))
    try:
        async with TestClient(TestServer(make_web_app(app))) as client:
            for n in range(3):
                await standin.wait_for(lambda c: c.method == "getMe", since=len(standin.calls) if n else 0)
            tries = [c.at for c in standin.calls if c.method == "getMe"]
            assert len(tries) >= 3
            assert tries[2] - tries[1] > 1.3 * (tries[1] - tries[0]), f"pauses do not grow: {tries}"
            status, body = await _health(client)
            assert (status, body["telegram"], body["db"], body["ok"]) == (503, "retrying", "up", False)
            failed = [r for r in caplog.records if r.name == "chestnut.telegram" and "retrying in" in r.getMessage()]
            assert failed and all(r.levelno >= 30 for r in failed), "each failed start is in the log"
            assert standin.token not in caplog.text

            standin.mend("getMe")  # Telegram answers properly again
            await standin.wait_for(lambda c: c.method == "deleteWebhook", timeout=20)
            for _ in range(50):
                status, body = await _health(client)
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert (status, body["telegram"], body["ok"]) == (200, "up", True)
            user = standin.user(652, "복구")
            await user.say("/start")
            assert t("ko", "start.welcome", name="복구") in user.text
    finally:
        await app.close()


async def test_polling_that_stops_for_good_is_started_again(lite_app: App, standin: BotApiStandIn) -> None:
    bot = TelegramBot(
        lite_app.dialogue,
        standin.token,
        base_url=standin.base_url,
        poll_timeout_s=1,
        backoff_s=(0.2, 1),
        poll_stale_s=3,
    )
    task = asyncio.create_task(bot.run())
    try:
        await standin.wait_for(lambda c: c.method == "deleteWebhook")
        assert await _state(bot, "up")
        # A 401 while polling: PTB's own polling gives up for good (it takes it for a revoked token).
        standin.fail("getUpdates", status=401)
        assert await _state(bot, "retrying", within_s=2), "the refusal shows at once, not when polling goes stale"
        started = len(standin.calls)
        await standin.wait_for(lambda c: c.method == "deleteWebhook", since=started, timeout=10)
        assert await _state(bot, "up")
        user = standin.user(653, "다시")
        await user.say("/start")
        assert t("ko", "start.welcome", name="다시") in user.text
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bot.stop()


async def test_a_failing_poll_shows_as_retrying_until_telegram_answers_again(
    lite_app: App, standin: BotApiStandIn
) -> None:
    bot = TelegramBot(lite_app.dialogue, standin.token, base_url=standin.base_url, poll_timeout_s=1)
    task = asyncio.create_task(bot.run())
    try:
        await standin.wait_for(lambda c: c.method == "deleteWebhook")
        assert await _state(bot, "up")
        standin.fail("getUpdates", status=502, times=2)  # a proxy in front of Telegram, failing twice
        assert await _state(bot, "retrying", within_s=5)
        assert await _state(bot, "up", within_s=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bot.stop()


async def test_pushes_go_out_while_the_bot_retries_its_start(lite_app: App, standin: BotApiStandIn) -> None:
    """The pushes share the bot's connections: a bot that cannot start yet does not close them."""
    standin.garble("getMe", {"ok": True, "result": {"is_bot": True}})
    bot = TelegramBot(lite_app.dialogue, standin.token, base_url=standin.base_url, backoff_s=(3, 3))
    task = asyncio.create_task(bot.run())
    try:
        await standin.wait_for(lambda c: c.method == "getMe")
        assert await _state(bot, "retrying")
        await asyncio.sleep(0.5)  # in the pause before the next try
        notifier = TelegramNotifier(bot.application.bot, keyboards=bot.keyboards)
        assert await notifier.push("902", Screen((Reply("배달이 끝났어요"),))) == "ok"
        assert standin.calls_to(902)[-1].params["text"] == "배달이 끝났어요"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bot.stop()


async def _state(bot: TelegramBot, wanted: str, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while bot.state != wanted:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# ------------------------------------------------------------------------------------ pushes


@asynccontextmanager
async def bare_bot(api: BotApiStandIn) -> AsyncIterator[Bot]:
    bot = Bot(api.token, base_url=api.base_url)
    async with bot:
        yield bot


def note(text: str) -> Screen:
    return Screen((Reply(text, buttons=((Button("보기", payload="orders"),),)),))


async def test_pushes_are_paced_per_chat_and_a_block_is_recorded(lite_app: App, standin: BotApiStandIn) -> None:
    TelegramBot(lite_app.dialogue, standin.token, base_url=standin.base_url)  # opts PTB into timedelta periods
    async with bare_bot(standin) as bot:
        notifier = TelegramNotifier(bot)
        assert await notifier.push("701", note("주문이 들어왔어요")) == "ok"
        assert await notifier.push("701", note("배달 코드: 1234")) == "ok"
        assert await notifier.push("702", note("다른 분께")) == "ok"
        first, second = standin.calls_to(701)
        assert second.at - first.at >= 0.95  # about one message a second to one chat
        other = standin.calls_to(702)[0]
        assert other.at - second.at < 0.5  # another chat does not wait for that second

        standin.fail("sendMessage", status=403)
        assert await notifier.push("703", note("막힌 분")) == "blocked"
        assert await notifier.push("not-a-chat", note("?")) == "unreachable"
        standin.fail("sendMessage", status=400)
        assert await notifier.push("704", note("없는 대화")) == "unreachable"

    async with lite_app.db.unit_of_work() as uow:
        someone = await members.register(
            lite_app.services, uow, channel="telegram", external_id="703", display_name="막힌 분"
        )
        await record_reach(uow, "telegram", "703", someone.id, "blocked", lite_app.services.clock())
        assert await reachable_identities(uow, someone.id) == []
        await uow.commit()


async def test_a_push_waits_out_retry_after(standin: BotApiStandIn, lite_app: App) -> None:
    TelegramBot(lite_app.dialogue, standin.token, base_url=standin.base_url)
    async with bare_bot(standin) as bot:
        notifier = TelegramNotifier(bot)
        standin.fail("sendMessage", status=429, retry_after=1)
        started = time.monotonic()
        assert await notifier.push("801", note("광고 소식")) == "ok"
        assert time.monotonic() - started >= 0.95
        refused, delivered = standin.calls_to(801)
        assert refused.status == 429 and delivered.status == 200
        assert delivered.at - refused.at >= 0.95
        assert delivered.params["text"] == "광고 소식"


async def test_a_broadcast_above_the_free_rate_asks_for_paid_broadcast(standin: BotApiStandIn, lite_app: App) -> None:
    TelegramBot(lite_app.dialogue, standin.token, base_url=standin.base_url)
    async with bare_bot(standin) as bot:
        everyday = TelegramNotifier(bot)  # notices: within the free 30 a second
        ads = TelegramNotifier(bot, per_chat_s=1.0, overall_per_s=1000)  # an ad campaign's rate
        assert await everyday.push("811", note("주문이 들어왔어요")) == "ok"
        assert await ads.push("812", note("(광고) 햇사과 나왔어요")) == "ok"
    (notice,) = standin.calls_to(811)
    (ad,) = standin.calls_to(812)
    assert "allow_paid_broadcast" not in notice.params
    assert ad.params["allow_paid_broadcast"] == "true"


# ------------------------------------------------------------------------------------ journeys


async def _top_up(app: App, operator_id: int, member_id: int, amount: int) -> None:
    async with app.db.unit_of_work() as uow:
        await wallet.topup_at_office(app.services, uow, operator_id, member_id, amount, receipt=f"R-{member_id}")
        await uow.commit()


def _inline_choices(user: TgUser) -> list[int]:
    return [sum(len(row) for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])) for c in user.last]


async def _buy_with_buttons(shopper: TgUser, product_label: str, phone: str) -> str:
    """장보기 → market → shop → product → 담기 (the confirmation) → 결제하기; the delivery code.

    A first payment needs a verified phone and somewhere to deliver: the confirmation puts Telegram's
    contact button on the keyboard, then (back on the same confirmation) the location button; the
    location is placed in its district, and the confirmation shows where the order goes before paying.
    """
    choices: list[int] = []
    for label in ("장보기", "못골시장", "김씨네 과수원", product_label, "1개 담기"):
        await shopper.tap(label)
        choices += _inline_choices(shopper)
    assert "주문 확인" in shopper.text and "합계" in shopper.text  # the full breakdown before paying
    assert "전화번호 인증이 필요해요" in shopper.text, shopper.text
    assert shopper.keyboard[0][0]["request_contact"] is True
    await shopper.share_contact(phone)
    assert t("ko", "signup.done") in shopper.text and "주문 확인" in shopper.text, shopper.text
    assert "어디로 보내 드릴까요" in shopper.text
    assert [b for row in shopper.keyboard for b in row if b.get("request_location")]
    await shopper.send_location(37.2790, 127.0203)  # at home, by 못골시장
    assert "받는 곳 (집): 공유한 위치 (경기 수원시 팔달구)" in shopper.text, shopper.text
    choices += _inline_choices(shopper)
    await shopper.tap("결제하기")
    assert "결제됐어요" in shopper.text, shopper.text
    assert max(choices) <= 6  # elderly first: at most six choices on a screen
    found = re.search(r"🔑 (\d{6})", shopper.text)
    assert found is not None, shopper.text
    return found.group(1)


async def test_an_elderly_shopper_orders_with_buttons_only(app: App, standin: BotApiStandIn) -> None:
    c = await cast(app, topup=0)
    async with polling(app, standin):
        grandma = standin.user(901, "순자", "김")
        await grandma.say("/start")
        member = await member_of(app, grandma)
        await _top_up(app, c.operator, member.id, 50_000)
        code = await _buy_with_buttons(grandma, "사과", "010-2345-6789")
        assert "9,000원" in grandma.text  # 6,000원 apples + 3,000원 delivery

    typed = [line for line in grandma.transcript if line.startswith(">")]
    assert typed == ["> /start", "> [contact 010-2345-6789]", "> [location 37.279, 127.0203]"]
    assert grandma.typed == len("/start")  # she never typed: the contact and the location are buttons
    async with app.db.snapshot() as snap:
        (placed,) = await order_queries.list_for_buyer(snap, member.id)  # type: ignore[arg-type]
    assert placed.state == "paid" and placed.total == 9_000 and placed.btl_amount == 9_000
    assert len(code) == 6
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem


async def test_producer_lists_with_a_photo_courier_delivers_by_code_shopper_reviews(
    app: App, standin: BotApiStandIn
) -> None:
    c = await cast(app, topup=0)
    async with polling(app, standin):
        # the producer (Telegram user 101 in the cast) lists pears with a photo
        farmer = standin.user(101, "농부", "김")
        await farmer.say("/start")
        await farmer.tap("내 가게")
        await farmer.tap("물건 올리기")
        await farmer.say("햇배")
        await farmer.tap("과일")
        await farmer.tap("1kg")
        await farmer.say("8000")
        await farmer.say("10")
        assert t("ko", "producer.add_product.ask_photo") in farmer.text
        await farmer.send_photo("AgACpear-photo")
        await farmer.tap("가게 지역으로")
        await farmer.tap("가게 이름으로")
        (card,) = farmer.last
        assert card.method == "sendPhoto" and card.params["photo"] == "AgACpear-photo"  # the largest size
        await farmer.tap("올리기")
        assert "햇배" in farmer.text and "올렸어요" in farmer.text

        # a shopper buys them with buttons; the product card is the photo again, by file id
        shopper = standin.user(902, "말순", "이")
        await shopper.say("/start")
        buyer = await member_of(app, shopper)
        await _top_up(app, c.operator, buyer.id, 50_000)
        code = await _buy_with_buttons(shopper, "햇배", "010-3456-7890")
        pear_cards = [call for call in standin.calls_to(shopper.id, "sendPhoto")]
        assert pear_cards and pear_cards[0].params["photo"] == "AgACpear-photo"

        # a courier on Telegram takes the job, picks it up and confirms with the shopper's code
        rider = standin.user(903, "배달", "박")
        await rider.say("/start")
        async with app.db.unit_of_work() as uow:
            rider_member = await members.by_identity(uow, "telegram", str(rider.id))
            assert rider_member is not None
            await members.grant_role(app.services, uow, c.operator, rider_member.id, "courier")
            await uow.commit()
        await rider.say("/start")
        await rider.tap("배달 일감")
        await rider.tap("맡기")
        await rider.tap("물건 받았어요")
        assert "6자리 번호" in rider.text  # picked up: it asks for the shopper's code at once
        await rider.say(code)
        assert "배달 완료" in rider.text, rider.text

        # the shopper confirms receipt and leaves five stars
        await shopper.press(HOME)  # the big menu button of the persistent keyboard
        await shopper.tap("내 주문")
        await shopper.tap("번")
        await shopper.tap("잘 받았어요")
        await shopper.tap("후기 쓰기")
        await shopper.tap("⭐⭐⭐⭐⭐")
        await shopper.tap("글 없이 올리기")
        assert t("ko", "review.thanks") in shopper.text

    async with app.db.snapshot() as snap:
        (bought,) = await order_queries.list_for_buyer(snap, buyer.id)  # type: ignore[arg-type]
        rating = await review_queries.rating_summary(snap, product_id=bought.lines[0].product_id)  # type: ignore[arg-type]
    assert bought.state in ("confirmed", "settled") and bought.courier_id == rider_member.id
    assert rating.count == 1 and rating.average_x10 == 50
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, report.problem
