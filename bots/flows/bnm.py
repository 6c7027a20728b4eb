"""The 밤나무 market in the chat: the price at a glance, buying and selling by buttons, my orders, cancel.

No typing anywhere: amounts and prices are offered as buttons, the prices suggested from the book::

    내 지갑 ─🌰 밤나무 시세→ price (today's high/low/last, the week as a text chart)
        ├─밤나무 사기→ amount ─→ price (바로 사기 at the book · 기준가 · 조금 싸게) ─→ confirmation ─주문하기→ done
        ├─밤나무 팔기→ amount ─→ price (바로 팔기 at the book · 기준가 · 조금 비싸게) ─→ confirmation ─주문하기→ done
        └─내 밤나무 주문→ open orders ─취소→ cancelled (what came back)

The confirmation says exactly what will be paid and received: what the order holds, what trades at
once against the book as it stands (and at which prices), and what waits on the book. Its button
carries a one-time nonce, the placement's ``client_key``, so a double tap places once. Refusals of the
market (off the band, not enough 밤나무, …) come back as a screen that leads back into the market.

Payload verbs (all ``bnm…``): ``bnm`` price · ``bnmb``/``bnms`` buy/sell amounts · ``bnmp:<b|s>:<units>``
prices · ``bnmq:<b|s>:<units>:<price>`` confirmation · ``bnmok:…:<nonce>`` place · ``bnmo`` my orders ·
``bnmx:<id>`` cancel.
"""

from __future__ import annotations

import secrets

from bots.context import Ctx
from bots.messages import Button, Screen
from bots.router import Router
from bots.texts import bnm, won
from commerce.errors import InvalidInput
from commerce.exchange import queries
from commerce.exchange import queries as exchange_queries
from commerce.exchange import service as market
from commerce.exchange.book import BUY, SELL, Level
from commerce.exchange.errors import MarketError, NotEnoughTokens
from commerce.exchange.price import source_of
from commerce.exchange.rows import MarketOrder
from commerce.exchange.rules import DEFAULT_CONFIG, Band, worth
from commerce.wallet import queries as wallet_queries

AMOUNTS = (1_000, 5_000, 10_000)  # 1, 5 and 10 BNM
SPARK = "▁▂▃▄▅▆▇█"
NUDGE_BP = 500  # "조금 싸게 / 비싸게": 5 % off the reference price
PAGE = 5


def _num(arg: str, field: str) -> int:
    if not arg.isdigit() or len(arg) > 12:
        raise InvalidInput(f"{field} must be a number", field=field)
    return int(arg)


def _side(arg: str) -> str:
    if arg not in ("b", "s"):
        raise InvalidInput("side must be b or s", field="side")
    return BUY if arg == "b" else SELL


