"""The ledger HTTP API over real HTTP, checked by an independent verifier written here.

The server runs as a subprocess (``chestnut serve`` on a free port, fresh CHESTNUT_HOME with ~1,300
entries, its background checkpoint publisher on a short interval); the junk-input suite also runs
in-process through aiohttp's TestServer around ``make_web_app`` on SQLite and PostgreSQL. Both are
real HTTP over loopback.

The verifier below is written from RFC 9162 §2.1 and the C2SP signed-note / tlog-checkpoint /
tlog-proof texts only — it imports nothing from ``ledger`` — and recomputes every Merkle root from
the entry bytes the API serves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import socket
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from web.app import make_web_app

ROOT = Path(__file__).resolve().parents[2]
CHESTNUT = ROOT / ".venv" / "bin" / "chestnut"
FIRST_CHECKPOINT = 700
MAX_PAGE = 1000

# ---------------------------------------------------------------- independent verifier (RFC 9162, C2SP)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (m == n: empty proof, equal roots; m == 0: empty proof)."""
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof
    if not proof:
        return False
    if m & (m - 1) == 0:
        proof = [old_root, *proof]
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


@dataclass(frozen=True)
class NoteKey:
    name: str
    key_id: bytes
    public_key: bytes


def parse_vkey(vkey: str) -> NoteKey:
    """``name+hex(keyID)+base64(0x01 || pub)``; the key ID must be SHA256(name || 0x0A || 0x01 || pub)[:4]."""
    name, key_id_hex, data_b64 = vkey.strip().split("+", 2)  # the base64 part may contain "+"
    data = base64.b64decode(data_b64, validate=True)
    assert data[0] == 0x01 and len(data) == 33, "not an Ed25519 note key"
    key_id = bytes.fromhex(key_id_hex)
    assert key_id == sha256(name.encode() + b"\n" + data)[:4], "key ID does not match the key"
    return NoteKey(name, key_id, data[1:])


def open_note(note: str, key: NoteKey) -> str:
    """The verified text of a signed note, or AssertionError."""
    text, sep, sigs = note.rpartition("\n\n")
    assert sep and note.endswith("\n"), "no blank line before the signatures"
    text += "\n"
    good = 0
    for line in sigs[:-1].split("\n"):
        assert line.startswith("\u2014 "), f"not a signature line: {line!r}"
        name, _, b64sig = line[2:].rpartition(" ")
        raw = base64.b64decode(b64sig, validate=True)
        if name != key.name or raw[:4] != key.key_id:
            continue  # unknown keys are ignored
        try:
            VerifyKey(key.public_key).verify(text.encode(), raw[4:])
        except BadSignatureError:
            raise AssertionError("a signature by the log key does not verify") from None
        good += 1
    assert good, "no signature by the log key"
    return text


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    origin, size, root = text[:-1].split("\n")[:3]
    assert size.isascii() and size.isdigit()
    root_hash = base64.b64decode(root, validate=True)
    assert len(root_hash) == 32
    return origin, int(size), root_hash


def check_receipt(receipt: str, entry: bytes, key: NoteKey) -> int:
    """c2sp.org/tlog-proof@v1: header, [extra], index, hashes, blank line, the signed checkpoint."""
    head, sep, note = receipt.partition("\n\n")
    assert sep
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    at = 2 if lines[1].startswith("extra ") else 1
    assert lines[at].startswith("index ")
    index = int(lines[at][6:])
    proof = [base64.b64decode(h, validate=True) for h in lines[at + 1 :]]
    origin, size, root = parse_checkpoint(open_note(note, key))
    assert origin == key.name
    assert verify_inclusion(leaf_hash(entry), index, size, proof, root), "receipt's inclusion proof fails"
    return index


# ------------------------------------------------------------------------------------ the server


