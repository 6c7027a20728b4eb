"""kill -9 in the middle of writing: the ledger stays whole (ARCHITECTURE.md, "property and fault").

A real writer process (``crash_writer.py``: ``build()`` + ``Ledger.record``/``record_many`` with
transfers, plus checkpoints) is killed with SIGKILL at random moments — some rounds at a random delay,
some right after it announced a large batch — and restarted against the same database, ten times on
SQLite and three times on PostgreSQL. Afterwards:

- ``chestnut ledger verify --json`` (a separate process) passes;
- the number of stored entries equals the head's size, and seqs are 0..size-1;
- every unit of work is whole or absent, read from the stored entry bytes themselves: all
  ``k`` transfers of a unit ``r<R>-n<I>-k<k>`` are there, in consecutive entries, or none is;
- every unit the writer reported as committed is there, every unit it reported refused is not;
- the writer can continue appending after the last kill, and the ledger still verifies.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.storage.backends import open_database
from tests.conftest import create_pg_database, drop_pg_database, require_postgres

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("crash_writer.py")
CHESTNUT = ROOT / ".venv" / "bin" / "chestnut"
_TID = re.compile(r"^(r\d+-n\d+)-k(\d+)-j(\d+)$")


def _env(home: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update(CHESTNUT_HOME=str(home), CHESTNUT_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    if url:
        env["CHESTNUT_DATABASE_URL"] = url
    return env


def _start_writer(
    tmp: Path, home: Path, url: str | None, rnd: int, seed: int, **kw: int
) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"writer-{rnd}.out"
    cmd = [sys.executable, str(WRITER), str(home), "--round", str(rnd), "--seed", str(seed)]
    if url:
        cmd += ["--url", url]
    if "iterations" in kw:
        cmd += ["--iterations", str(kw["iterations"])]
    if "die_at_ddl" in kw:
        cmd += ["--die-at-ddl", str(kw["die_at_ddl"])]
    if kw.get("die_at_key_write"):
        cmd += ["--die-at-key-write"]
    if kw.get("rotate"):
        cmd += ["--rotate"]
    # Both streams go to files: a pipe nobody reads could fill up and stall the writer.
    with log.open("wb") as sink, log.with_suffix(".err").open("wb") as errors:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=errors, cwd=tmp, env=_env(home, url))
    return proc, log


def _stderr(log: Path) -> str:
    return log.with_suffix(".err").read_text()[-2000:]


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def _wait_for(proc: subprocess.Popen[bytes], log: Path, pattern: re.Pattern[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in _lines(log):
            if pattern.search(line):
                return line
        if proc.poll() is not None:
            raise AssertionError(f"writer exited early ({proc.returncode}): {_stderr(log)}")
        time.sleep(0.002)
    raise AssertionError(f"writer never printed {pattern.pattern!r}; output: {_lines(log)[-5:]}")


def _kill_round(tmp: Path, home: Path, url: str | None, rnd: int, rng: random.Random) -> dict[str, str]:
    """Start the writer, wait until it writes, SIGKILL it at a random moment; returns what it reported."""
    proc, log = _start_writer(tmp, home, url, rnd, rng.randrange(2**32))
    try:
        _wait_for(proc, log, re.compile(r"^ready$"), 60)
        if rnd % 2:
            # Aim at a big batch: kill while it is being signed, applied, inserted or committed.
            _wait_for(proc, log, re.compile(r"^begin \S+ (60|150|300)$"), 60)
            time.sleep(rng.uniform(0, 0.03))
        else:
            time.sleep(rng.uniform(0.02, 0.6))
        assert proc.poll() is None, f"writer stopped by itself: {_stderr(log)}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    status: dict[str, str] = {}
    for line in _lines(log):
        parts = line.split()
        if parts and parts[0] in ("begin", "committed", "refused"):
            status[parts[1]] = parts[0]
    return status


async def _read_ledger(url: str) -> tuple[int, list[tuple[int, bytes]], int]:
    db = await open_database(url)
    try:
        async with db.snapshot() as snap:
            size = int((await snap.fetch("SELECT size FROM ledger_head WHERE id = 1"))[0][0])
            rows = await snap.fetch("SELECT seq, entry FROM ledger_entries ORDER BY seq")
            count = int((await snap.fetch("SELECT COUNT(*) FROM ledger_entries"))[0][0])
    finally:
        await db.close()
    return size, [(int(s), bytes(e)) for s, e in rows], count


def _check_units(url: str, reported: dict[str, str]) -> int:
    """Entries == head, seqs contiguous, every unit whole or absent and as the writer reported it."""
    size, rows, count = asyncio.run(_read_ledger(url))
    assert count == size == len(rows), f"head says {size}, {count} entries stored"
    assert [s for s, _ in rows] == list(range(size)), "stored seqs are not 0..size-1"
    members: dict[str, dict[int, int]] = defaultdict(dict)  # unit -> j -> seq
    declared: dict[str, int] = {}
    for seq, entry in rows:
        for t in json.loads(entry)["signed"]["transfers"]:
            m = _TID.match(t["id"])
            if m:
                unit, k, j = m.group(1), int(m.group(2)), int(m.group(3))
                assert j not in members[unit], f"transfer {t['id']} stored twice"
                members[unit][j] = seq
                declared[unit] = k
    for unit, found in members.items():
        k = declared[unit]
        assert sorted(found) == list(range(k)), f"unit {unit} is half-written: {len(found)} of {k} entries"
        seqs = [found[j] for j in range(k)]
        assert seqs == list(range(seqs[0], seqs[0] + k)), f"unit {unit} is not in consecutive entries"
    for unit, state in reported.items():
        if state == "committed":
            assert unit in members, f"unit {unit} was committed but is gone after the kill"
        elif state == "refused":
            assert unit not in members, f"unit {unit} was refused but is stored"
    return size


def _cli_verify(home: Path, url: str | None, cwd: Path) -> dict[str, object]:
    proc = subprocess.run(
        [str(CHESTNUT), "ledger", "verify", "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(home, url),
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"] is True, report
    return report


def _kill_loop(tmp: Path, url: str, cli_url: str | None, rounds: int) -> None:
    home = tmp / "home"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    reported: dict[str, str] = {}
    in_flight = 0
    sizes = []
    for rnd in range(rounds):
        status = _kill_round(tmp, home, cli_url, rnd, rng)
        in_flight += any(s == "begin" for s in status.values())
        reported.update(status)
        # Check after every kill, so a failure names the round (and the seed reproduces it).
        try:
            sizes.append(_check_units(url, reported))
        except AssertionError as exc:
            raise AssertionError(f"after kill {rnd + 1} (seed {seed}): {exc}") from None
    assert sizes == sorted(sizes), f"the ledger shrank between kills: {sizes} (seed {seed})"
    assert sizes[-1] > sizes[0] or rounds == 1, f"the writer made no progress: {sizes}"
    report = _cli_verify(home, cli_url, tmp)
    assert report["size"] == sizes[-1]

    # The writer carries on after the last kill, then everything still verifies and is whole.
    proc, log = _start_writer(tmp, home, cli_url, rounds, rng.randrange(2**32), iterations=40)
    proc.wait(120)
    assert proc.returncode == 0, _stderr(log)
    lines = _lines(log)
    assert lines[-1] == "done"
    after: dict[str, str] = {}
    for line in lines:
        parts = line.split()
        if parts[0] in ("begin", "committed", "refused"):
            after[parts[1]] = parts[0]
    assert after and "begin" not in after.values(), "a unit of the last run did not finish"
    assert any(s == "committed" for s in after.values())
    reported.update(after)
    final = _check_units(url, reported)
    assert final > sizes[-1]
    assert _cli_verify(home, cli_url, tmp)["size"] == final
    print(f"seed {seed}: sizes {sizes} -> {final}; {in_flight}/{rounds} kills landed inside a unit of work")


def test_sigkill_ten_times_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'home' / 'chestnut.db').resolve()}"
    _kill_loop(tmp_path, url, None, rounds=10)
    # SQLite's WAL was recovered, not discarded: the database file itself is consistent.
    import sqlite3

    conn = sqlite3.connect(tmp_path / "home" / "chestnut.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_sigkill_three_times_postgresql(tmp_path: Path) -> None:
    require_postgres()
    url = asyncio.run(create_pg_database())
    try:
        _kill_loop(tmp_path, url, url, rounds=3)
    finally:
        asyncio.run(drop_pg_database(url))


def _first_start_killed_at_each_ddl(tmp: Path, make_url: Callable[[str], str | None], cli_url: bool) -> None:
    """A first start killed in the middle of creating the schema must not leave an unusable home."""
    control_url = make_url("control")
    proc, log = _start_writer(tmp, tmp / "control", control_url, 0, 1, iterations=1, die_at_ddl=10**6)
    proc.wait(120)
    assert proc.returncode == 0, _stderr(log)
    ddl = [line for line in _lines(log) if line.startswith("ddl ")]
    assert len(ddl) >= 2, ddl
    for n in sorted({1, len(ddl) // 2, len(ddl)}):  # the first, a middle and the last statement
        home = tmp / f"home-{n}"
        url = make_url(f"ddl{n}")
        proc, log = _start_writer(tmp, home, url, 0, n, iterations=1, die_at_ddl=n)
        proc.wait(120)
        assert proc.returncode == -signal.SIGKILL, f"the writer did not die at DDL statement {n}"
        assert _lines(log)[-1].startswith(f"ddl {n} "), _lines(log)[-3:]
        # The next start must finish the schema and work normally.
        proc, log = _start_writer(tmp, home, url, 1, n, iterations=5)
        proc.wait(120)
        assert proc.returncode == 0, (
            f"after a kill at DDL statement {n} ({ddl[n - 1]}), the next start fails:\n" + _stderr(log)
        )
        db_url = url or f"sqlite+aiosqlite:///{(home / 'chestnut.db').resolve()}"
        _check_units(db_url, {})
        _cli_verify(home, url if cli_url else None, tmp)


def test_sigkill_during_first_migration_sqlite(tmp_path: Path) -> None:
    _first_start_killed_at_each_ddl(tmp_path, lambda _name: None, cli_url=False)


def test_sigkill_during_first_migration_postgresql(tmp_path: Path) -> None:
    require_postgres()
    urls: list[str] = []

    def make(_name: str) -> str:
        urls.append(asyncio.run(create_pg_database()))
        return urls[-1]

    try:
        _first_start_killed_at_each_ddl(tmp_path, make, cli_url=True)
    finally:
        for url in urls:
            asyncio.run(drop_pg_database(url))


def test_sigkill_while_writing_the_master_key(tmp_path: Path) -> None:
    """A crash while the master key file is written (first start, or rotation) must not brick the home."""
    home = tmp_path / "home"
    db_url = f"sqlite+aiosqlite:///{(home / 'chestnut.db').resolve()}"

    def run(rnd: int, **kw: int) -> tuple[int, list[str], str]:
        proc, log = _start_writer(tmp_path, home, None, rnd, rnd, **kw)
        proc.wait(120)
        return proc.returncode, _lines(log), _stderr(log)

    # 1. The very first start dies as it writes the new master key.
    code, lines, _ = run(0, iterations=1, die_at_key_write=1)
    assert code == -signal.SIGKILL and lines[-1] == "dying in write_master_key", lines[-3:]
    code, lines, err = run(1, iterations=5)
    assert code == 0, f"after a crash while creating the master key, the next start fails:\n{err[-1500:]}"
    size = _check_units(db_url, {})

    # 2. A master-key rotation dies as it writes the new key (master.key.new).
    code, lines, _ = run(2, rotate=1, die_at_key_write=1)
    assert code == -signal.SIGKILL and lines[-1] == "dying in write_master_key", lines[-3:]
    code, lines, err = run(3, iterations=5)
    assert code == 0, f"after a crash while rotating the master key, the next start fails:\n{err[-1500:]}"
    # the members' existing keys still open and sign: the ledger grew and verifies
    assert _check_units(db_url, {}) > size
    _cli_verify(home, None, tmp_path)

    # 3. And a rotation that is not interrupted still works afterwards.
    code, lines, err = run(4, rotate=1)
    assert code == 0 and lines[-1].startswith("rotated "), err[-1500:]
    code, lines, err = run(5, iterations=3)
    assert code == 0, err[-1500:]
    _cli_verify(home, None, tmp_path)
    # No half-done rotation is left (a crashed writer may leave only its own unused ".*.tmp" file).
    left = sorted(p.name for p in home.iterdir() if "master" in p.name and not p.name.endswith(".tmp"))
    assert left == ["master.key"], left
    assert (home / "master.key").stat().st_mode & 0o077 == 0
