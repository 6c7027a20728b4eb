"""Typed refusals phrased kindly, each with the next step offered.

Services raise ``ChestnutError`` subclasses with a stable ``code`` and the figures a person needs
(``insufficient_balance`` carries ``missing``). Here each code becomes a sentence from the catalogue
and a button that leads on (not enough 밤톨 → "충전 방법"). The service's own message is English for
logs and programs; it is never shown to a chat user.
"""

from __future__ import annotations

from bots.dialogue import Ctx
from bots.messages import Button, Screen
from bots.texts import won
from ledger.errors import ChestnutError

# code → the buttons that lead on from it (payloads); the text is the catalogue's "refusal.<code>"
NEXT_STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "insufficient_balance": (("wallet.topup", "wt"), ("home.wallet", "w")),
    "out_of_stock": (("cart.open", "cart"), ("home.shop", "mk")),
    "price_changed": (("cart.open", "cart"),),
    "empty_cart": (("home.shop", "mk"),),
    "bnm_share_too_high": (("cart.open", "cart"),),
    "outside_delivery_area": (("home.shop", "mk"),),
    "shop_not_verified": (("more.human", "human"),),
    "wrong_delivery_code": (),
    "delivery_locked": (("more.human", "human"),),
    "already_taken": (),
    "already_reviewed": (("home.orders", "orders"),),
    "claim_window_closed": (("more.human", "human"),),
    "verification_code_requested_recently": (),
    "verification_code_expired": (("more.phone", "phone"),),
    "invalid_state": (),
    "not_allowed": (),
    "claims_need_approval": (("abuse.list", "ab"), ("more.human", "human")),
}


def _figures(ctx: Ctx, data: dict[str, object]) -> dict[str, object]:
    """The error's figures, amounts formatted, so a catalogue text can name them."""
    out: dict[str, object] = {}
    for key in ("missing", "total", "expected"):
        value = data.get(key)
        out[key] = won(value, ctx.lang) if isinstance(value, int) else "?"
    for key in ("available", "max_share", "wait_s", "attempts_left"):
        value = data.get(key)
        out[key] = value if isinstance(value, int) else "?"
    return out


def _cashing_out(ctx: Ctx) -> bool:
    """Money leaving the wallet by the member's own choice: not enough means "ask for less", not "top up"."""
    return (ctx.msg.payload or "").startswith("pco") or ctx.state.startswith("producer.cashout")


def explain(ctx: Ctx, exc: ChestnutError) -> Screen:
    if exc.code == "insufficient_balance" and _cashing_out(ctx):
        return ctx.say(ctx.t("refusal.insufficient_balance.cashout", **_figures(ctx, exc.data)), expects="text")
    key = f"refusal.{exc.code}"
    try:
        text = ctx.t(key, **_figures(ctx, exc.data))
    except KeyError:
        text = ctx.t("refusal.not_found" if exc.http_status == 404 else "refusal.other")
    buttons = [ctx.button(label, payload) for label, payload in NEXT_STEPS.get(exc.code, ())]
    if exc.code == "insufficient_balance":
        buttons = [*buttons[:1], Button(ctx.t("help.call"), phone=ctx.config.office_phone)]
    return ctx.say(text, buttons, expects="text" if ctx.state else "choice")  # home and help: in the menu
