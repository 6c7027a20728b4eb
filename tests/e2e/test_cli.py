"""The ``chestnut`` command line as a user runs it: subprocesses on a fresh CHESTNUT_HOME.

A receipt from ``chestnut ledger proof SEQ`` is checked against ``chestnut ledger key`` and the entry
bytes from ``chestnut ledger show SEQ --raw`` by an independent verifier written here from RFC 9162
§2.1.3 and the C2SP signed-note / tlog-checkpoint / tlog-proof texts only (it imports nothing from
``ledger``); tampered receipts fail it. ``ledger verify`` catches a flipped byte and names the entry;
refusals (a seq past the end, a second benchmark on a used home, a world-readable master key) exit 2
with one readable line and no traceback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from chestnut.bootstrap import build
from chestnut.settings import Settings
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request

ROOT = Path(__file__).resolve().parents[2]
CHESTNUT = ROOT / ".venv" / "bin" / "chestnut"


# ------------------------------------------------------------ independent receipt verifier (C2SP)


class Invalid(Exception):
    """The receipt does not prove what it claims."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise Invalid(f"bad base64: {text[:20]!r}") from exc


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes


def parse_verifier_key(vkey: str) -> VerifierKey:
    """C2SP signed-note: ``<name>+<hex key ID>+<base64(0x01 || 32-byte Ed25519 key)>``."""
    parts = vkey.strip().split("+", 2)  # the name has no '+'; the base64 may
    if len(parts) != 3:
        raise Invalid("a verifier key has three '+'-separated parts")
    name, key_id_hex, data_b64 = parts
    data = _b64(data_b64)
    if len(data) != 33 or data[0] != 0x01:
        raise Invalid("not an Ed25519 verifier key (alg 0x01, 32 bytes)")
    key_id = bytes.fromhex(key_id_hex)
    if len(key_id_hex) != 8 or key_id != _sha256(name.encode() + b"\x0a" + data)[:4]:
        raise Invalid("the key ID is not SHA256(name || 0x0A || 0x01 || key)[:4]")
    return VerifierKey(name, key_id, data[1:])


