"""kill -9 in the middle of a money batch: every recipient is paid exactly once (ARCHITECTURE.md, "fault").

20,000 confirmed orders (seeded through the real ledger, ``chestnut.bench.seed.seed_confirmed_orders``) are
settled by ``chestnut batch run settlement`` in a separate process, which is killed with SIGKILL five
times at random moments — each time shortly after it committed another chunk, so the kill lands inside
the next one — and restarted. Afterwards: the run is done with exactly 20,000 orders, every order has
exactly one ``order.settle`` entry, ``fees:platform`` and the producers hold exactly the expected won,
and ``chestnut ledger verify`` (another process) passes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chestnut.bench.seed import seed_confirmed_orders
from chestnut.bootstrap import build
from chestnut.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 20_000
KILLS = 5


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update(CHESTNUT_HOME=str(home), CHESTNUT_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    return env


def _chunks(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT chunks FROM batch_runs WHERE kind = 'settlement' AND period = 'crash'").fetchall()
    finally:
        conn.close()
    return int(rows[0][0]) if rows else -1


def _batch(home: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "chestnut.cli", "batch", "run", "settlement", "--period", "crash", "--json"]
    return subprocess.Popen(cmd, env=_env(home), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_settlement_killed_five_times_pays_everyone_exactly_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = await build(Settings(home=home, environment="test"))
    try:
        expected = await seed_confirmed_orders(app, ORDERS)
    finally:
        await app.close()
    db = home / "chestnut.db"
    rng = random.Random()
    kills = 0
    while kills < KILLS:
        before = _chunks(db)
        proc = _batch(home)
        deadline = time.monotonic() + 120
        while _chunks(db) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            break  # finished before we could kill it: the remaining kills are moot
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills == KILLS, "the batch finished before it could be killed five times; make it bigger"

    done = subprocess.run(
        [sys.executable, "-m", "chestnut.cli", "batch", "run", "settlement", "--period", "crash", "--json"],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    (run,) = json.loads(done.stdout)["runs"]
    assert (run["status"], run["items"], run["amount"]) == ("done", ORDERS, expected["btl"])

    conn = sqlite3.connect(db)
    try:
        settles = conn.execute("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'order.settle'").fetchone()[0]
        fee_transfers = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT id) FROM ledger_transfers WHERE id LIKE 'order-%-fee'"
        ).fetchone()
        left = conn.execute("SELECT COUNT(*) FROM orders WHERE state <> 'settled'").fetchone()[0]
        fees = conn.execute("SELECT credits_posted - debits_posted FROM ledger_accounts WHERE id = 'fees:platform'")
        (fees_balance,) = fees.fetchone()
        (producers,) = conn.execute(
            "SELECT SUM(a.credits_posted - a.debits_posted) FROM ledger_accounts a JOIN shops s "
            "ON a.id = 'wallet:' || s.owner_id || ':btl'"
        ).fetchone()
        per_order = conn.execute(
            "SELECT COUNT(*) FROM (SELECT settled_seq FROM orders GROUP BY settled_seq HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert settles == ORDERS and tuple(fee_transfers) == (ORDERS, ORDERS) and left == 0 and per_order == 0
    assert fees_balance == expected["fees"]
    assert producers == expected["producers"]

    verify = subprocess.run(
        [sys.executable, "-m", "chestnut.cli", "ledger", "verify", "--json"],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(verify.stdout)["ok"], verify.stdout
