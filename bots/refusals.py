"""Typed refusals phrased kindly, each with the next step offered.

Services raise ``ChestnutError`` subclasses with a stable ``code`` and the figures a person needs
(``insufficient_balance`` carries ``missing``). Here each code becomes a sentence from the catalogue
and a button that leads on (not enough 밤톨 → "충전 방법"). A code with no step of its own still gets
one (``way_on``): back to the shopper's order it was about, or a person to talk to — a refusal never
leaves only the menu. The service's own message is English for logs and programs; it is never shown
to a chat user.
"""

from __future__ import annotations

from bots.context import Ctx
from bots.messages import Button, Screen
from bots.texts import CATALOGUES, won
from ledger.errors import ChestnutError

# code → the buttons that lead on from it (payloads); the text is the catalogue's "refusal.<code>".
# A "{shop}" in a payload is the shop the error names (the order being paid); without one the button is left out.
NEXT_STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "insufficient_balance": (("wallet.topup", "wt:{resume}"), ("home.wallet", "w")),
    "invalid_address": (("delivery.choose.back", "pay:{shop}"),),
    "unknown_address": (("delivery.choose.other", "dso:{shop}"), ("delivery.choose.back", "pay:{shop}")),
    "address_book_full": (("delivery.choose.other", "dso:{shop}"),),
    "address_needed": (("delivery.address.type", "dnew:{shop}"), ("delivery.choose.back", "pay:{shop}")),
    "window_unavailable": (("delivery.choose.window", "dwin:{shop}"), ("delivery.choose.back", "pay:{shop}")),
    "pickup_unavailable": (("delivery.choose.back", "pay:{shop}"),),
    "out_of_stock": (("cart.open", "cart"), ("home.shop", "mk")),
    "price_changed": (("cart.open", "cart"),),
    "empty_cart": (("home.shop", "mk"),),
    "no_earlier_order": (("home.shop", "mk"),),
    "bnm_share_too_high": (("cart.open", "cart"),),
    "outside_delivery_area": (("delivery.choose.other", "dso:{shop}"), ("delivery.pickup.shop_button", "dpk:{shop}:s")),
    "shop_not_verified": (("more.human", "human"),),
    "wrong_delivery_code": (("courier.mine.button", "cm"),),
    "delivery_locked": (("more.human", "human"),),
    "already_taken": (("home.work.courier", "cj"),),
    "already_reviewed": (("home.orders", "orders"),),
    "claim_window_closed": (("more.human", "human"),),
    "verification_code_expired": (("more.phone", "phone"),),
    "claims_need_approval": (("abuse.list", "ab"), ("more.human", "human")),
    "identity_required": (("identity.verify_phone", "phone"),),
    "verification_code_limit": (("more.human", "human"),),
    "sms_not_configured": (("more.human", "human"),),
    "sms_unavailable": (("signup.again", "phone"), ("more.human", "human")),
    "sms_failed": (("signup.again", "phone"), ("more.human", "human")),
    "sms_refused": (("signup.again", "phone"), ("more.human", "human")),
}


# The shopper's own order screens (bots/flows/shopper/orders.py): a refusal there leads back to that order.
ORDER_VERBS = ("o", "ocx", "rcv", "rv", "rvt", "cl")
ORDER_STATES = ("review.text", "claim.text")


def way_on(ctx: Ctx, exc: ChestnutError) -> list[Button]:
    """The step after a refusal whose code names none (invalid_state, not_allowed, not found, …)."""
    order = exc.data.get("order")
    verb = (ctx.msg.payload or "").partition(":")[0]
    if isinstance(order, int) and (verb in ORDER_VERBS or ctx.state in ORDER_STATES):
        return [ctx.button("order.view", f"o:{order}"), ctx.button("home.orders", "orders")]
    return [ctx.button("more.human", "human")]


