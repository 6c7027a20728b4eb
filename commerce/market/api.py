"""Market data over HTTP (aiohttp), read-only and public — the same figures the chat shows.

- ``GET /market/book?levels=10``  — the book by price level (bids best first, asks best first), today's band;
- ``GET /market/trades?since=ID&limit=N`` — trades with an id above ``since``, oldest first (poll with the
  last id you have; ``next`` is the cursor for the following call);
- ``GET /market/price`` — the reference price payments use, how it was found, and today's summary;
- ``GET /market/chart.png?days=7`` — a small PNG price chart (matplotlib, Agg, rendered in a worker thread
  so the event loop never waits on it; cached until the next trade).

Bad parameters are a typed ``InvalidInput`` (400 JSON through the server's error middleware), never a 500.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from typing import Any

from aiohttp import web

from commerce.context import Market
from commerce.errors import InvalidInput
from commerce.market import service
from commerce.market.book import Level
from commerce.market.price import DAY_MS, source_of
from ledger.api import json_dumps
from ledger.db import Database

MAX_TRADES = 1_000
MAX_LEVELS = 50
MAX_DAYS = 30


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15 or not low <= int(raw) <= high:
        raise InvalidInput(f"'{name}' must be a whole number from {low} to {high}", field=name, low=low, high=high)
    return int(raw)


def _trade_json(t: service.MarketTrade) -> dict[str, Any]:
    return {
        "id": t.id,
        "price": t.price,
        "units": t.units,
        "value": t.value,
        "taker_side": t.taker_side,
        "seq": t.seq,
        "time_ms": t.time_ms,
    }


def render_chart(points: list[tuple[int, int]], reference: int, days: int, now_ms: int) -> bytes:
    """A 640×320 PNG of trade prices (unix ms, won) over the last ``days``, the reference price dashed.

    Runs in a worker thread: the Agg canvas on a fresh ``Figure`` shares no state with other threads
    (no pyplot), and matplotlib is imported there, on first use. Labels are ASCII so the bundled font
    has every glyph.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(-days, 0)
    ax.set_xlabel("days ago", fontsize=8)
    if points:
        ago = [(ms - now_ms) / DAY_MS for ms, _ in points]
        ax.plot(ago, [p for _, p in points], color="#8b5a2b", linewidth=1.8, marker="o", markersize=2.5)
    else:
        ax.text(0.5, 0.5, "no trades yet", ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.axhline(reference, color="#2e7d32", linestyle="--", linewidth=1, label=f"reference {reference:,} KRW")
    ax.set_title(f"BNM price, last {days} days (KRW per BNM)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


class MarketApi:
    def __init__(self, db: Database, market: Market) -> None:
        self.db = db
        self.market = market
        self._charts: OrderedDict[tuple[int, int, int, int], bytes] = OrderedDict()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/market/book", self.book),
            web.get("/market/trades", self.trades),
            web.get("/market/price", self.price),
            web.get("/market/chart.png", self.chart),
        ]

    async def book(self, request: web.Request) -> web.Response:
        levels = _int_param(request, "levels", 10, 1, MAX_LEVELS)
        async with self.db.snapshot() as snap:
            view = await service.book_view(snap, levels)
            band = await service.band(self.market, snap)
        config = service.DEFAULT_CONFIG

        def side(levels: tuple[Level, ...]) -> list[dict[str, int]]:
            return [{"price": lv.price, "units": lv.units, "orders": lv.orders} for lv in levels]

        return web.json_response(
            dumps=json_dumps,
            data={
                "pair": "BNM/BTL",
                "bids": side(view.bids),
                "asks": side(view.asks),
                "band": {"low": band.low, "high": band.high, "anchor": band.anchor},
                "tick": config.tick,
                "lot": config.lot,
            },
        )

    async def trades(self, request: web.Request) -> web.Response:
        since = _int_param(request, "since", 0, 0, 2**53 - 1)
        limit = _int_param(request, "limit", 500, 1, MAX_TRADES)
        async with self.db.snapshot() as snap:
            found = await service.trades_since(snap, since, limit=limit)
        return web.json_response(
            dumps=json_dumps,
            data={"trades": [_trade_json(t) for t in found], "next": found[-1].id if found else since},
        )

    async def price(self, _request: web.Request) -> web.Response:
        async with self.db.snapshot() as snap:
            ref = await source_of(self.market.prices).reference(snap, at_ms=self.market.clock())
            band = await service.band(self.market, snap)
            day = await service.summary(self.market, snap)
        return web.json_response(
            dumps=json_dumps,
            data={
                "price": ref.price,
                "unit": "KRW per BNM",
                "source": ref.source,
                "volume_units": ref.volume,
                "trades": ref.trades,
                "operator_price": ref.operator_price,
                "at_ms": ref.at_ms,
                "band": {"low": band.low, "high": band.high, "anchor": band.anchor},
                "today": {"high": day.high, "low": day.low, "last": day.last, "volume_units": day.volume},
                "week_closes": list(day.closes),
            },
        )

    async def chart(self, request: web.Request) -> web.Response:
        days = _int_param(request, "days", 7, 1, MAX_DAYS)
        now = self.market.clock()
        async with self.db.snapshot() as snap:
            found = await service.trades_between(snap, now - days * DAY_MS, now + 1)
            reference = await self.market.prices.reference_price(snap)
        key = (days, found[-1].id if found else 0, reference, now // 60_000)  # at most a minute stale
        png = self._charts.get(key)
        if png is None:
            points = [(t.time_ms, t.price) for t in found]
            png = await asyncio.to_thread(render_chart, points, reference, days, now)
            self._charts[key] = png
            while len(self._charts) > 16:
                self._charts.popitem(last=False)
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "public, max-age=60"})
