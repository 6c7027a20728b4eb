"""``chestnut bench batch``: settlement of confirmed orders and a dividend to BNM holders, timed, then verified.

Both run through the scheduler's own ``run_batch``, as ``chestnut batch run`` does, and their totals are
checked to the won against what was seeded. The verify runs in its own process, so its memory (every
account and transfer of the replay) is a figure of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from chestnut.bench.measure import ceiling, children_peak_rss_mb, peak_rss_mb
from chestnut.bench.seed import seed_bnm_holders, seed_confirmed_orders
from chestnut.bootstrap import App, batch_context
from commerce.members import service as members
from scheduler import dividends
from scheduler.runs import Run
from scheduler.wiring import BatchContext, run_batch


async def _settle(app: App, ctx: BatchContext, expected: dict[str, int]) -> tuple[Run, float, int]:
    """The settlement batch over every confirmed order: (its run, seconds, platform fees it collected)."""
    started = time.perf_counter()
    (settled,) = (await run_batch(ctx, "settlement", "bench")).runs
    settlement_s = time.perf_counter() - started
    async with app.db.snapshot() as snap:
        fees = (await app.ledger.account(snap, "fees:platform")).balance
    if settled.items != expected["orders"] or settled.amount != expected["btl"] or fees != expected["fees"]:
        raise AssertionError(f"settlement totals {settled.items}/{settled.amount}/{fees} differ from {expected}")
    return settled, settlement_s, fees


async def _pay_dividend(app: App, ctx: BatchContext, fees: int) -> tuple[Run, float]:
    """The fees declared as a dividend by the office and paid to every holder: (its run, seconds)."""
    async with app.db.snapshot() as snap:
        office = await members.by_identity(snap, "web", "bench-office")
    assert office is not None
    started = time.perf_counter()
    async with app.db.unit_of_work() as uow:
        declared = await dividends.declare(app.services, uow, office.id, fees, record_size=None)
        await uow.commit()
    (paid,) = (await run_batch(ctx, "dividend", declared.period)).runs
    dividend_s = time.perf_counter() - started
    if paid.amount != fees or paid.items != declared.holders:
        raise AssertionError(f"dividend paid {paid.amount} to {paid.items}, declared {fees} to {declared.holders}")
    return paid, dividend_s


def _verify_in_a_process(app: App) -> tuple[dict[str, Any], float, float]:
    """``chestnut ledger verify --json`` on this ledger: (its report, seconds, its peak memory in MB).

    It blocks the event loop while it runs: once, at the end of a benchmark, with nothing else to do."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "chestnut.cli", "ledger", "verify", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "CHESTNUT_HOME": str(app.settings.home),
            "CHESTNUT_DATABASE_URL": app.settings.resolved_database_url,
        },
    )
    verify_s = time.perf_counter() - started
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = {"ok": False, "problem": proc.stderr[-500:]}
    return report, verify_s, children_peak_rss_mb()


async def run_batch_bench(
    app: App, *, orders_n: int = 100_000, holders_n: int = 1_000_000, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Settlement of ``orders_n`` confirmed orders and a dividend to ``holders_n`` BNM holders, timed."""
    started = time.perf_counter()
    expected = await seed_confirmed_orders(app, orders_n, progress=progress)
    seed_orders_s = time.perf_counter() - started
    ctx = batch_context(app)
    settled, settlement_s, fees = await _settle(app, ctx, expected)
    started = time.perf_counter()
    await seed_bnm_holders(app, holders_n)
    seed_holders_s = time.perf_counter() - started
    paid, dividend_s = await _pay_dividend(app, ctx, fees)
    peak = peak_rss_mb()
    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        size = (await app.ledger.head(uow)).size
        await uow.commit()
    report, verify_s, verify_rss = _verify_in_a_process(app)
    return {
        "database": app.db.dialect,
        "cores": os.cpu_count(),
        "orders": orders_n,
        "holders": holders_n,
        "settlement_s": round(settlement_s, 2),
        "settlement_entries_per_s": round(settled.entries / settlement_s),
        "dividend_s": round(dividend_s, 2),
        "dividend_transfers_per_s": round(paid.items / dividend_s),
        "dividend_entries": paid.entries,
        "peak_rss_mb": round(peak, 1),
        "seed_orders_s": round(seed_orders_s, 1),
        "seed_holders_s": round(seed_holders_s, 1),
        "settled_btl": settled.amount,
        "fees_paid_as_dividend": paid.amount,
        "ledger_size": size,
        "verify_s": round(verify_s, 1),
        "verify_peak_rss_mb": round(verify_rss, 1),
        "verify_ok": bool(report.get("ok")),
        "verify_problem": report.get("problem") or report.get("message"),
        "ceiling_entries_per_s": round(ceiling(20_000)),
    }
