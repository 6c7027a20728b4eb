"""Migrations that rebuild tables keep every row, both ways, on SQLite and PostgreSQL.

``0012_market_keys`` rebuilds the ledger's entries and the market's orders and trades on SQLite (their
keys become the rowid) and replaces the book's indexes on both: a market that traded before the upgrade
must read the same afterwards, verify, and go on trading.
"""

from __future__ import annotations

import asyncio
from typing import Any

from chestnut.bootstrap import App, build
from chestnut.migrate import downgrade_sync, upgrade_sync
from chestnut.settings import Settings
from ledger.verify import verify_ledger
from tests.integration.test_bnm_market import everything, people, place

_REBUILT = ("ledger_entries", "market_orders", "market_trades")


async def _rows(app: App, *, chain: bool = True) -> tuple[Any, ...]:
    """Every row the migrations rebuild, the rest of the market's state (not the book's version, new in
    0013), and each actor's chain of entries (0014 drops it on the way down and makes it anew)."""
    async with app.db.snapshot() as snap:
        extra = ", actor_prev" if chain else ""
        entries = await snap.fetch(
            f"SELECT seq, leaf_hash, entry, kind, actor, nodes{extra} FROM ledger_entries ORDER BY seq"
        )
        last = ", last_entry" if chain else ""
        actors = await snap.fetch(f"SELECT public_key, last_seq{last} FROM ledger_actors ORDER BY public_key")
        ids = await snap.fetch("SELECT next_order, next_trade FROM market_state")
    return (*(await everything(app))[:-1], ids, entries, actors)


async def _key_indexes(app: App) -> list[str]:
    """SQLite's own key indexes on the rebuilt tables (a BIGINT key keeps one; an INTEGER key is the rowid)."""
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name LIKE 'sqlite_autoindex_%' "
            "ORDER BY tbl_name"
        )
    return [str(r[0]) for r in rows if r[0] in _REBUILT]


async def test_the_market_keys_migration_keeps_every_row_both_ways(settings: Settings) -> None:
    app = await build(settings)
    try:
        p = await people(app)
        await place(app, p.bob, "sell", 3_000, 1_000, client_key="k-1")
        await place(app, p.carol, "sell", 2_000, 1_010)
        await place(app, p.alice, "buy", 4_000, 1_010)  # all of bob's ask, half of carol's
        before, before_plain = await _rows(app), await _rows(app, chain=False)
        sqlite = app.db.dialect == "sqlite"
        if sqlite:
            assert await _key_indexes(app) == []
    finally:
        await app.close()

    await asyncio.to_thread(downgrade_sync, settings.database_url, "0005_market")
    app = await build(settings, migrate=False, initialize=False)
    try:
        assert await _rows(app, chain=False) == before_plain
        if sqlite:
            # the three BIGINT keys, and the orders' one-time-key constraint over every row again
            assert await _key_indexes(app) == ["ledger_entries", "market_orders", "market_orders", "market_trades"]
    finally:
        await app.close()

    await asyncio.to_thread(upgrade_sync, settings.database_url)
    app = await build(settings)
    try:
        assert await _rows(app) == before
        if sqlite:
            assert await _key_indexes(app) == []
        report = await verify_ledger(app.db, app.ledger.origin, workers=0)
        assert report.ok, report.problem
        # The one-time key still answers a repeat, and the book still finds the rest of carol's ask.
        again = await place(app, p.bob, "sell", 3_000, 1_000, client_key="k-1")
        assert again.earlier
        bid = await place(app, p.alice, "buy", 1_000, 1_010)
        assert [(t.price, t.units, t.seller_id) for t in bid.trades] == [(1_010, 1_000, p.carol)]
    finally:
        await app.close()


def test_the_history_has_exactly_one_head() -> None:
    """Branches end in a merge revision: ``upgrade head`` names the whole schema, and a new revision
    has one parent to name."""
    from alembic.script import ScriptDirectory

    from chestnut.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several heads: {heads}; add a merge revision"
