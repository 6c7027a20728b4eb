"""Members' money stays private on the public ledger, on SQLite and PostgreSQL (README "Who can see what").

After a demo market's orders, everything the public can fetch — ``/ledger/entries``, every entry bundle
and hash tile, every explorer page, every provenance page, the market's API — is gathered as a stranger
would, and an attacker's rebuild of balances from it finds nothing; a stub still proves its entry is in
the ledger. An accredited reader gets every entry byte for byte; a wrong or revoked token is a 401 while
the hash tiles stay open. A member logged in to the explorer sees their own entries and no one else's.
The pepper behind personal-data hashes is in a file, not in the database — moved there, unchanged, from
an old database — and a start with the wrong pepper file is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App, build
from chestnut.demo import build_demo
from chestnut.migrate import downgrade_sync
from chestnut.settings import Settings
from commerce.members import service as members
from commerce.members.pepper import PepperMismatch, PepperMissing, pepper_id
from commerce.shops import product_code
from community import referrals
from ledger import merkle, readers
from ledger.checkpoint import Checkpoint
from ledger.links import login_link
from ledger.model import split_entry
from ledger.storage.backends import open_database
from ledger.tiles import split_bundle, split_hash_tile, tiles_for
from web.app import make_web_app

ACCOUNT = re.compile(r"(wallet|escrow:order|campaign):[A-Za-z0-9_:.\-]+")  # system accounts are public


@pytest.fixture
async def market(app: App) -> AsyncIterator[tuple[App, TestClient]]:
    await build_demo(app.services, app.db, shoppers=24)
    async with app.db.unit_of_work() as uow:
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()


async def _size(app: App) -> int:
    async with app.db.snapshot() as snap:
        return (await app.ledger.latest_checkpoint(snap))[0]


async def _all_entries(http: TestClient, size: int, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < size:
        resp = await http.get(f"/ledger/entries?start={len(out)}&end={len(out) + 1000}", headers=headers)
        assert resp.status == 200, await resp.text()
        page = await resp.json()
        assert page["entries"], "the API stopped before the checkpoint's size"
        out += page["entries"]
    return out[:size]


async def _bundles(http: TestClient, size: int, headers: dict[str, str] | None = None) -> list[bytes]:
    out: list[bytes] = []
    for ref in tiles_for(size, None):
        resp = await http.get(f"/ledger/tile/{ref.path()}", headers=headers)
        assert resp.status == 200
        out += split_bundle(await resp.read(), ref.width)
    return out


async def _leaves(http: TestClient, size: int) -> list[bytes]:
    out: list[bytes] = []
    for ref in tiles_for(size, 0):
        resp = await http.get(f"/ledger/tile/{ref.path()}")
        assert resp.status == 200
        out += split_hash_tile(await resp.read(), ref.width)
    return out


def _rebuild_balances(actions: list[dict[str, Any]]) -> dict[str, int]:
    """What an attacker would do with what they could read: add up every transfer by account."""
    balances: dict[str, int] = {}
    for action in actions:
        for t in action.get("transfers", []):
            balances[t["credit"]] = balances.get(t["credit"], 0) + t["amount"]
            balances[t["debit"]] = balances.get(t["debit"], 0) - t["amount"]
    return balances


async def test_a_public_reader_cannot_rebuild_a_balance(market: tuple[App, TestClient]) -> None:
    app, http = market
    size = await _size(app)
    public: list[str] = []

    entries = await _all_entries(http, size)
    public.append(json.dumps(entries, ensure_ascii=False))
    shown = [e for e in entries if "entry" in e]
    stubs = [e for e in entries if e.get("restricted")]
    assert shown and stubs and len(shown) + len(stubs) == size
    assert all(set(s) == {"seq", "restricted", "leaf_hash"} for s in stubs)  # nothing of the content
    bundles = await _bundles(http, size)
    public.append(b"".join(bundles).decode("utf-8", "replace"))
    # A stub still proves its entry is in the ledger: its leaf hash is the hash tile's, and the path verifies.
    leaves = await _leaves(http, size)
    root = merkle.root_of(leaves)
    note = await (await http.get("/ledger/checkpoint")).text()
    assert Checkpoint.parse(note.split("\n\n")[0] + "\n").root_hash == root
    for stub in stubs[:: max(1, len(stubs) // 20)]:
        leaf = base64.b64decode(stub["leaf_hash"])
        assert leaf == leaves[stub["seq"]]
        proof = await (await http.get(f"/ledger/proof/{stub['seq']}?size={size}")).json()
        merkle.verify_inclusion(leaf, stub["seq"], size, [base64.b64decode(h) for h in proof["inclusion"]], root)
    for seq, item in enumerate(bundles):
        if item.startswith(b'{"leaf_hash"'):
            assert json.loads(item) == {"leaf_hash": entries[seq]["leaf_hash"], "restricted": True, "seq": seq}
        else:
            assert merkle.leaf_hash(item) == leaves[seq]

    for seq in range(size):
        page = await http.get(f"/ledger/entry/{seq}")
        assert page.status == 200
        public.append(await page.text())
    for path in ("/ledger/", "/ledger/liabilities", "/ledger/trust.json", "/market/book", "/market/trades"):
        public.append(await (await http.get(path)).text())
    async with app.db.snapshot() as snap:
        products = [int(r[0]) for r in await snap.fetch("SELECT id FROM products")]
    for product in products:
        resp = await http.get(f"/p/{product_code.encode(product)}")
        assert resp.status == 200
        public.append(await resp.text())
    text = "\n".join(public)

    # No account of a member, an order or a campaign is named anywhere, and no transfer is shown.
    assert not ACCOUNT.search(text), ACCOUNT.search(text)
    assert all(split_entry(base64.b64decode(e["entry"])) for e in shown)
    assert all(e["decoded"]["signed"]["transfers"] == [] for e in shown)
    assert _rebuild_balances([e["decoded"]["signed"] for e in shown]) == {}
    async with app.db.snapshot() as snap:
        held = await snap.fetch(
            "SELECT id, credits_posted - debits_posted FROM ledger_accounts WHERE owner IS NOT NULL "
            "AND credits_posted - debits_posted > 0"
        )
        people = await snap.fetch("SELECT id, display_name, phone, phone_hash FROM members")
        signers = {
            bytes(r[0])
            for r in await snap.fetch(
                "SELECT DISTINCT actor FROM ledger_entries WHERE kind IN ('review.post', 'claim.open', "
                "'claim.accept', 'claim.escalate', 'shop.open', 'shop.terms', 'product.list', 'delivery.pickup', "
                "'delivery.confirm', 'delivery.handover', 'shop.referral', 'product.price', 'product.stock', "
                "'product.active', 'claim.answer', 'provenance.harvested', 'provenance.processed', "
                "'provenance.packed')"
            )
        }
    assert len(held) > 20  # there were balances to find …
    for account, _balance in held:
        assert account not in text  # … and none is named, let alone its amount
    # A member's name, phone or phone hash is nowhere; a shopper who published nothing has no key in view.
    for member_id, name, phone, phone_hash in people:
        assert phone is None or phone not in text
        assert phone_hash is None or phone_hash not in text
        async with app.db.snapshot() as snap:
            key = (await app.keys.get(snap, members.key_label(int(member_id)))).public_key
        if key not in signers:
            assert base64.b64encode(key).decode() not in text, name
            assert key.hex()[:16] not in text, name


async def test_a_reader_sees_every_entry_and_a_bad_token_is_refused(market: tuple[App, TestClient]) -> None:
    app, http = market
    size = await _size(app)
    async with app.db.unit_of_work() as uow:
        token = await readers.issue(uow, "coop-seoul")
        gone = await readers.issue(uow, "coop-old")
        await readers.revoke(uow, "coop-old")
        await uow.commit()
        stored = [bytes(r[0]) for r in await uow.fetch("SELECT entry FROM ledger_entries ORDER BY seq")][:size]
        digests = [bytes(r[0]) for r in await uow.fetch("SELECT token_hash FROM ledger_readers")]
    assert token.encode() not in b"".join(digests)  # only digests are kept
    bearer = {"Authorization": f"Bearer {token}"}
    entries = await _all_entries(http, size, bearer)
    assert [base64.b64decode(e["entry"]) for e in entries] == stored
    assert await _bundles(http, size, bearer) == stored
    resp = await http.get("/ledger/tile/entries/000", headers=bearer)
    assert resp.headers["Cache-Control"].startswith("private") and "Authorization" in resp.headers["Vary"]
    assert (await http.get("/ledger/tile/entries/000")).headers["Cache-Control"].startswith("public")
    for bad in (gone, token[:-2] + "xx", "", "chestnut-reader-" + "A" * 43, token + "A"):
        for path in ("/ledger/tile/entries/000", "/ledger/entries?start=0&end=5", "/ledger/entry/2"):
            resp = await http.get(path, headers={"Authorization": f"Bearer {bad}"})
            assert resp.status == 401, (bad, path)
        assert (await http.get("/ledger/tile/0/000", headers={"Authorization": f"Bearer {bad}"})).status == 200
    assert (await http.get("/ledger/entries?start=0", headers={"Authorization": f"Basic {token}"})).status == 401


async def test_a_member_sees_their_own_entries_and_receipts_only(market: tuple[App, TestClient]) -> None:
    app, http = market
    size = await _size(app)
    async with app.db.unit_of_work() as uow:
        buyers = [int(r[0]) for r in await uow.fetch("SELECT DISTINCT buyer_id FROM orders ORDER BY buyer_id")]
        me, other = buyers[0], buyers[1]
        key = (await app.keys.get(uow, members.key_label(me))).public_key
        wallets = {str(r[0]) for r in await uow.fetch("SELECT id FROM ledger_accounts WHERE owner = :k", {"k": key})}
        url = await login_link(app.keys, uow, "http://x", key)
        await uow.commit()
        their = await uow.fetch(
            "SELECT seq FROM ledger_entries WHERE kind = 'order.pay' AND actor IN "
            "(SELECT public_key FROM ledger_keys WHERE label = :l)",
            {"l": members.key_label(other)},
        )
    assert (await http.get(url.removeprefix("http://x"), allow_redirects=False)).status == 303
    entries = await _all_entries(http, size)
    mine = [e for e in entries if "entry" in e and e["decoded"]["signed"]["transfers"]]
    assert mine, "the member's own payments are shown to them"
    me_b64 = base64.b64encode(key).decode()
    for item in mine:  # every money entry shown is one the member signed or their wallet took part in
        signed = item["decoded"]["signed"]
        touched = {t["debit"] for t in signed["transfers"]} | {t["credit"] for t in signed["transfers"]}
        assert signed["actor"] == me_b64 or touched & wallets
    for (seq,) in their:
        assert entries[int(seq)].get("restricted"), "another member's payment is never shown"
        page = await (await http.get(f"/ledger/entry/{int(seq)}")).text()
        assert "비공개 기록" in page and "돈의 움직임" not in page
    page = await (await http.get(f"/ledger/entry/{mine[0]['seq']}")).text()
    assert "돈의 움직임" in page and "비공개" not in page
    # A receipt holds no content, so anyone may fetch it; the member checks it against their own bytes.
    receipt = await (await http.get(f"/ledger/receipt/{mine[0]['seq']}")).text()
    assert receipt.startswith("c2sp.org/tlog-proof@v1\n")


async def test_a_recommendation_link_reveals_no_member_number(app: App) -> None:
    from tests.support.market import cast

    c = await cast(app)
    async with app.db.unit_of_work() as uow:
        share = await referrals.share(
            app.services, uow, c.shopper, c.product, bot_username="bam_bot", public_url="https://b.kr"
        )
        await uow.commit()
    assert re.fullmatch(r"r[A-Za-z0-9_\-]{22}", share.payload)
    for link in (share.web, share.telegram or "", share.kakao_text):
        assert f"start={share.payload}" in link
        assert not re.search(rf"start=r{c.shopper}p", link)
    async with app.db.snapshot() as snap:
        assert await referrals.resolve(snap, share.payload) == referrals.Opened(c.product, c.shopper)


# ------------------------------------------------------------------------------------------------ pepper


def _hash(pepper: bytes, kind: str, value: str) -> str:
    return hmac.new(pepper, f"{kind}\n{value}".encode(), hashlib.sha256).hexdigest()


async def _settings_rows(app: App) -> dict[str, str]:
    async with app.db.snapshot() as snap:
        return {str(k): str(v) for k, v in await snap.fetch("SELECT key, value FROM market_settings")}


async def test_the_database_holds_no_pepper(settings: Settings) -> None:
    app = await build(settings)
    try:
        path = settings.resolved_pepper_file
        assert path.parent == settings.resolved_master_key_file.parent
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        pepper = bytes.fromhex(path.read_text().strip())
        rows = await _settings_rows(app)
        assert "pepper" not in rows and rows["pepper_id"] == pepper_id(pepper)
        assert pepper.hex() not in json.dumps(rows)
        async with app.db.unit_of_work() as uow:
            ref = await app.services.personal_ref(uow, "phone", "01012345678")
        assert ref == _hash(pepper, "phone", "01012345678")
    finally:
        await app.close()
    again = await build(settings)  # a restart hashes the same number the same way
    try:
        async with again.db.snapshot() as snap:
            assert await again.services.personal_ref(snap, "phone", "01012345678") == ref
    finally:
        await again.close()


async def test_an_old_databases_pepper_moves_to_a_file_unchanged(settings: Settings) -> None:
    """A database made before keeps every hash: the same pepper, now in the file, gone from the database."""
    url = settings.resolved_database_url
    settings.home.mkdir(parents=True, exist_ok=True)
    # Each test's database starts at the newest schema: take it back to before the pepper moved.
    await asyncio.to_thread(downgrade_sync, url, "0015_delivery_choice")
    old = os.urandom(32)
    db = await open_database(url)
    try:
        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO market_settings (key, value) VALUES ('pepper', :v)", {"v": old.hex()})
            await uow.execute(
                "INSERT INTO referral_links (referrer_id, product_id, shop_id, first_ms, last_ms, seq) "
                "VALUES (7, 12, 3, 0, 0, 5)"
            )
            await uow.commit()
    finally:
        await db.close()
    app = await build(settings)
    try:
        assert bytes.fromhex(settings.resolved_pepper_file.read_text().strip()) == old
        rows = await _settings_rows(app)
        assert "pepper" not in rows and rows["pepper_id"] == pepper_id(old)
        async with app.db.snapshot() as snap:
            assert await app.services.personal_ref(snap, "phone", "01055556666") == _hash(old, "phone", "01055556666")
            # A link shared as r7p12 before links carried tokens keeps crediting member 7.
            assert await referrals.resolve(snap, "r7p12") == referrals.Opened(12, 7)
            (token,) = (await snap.fetch("SELECT token FROM referral_links"))[0]
            assert await referrals.resolve(snap, f"r{token}") == referrals.Opened(12, 7)
    finally:
        await app.close()
    if url.startswith("sqlite"):  # not even in a free page or the WAL
        data = b"".join(p.read_bytes() for p in Path(url.split("///", 1)[1]).parent.glob("chestnut.db*"))
        assert old.hex().encode() not in data


async def test_a_missing_or_different_pepper_file_refuses_to_start(settings: Settings) -> None:
    app = await build(settings)
    await app.close()
    path = settings.resolved_pepper_file
    kept = path.read_bytes()
    path.unlink()
    with pytest.raises(PepperMissing) as missing:
        await build(settings)
    assert str(path) in missing.value.message
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, os.urandom(32).hex().encode())
    os.close(fd)
    with pytest.raises(PepperMismatch):
        await build(settings)
    path.write_bytes(kept)
    again = await build(settings)
    await again.close()
