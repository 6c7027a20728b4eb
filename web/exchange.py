"""Market data over HTTP (aiohttp), read-only and public — the same figures the chat shows.

- ``GET /market/book?levels=10``  — the book by price level (bids best first, asks best first), today's band;
- ``GET /market/trades?since=ID&limit=N`` — trades with an id above ``since``, oldest first (poll with the
  last id you have; ``next`` is the cursor for the following call);
- ``GET /market/price`` — the reference price payments use, how it was found, and today's summary;
- ``GET /market/chart.png?days=7[&lang=en]`` — a small PNG price chart, Korean unless asked (matplotlib, Agg,
  rendered in a worker thread so the event loop never waits on it; cached until the next trade).

Bad parameters are a typed ``InvalidInput`` (400 JSON through the server's error middleware), never a 500.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from commerce.errors import InvalidInput
from commerce.exchange import queries
from commerce.exchange.book import Level
from commerce.exchange.price import DAY_MS, source_of
from commerce.exchange.rows import MarketTrade
from commerce.exchange.rules import DEFAULT_CONFIG
from commerce.services import Services
from ledger.api import json_dumps
from ledger.storage.unit_of_work import Database

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


def _trade_json(t: MarketTrade) -> dict[str, Any]:
    return {
        "id": t.id,
        "price": t.price,
        "units": t.units,
        "value": t.value,
        "taker_side": t.taker_side,
        "seq": t.seq,
        "time_ms": t.time_ms,
    }


# Families with Hangul, most readable first (Debian's fonts-nanum, Noto CJK, the usual desktop ones).
HANGUL_FAMILIES = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans CJK JP",  # a .ttc's first face: the collection has Hangul too
    "Noto Sans KR",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "AppleGothic",
    "UnDotum",
)
HANGUL_FILES = ("nanumgothic", "nanumbarungothic", "notosanscjk", "notosanskr", "malgun", "applegothic", "undotum")
CHART_TEXTS = {
    "ko": {
        "title": "밤나무(BNM) 시세 · 최근 {days}일 (1 BNM당 원)",
        "x": "며칠 전",
        "reference": "기준가 {price}원",
        "empty": "아직 거래가 없어요\n기준가 {price}원",
    },
    "en": {
        "title": "BNM price, last {days} days (KRW per BNM)",
        "x": "days ago",
        "reference": "reference {price} KRW",
        "empty": "no trades yet\nreference price {price} KRW",
    },
}
CHART_LANGS = tuple(CHART_TEXTS)


def _has_hangul(path: str) -> bool:
    from matplotlib import ft2font

    try:
        return bool(ft2font.FT2Font(path).get_char_index(ord("가")))
    except (OSError, RuntimeError, ValueError):
        return False


@functools.cache
def hangul_font() -> str | None:
    """The file of a regular font with Hangul for the chart's labels, or None when the machine has none.

    Matplotlib's own font list first; then the system's font folders, for a font installed after that
    list was cached (``make browser`` installs fonts-nanum).
    """
    from matplotlib import font_manager

    known = sorted(
        (f for f in font_manager.fontManager.ttflist if f.name in HANGUL_FAMILIES and f.style == "normal"),
        key=lambda f: (HANGUL_FAMILIES.index(f.name), f.weight not in (400, "normal", "regular"), f.fname),
    )
    for entry in known:
        if _has_hangul(entry.fname):
            return str(entry.fname)
    for path in sorted(font_manager.findSystemFonts()):
        name = Path(path).name.lower()
        if name.startswith(HANGUL_FILES) and "bold" not in name and _has_hangul(path):
            return path
    return None


def chart_figure(points: list[tuple[int, int]], reference: int, days: int, now_ms: int, lang: str = "ko") -> Figure:
    """The chart of trade prices (unix ms, won) over the last ``days``, the reference price dashed.

    Korean needs a font with Hangul (``hangul_font``); without one the chart is drawn in English rather
    than in empty boxes. With no trades there is no line at all: the message alone, in the middle.
    Days and prices are labelled by our own formatters, in ASCII digits: Hangul fonts lack the
    typographic minus matplotlib would draw.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import FuncFormatter

    font_file = hangul_font() if lang == "ko" else None
    if font_file is None:
        lang = "en"
    font = FontProperties(fname=font_file) if font_file else FontProperties()
    texts = CHART_TEXTS[lang]
    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(-days, 0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{abs(x):g}"))
    ax.set_xlabel(texts["x"], fontproperties=font, fontsize=8)
    ax.set_title(texts["title"].format(days=days), fontproperties=font, fontsize=10)
    if points:
        ax.grid(True, alpha=0.3)
        ago = [(ms - now_ms) / DAY_MS for ms, _ in points]
        ax.plot(ago, [p for _, p in points], color="#8b5a2b", linewidth=1.8, marker="o", markersize=2.5)
        ax.axhline(
            reference,
            color="#2e7d32",
            linestyle="--",
            linewidth=1,
            label=texts["reference"].format(price=f"{reference:,}"),
        )
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:,.0f}"))
        legend_font = font.copy()
        legend_font.set_size(8)
        ax.legend(loc="upper left", prop=legend_font)
    else:
        ax.set_yticks([])
        ax.text(
            0.5,
            0.5,
            texts["empty"].format(price=f"{reference:,}"),
            ha="center",
            va="center",
            ma="center",
            transform=ax.transAxes,
            color="#555555",
            fontproperties=font,
            fontsize=13,
        )
    fig.tight_layout()
    return fig


def render_chart(points: list[tuple[int, int]], reference: int, days: int, now_ms: int, lang: str = "ko") -> bytes:
    """A 640×320 PNG of ``chart_figure``.

    Runs in a worker thread: the Agg canvas on a fresh ``Figure`` shares no state with other threads
    (no pyplot), and matplotlib is imported there, on first use.
    """
    out = io.BytesIO()
    chart_figure(points, reference, days, now_ms, lang).savefig(out, format="png")
    return out.getvalue()


class MarketApi:
    def __init__(self, db: Database, market: Services) -> None:
        self.db = db
        self.market = market
        self._charts: OrderedDict[tuple[int, int, int, int, str], bytes] = OrderedDict()

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
            view = await queries.book_view(snap, levels)
            band = await queries.band(self.market, snap)
        config = DEFAULT_CONFIG

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
            found = await queries.trades_since(snap, since, limit=limit)
        return web.json_response(
            dumps=json_dumps,
            data={"trades": [_trade_json(t) for t in found], "next": found[-1].id if found else since},
        )

    async def price(self, _request: web.Request) -> web.Response:
        async with self.db.snapshot() as snap:
            ref = await source_of(self.market.prices).reference(snap, at_ms=self.market.clock())
            band = await queries.band(self.market, snap)
            day = await queries.summary(self.market, snap)
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
        lang = request.query.get("lang") or "ko"
        if lang not in CHART_LANGS:
            raise InvalidInput(f"'lang' must be one of {', '.join(CHART_LANGS)}", field="lang")
        now = self.market.clock()
        async with self.db.snapshot() as snap:
            found = await queries.trades_between(snap, now - days * DAY_MS, now + 1)
            reference = await self.market.prices.reference_price(snap)
        key = (days, found[-1].id if found else 0, reference, now // 60_000, lang)  # at most a minute stale
        png = self._charts.get(key)
        if png is None:
            points = [(t.time_ms, t.price) for t in found]
            png = await asyncio.to_thread(render_chart, points, reference, days, now, lang)
            self._charts[key] = png
            while len(self._charts) > 16:
                self._charts.popitem(last=False)
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "public, max-age=60"})