def _populate(home: Path) -> int:
    async def go() -> int:
        app = await build(Settings(home=home, environment="test"))
        try:
            async with app.db.unit_of_work() as uow:
                requests = []
                for i in range(10):
                    key = await app.keys.create(uow, f"member:h{i}")
                    requests += [
                        Request(
                            f"member:h{i}",
                            "member.join",
                            accounts=[AccountSpec(f"wallet:h{i}:btl", "BTL", key.public_key)],
                        ),
                        Request(
                            "system:operator",
                            "cash.topup",
                            transfers=[Transfer(f"mint-{i}", "reserve:cash", f"wallet:h{i}:btl", 10**7, "BTL")],
                        ),
                    ]
                await app.ledger.record_many(uow, requests)
                await uow.commit()
            rng = random.Random(3)
            for batch in range(13):
                async with app.db.unit_of_work() as uow:
                    requests = []
                    for j in range(100):
                        a = rng.randrange(10)
                        b = (a + 1 + rng.randrange(9)) % 10
                        requests.append(
                            Request(
                                f"member:h{a}",
                                "test.pay",
                                body={"memo": "밤 한 봉지"},
                                transfers=[
                                    Transfer(
                                        f"p{batch}-{j}",
                                        f"wallet:h{a}:btl",
                                        f"wallet:h{b}:btl",
                                        1 + rng.randrange(99),
                                        "BTL",
                                    )
                                ],
                            )
                        )
                    await app.ledger.record_many(uow, requests)
                    head = await app.ledger.head(uow)
                    if head.size >= FIRST_CHECKPOINT and not await uow.fetch(
                        "SELECT 1 FROM ledger_checkpoints WHERE size > 1"
                    ):
                        await app.ledger.publish_checkpoint(uow)
                    await uow.commit()
            async with app.db.snapshot() as snap:
                return (await app.ledger.head(snap)).size
        finally:
            await app.close()

    return asyncio.run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    size: int
    log: Path
    token: str | None = None  # a reader credential: every entry in full (None: what the public sees)

    def request(
        self, method: str, path: str, body: bytes | None = None, *, public: bool = False
    ) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token and not public else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type") or "", resp.read()
        finally:
            conn.close()

    def get_json(self, path: str, *, public: bool = False) -> Any:
        status, ctype, body = self.request("GET", path, public=public)
        assert status == 200, (path, status, body[:300])
        assert ctype.startswith("application/json")
        return json.loads(body)

    def get_text(self, path: str) -> str:
        status, ctype, body = self.request("GET", path)
        assert status == 200, (path, status, body[:300])
        assert ctype.startswith("text/plain"), ctype
        return body.decode("utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("http")
    size = _populate(base / "home")
    with _serving(base, size) as srv:
        yield srv


@contextlib.contextmanager
def _serving(base: Path, size: int) -> Iterator[Server]:
    """``chestnut serve`` on a free port with ``base / "home"``, no CHESTNUT_ settings from outside."""
    home = base / "home"
    port = _free_port()
    log = base / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
    env.update(CHESTNUT_HOME=str(home), CHESTNUT_LOG_LEVEL="WARNING", CHESTNUT_CHECKPOINT_INTERVAL_S="0.2")
    issued = subprocess.run(
        [str(CHESTNUT), "ledger", "readers", "issue", "http-test"],
        capture_output=True,
        text=True,
        cwd=base,
        env=env,
        timeout=60,
        check=True,
    )
    token = issued.stdout.strip()
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(CHESTNUT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=base,
            env=env,
        )
    srv = Server(port, size, log, token)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text()[-2000:]}"
            try:
                if srv.request("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not answer /health"
            time.sleep(0.05)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert "unexpected error serving" not in text, text[-3000:]


def _all_entries(srv: Server) -> list[bytes]:
    out: list[bytes] = []
    while True:
        page = srv.get_json(f"/ledger/entries?start={len(out)}&end={len(out) + 5000}")
        if not page["entries"]:
            return out
        assert len(page["entries"]) <= MAX_PAGE
        for item in page["entries"]:
            assert item["seq"] == len(out)
            out.append(base64.b64decode(item["entry"], validate=True))


@pytest.fixture(scope="module")
def entries(server: Server) -> list[bytes]:
    return _all_entries(server)


@pytest.fixture(scope="module")
def log_key(server: Server) -> NoteKey:
    return parse_vkey(server.get_text("/ledger/key"))


def _latest_checkpoint(server: Server, key: NoteKey, want_size: int, timeout: float = 15) -> tuple[str, int, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        cp = parse_checkpoint(open_note(server.get_text("/ledger/checkpoint"), key))
        if cp[1] == want_size or time.monotonic() > deadline:
            return cp
        time.sleep(0.1)


# ----------------------------------------------------------------------------------------- tests


def test_checkpoint_is_a_signed_c2sp_note_over_the_entries(
    server: Server, entries: list[bytes], log_key: NoteKey
) -> None:
    assert len(entries) == server.size > MAX_PAGE
    # The server's background publisher signs the growth since the stored checkpoint (size 700).
    origin, size, root = _latest_checkpoint(server, log_key, server.size)
    assert origin == log_key.name == "chestnut.coop/ledger"
    assert size == server.size, "the background publisher did not publish the new size"
    assert root == mth([leaf_hash(e) for e in entries]), "the signed root is not the root of the served entries"
    status, ctype, body = server.request("GET", "/ledger/checkpoint")
    assert status == 200 and ctype == "text/plain; charset=utf-8"
    note = body.decode()
    assert note.count("\n\u2014 ") >= 1 and note.endswith("\n")
    # A note changed in one character no longer opens.
    forged = note.replace(f"\n{size}\n", f"\n{size - 1}\n", 1)
    with pytest.raises(AssertionError):
        open_note(forged, log_key)


def test_entries_pages_are_bounded_and_match_the_proof_leaves(server: Server, entries: list[bytes]) -> None:
    page = server.get_json("/ledger/entries?start=0&end=999999")
    assert len(page["entries"]) == MAX_PAGE and page["end"] == MAX_PAGE
    page = server.get_json("/ledger/entries?start=5")
    assert [e["seq"] for e in page["entries"]] == list(range(5, 105)), "the default page is 100 entries"
    page = server.get_json(f"/ledger/entries?start={server.size - 3}&end={server.size + 50}")
    assert [e["seq"] for e in page["entries"]] == list(range(server.size - 3, server.size))
    assert page["end"] == server.size
    assert server.get_json(f"/ledger/entries?start={server.size + 10}")["entries"] == []
    assert server.get_json("/ledger/entries?start=7&end=7")["entries"] == []

    page = server.get_json("/ledger/entries?start=300&end=340")
    for item in page["entries"]:
        raw = base64.b64decode(item["entry"])
        assert item["decoded"] == json.loads(raw), "decoded view differs from the bytes"
    rng = random.Random(1)
    for seq in {0, 1, server.size - 1, *rng.sample(range(server.size), 25)}:
        size = rng.randrange(seq + 1, server.size + 1)
        proof = server.get_json(f"/ledger/proof/{seq}?size={size}")
        assert (proof["seq"], proof["size"]) == (seq, size)
        leaf = base64.b64decode(proof["leaf_hash"])
        assert leaf == leaf_hash(entries[seq]), f"entry {seq}: served bytes do not hash to the proof's leaf"
        path = [base64.b64decode(h) for h in proof["inclusion"]]
        root = mth([leaf_hash(e) for e in entries[:size]])
        assert verify_inclusion(leaf, seq, size, path, root), f"inclusion of {seq} in {size} fails"
        assert not verify_inclusion(leaf, seq, size, path, sha256(root)), "verifier accepts a wrong root"
        if path:
            bad = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
            assert not verify_inclusion(leaf, seq, size, bad, root), "verifier accepts a changed path"


def test_the_public_gets_stubs_that_still_prove_inclusion(server: Server, entries: list[bytes]) -> None:
    """Without the reader credential, a member's entry is its number and leaf hash: checkable, unreadable."""
    page = server.get_json("/ledger/entries?start=0&end=1000", public=True)
    stubs = [e for e in page["entries"] if e.get("restricted")]
    assert len(stubs) >= 990  # joins, top-ups and payments: all restricted
    for item in page["entries"]:
        seq = item["seq"]
        if item.get("restricted"):
            assert set(item) == {"seq", "restricted", "leaf_hash"}
            assert base64.b64decode(item["leaf_hash"]) == leaf_hash(entries[seq])
        else:
            assert base64.b64decode(item["entry"]) == entries[seq]
            assert json.loads(entries[seq])["signed"]["transfers"] == []
    assert "wallet:" not in json.dumps(page) and "밤 한 봉지" not in json.dumps(page, ensure_ascii=False)
    status, _ctype, body = server.request("GET", "/ledger/tile/entries/001", public=True)
    assert status == 200 and b"wallet:" not in body
    # A token the operator did not issue is refused; the hash tiles stay open to anyone.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", "/ledger/tile/entries/001", headers={"Authorization": "Bearer chestnut-reader-nope-nope"})
        resp = conn.getresponse()
        assert resp.status == 401 and json.loads(resp.read())["error"] == "reader_unauthorized"
    finally:
        conn.close()
    assert server.request("GET", "/ledger/tile/0/001", public=True)[0] == 200


def test_proof_without_size_is_against_the_latest_checkpoint(
    server: Server, entries: list[bytes], log_key: NoteKey
) -> None:
    _origin, size, root = _latest_checkpoint(server, log_key, server.size)
    proof = server.get_json("/ledger/proof/123")
    assert proof["size"] == size
    path = [base64.b64decode(h) for h in proof["inclusion"]]
    assert verify_inclusion(leaf_hash(entries[123]), 123, size, path, root)


def test_receipt_verifies_independently(server: Server, entries: list[bytes], log_key: NoteKey) -> None:
    _latest_checkpoint(server, log_key, server.size)
    for seq in (0, 699, server.size - 1):
        receipt = server.get_text(f"/ledger/receipt/{seq}")
        assert check_receipt(receipt, entries[seq], log_key) == seq
        with pytest.raises(AssertionError):
            check_receipt(receipt, entries[seq] + b" ", log_key)


def test_consistency_proofs_verify(server: Server, entries: list[bytes]) -> None:
    leaves = [leaf_hash(e) for e in entries]
    n_max = server.size
    rng = random.Random(2)
    pairs = {
        (1, 1),
        (1, 2),
        (1, n_max),
        (2, 3),
        (4, 8),
        (7, 8),
        (8, 9),
        (512, 1024),
        (1023, 1024),
        (0, 5),
        (FIRST_CHECKPOINT, n_max),
        (n_max, n_max),
        (n_max - 1, n_max),
    }
    pairs |= {tuple(sorted(rng.sample(range(1, n_max + 1), 2))) for _ in range(25)}  # type: ignore[misc]
    roots: dict[int, bytes] = {}

    def root(size: int) -> bytes:
        if size not in roots:
            roots[size] = mth(leaves[:size])
        return roots[size]

    for old, new in sorted(pairs):
        got = server.get_json(f"/ledger/consistency?old={old}&new={new}")
        assert (got["old"], got["new"]) == (old, new)
        proof = [base64.b64decode(h) for h in got["proof"]]
        assert verify_consistency(old, new, root(old), root(new), proof), f"consistency {old} -> {new} fails"
        if 0 < old < new:
            assert not verify_consistency(old, new, root(old), sha256(root(new)), proof)
            assert not verify_consistency(old, new, sha256(root(old)), root(new), proof)


# ---------------------------------------------------------------------------------- junk input

BIG = str(2**62 + 1)
JUNK: list[tuple[str, str, int]] = [
    ("GET", "/ledger/entries?start=-1", 400),
    ("GET", "/ledger/entries?start=abc", 400),
    ("GET", "/ledger/entries?start=1.5", 400),
    ("GET", "/ledger/entries?start=+3", 400),
    ("GET", "/ledger/entries?start=%203", 400),
    ("GET", "/ledger/entries?start=10&end=5", 400),
    ("GET", "/ledger/entries?start=0&end=-5", 400),
    ("GET", "/ledger/entries?start=" + urllib.parse.quote("١٢"), 400),
    ("GET", "/ledger/entries?start=" + urllib.parse.quote("１２"), 400),
    ("GET", "/ledger/entries?start=" + urllib.parse.quote("²"), 400),
    ("GET", "/ledger/entries?start=%00", 400),
    ("GET", "/ledger/entries?start=%ff%fe", 400),
    ("GET", "/ledger/entries?start=" + "9" * 30, 400),
    ("GET", "/ledger/entries?start=" + "9" * 4000, 400),
    ("GET", "/ledger/entries?start=" + BIG, 400),
    ("GET", "/ledger/entries?end=" + "9" * 19, 400),
    ("GET", "/ledger/proof/99999999", 400),
    ("GET", "/ledger/proof/1e5", 400),
    ("GET", "/ledger/proof/-1", 400),
    ("GET", "/ledger/proof/0x10", 400),
    ("GET", "/ledger/proof/" + urllib.parse.quote("١٢"), 400),
    ("GET", "/ledger/proof/" + "9" * 500, 400),
    ("GET", "/ledger/proof/3?size=99999999", 400),
    ("GET", "/ledger/proof/3?size=3", 400),
    ("GET", "/ledger/proof/3?size=0", 400),
    ("GET", "/ledger/proof/3?size=abc", 400),
    ("GET", "/ledger/proof/3?size=" + "9" * 100, 400),
    ("GET", "/ledger/receipt/99999999", 400),
    ("GET", "/ledger/receipt/" + BIG, 400),
    ("GET", "/ledger/receipt/abc", 400),
    ("GET", "/ledger/consistency?old=10&new=5", 400),
    ("GET", "/ledger/consistency?old=5&new=99999999", 400),
    ("GET", "/ledger/consistency?old=1", 400),
    ("GET", "/ledger/consistency?new=1", 400),
    ("GET", "/ledger/consistency?old=&new=", 400),
    ("GET", "/ledger/consistency?old=1e2&new=200", 400),
    ("GET", "/ledger/consistency?old=" + urllib.parse.quote("٣") + "&new=5", 400),
    ("GET", "/ledger/consistency?old=1&new=" + "9" * 200, 400),
    ("GET", "/ledger/nope", 404),
    ("GET", "/ledger/proof/", 404),
    ("GET", "/ledger/proof/1/2", 404),
    ("GET", "/ledger/../etc/passwd", 404),
    ("GET", "/nope", 404),
    ("POST", "/", 405),
    ("POST", "/ledger/checkpoint", 405),
    ("POST", "/ledger/entries?start=0", 405),
    ("PUT", "/ledger/proof/1", 405),
    ("DELETE", "/ledger/consistency?old=1&new=2", 405),
    ("POST", "/health", 405),
]


def _check_error(status: int, ctype: str, body: bytes, expected: int, what: str) -> None:
    assert status == expected, f"{what}: {status} {body[:300]!r}"
    assert ctype.startswith("application/json"), f"{what}: {ctype}"
    err = json.loads(body)
    assert isinstance(err.get("error"), str) and err["error"], what
    assert isinstance(err.get("message"), str) and err["message"], what
    assert "Traceback" not in body.decode("utf-8", "replace"), what


@pytest.mark.parametrize(("method", "path", "expected"), JUNK, ids=[f"{m} {p[:50]}" for m, p, _ in JUNK])
def test_junk_is_a_json_error_never_a_500(server: Server, method: str, path: str, expected: int) -> None:
    status, ctype, body = server.request(method, path, body=b"{}" if method != "GET" else None)
    _check_error(status, ctype, body, expected, f"{method} {path[:80]}")


def test_malformed_http_is_refused_without_a_500_or_traceback(server: Server) -> None:
    """Requests aiohttp's HTTP parser refuses before the app sees them: still 400, never a traceback."""
    for raw in (
        b"GET /ledger/entries?start=" + b"1" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # request line too long
        "GET /ledger/proof/1?size=٣ HTTP/1.1\r\nHost: x\r\n\r\n".encode(),  # raw non-ASCII in the URL
        b"BREW /ledger/checkpoint HTCPCP/1.0\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(raw)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        status_line = data.split(b"\r\n", 1)[0]
        assert b" 400 " in status_line + b" ", (raw[:40], status_line)
        assert b"Traceback" not in data
    assert server.request("GET", "/health")[0] == 200, "the server survived"


# --------------------------------------------------- the same junk in-process on both backends


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient[Any, Any]]:
    async with app.db.unit_of_work() as uow:
        key = await app.keys.create(uow, "member:j")
        await app.ledger.record_many(
            uow,
            [Request("member:j", "member.join", accounts=[AccountSpec("wallet:j:btl", "BTL", key.public_key)])]
            + [
                Request(
                    "system:operator",
                    "cash.topup",
                    transfers=[Transfer(f"m{i}", "reserve:cash", "wallet:j:btl", 5, "BTL")],
                )
                for i in range(20)
            ],
        )
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()
    async with TestClient(TestServer(make_web_app(app))) as c:
        yield c


async def test_junk_in_process_on_each_backend(client: TestClient[Any, Any]) -> None:
    for method, path, expected in JUNK:
        resp = await client.request(method, path)
        _check_error(
            resp.status, resp.headers.get("Content-Type", ""), await resp.read(), expected, f"{method} {path[:80]}"
        )
    # and the good paths answer on this backend too, at sizes up to 2**62 without overflowing BIGINT
    resp = await client.get(f"/ledger/entries?start={2**62}&end={2**62}")
    assert resp.status == 200 and (await resp.json())["entries"] == []
    resp = await client.get("/ledger/consistency?old=3&new=21")
    assert resp.status == 200 and len((await resp.json())["proof"]) > 0


def test_links_lead_to_the_port_actually_served(tmp_path: Path) -> None:
    """No CHESTNUT_PUBLIC_URL and a port other than 8080: the chat's links point where the server listens."""
    with _serving(tmp_path, 0) as server:
        assert server.port != 8080
        origin = f"http://127.0.0.1:{server.port}"
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/chat/api/start")
            resp = conn.getresponse()
            assert resp.status == 200, resp.read()[:300]
            resp.read()
            cookie = (resp.getheader("Set-Cookie") or "").split(";")[0]
            assert cookie.startswith("chestnut_chat="), cookie
            body = json.dumps({"payload": "w", "id": "wallet-1"}).encode()
            headers = {"Content-Type": "application/json", "Cookie": cookie}
            conn.request("POST", "/chat/api/message", body=body, headers=headers)
            screen = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        links = [b["url"] for r in screen["replies"] for row in r["buttons"] for b in row if b["kind"] == "url"]
        assert links, screen  # 📒 내 장부 보기: a signed login link on the public URL
        assert all(url.startswith(f"{origin}/ledger/login?t=") for url in links), links
        assert server.request("GET", links[0].removeprefix(origin))[0] == 303  # and it opens the member's page


def test_serve_on_a_busy_port_is_a_one_line_refusal(tmp_path: Path) -> None:
    """A port in use is an operator's everyday mistake: exit 2 with one line, no traceback anywhere."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTNUT_")}
        env.update(CHESTNUT_HOME=str(tmp_path / "home"), CHESTNUT_LOG_LEVEL="WARNING")
        proc = subprocess.run(
            [str(CHESTNUT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(port) in lines[0], proc.stderr


async def test_entry_pages_are_bounded_in_bytes_too(tmp_path: Path) -> None:
    """Big entries end a page early; ``end`` tells the client where to continue, and nothing is skipped."""
    from aiohttp.test_utils import TestClient, TestServer

    from chestnut.bootstrap import build
    from chestnut.settings import Settings
    from ledger import api as ledger_api
    from ledger import readers
    from ledger.requests import Request
    from web.app import make_web_app

    app = await build(Settings(home=tmp_path / "home", environment="test"))
    try:
        async with app.db.unit_of_work() as uow:
            for i in range(30):
                await app.ledger.record(
                    uow, Request("system:operator", "note.large", body={"i": i, "text": "가" * 15_000})
                )
            token = await readers.issue(uow, "bounds")  # the big entries are restricted: read them in full
            await uow.commit()
        async with TestClient(TestServer(make_web_app(app))) as client:
            seen: list[int] = []
            start = 0
            pages = 0
            while True:
                pages += 1
                response = await client.get(
                    f"/ledger/entries?start={start}&end={start + 1000}", headers={"Authorization": f"Bearer {token}"}
                )
                page = await response.json()
                assert response.status == 200
                assert len(await response.read()) < 3 * ledger_api.MAX_PAGE_BYTES  # base64 + decoded form
                seen += [e["seq"] for e in page["entries"]]
                if page["end"] >= page["size"]:
                    break
                assert page["end"] == seen[-1] + 1
                start = page["end"]
            assert seen == list(range(page["size"])) and pages > 1
    finally:
        await app.close()