def sparkline(closes: tuple[int | None, ...]) -> str:
    """The week's closing prices as a line of block characters (days before the first trade left out)."""
    known: list[int] = []
    for c in closes:
        if c is not None:
            known.append(c)
        elif known:
            known.append(known[-1])  # no trade that day: the price stayed where it was
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    return "".join(SPARK[(c - low) * (len(SPARK) - 1) // span] if span else SPARK[3] for c in known)


def _trend(ctx: Ctx, closes: tuple[int | None, ...]) -> str:
    known = [c for c in closes if c is not None]
    if len(known) < 2:
        return ctx.t("bnm.week_none")
    first, last = known[0], known[-1]
    pct10 = (last - first) * 1000 // first  # tenths of a percent
    arrow = "▲" if last > first else "▼" if last < first else "―"
    sign = "+" if pct10 > 0 else "-" if pct10 < 0 else ""
    return ctx.t("bnm.week", spark=sparkline(closes), arrow=arrow, pct=f"{sign}{abs(pct10) // 10}.{abs(pct10) % 10}")


def _to_tick(price: int, band: Band, *, up: bool = False) -> int:
    tick = DEFAULT_CONFIG.tick
    snapped = -(-price // tick) * tick if up else price // tick * tick
    return min(max(snapped, band.low), band.high)


# ------------------------------------------------------------------------------------------ the price


async def price(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    ref = await source_of(ctx.services.prices).reference(ctx.uow, at_ms=ctx.services.clock())
    day = await exchange_queries.summary(ctx.services, ctx.uow)
    mine = await wallet_queries.balances(ctx.services, ctx.uow, ctx.member.id)
    lines = [ctx.t("bnm.title"), ctx.t("bnm.reference", price=won(ref.price, ctx.lang))]
    if ref.source == "operator":
        lines.append(ctx.t("bnm.reference_operator"))
    if day.trades:
        lines.append(
            ctx.t(
                "bnm.today",
                high=won(day.high or 0, ctx.lang),
                low=won(day.low or 0, ctx.lang),
                last=won(day.last or 0, ctx.lang),
                volume=bnm(day.volume),
            )
        )
    else:
        lines.append(ctx.t("bnm.today_none"))
    lines.append(_trend(ctx, day.closes))
    lines.append(ctx.t("bnm.mine", bnm=bnm(mine.bnm_available), btl=won(mine.btl_available, ctx.lang)))
    return ctx.say(
        "\n".join(lines),
        [ctx.button("bnm.buy", "bnmb"), ctx.button("bnm.sell", "bnms")],
        [ctx.button("bnm.orders", "bnmo"), ctx.button("home.wallet", "w")],
    )


# ------------------------------------------------------------------------------------------ buy / sell


async def amounts(ctx: Ctx, side: str) -> Screen:
    ctx.go()
    code = "b" if side == BUY else "s"
    buttons = [Button(bnm(u), payload=f"bnmp:{code}:{u}") for u in AMOUNTS]
    if side == SELL:
        mine = await wallet_queries.balances(ctx.services, ctx.uow, ctx.member.id)
        lot = DEFAULT_CONFIG.lot
        everything = mine.bnm_available // lot * lot
        if everything <= 0:
            return ctx.say(ctx.t("bnm.nothing_to_sell"), [ctx.button("bnm.buy", "bnmb"), ctx.button("bnm.back", "bnm")])
        buttons = [b for u, b in zip(AMOUNTS, buttons, strict=True) if u <= everything]
        if everything not in AMOUNTS:
            buttons.append(ctx.button("bnm.all", f"bnmp:s:{everything}", amount=bnm(everything)))
    key = "bnm.buy_how_much" if side == BUY else "bnm.sell_how_much"
    return ctx.say(ctx.t(key), buttons, [ctx.button("bnm.back", "bnm")])


async def buy(ctx: Ctx, _args: list[str]) -> Screen:
    return await amounts(ctx, BUY)


async def sell(ctx: Ctx, _args: list[str]) -> Screen:
    return await amounts(ctx, SELL)


def _sweep_price(levels: tuple[Level, ...], units: int) -> int | None:
    """The price at which ``units`` would all trade against these levels now (None: not enough there)."""
    left = units
    for level in levels:
        left -= level.units
        if left <= 0:
            return level.price
    return None


async def prices(ctx: Ctx, args: list[str]) -> Screen:
    if len(args) < 2:
        return await price(ctx, [])
    side, units = _side(args[0]), _num(args[1], "units")
    code = args[0]
    ref = await ctx.services.prices.reference_price(ctx.uow)
    band = await queries.band(ctx.services, ctx.uow)
    book = await queries.book_view(ctx.uow, levels=20)
    options: list[tuple[str, int]] = []
    now = _sweep_price(book.asks if side == BUY else book.bids, units)
    if now is not None and band.low <= now <= band.high:
        options.append(("bnm.price_now_buy" if side == BUY else "bnm.price_now_sell", now))
    options.append(("bnm.price_reference", _to_tick(ref, band, up=side == SELL)))
    nudged = ref * (10_000 - NUDGE_BP if side == BUY else 10_000 + NUDGE_BP) // 10_000
    options.append(
        ("bnm.price_cheaper" if side == BUY else "bnm.price_dearer", _to_tick(nudged, band, up=side == SELL))
    )
    seen: set[int] = set()
    buttons = []
    for key, p in options:
        if p not in seen:
            seen.add(p)
            buttons.append([ctx.button(key, f"bnmq:{code}:{units}:{p}", price=won(p, ctx.lang))])
    text = ctx.t("bnm.price_choose", amount=bnm(units), low=won(band.low, ctx.lang), high=won(band.high, ctx.lang))
    return ctx.say(text, *buttons, [ctx.button("bnm.back", "bnm")])


def _estimate(levels: tuple[Level, ...], side: str, units: int, limit: int) -> tuple[int, int]:
    """(units, won) that would trade at once against the book as shown, at or better than ``limit``."""
    left, got, paid = units, 0, 0
    for level in levels:
        if (level.price > limit) if side == BUY else (level.price < limit):
            break
        take = min(left, level.units)
        got += take
        paid += worth(level.price, take)
        left -= take
        if not left:
            break
    return got, paid


async def confirmation(ctx: Ctx, args: list[str]) -> Screen:
    """Exactly what will be paid and received, before anything is held."""
    if len(args) < 3:
        return await price(ctx, [])
    side, units, limit = _side(args[0]), _num(args[1], "units"), _num(args[2], "price")
    book = await queries.book_view(ctx.uow, levels=50)
    now_units, now_won = _estimate(book.asks if side == BUY else book.bids, side, units, limit)
    rest = units - now_units
    nonce = secrets.token_hex(4)
    ctx.go("", nonce=nonce)
    total = worth(limit, units)
    if side == BUY:
        lines = [
            ctx.t("bnm.confirm_buy", amount=bnm(units), price=won(limit, ctx.lang)),
            ctx.t("bnm.confirm_pay_most", amount=won(total, ctx.lang)),
            ctx.t("bnm.confirm_receive", amount=bnm(units)),
        ]
    else:
        lines = [
            ctx.t("bnm.confirm_sell", amount=bnm(units), price=won(limit, ctx.lang)),
            ctx.t("bnm.confirm_give", amount=bnm(units)),
            ctx.t("bnm.confirm_receive_least", amount=won(total, ctx.lang)),
        ]
    if now_units:
        lines.append(ctx.t("bnm.confirm_now", amount=bnm(now_units), won=won(now_won, ctx.lang)))
    if rest:
        lines.append(ctx.t("bnm.confirm_wait", amount=bnm(rest), price=won(limit, ctx.lang)))
    if side == BUY and now_units and now_won < worth(limit, now_units):
        lines.append(ctx.t("bnm.confirm_refund"))
    lines.append(ctx.t("bnm.confirm_cancel_any_time"))
    return ctx.say(
        "\n".join(lines),
        [ctx.button("bnm.confirm", f"bnmok:{args[0]}:{units}:{limit}:{nonce}")],
        [ctx.button("bnm.back", "bnm")],
    )


async def place(ctx: Ctx, args: list[str]) -> Screen:
    if len(args) < 4:
        raise InvalidInput("this order button is incomplete", field="payload")
    side, units, limit = _side(args[0]), _num(args[1], "units"), _num(args[2], "price")
    nonce = args[3][:16]
    try:
        placed = await market.place(
            ctx.services, ctx.uow, ctx.member.id, side=side, amount=units, price=limit, client_key=f"chat:{nonce}"
        )
    except MarketError as exc:  # raised before anything was written: say what to change, stay in the market
        return _refused(ctx, exc)
    ctx.go()
    order = placed.order
    traded = sum(t.units for t in placed.trades)
    lines = [ctx.t("bnm.placed")]
    if traded:
        lines.append(ctx.t("bnm.placed_traded", amount=bnm(traded), won=won(order.traded_btl, ctx.lang)))
    if order.status == "open":
        lines.append(ctx.t("bnm.placed_waiting", amount=bnm(order.remaining), price=won(order.price, ctx.lang)))
    return ctx.say(
        "\n".join(lines),
        [ctx.button("bnm.orders", "bnmo"), ctx.button("bnm.back", "bnm")],
        [ctx.button("home.wallet", "w")],
    )


def _refused(ctx: Ctx, exc: MarketError) -> Screen:
    rows: list[list[Button]] = []
    if isinstance(exc, NotEnoughTokens) and exc.data.get("token") == "BTL":
        rows.append([ctx.button("wallet.topup", "wt")])
    rows.append([ctx.button("bnm.back", "bnm"), ctx.button("bnm.orders", "bnmo")])
    return ctx.say(ctx.t(f"refusal.{exc.code}"), *rows)


# ------------------------------------------------------------------------------------------ my orders


def _order_line(ctx: Ctx, o: MarketOrder) -> str:
    key = "bnm.order_buy" if o.side == BUY else "bnm.order_sell"
    return ctx.t(key, id=o.id, amount=bnm(o.amount), price=won(o.price, ctx.lang), left=bnm(o.remaining))


async def my_orders(ctx: Ctx, _args: list[str]) -> Screen:
    ctx.go()
    found = await queries.open_orders(ctx.uow, ctx.member.id)
    if not found:
        return ctx.say(
            ctx.t("bnm.orders_none"),
            [ctx.button("bnm.buy", "bnmb"), ctx.button("bnm.sell", "bnms")],
            [ctx.button("bnm.back", "bnm")],
        )
    shown = found[:PAGE]
    lines = [ctx.t("bnm.orders_title", n=len(found))] + [_order_line(ctx, o) for o in shown]
    if len(found) > PAGE:
        lines.append(ctx.t("bnm.orders_more", n=len(found) - PAGE))
    rows = [[ctx.button("bnm.cancel", f"bnmx:{o.id}", id=o.id)] for o in shown]
    return ctx.say("\n".join(lines), *rows, [ctx.button("bnm.back", "bnm")])


async def cancel(ctx: Ctx, args: list[str]) -> Screen:
    if not args:
        return await my_orders(ctx, [])
    try:
        order = await market.cancel(ctx.services, ctx.uow, ctx.member.id, _num(args[0], "order"))
    except MarketError as exc:
        return _refused(ctx, exc)
    ctx.go()
    # What came back: a buy's unspent won, a sell's unsold units (the cancel entry moved exactly that).
    back = won(order.held - order.traded_btl, ctx.lang) if order.side == BUY else bnm(order.remaining)
    return ctx.say(
        ctx.t("bnm.cancelled", id=order.id, back=back),
        [ctx.button("bnm.orders", "bnmo"), ctx.button("bnm.back", "bnm")],
    )


def register(router: Router) -> None:
    for verb, handler in (
        ("bnm", price),
        ("bnmb", buy),
        ("bnms", sell),
        ("bnmp", prices),
        ("bnmq", confirmation),
        ("bnmo", my_orders),
    ):
        router.on(verb, handler, writes=False)
    router.on("bnmok", place, writes=True)
    router.on("bnmx", cancel, writes=True)
    router.label("bnm.menu", "bnm")