def _figures(ctx: Ctx, data: dict[str, object]) -> dict[str, object]:
    """The error's figures, amounts formatted, so a catalogue text can name them."""
    out: dict[str, object] = {}
    areas = data.get("areas")
    out["areas"] = ", ".join(str(a) for a in areas) if isinstance(areas, list) else "?"
    for key in ("missing", "total", "expected"):
        value = data.get(key)
        out[key] = won(value, ctx.lang) if isinstance(value, int) else "?"
    for key in ("available", "max_share", "wait_s", "attempts_left"):
        value = data.get(key)
        out[key] = value if isinstance(value, int) else "?"
    wait_s = data.get("wait_s")
    out["wait_min"] = max(1, (wait_s + 59) // 60) if isinstance(wait_s, int) else "?"
    return out | _button_names(ctx)


def _button_names(ctx: Ctx) -> dict[str, object]:
    """The labels of buttons a refusal names ("아래 '📱 전화번호 인증하기' 버튼"), from the buttons' own keys."""
    return {"verify_button": ctx.t("identity.verify_phone"), "share_button": ctx.t("signup.share_button")}


def _identity(ctx: Ctx, exc: ChestnutError) -> Screen:
    """Verify the phone and come back: to this shop's confirmation when it was a payment that stopped."""
    if exc.data.get("needed") == "operator":
        return ctx.say(ctx.t("refusal.identity_required.operator"), [ctx.button("more.human", "human")])
    verb, _, rest = (ctx.msg.payload or "").partition(":")
    shop = rest.split(":")[0] if verb in ("ok", "pay") else ""
    target = f"phone:pay:{shop}" if shop.isdigit() else "phone"
    return ctx.say(
        ctx.t("refusal.identity_required", **_button_names(ctx)), [ctx.button("identity.verify_phone", target)]
    )


def _cashing_out(ctx: Ctx) -> bool:
    """Money leaving the wallet by the member's own choice: not enough means "ask for less", not "top up"."""
    return (ctx.msg.payload or "").startswith("pco") or ctx.state.startswith("cashout.")


def _paying_shop(ctx: Ctx, exc: ChestnutError) -> str | None:
    """The shop whose order was being paid or chosen for: named by the error, or by the button tapped."""
    shop = exc.data.get("shop")
    if isinstance(shop, int):
        return str(shop)
    verb, _, rest = (ctx.msg.payload or "").partition(":")
    first = rest.split(":")[0]
    if verb in ("ok", "pay", "dst", "dsa", "dso", "dnew", "dsv", "dw", "dwin", "dpk") and first.isdigit():
        return first
    shop = ctx.data.get("shop")
    return str(shop) if isinstance(shop, int) else None


def _next_steps(ctx: Ctx, exc: ChestnutError) -> list[Button]:
    shop = _paying_shop(ctx, exc)
    values = {"shop": shop or "", "resume": f"pay:{shop}" if shop else ""}
    buttons = []
    for label, template in NEXT_STEPS.get(exc.code, ()):
        payload = template.format_map(values).rstrip(":")
        if "{shop}" in template and shop is None:
            continue
        buttons.append(ctx.button(label, payload))
    return buttons


def explain(ctx: Ctx, exc: ChestnutError) -> Screen:
    if exc.code == "insufficient_balance" and _cashing_out(ctx):
        return ctx.say(
            ctx.t("refusal.insufficient_balance.cashout", **_figures(ctx, exc.data)),
            [ctx.button("home.wallet", "w")],
            expects="text",
        )
    if exc.code == "identity_required":
        return _identity(ctx, exc)
    key = f"refusal.{exc.code}"
    reason = exc.data.get("reason")
    if isinstance(reason, str) and f"{key}.{reason}" in CATALOGUES["ko"]:
        key = f"{key}.{reason}"  # the one thing to do differently, when the error says which
    try:
        text = ctx.t(key, **_figures(ctx, exc.data))
    except KeyError:
        text = ctx.t("refusal.not_found" if exc.http_status == 404 else "refusal.other")
    buttons = _next_steps(ctx, exc) or way_on(ctx, exc)
    if exc.code == "insufficient_balance":
        buttons = [*buttons[:1], Button(ctx.t("help.call"), phone=ctx.config.office_phone)]
    return ctx.say(text, buttons, expects="text" if ctx.state else "choice")  # home and help: in the menu
