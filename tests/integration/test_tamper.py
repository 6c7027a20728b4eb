"""Tampering with the stored ledger is caught, and the report names the right entry.

A ledger of ~300 entries (payments, mints, escrow pending/post/void, operator countersignatures) with
checkpoints is built once per backend. Then, on SQLite, 100 rounds each restore a pristine copy of the
database file, flip one random bit of one random stored entry (half the rounds also recompute that
row's ``leaf_hash`` column, as an attacker would) and run ``verify_ledger``: it must fail with
``first_bad_seq`` = the flipped entry. Also: a deleted entry (gap), two swapped rows, a changed
balance, changed checkpoint rows and notes, an entry re-encoded without changing what it says, and a
recomputed-but-unsigned forgery (an amount changed and every later hash, link, tree node and the head
recomputed) which must fail on the signature of that very entry. A subset runs on PostgreSQL, where
each round restores the original bytes with an UPDATE.

Tampering is done with plain SQL (``sqlite3`` / the database handle), and the chain rewriting with
hashlib only: nothing from ``ledger`` computes what the attacker writes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chestnut.bootstrap import build
from chestnut.settings import Settings
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.storage.backends import open_database
from ledger.storage.unit_of_work import Database
from ledger.verify import VerifyReport, verify_ledger
from tests.conftest import create_pg_database, drop_pg_database, require_postgres

pytestmark = pytest.mark.slow

ORIGIN = Settings(environment="test").ledger_origin
MEMBERS = 12


def wallet(i: int) -> str:
    return f"wallet:t{i}:btl"


async def _populate(settings: Settings) -> None:
    """~300 entries of every shape, with a checkpoint in the middle and one at the end."""
    rng = random.Random(5)
    app = await build(settings)
    try:
        async with app.db.unit_of_work() as uow:
            requests = []
            for i in range(MEMBERS):
                key = await app.keys.create(uow, f"member:t{i}")
                requests.append(
                    Request(f"member:t{i}", "member.join", accounts=[AccountSpec(wallet(i), "BTL", key.public_key)])
                )
                requests.append(
                    Request(
                        "system:operator",
                        "cash.topup",
                        body={"office": "tamper"},
                        transfers=[Transfer(f"mint-{i}", "reserve:cash", wallet(i), 50_000 + i, "BTL")],
                    )
                )
            requests.append(
                Request(
                    "system:operator",
                    "escrow.open",
                    accounts=[AccountSpec(f"escrow:order:{n}", "BTL") for n in range(6)],
                )
            )
            await app.ledger.record_many(uow, requests)
            await uow.commit()
        n = 0
        for batch in range(5):
            async with app.db.unit_of_work() as uow:
                requests = []
                for _ in range(50):
                    payer = rng.randrange(MEMBERS)
                    payee = (payer + 1 + rng.randrange(MEMBERS - 1)) % MEMBERS
                    requests.append(
                        Request(
                            f"member:t{payer}",
                            "test.pay",
                            body={"memo": f"payment {n}", "주문": "사과 1상자"},
                            transfers=[Transfer(f"p-{n}", wallet(payer), wallet(payee), 1 + rng.randrange(900), "BTL")],
                            countersign=n % 7 == 0,  # some entries carry the operator's cosig
                        )
                    )
                    n += 1
                await app.ledger.record_many(uow, requests)
                if batch == 2:
                    await app.ledger.publish_checkpoint(uow)
                await uow.commit()
        # Escrow: three orders paid into escrow (pending), two settled (post), one refunded (void).
        async with app.db.unit_of_work() as uow:
            for order in range(3):
                await app.ledger.record(
                    uow,
                    Request(
                        f"member:t{order}",
                        "order.pay",
                        body={"order": order},
                        transfers=[
                            Transfer(
                                f"esc-{order}", wallet(order), f"escrow:order:{order}", 3000, "BTL", type="pending"
                            )
                        ],
                    ),
                )
            for order, kind in ((0, "post"), (1, "post"), (2, "void")):
                await app.ledger.record(
                    uow,
                    Request(
                        "system:operator",
                        f"order.{kind}",
                        transfers=[
                            Transfer(
                                f"esc-{order}-{kind}",
                                wallet(order),
                                f"escrow:order:{order}",
                                3000 if kind == "void" else 2500,
                                "BTL",
                                type=kind,
                                pending_id=f"esc-{order}",
                            )
                        ],
                    ),
                )
            await app.ledger.publish_checkpoint(uow)
            await uow.commit()
    finally:
        await app.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed SQLite database file holding the built ledger; tests only ever touch copies of it."""
    home = tmp_path_factory.mktemp("tamper") / "home"
    settings = Settings(home=home, environment="test")
    asyncio.run(_populate(settings))
    db = home / "chestnut.db"
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    return db


