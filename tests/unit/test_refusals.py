"""Every refusal the chat can show leads on: a button besides the menu, whatever the code and the screen."""

from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace

import pytest

from bots.context import ChatConfig, Ctx
from bots.messages import Incoming
from bots.refusals import explain
from ledger.errors import ChestnutError


def _every_error() -> list[type[ChestnutError]]:
    for name in ("ledger", "commerce", "ads", "bots"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)
    found, todo = [], [ChestnutError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


ERRORS = _every_error()
# Where a refusal can happen: a typed word, a shopper's order button, paying, a courier's code, a cash-out.
WHERE = [(None, ""), ("ocx:5:y", ""), ("ok:3:0:9000:abc", ""), (None, "courier.code"), ("pco:1", "")]


def _ctx(payload: str | None, state: str, lang: str) -> Ctx:
    return Ctx(
        services=None,  # type: ignore[arg-type]  # explain reads no service
        uow=None,  # type: ignore[arg-type]
        index=None,  # type: ignore[arg-type]
        config=ChatConfig(),
        member=SimpleNamespace(lang=lang),  # type: ignore[arg-type]
        msg=Incoming("kakao", "u1", payload=payload),
        state=state,
        data={},
    )


def test_the_errors_are_found() -> None:
    codes = {cls.code for cls in ERRORS}
    assert {"invalid_state", "not_allowed", "unknown_order", "insufficient_balance", "already_taken"} <= codes


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize(("payload", "state"), WHERE)
def test_every_refusal_offers_a_way_on_besides_the_menu(payload: str | None, state: str, lang: str) -> None:
    for cls in ERRORS:
        for data in ({}, {"order": 5, "state": "accepted", "needed": "phone", "missing": 1000}):
            exc = cls.__new__(cls)  # some take their own arguments; every one has a code and data
            ChestnutError.__init__(exc, "refused", **data)
            screen = explain(_ctx(payload, state, lang), exc)
            buttons = [b for reply in screen.replies for b in reply.all_buttons]
            assert screen.replies and buttons, (cls.code, payload, state)
            assert screen.menu  # and the menu too


def test_a_stale_order_button_leads_back_to_that_order() -> None:
    from commerce.errors import InvalidState

    screen = explain(_ctx("ocx:5:y", "", "ko"), InvalidState("order 5 is accepted", order=5, state="accepted"))
    assert [b.payload for b in screen.replies[0].all_buttons] == ["o:5", "orders"]
