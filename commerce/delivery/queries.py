"""Reading deliveries: one order's job, the jobs open to couriers and the board they see, a courier's
own jobs and route, and the buyer's one-time code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import case, select

from commerce import schema
from commerce.delivery import districts
from commerce.delivery.rows import JOB_COLUMNS, Job
from commerce.errors import NotAllowed, UnknownOrder
from commerce.orders import queries as order_queries
from commerce.statements import Query, param
from ledger.storage.unit_of_work import UnitOfWork

_jobs, _orders, _shops = schema.deliveries, schema.orders, schema.shops
_JOB = select(*(_jobs.c[name] for name in JOB_COLUMNS))
_WITH_ORDER = _jobs.join(_orders, _orders.c.id == _jobs.c.order_id)
_UNFINISHED = ("assigned", "picked_up", "locked")
_OPEN = (_jobs.c.status == "open", _orders.c.state.in_(("paid", "accepted")))
_WINDOW_FIRST = (case((_orders.c.window_start_ms.is_(None), 1), else_=0), _orders.c.window_start_ms)

JOB = Query(_JOB.where(_jobs.c.order_id == param("o")))
CODE = Query(select(_jobs.c.code).where(_jobs.c.order_id == param("o")))
OPEN = Query(_JOB.select_from(_WITH_ORDER).where(*_OPEN).order_by(_jobs.c.order_id).limit(param("limit")))
OPEN_IN = Query(
    _JOB.select_from(_WITH_ORDER)
    .where(*_OPEN, _jobs.c.region == param("region"))
    .order_by(_jobs.c.order_id)
    .limit(param("limit"))
)
COURIERS = Query(
    _JOB.where(_jobs.c.courier_id == param("c"), _jobs.c.status.in_(_UNFINISHED))
    .order_by(_jobs.c.order_id)
    .limit(param("limit"))
)
ROUTE = Query(
    _JOB.add_columns(_orders.c.window_start_ms)
    .select_from(_WITH_ORDER)
    .where(_jobs.c.courier_id == param("c"), _jobs.c.status.in_(_UNFINISHED))
    .order_by(*_WINDOW_FIRST, _jobs.c.region, _jobs.c.order_id)
    .limit(param("limit"))
)
_BOARD = select(
    _orders.c.id,
    _shops.c.market,
    _shops.c.name.label("shop"),
    _jobs.c.region.label("district"),
    _orders.c.delivery_fee.label("fee"),
    _orders.c.window_start_ms,
    _orders.c.window_end_ms,
).select_from(_WITH_ORDER.join(_shops, _shops.c.id == _orders.c.shop_id))


async def job(uow: UnitOfWork, order_id: int) -> Job:
    rows = await JOB.fetch(uow, {"o": order_id})
    if not rows:
        raise UnknownOrder(f"order {order_id} has no delivery", order=order_id)
    return Job.from_row(rows[0])


async def open_jobs(uow: UnitOfWork, region: str | None = None, *, limit: int = 6) -> list[Job]:
    """Jobs nobody has taken, for couriers in a region (oldest first)."""
    if region is None:
        rows = await OPEN.fetch(uow, {"limit": limit})
    else:
        rows = await OPEN_IN.fetch(uow, {"limit": limit, "region": region})
    return [Job.from_row(row) for row in rows]


async def jobs_of(uow: UnitOfWork, courier_id: int, *, limit: int = 5) -> list[Job]:
    """The deliveries this courier has taken and not finished."""
    return [Job.from_row(row) for row in await COURIERS.fetch(uow, {"c": courier_id, "limit": limit})]


async def delivery_code(uow: UnitOfWork, member_id: int, order_id: int) -> str:
    """The one-time code, for the buyer's own chat only."""
    order = await order_queries.get(uow, order_id)
    if order.buyer_id != member_id:
        raise NotAllowed("only the buyer sees the delivery code", order=order_id)
    rows = await CODE.fetch(uow, {"o": order_id})
    if not rows:
        raise UnknownOrder(f"order {order_id} has no delivery", order=order_id)
    return str(rows[0]["code"])


async def code_of(uow: UnitOfWork, order_id: int) -> str:
    """The order's one-time code, for checking what a courier or a shop typed (never to show)."""
    return str((await CODE.fetch(uow, {"o": order_id}))[0]["code"])


@dataclass(frozen=True, slots=True)
class BoardJob:
    """An open job as every courier sees it: where from, which district, when — no address yet."""

    order_id: int
    market: str | None
    shop: str
    district: str
    fee: int
    window_start_ms: int | None
    window_end_ms: int | None


@dataclass(frozen=True, slots=True)
class BoardPage:
    jobs: tuple[BoardJob, ...]
    page: int
    has_next: bool


@cache
def _board(words: int) -> Query:
    """Open jobs whose district holds ``words`` search words (``:w0`` …), the nearest window first."""
    return Query(
        _BOARD.where(*_OPEN, *(_jobs.c.region.like(param(f"w{i}")) for i in range(words)))
        .order_by(*_WINDOW_FIRST, _orders.c.id.desc())
        .limit(param("n"))
        .offset(param("skip"))
    )


async def board(uow: UnitOfWork, *, area: str | None, page: int = 0, per_page: int = 5) -> BoardPage:
    """Open jobs, the nearest delivery window first (then the newest), in ``area`` (every word of it in
    the job's district: "수원시" finds "경기 수원시 팔달구") or everywhere."""
    page = max(0, page)
    words = sorted(districts.words(area))
    query = _board(len(words))
    values: dict[str, object] = {"n": per_page + 1, "skip": page * per_page}
    values.update({f"w{i}": f"%{word}%" for i, word in enumerate(words)})
    rows = await query.fetch(uow, values)
    jobs = tuple(
        BoardJob(
            row["id"], row["market"], row["shop"], row["district"], row["fee"], row["window_start_ms"],
            row["window_end_ms"],
        )
        for row in rows[:per_page]
    )  # fmt: skip
    return BoardPage(jobs, page, len(rows) > per_page)


async def route(uow: UnitOfWork, courier_id: int, *, limit: int = 5) -> list[tuple[Job, int | None]]:
    """The courier's unfinished deliveries in the order to drive them: by window, a district together."""
    rows = await ROUTE.fetch(uow, {"c": courier_id, "limit": limit})
    return [(Job.from_row(row), row["window_start_ms"]) for row in rows]