@pytest.fixture
def work_copy(pristine: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "work.db"
    shutil.copyfile(pristine, target)
    yield target


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _verify(url: str, workers: int = 0) -> VerifyReport:
    db = await open_database(url)
    try:
        return await verify_ledger(db, ORIGIN, workers=workers)
    finally:
        await db.close()


def _sql(path: Path, statements: list[tuple[str, dict[str, Any]]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _rows(path: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(path)
    try:
        return [(int(s), bytes(e)) for s, e in conn.execute("SELECT seq, entry FROM ledger_entries ORDER BY seq")]
    finally:
        conn.close()


def _flip(entry: bytes, rng: random.Random) -> tuple[bytes, int]:
    pos = rng.randrange(len(entry))
    data = bytearray(entry)
    data[pos] ^= 1 << rng.randrange(8)
    return bytes(data), pos


def _leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


# ------------------------------------------------------------------------------------ the baseline


async def test_pristine_copy_verifies(work_copy: Path) -> None:
    report = await _verify(_url(work_copy), workers=2)
    assert report.ok, report.problem
    assert report.size >= 250 and report.checkpoints == 3
    entries = [json.loads(e) for _, e in _rows(work_copy)]
    assert any("cosig" in e for e in entries), "the fixture should contain countersigned entries"
    assert {t["type"] for e in entries for t in e["signed"]["transfers"]} == {"single", "pending", "post", "void"}


# ------------------------------------------------------------------------------- 100 random flips


async def test_hundred_random_bit_flips_each_caught_at_that_entry(pristine: Path, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    rows = _rows(pristine)
    work = tmp_path / "work.db"
    for round_no in range(100):
        shutil.copyfile(pristine, work)
        seq = rng.randrange(len(rows))
        tampered, pos = _flip(rows[seq][1], rng)
        statements = [("UPDATE ledger_entries SET entry = :x WHERE seq = :s", {"x": tampered, "s": seq})]
        recompute = round_no % 2 == 1
        if recompute:  # a more careful attacker keeps the derived leaf_hash column consistent
            statements.append(
                ("UPDATE ledger_entries SET leaf_hash = :h WHERE seq = :s", {"h": _leaf(tampered), "s": seq})
            )
        _sql(work, statements)
        report = await _verify(_url(work), workers=2 if round_no % 25 == 0 else 0)
        where = f"round {round_no} (seed {seed}): entry {seq} byte {pos} {'+leaf' if recompute else ''}"
        assert not report.ok, f"{where}: a flipped entry verified"
        assert report.first_bad_seq == seq, f"{where}: reported {report.first_bad_seq}: {report.problem}"
        assert report.problem


async def test_reencoded_entry_is_caught_at_that_entry(work_copy: Path) -> None:
    """Same fields, other bytes: base64 with non-zero padding bits decodes to the same signature.

    Every signature still verifies and every field still reads the same, but the entry's bytes (so its
    leaf hash, so every proof) changed. With the chain relinked after it and the checkpoints that
    cover it dropped, nothing else gives it away: the verifier must insist on the one canonical
    encoding, and name this entry.
    """
    rows = _rows(work_copy)
    seq = 42
    entry = rows[seq][1]
    sig = json.loads(entry)["sig"]
    assert sig.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(sig[-3])
    twin = sig[:-3] + alphabet[last ^ 1] + "=="  # flips one of the 4 unused bits
    assert base64.b64decode(twin) == base64.b64decode(sig) and twin != sig
    tampered = entry.replace(f'"sig":"{sig}"'.encode(), f'"sig":"{twin}"'.encode())
    assert tampered != entry
    _sql(work_copy, _rewrite_statements(rows, seq, tampered))
    report = await _verify(_url(work_copy))
    assert not report.ok, "a re-encoded entry (and its relinked chain) verified"
    assert report.first_bad_seq == seq, (report.first_bad_seq, report.problem)


# ---------------------------------------------------------------------------- gaps, swaps, tables


@pytest.mark.parametrize("where", ["first", "middle", "last"])
async def test_deleted_entry_is_named(work_copy: Path, where: str) -> None:
    size = len(_rows(work_copy))
    seq = {"first": 0, "middle": size // 2, "last": size - 1}[where]
    _sql(work_copy, [("DELETE FROM ledger_entries WHERE seq = :s", {"s": seq})])
    report = await _verify(_url(work_copy))
    assert not report.ok
    assert report.first_bad_seq == seq, report.problem
    assert str(seq) in (report.problem or ""), report.problem


@pytest.mark.parametrize("whole_row", [False, True])
async def test_swapped_entries_fail_at_the_lower_seq(work_copy: Path, whole_row: bool) -> None:
    """Swap the entry bytes (or whole rows with their hashes and nodes) of two seqs."""
    a, b = 100, 237
    columns = "entry, leaf_hash, kind, actor, nodes" if whole_row else "entry"
    conn = sqlite3.connect(work_copy)
    try:
        ra = conn.execute(f"SELECT {columns} FROM ledger_entries WHERE seq = ?", (a,)).fetchone()
        rb = conn.execute(f"SELECT {columns} FROM ledger_entries WHERE seq = ?", (b,)).fetchone()
    finally:
        conn.close()
    names = [c.strip() for c in columns.split(",")]
    sets = ", ".join(f"{n} = :{n}" for n in names)
    _sql(
        work_copy,
        [
            (f"UPDATE ledger_entries SET {sets} WHERE seq = :s", {**dict(zip(names, rb, strict=True)), "s": a}),
            (f"UPDATE ledger_entries SET {sets} WHERE seq = :s", {**dict(zip(names, ra, strict=True)), "s": b}),
        ],
    )
    report = await _verify(_url(work_copy))
    assert not report.ok
    assert report.first_bad_seq == a, report.problem


async def test_changed_balance_is_caught(work_copy: Path) -> None:
    _sql(
        work_copy,
        [("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = :id", {"id": wallet(3)})],
    )
    report = await _verify(_url(work_copy))
    assert not report.ok
    assert wallet(3) in (report.problem or ""), report.problem


async def test_changed_transfer_row_is_caught(work_copy: Path) -> None:
    _sql(work_copy, [("UPDATE ledger_transfers SET amount = amount + 1 WHERE id = 'p-17'", {})])
    report = await _verify(_url(work_copy))
    assert not report.ok
    assert "p-17" in (report.problem or ""), report.problem


# ----------------------------------------------------------------------------------- checkpoints


def _checkpoints(path: Path) -> list[tuple[int, bytes, str]]:
    conn = sqlite3.connect(path)
    try:
        return [
            (int(s), bytes(r), n)
            for s, r, n in conn.execute("SELECT size, root, note FROM ledger_checkpoints ORDER BY size")
        ]
    finally:
        conn.close()


async def test_changed_checkpoint_root_is_caught(work_copy: Path) -> None:
    size, root, _note = _checkpoints(work_copy)[1]
    _sql(
        work_copy,
        [("UPDATE ledger_checkpoints SET root = :r WHERE size = :s", {"r": hashlib.sha256(root).digest(), "s": size})],
    )
    report = await _verify(_url(work_copy))
    assert not report.ok
    assert report.first_bad_seq == size - 1 and "root" in (report.problem or ""), report.problem


def _note_variants(note: str, other_root: bytes) -> dict[str, str]:
    text, _, sigs = note.rpartition("\n\n")
    origin, size, root = text.split("\n")
    line = sigs.rstrip("\n")
    name_part, _, b64sig = line.rpartition(" ")
    raw = bytearray(base64.b64decode(b64sig))
    raw[10] ^= 0x01  # inside the Ed25519 signature (after the 4-byte key id)
    return {
        "signature bit": f"{text}\n\n{name_part} {base64.b64encode(bytes(raw)).decode()}\n",
        "root line": f"{origin}\n{size}\n{base64.b64encode(other_root).decode()}\n\n{sigs}",
        "size line": f"{origin}\n{int(size) + 1}\n{root}\n\n{sigs}",
        "origin line": f"evil.example/ledger\n{size}\n{root}\n\n{sigs}",
        "no signature": f"{text}\n\n",
    }


@pytest.mark.parametrize("change", ["signature bit", "root line", "size line", "origin line", "no signature"])
async def test_changed_checkpoint_note_is_caught(work_copy: Path, change: str) -> None:
    checkpoints = _checkpoints(work_copy)
    size, _root, note = checkpoints[1]
    other_root = checkpoints[2][1]
    tampered = _note_variants(note, other_root)[change]
    assert tampered != note
    _sql(work_copy, [("UPDATE ledger_checkpoints SET note = :n WHERE size = :s", {"n": tampered, "s": size})])
    report = await _verify(_url(work_copy))
    assert not report.ok, change
    assert report.first_bad_seq == size - 1, report.problem


async def test_checkpoint_beyond_the_ledger_is_caught(work_copy: Path) -> None:
    size, root, note = _checkpoints(work_copy)[-1]
    _sql(
        work_copy,
        [
            (
                "INSERT INTO ledger_checkpoints (size, root, note, created_ms) VALUES (:s, :r, :n, 0)",
                {"s": size + 5, "r": root, "n": note},
            )
        ],
    )
    report = await _verify(_url(work_copy))
    assert not report.ok
    assert "beyond" in (report.problem or ""), report.problem


# ------------------------------------------------------------------------- a recomputed forgery


def _rechain(entries: list[bytes]) -> tuple[list[tuple[bytes, bytes, bytes]], bytes, bytes]:
    """Relink and rehash a whole chain from its entries (RFC 9162 leaves, incremental tree).

    Returns per entry (entry bytes with prev rewritten, leaf hash, completed nodes), the last leaf hash
    and the frontier (perfect-subtree roots, largest first), exactly what the tables hold.
    """
    out = []
    prev = b"\x00" * 32
    stack: list[bytes] = []
    for position, entry in enumerate(entries):
        relinked, count = re.subn(
            rb'"prev":"[A-Za-z0-9+/=]{44}"', b'"prev":"' + base64.b64encode(prev) + b'"', entry, count=1
        )
        assert count == 1
        leaf = _leaf(relinked)
        h, s, completed = leaf, position, []
        while s & 1:
            h = hashlib.sha256(b"\x01" + stack.pop() + h).digest()
            completed.append(h)
            s >>= 1
        stack.append(h)
        out.append((relinked, leaf, b"".join(completed)))
        prev = leaf
    return out, prev, b"".join(stack)


def _rewrite_statements(rows: list[tuple[int, bytes]], seq: int, new_entry: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Put ``new_entry`` at ``seq`` and make every derived value agree again: later prev links, leaf
    hashes, tree nodes and the head. Checkpoints covering it cannot be re-signed without the ledger
    key, so they are dropped."""
    entries = [e for _, e in rows]
    entries[seq] = new_entry
    chain, last, frontier = _rechain(entries)
    assert chain[seq - 1][0] == rows[seq - 1][1], "entries before the rewrite must stay as they are"
    statements: list[tuple[str, dict[str, Any]]] = [
        (
            "UPDATE ledger_entries SET entry = :e, leaf_hash = :h, nodes = :n WHERE seq = :s",
            {"e": e, "h": h, "n": n, "s": s},
        )
        for s, (e, h, n) in enumerate(chain)
        if s >= seq
    ]
    statements.append(("UPDATE ledger_head SET last_hash = :h, frontier = :f WHERE id = 1", {"h": last, "f": frontier}))
    statements.append(("DELETE FROM ledger_checkpoints WHERE size > :s", {"s": seq}))
    return statements


def _forge_statements(rows: list[tuple[int, bytes]], seq: int) -> list[tuple[str, dict[str, Any]]]:
    """Raise the amount of entry ``seq``'s transfer by one, and recompute everything after it."""
    entry = rows[seq][1]
    amounts = re.findall(rb'"amount":(\d+)', entry)
    assert len(amounts) == 1
    forged = entry.replace(b'"amount":' + amounts[0], b'"amount":' + str(int(amounts[0]) + 1).encode())
    return _rewrite_statements(rows, seq, forged)


async def test_recomputed_unsigned_forgery_fails_on_the_signature(work_copy: Path) -> None:
    rows = _rows(work_copy)
    seq = next(s for s, e in rows[200:] if b'"test.pay"' in e and b'"cosig"' not in e)
    _sql(work_copy, _forge_statements(rows, seq))
    forged = json.loads(_rows(work_copy)[seq][1])
    assert (
        forged["signed"]["transfers"][0]["amount"] == json.loads(rows[seq][1])["signed"]["transfers"][0]["amount"] + 1
    )
    for workers in (0, 2):
        report = await _verify(_url(work_copy), workers=workers)
        assert not report.ok
        assert report.first_bad_seq == seq, report.problem
        assert "signature" in (report.problem or ""), report.problem


# ------------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_ledger(tmp_path: Path) -> Iterator[str]:
    require_postgres()
    url = asyncio.run(create_pg_database())
    try:
        asyncio.run(_populate(Settings(home=tmp_path / "home", database_url=url, environment="test")))
        yield url
    finally:
        asyncio.run(drop_pg_database(url))


async def _pg_exec(db: Database, statements: list[tuple[str, dict[str, Any]]]) -> None:
    async with db.unit_of_work() as uow:
        for sql, params in statements:
            await uow.execute(sql, params)
        await uow.commit()


async def test_postgresql_flips_gap_swap_and_forgery(pg_ledger: str) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    db = await open_database(pg_ledger)
    try:
        async with db.snapshot() as snap:
            rows = [
                (int(s), bytes(e)) for s, e in await snap.fetch("SELECT seq, entry FROM ledger_entries ORDER BY seq")
            ]
            leaves = {int(s): bytes(h) for s, h in await snap.fetch("SELECT seq, leaf_hash FROM ledger_entries")}
        assert (await verify_ledger(db, ORIGIN, workers=0)).ok

        for round_no in range(10):
            seq = rng.randrange(len(rows))
            tampered, pos = _flip(rows[seq][1], rng)
            leaf = _leaf(tampered) if round_no % 2 else leaves[seq]
            await _pg_exec(
                db,
                [
                    (
                        "UPDATE ledger_entries SET entry = :x, leaf_hash = :h WHERE seq = :s",
                        {"x": tampered, "h": leaf, "s": seq},
                    )
                ],
            )
            report = await verify_ledger(db, ORIGIN, workers=0)
            assert not report.ok and report.first_bad_seq == seq, (
                f"round {round_no} (seed {seed}) entry {seq} byte {pos}: {report.first_bad_seq} {report.problem}"
            )
            await _pg_exec(
                db,
                [
                    (
                        "UPDATE ledger_entries SET entry = :x, leaf_hash = :h WHERE seq = :s",
                        {"x": rows[seq][1], "h": leaves[seq], "s": seq},
                    )
                ],
            )
        assert (await verify_ledger(db, ORIGIN, workers=2)).ok, "restoring the bytes restores the ledger"

        # A swap of two entries' bytes fails at the lower seq.
        a, b = 57, 180
        swap = [
            ("UPDATE ledger_entries SET entry = :x WHERE seq = :s", {"x": rows[b][1], "s": a}),
            ("UPDATE ledger_entries SET entry = :x WHERE seq = :s", {"x": rows[a][1], "s": b}),
        ]
        await _pg_exec(db, swap)
        report = await verify_ledger(db, ORIGIN, workers=0)
        assert not report.ok and report.first_bad_seq == a, report.problem
        await _pg_exec(db, [(sql, {"x": rows[s][1], "s": s}) for (sql, _), s in zip(swap, (a, b), strict=True)])

        # A forgery with every hash recomputed fails on the signature (run before the gap, which is final).
        victim = next(s for s, e in rows[150:] if b'"test.pay"' in e and b'"cosig"' not in e)
        await _pg_exec(db, _forge_statements(rows, victim))
        report = await verify_ledger(db, ORIGIN, workers=2)
        assert not report.ok and report.first_bad_seq == victim and "signature" in (report.problem or ""), (
            report.problem
        )

        # A gap (deleted entry) is named; deleting it first makes it the first problem.
        gap = 123
        await _pg_exec(db, [("DELETE FROM ledger_entries WHERE seq = :s", {"s": gap})])
        report = await verify_ledger(db, ORIGIN, workers=0)
        assert not report.ok and report.first_bad_seq == gap and str(gap) in (report.problem or ""), report.problem
    finally:
        await db.close()


# --------------------------------------------------- values of the wrong type (SQLite stores anything)

FIRST_CP = "(SELECT MIN(size) FROM ledger_checkpoints)"
AT_FIRST_CP = -1  # expected first_bad_seq: the last entry the first checkpoint covers
# ledger_entries as a database made before migration 0012_market_keys has it: seq a declared BIGINT key
# (a B-tree of its own beside the rowid), which SQLite lets hold any value.
_AS_BIGINT_KEY = (
    "ALTER TABLE ledger_entries RENAME TO rowid_entries; "
    "CREATE TABLE ledger_entries (seq BIGINT NOT NULL, leaf_hash BLOB NOT NULL, entry BLOB NOT NULL, "
    "kind VARCHAR(64) NOT NULL, actor BLOB NOT NULL, nodes BLOB NOT NULL, PRIMARY KEY (seq)); "
    "INSERT INTO ledger_entries SELECT seq, leaf_hash, entry, kind, actor, nodes FROM rowid_entries; "
    "DROP TABLE rowid_entries; "
)
WRONG_TYPES: list[tuple[str, str, int | None]] = [
    ("entry as text", "UPDATE ledger_entries SET entry = CAST(entry AS TEXT) WHERE seq = 50", 50),
    ("entry empty text", "UPDATE ledger_entries SET entry = '' WHERE seq = 50", 50),
    ("entry a number", "UPDATE ledger_entries SET entry = 12 WHERE seq = 50", 50),
    # seq is the rowid on SQLite, which refuses anything but a whole number (see the test after this one);
    # these two are made on a table rebuilt as an older database had it, with a declared BIGINT key.
    ("seq not a number", _AS_BIGINT_KEY + "UPDATE ledger_entries SET seq = 'x' WHERE seq = 50", 50),
    ("seq a fraction", _AS_BIGINT_KEY + "UPDATE ledger_entries SET seq = 50.5 WHERE seq = 50", 50),
    ("leaf hash as text", "UPDATE ledger_entries SET leaf_hash = 'abc' WHERE seq = 50", 50),
    ("nodes a number", "UPDATE ledger_entries SET nodes = 7 WHERE seq = 51", 51),
    ("actor a number", "UPDATE ledger_entries SET actor = 7 WHERE seq = 50", 50),
    ("no head row", "DELETE FROM ledger_head", None),
    ("head size text", "UPDATE ledger_head SET size = 'abc'", None),
    ("head hash text", "UPDATE ledger_head SET last_hash = 'abc'", None),
    ("account flags text", "UPDATE ledger_accounts SET flags = 'abc' WHERE id = 'wallet:t3:btl'", None),
    ("transfer amount text", "UPDATE ledger_transfers SET amount = 'x' WHERE id = 'p-17'", None),
    ("actor seq text", "UPDATE ledger_actors SET last_seq = 'x' WHERE rowid = 2", None),
    ("checkpoint size text", "UPDATE ledger_checkpoints SET size = 'abc' WHERE size = " + FIRST_CP, None),
    ("checkpoint size zero", "UPDATE ledger_checkpoints SET size = 0 WHERE size = " + FIRST_CP, None),
    ("checkpoint root text", "UPDATE ledger_checkpoints SET root = 'abc' WHERE size = " + FIRST_CP, AT_FIRST_CP),
]


@pytest.mark.parametrize(("sql", "seq"), [(s, q) for _, s, q in WRONG_TYPES], ids=[n for n, _, _ in WRONG_TYPES])
async def test_values_of_the_wrong_type_are_reported_not_crashed_on(work_copy: Path, sql: str, seq: int | None) -> None:
    """SQLite keeps any value in any column: ``verify`` must report such tampering, not die of it."""
    if seq == AT_FIRST_CP:
        seq = _checkpoints(work_copy)[0][0] - 1
    changed = sqlite3.connect(work_copy)
    try:
        *rebuild, tamper = sql.split("; ")
        for statement in rebuild:
            changed.execute(statement)
        assert changed.execute(tamper).rowcount == 1, "the tampering statement changed nothing"
        changed.commit()
    finally:
        changed.close()
    for workers in (0, 2):
        report = await _verify(_url(work_copy), workers=workers)
        assert not report.ok
        assert report.problem
        if seq is not None:
            assert report.first_bad_seq == seq, report.problem
        else:
            assert report.first_bad_seq is None or report.first_bad_seq >= 0, report


@pytest.mark.parametrize("value", ["'x'", "50.5", "NULL"])
async def test_an_entry_seq_that_is_not_a_whole_number_is_refused_by_the_database(work_copy: Path, value: str) -> None:
    """On a database made now, an entry's seq is SQLite's rowid: such a tampering cannot even be written."""
    changed = sqlite3.connect(work_copy)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            changed.execute(f"UPDATE ledger_entries SET seq = {value} WHERE seq = 50")
    finally:
        changed.close()
    report = await _verify(_url(work_copy), workers=0)
    assert report.ok, report.problem