def open_signed_note(note: str, key: VerifierKey) -> str:
    """The note's text if a signature line by ``key`` (name and key ID) verifies over it."""
    if not note.endswith("\n"):
        raise Invalid("a note ends with a newline")
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise Invalid("a note has a blank line before its signatures")
    text += "\n"
    verified = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Invalid(f"not a signature line: {line[:40]!r}")
        name, _, sig_b64 = line[2:].rpartition(" ")
        sig = _b64(sig_b64)
        if name != key.name or sig[:4] != key.key_id:
            continue  # a signature by a key we do not know: ignored
        try:
            VerifyKey(key.public_key).verify(text.encode("utf-8"), sig[4:])
        except BadSignatureError:
            raise Invalid("the log's signature does not verify") from None
        verified = True
    if not verified:
        raise Invalid("no signature by the log key")
    return text


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def inclusion_ok(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_receipt(receipt: str, entry: bytes, vkey: str, origin: str) -> tuple[int, int]:
    """c2sp.org/tlog-proof@v1 → (index, checkpoint size), or ``Invalid``."""
    key = parse_verifier_key(vkey)
    head, sep, note = receipt.partition("\n\n")
    if not sep:
        raise Invalid("no blank line between the proof and the checkpoint")
    lines = head.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise Invalid("not a tlog-proof@v1")
    at = 1
    if at < len(lines) and lines[at].startswith("extra "):
        at += 1
    if at >= len(lines) or not lines[at].startswith("index ") or not lines[at][6:].isdigit():
        raise Invalid("no index line")
    index = int(lines[at][6:])
    path = [_b64(h) for h in lines[at + 1 :]]
    if any(len(h) != 32 for h in path):
        raise Invalid("a proof hash is not 32 bytes")
    text = open_signed_note(note, key)
    cp_lines = text[:-1].split("\n")
    if len(cp_lines) < 3 or not cp_lines[1].isdigit():
        raise Invalid("not a checkpoint")
    cp_origin, size, root = cp_lines[0], int(cp_lines[1]), _b64(cp_lines[2])
    if cp_origin != origin or key.name != origin:
        raise Invalid(f"checkpoint for {cp_origin!r}, expected {origin!r}")
    if not inclusion_ok(_sha256(b"\x00" + entry), index, size, path, root):
        raise Invalid("the entry is not included at that index under the signed root")
    return index, size


# --------------------------------------------------------------------------------------- helpers


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(home: Path, *args: str, timeout: float = 120) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update(CHESTNUT_HOME=str(home), CHESTNUT_LOG_LEVEL="WARNING")
    proc = subprocess.run(
        [str(CHESTNUT), *args], capture_output=True, text=True, env=env, cwd=home.parent, timeout=timeout
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _no_traceback(r: Result) -> None:
    assert "Traceback" not in r.out + r.err, r.out + r.err


ORIGIN = Settings(environment="test").ledger_origin
PAYMENTS = 50


def _populate(home: Path) -> int:
    async def go() -> int:
        app = await build(Settings(home=home, environment="test"))
        try:
            async with app.db.unit_of_work() as uow:
                requests = []
                for i in range(5):
                    key = await app.keys.create(uow, f"member:c{i}")
                    requests += [
                        Request(
                            f"member:c{i}",
                            "member.join",
                            accounts=[AccountSpec(f"wallet:c{i}:btl", "BTL", key.public_key)],
                        ),
                        Request(
                            "system:operator",
                            "cash.topup",
                            transfers=[Transfer(f"mint-{i}", "reserve:cash", f"wallet:c{i}:btl", 100_000, "BTL")],
                        ),
                    ]
                await app.ledger.record_many(uow, requests)
                await app.ledger.publish_checkpoint(uow)
                for n in range(PAYMENTS):
                    await app.ledger.record(
                        uow,
                        Request(
                            f"member:c{n % 5}",
                            "test.pay",
                            body={"memo": "사과 한 상자"},
                            transfers=[
                                Transfer(f"p-{n}", f"wallet:c{n % 5}:btl", f"wallet:c{(n + 1) % 5}:btl", 10 + n, "BTL")
                            ],
                        ),
                    )
                    if n == 20:
                        await app.ledger.publish_checkpoint(uow)
                await uow.commit()
                return (await app.ledger.head(uow)).size
        finally:
            await app.close()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A fresh home with 60-odd entries and two checkpoints, none yet over the last 29 entries."""
    path = tmp_path_factory.mktemp("cli") / "home"
    size = _populate(path)  # bootstrap itself records a few entries before ours
    assert size > PAYMENTS
    return path, size


@pytest.fixture(scope="module")
def home(built: tuple[Path, int]) -> Path:
    return built[0]


@pytest.fixture(scope="module")
def size(built: tuple[Path, int]) -> int:
    return built[1]


@pytest.fixture
def home_copy(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(home, target)  # copy2 keeps master.key's 0600 mode
    return target


# ---------------------------------------------------------------------------------------- receipts


def test_receipts_verify_independently(home: Path, size: int) -> None:
    vkey = cli(home, "ledger", "key")
    assert vkey.code == 0, vkey.err
    assert vkey.out.count("\n") == 1 and vkey.out.startswith(ORIGIN + "+")
    for seq in (0, size - 30, size - 1):  # the last needs a new checkpoint, which `proof` publishes
        receipt = cli(home, "ledger", "proof", str(seq))
        assert receipt.code == 0, receipt.err
        assert receipt.out.startswith("c2sp.org/tlog-proof@v1\n")
        raw = cli(home, "ledger", "show", str(seq), "--raw")
        assert raw.code == 0, raw.err
        entry = base64.b64decode(raw.out.strip(), validate=True)
        index, cp_size = verify_receipt(receipt.out, entry, vkey.out, ORIGIN)
        assert index == seq and cp_size > seq
        if seq == 0:
            shown = cli(home, "ledger", "show", str(seq))
            assert shown.code == 0 and json.loads(shown.out)["seq"] == seq
            assert json.loads(shown.out)["signed"] == json.loads(entry)["signed"]
    # `proof` of the last entry published the checkpoint over the whole ledger.
    cp = cli(home, "ledger", "checkpoint")
    assert cp.code == 0 and cp.out.split("\n")[1] == str(size)
    open_signed_note(cp.out, parse_verifier_key(vkey.out))


def _tampered_receipts(receipt: str, other_entry_seq: int) -> dict[str, str]:
    head, _, note = receipt.partition("\n\n")
    lines = head.split("\n")
    index_at = next(i for i, line in enumerate(lines) if line.startswith("index "))
    index = int(lines[index_at][6:])
    first_hash = _b64(lines[index_at + 1])
    text, _, sigs = note.rpartition("\n\n")
    origin, size, root = text.split("\n")[:3]
    name, _, sig_b64 = sigs.rstrip("\n")[2:].rpartition(" ")
    sig = bytearray(_b64(sig_b64))
    sig[20] ^= 0x80

    def with_lines(new_lines: list[str], new_note: str = note) -> str:
        return "\n".join(new_lines) + "\n\n" + new_note

    swapped = list(lines)
    swapped[index_at + 1], swapped[index_at + 2] = swapped[index_at + 2], swapped[index_at + 1]
    return {
        "index": with_lines([*lines[:index_at], f"index {other_entry_seq}", *lines[index_at + 1 :]]),
        "index+1": with_lines([*lines[:index_at], f"index {index + 1}", *lines[index_at + 1 :]]),
        "hash bit": with_lines(
            [
                *lines[: index_at + 1],
                base64.b64encode(first_hash[:-1] + bytes([first_hash[-1] ^ 1])).decode(),
                *lines[index_at + 2 :],
            ]
        ),
        "hash dropped": with_lines(lines[:-1]),
        "hashes swapped": with_lines(swapped),
        "checkpoint size": with_lines(lines, note.replace(f"\n{size}\n", f"\n{int(size) + 1}\n", 1)),
        "checkpoint root": with_lines(lines, note.replace(root, base64.b64encode(_sha256(root.encode())).decode(), 1)),
        "signature bit": with_lines(lines, f"{text}\n\n\u2014 {name} {base64.b64encode(bytes(sig)).decode()}\n"),
        "signer name": with_lines(lines, note.replace(f"\u2014 {name} ", "\u2014 someone.else/log ", 1)),
        "no signature": with_lines(lines, text + "\n\n"),
        "origin": with_lines(lines, note.replace(origin + "\n", "evil.example/ledger\n", 1)),
    }


@dataclass
class Receipt13:
    vkey: str
    receipt: str
    entry: bytes
    next_entry: bytes


@pytest.fixture(scope="module")
def receipt13(home: Path, size: int) -> Receipt13:
    assert cli(home, "ledger", "checkpoint", "--publish").code == 0
    return Receipt13(
        cli(home, "ledger", "key").out,
        cli(home, "ledger", "proof", "13").out,
        base64.b64decode(cli(home, "ledger", "show", "13", "--raw").out.strip()),
        base64.b64decode(cli(home, "ledger", "show", "14", "--raw").out.strip()),
    )


@pytest.mark.parametrize(
    "change",
    [
        "index",
        "index+1",
        "hash bit",
        "hash dropped",
        "hashes swapped",
        "checkpoint size",
        "checkpoint root",
        "signature bit",
        "signer name",
        "no signature",
        "origin",
        "other entry",
        "wrong key",
    ],
)
def test_a_tampered_receipt_fails_the_verifier(receipt13: Receipt13, size: int, change: str) -> None:
    r = receipt13
    assert verify_receipt(r.receipt, r.entry, r.vkey, ORIGIN) == (13, size)  # the untouched one passes
    if change == "other entry":
        with pytest.raises(Invalid):
            verify_receipt(r.receipt, r.next_entry, r.vkey, ORIGIN)
        return
    if change == "wrong key":
        name, key_id, data = r.vkey.strip().split("+", 2)
        other_pub = _sha256(b"another key")
        data2 = base64.b64encode(b"\x01" + other_pub).decode()
        for bad in (f"{name}+{key_id}+{data2}", f"{name}+{_sha256(b'x')[:4].hex()}+{data}"):
            with pytest.raises(Invalid):
                verify_receipt(r.receipt, r.entry, bad, ORIGIN)
        return
    tampered = _tampered_receipts(r.receipt, 15)[change]
    assert tampered != r.receipt
    with pytest.raises(Invalid):
        verify_receipt(tampered, r.entry, r.vkey, ORIGIN)


def test_proof_past_the_end_is_one_line_exit_2(home: Path, size: int) -> None:
    for args in (["ledger", "proof", str(size)], ["ledger", "proof", "99999999999"], ["ledger", "show", str(size + 5)]):
        r = cli(home, *args)
        assert r.code == 2, (args, r)
        _no_traceback(r)
        assert r.out == ""
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and f"entry {args[-1]}" in lines[0], r.err
    r = cli(home, "ledger", "proof", "-3")
    assert r.code == 2 and "Traceback" not in r.err  # click's own usage error


# ------------------------------------------------------------------------------------------- verify


def test_verify_passes_then_names_a_flipped_entry(home_copy: Path, size: int) -> None:
    ok = cli(home_copy, "ledger", "verify")
    assert ok.code == 0, ok.out + ok.err
    assert ok.out.startswith("ok: ")
    report = json.loads(cli(home_copy, "ledger", "verify", "--json").out)
    assert report["ok"] is True and report["first_bad_seq"] is None and report["size"] >= size

    seq = 27
    conn = sqlite3.connect(home_copy / "chestnut.db")
    try:
        (entry,) = conn.execute("SELECT entry FROM ledger_entries WHERE seq = ?", (seq,)).fetchone()
        flipped = bytearray(entry)
        flipped[len(flipped) // 2] ^= 0x04
        conn.execute("UPDATE ledger_entries SET entry = ? WHERE seq = ?", (bytes(flipped), seq))
        conn.commit()
    finally:
        conn.close()

    bad = cli(home_copy, "ledger", "verify")
    assert bad.code == 1, bad.out + bad.err
    _no_traceback(bad)
    assert bad.out.startswith(f"FAILED at entry {seq}:"), bad.out
    bad_json = cli(home_copy, "ledger", "verify", "--json")
    assert bad_json.code == 1
    report = json.loads(bad_json.out)
    assert report["ok"] is False and report["first_bad_seq"] == seq and report["problem"]


# -------------------------------------------------------------------------------------------- bench


def test_bench_on_a_fresh_home_then_refused_on_a_used_one(tmp_path: Path) -> None:
    fresh = tmp_path / "bench-home"
    r = cli(fresh, "bench", "ledger", "--entries", "300", "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    for key in ("batch_entries_per_s", "single_commits_per_s", "verify_entries_per_s", "ceiling_entries_per_s"):
        assert isinstance(result[key], int) and result[key] > 0, (key, result)
    assert result["verify_ok"] is True
    assert result["entries"] == 300

    again = cli(fresh, "bench", "ledger", "--entries", "300", "--json")
    assert again.code == 2
    _no_traceback(again)
    refusal = json.loads(again.out)
    assert refusal["error"] == "ledger_not_empty" and "empty" in refusal["message"], refusal
    plain = cli(fresh, "bench", "ledger", "--entries", "300")
    assert plain.code == 2 and plain.out == ""
    assert plain.err.count("\n") == 1 and "empty" in plain.err, plain.err
    # The refused run wrote nothing: the ledger still verifies at the size the first run left.
    report = json.loads(cli(fresh, "ledger", "verify", "--json").out)
    assert report["ok"] is True and report["size"] == result["verified_entries"]


# ----------------------------------------------------------------------------------- master key


COMMANDS = [
    ["ledger", "verify"],
    ["ledger", "verify", "--json"],
    ["ledger", "key"],
    ["ledger", "checkpoint"],
    ["ledger", "checkpoint", "--publish"],
    ["ledger", "proof", "3"],
    ["ledger", "show", "3"],
    ["keys", "rotate-master"],
    ["bench", "ledger", "--entries", "100"],
    ["serve", "--port", "1"],
]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=oct)
def test_a_readable_master_key_is_refused_by_every_command(home_copy: Path, mode: int) -> None:
    key_file = home_copy / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    before = key_file.read_bytes()
    key_file.chmod(mode)
    commands = COMMANDS if mode == 0o644 else COMMANDS[2:3]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda args: cli(home_copy, *args, timeout=30), commands))
    for args, r in zip(commands, results, strict=True):
        assert r.code == 2, (args, r)
        _no_traceback(r)
        said = r.out if "--json" in args else r.err
        if "--json" in args:
            assert json.loads(said)["error"] == "insecure_key_file"
        else:
            assert said.count("\n") == 1, said
        assert "master key file" in said and "chmod 600" in said, said
    assert key_file.read_bytes() == before, "a refusing command touched the key file"
    key_file.chmod(0o600)
    assert cli(home_copy, "ledger", "verify").code == 0, "the advertised remedy works"


def test_db_upgrade_makes_a_fresh_database_as_serve_would_and_runs_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = cli(home, "db", "upgrade")
    _no_traceback(first)
    assert first.code == 0, first.err
    conn = sqlite3.connect(home / "chestnut.db")
    try:
        assert conn.execute("PRAGMA page_size").fetchone() == (1024,)
        assert conn.execute("SELECT COUNT(*) FROM alembic_version").fetchone()[0] >= 1
    finally:
        conn.close()
    again = cli(home, "db", "upgrade")
    assert again.code == 0 and "database is at head" in again.out, again.err
