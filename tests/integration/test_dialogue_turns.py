"""One unit of work per chat turn, of the kind its handler declares (``bots.router``, ``bots.dialogue``).

Kakao sends no message id, so its taps are the turns without a dedupe key: a look-only one runs on a
read snapshot, a writing one on one writing unit of work — its handler once, not tried on a snapshot
first. A handler that writes but is registered as look-only raises; a refusal is explained in the turn
that was refused, and that turn changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bots.context import ChatConfig, Ctx
from bots.dialogue import Dialogue
from bots.look_only import UndeclaredWrite
from bots.messages import Incoming, Screen
from bots.router import Route, Router
from bots.texts import t
from chestnut.bootstrap import App
from commerce.members import service as members
from commerce.orders import queries as order_queries
from ledger.storage.unit_of_work import UnitOfWork
from tests.support.market import cast


@dataclass
class Opened:
    """How many units of work and snapshots the database opened."""

    units_of_work: int = 0
    snapshots: int = 0


def count_opened(app: App) -> Opened:
    opened = Opened()
    unit_of_work, snapshot = app.db.unit_of_work, app.db.snapshot

    def counted_unit_of_work() -> UnitOfWork:
        opened.units_of_work += 1
        return unit_of_work()

    def counted_snapshot() -> UnitOfWork:
        opened.snapshots += 1
        return snapshot()

    app.db.unit_of_work = counted_unit_of_work  # type: ignore[method-assign]
    app.db.snapshot = counted_snapshot  # type: ignore[method-assign]
    return opened


def count_calls(router: Router, verb: str) -> list[str]:
    """Wrap the handler of ``verb``: each call appends the kind of unit of work it was given."""
    calls: list[str] = []
    route = router.payloads[verb]

    async def counted(ctx: Ctx, args: list[str]) -> Screen:
        calls.append(type(ctx.uow).__name__)
        return await route.handler(ctx, args)

    router.payloads[verb] = Route(route.name, counted, route.writes)
    return calls


def kakao_tap(payload: str, user: str = "s1") -> Incoming:
    return Incoming("kakao", user, "이할머니", payload=payload)  # Kakao: no message key


def said(screen: Screen) -> str:
    return "\n".join(r.text for r in screen.replies)


async def _cart(app: App, member_id: int, shop_id: int) -> list[tuple[int, int, int]]:
    async with app.db.snapshot() as snap:
        return [
            (line.product_id, line.qty, line.price_seen) for line in await order_queries.cart(snap, member_id, shop_id)
        ]


async def test_a_kakao_tap_that_writes_runs_its_handler_once_on_one_unit_of_work(app: App) -> None:
    c = await cast(app)
    calls = count_calls(app.dialogue.router, "add")
    opened = count_opened(app)
    screen = await app.dialogue.handle(kakao_tap(f"add:{c.product}:1"))
    assert t("ko", "cart.added", name="사과", qty=1, count=1) in said(screen)
    assert len(calls) == 1, calls  # not tried on a snapshot first and then again
    assert (opened.units_of_work, opened.snapshots) == (1, 0)
    assert [(p, q) for p, q, _price in await _cart(app, c.shopper, c.shop)] == [(c.product, 1)]


async def test_a_kakao_tap_that_only_looks_runs_on_a_snapshot(app: App) -> None:
    c = await cast(app)
    calls = count_calls(app.dialogue.router, "p")
    opened = count_opened(app)
    screen = await app.dialogue.handle(kakao_tap(f"p:{c.product}"))
    assert "사과" in said(screen) + "".join(r.title or "" for r in screen.replies)
    assert calls == ["LookOnly"]
    assert (opened.units_of_work, opened.snapshots) == (0, 1)  # the conversation did not move: nothing to save


async def test_a_look_only_tap_that_moves_the_conversation_on_saves_where_it_stands(app: App) -> None:
    c = await cast(app)
    opened = count_opened(app)
    asked = await app.dialogue.handle(kakao_tap(f"rcw:{c.product}:q"))  # "ask a question": waits for the words
    assert asked.expects == "text"
    assert (opened.units_of_work, opened.snapshots) == (1, 1)  # the turn on a snapshot, then the new state
    posted = await app.dialogue.handle(Incoming("kakao", "s1", "이할머니", text="햇사과인가요?"))
    assert t("ko", "community.comments.posted") in said(posted) and "햇사과인가요?" in said(
        posted
    )  # a question, not a search


async def _wrongly_declared(app: App, *, strict: bool) -> Dialogue:
    """A router whose "lang" handler writes (the member's language) but is registered as look-only."""

    async def home(ctx: Ctx, _args: list[str]) -> Screen:
        return ctx.say("home")

    async def set_lang(ctx: Ctx, args: list[str]) -> Screen:
        ctx.member = await members.set_preferences(ctx.uow, ctx.member.id, lang=args[0])
        return ctx.say("done")

    router = Router()
    router.on_home(home, writes=False)
    router.on("lang", set_lang, writes=False)  # wrong: it writes
    return Dialogue(app.db, app.services, app.dialogue.index, router, ChatConfig(strict=strict))


async def _lang_of(app: App, member_id: int) -> str:
    async with app.db.snapshot() as snap:
        return (await members.get(snap, member_id)).lang


@pytest.mark.parametrize("key", [None, "k-1"], ids=["kakao", "with a message key"])
async def test_a_handler_that_writes_but_is_declared_look_only_fails_loudly(app: App, key: str | None) -> None:
    c = await cast(app)
    dialogue = await _wrongly_declared(app, strict=True)
    msg = Incoming("kakao", "s1", "이할머니", payload="lang:en", key=key)
    with pytest.raises(UndeclaredWrite, match=r"verb 'lang'.*writes=False"):
        await dialogue.handle(msg)
    assert await _lang_of(app, c.shopper) == "ko"  # and nothing of it was kept


async def test_outside_tests_an_undeclared_write_is_logged_and_apologised_for(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    c = await cast(app)
    dialogue = await _wrongly_declared(app, strict=False)
    with caplog.at_level(logging.ERROR, logger="chestnut.bots"):
        screen = await dialogue.handle(kakao_tap("lang:en"))
    assert "look-only chat handler wrote" in caplog.text and "UndeclaredWrite" in caplog.text
    assert screen.replies and screen.menu  # the apology and the menu, no traceback
    assert await _lang_of(app, c.shopper) == "ko"


@pytest.mark.parametrize("send", [kakao_tap, lambda p: Incoming("telegram", "101", payload=p, key="7:1")])
async def test_a_refusal_is_explained_in_the_same_turn_and_changes_nothing(
    app: App, send: Callable[[str], Incoming]
) -> None:
    c = await cast(app, stock=2)
    opened = count_opened(app)
    msg = send(f"add:{c.product}:5")  # more than there is
    refused = await app.dialogue.handle(msg)
    assert said(refused) == t("ko", "refusal.out_of_stock", available=2)
    assert (opened.units_of_work, opened.snapshots) == (1, 0)  # explained in the turn: no second one
    buyer = c.shopper if msg.channel == "kakao" else c.producer
    assert await _cart(app, buyer, c.shop) == []
    again = await app.dialogue.handle(msg)  # not even the message key was kept: a repeat is refused again
    assert said(again) == said(refused)
