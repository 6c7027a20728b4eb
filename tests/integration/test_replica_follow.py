"""A replica following a primary over real HTTP (aiohttp test servers on loopback), in one process.

The primary is the real web app (``make_web_app``) on SQLite and PostgreSQL; the replica is a
``ReplicaNode`` on its own SQLite database, serving its own HTTP app. Covered: a full sync verified
entry by entry and by root, tiles and receipts served from the replica's copy, witnessing with a
quorum and the contributions it records, and a rewritten history caught with evidence that verifies.
With the operator's reader credential a replica re-checks every entry and refuses a forged payment;
without one it follows the tree only — checkpoints, consistency and forks from the public hash tiles —
is refused restricted content, and cosigns nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App
from chestnut.migrate import upgrade
from commerce.visibility import MARKET_VISIBILITY
from ledger.checkpoint import verify_cosignatures
from ledger.note import parse_verifier_key
from ledger.receipt import verify_receipt
from ledger.replica.evidence import Evidence, verify_evidence
from ledger.replica.follower import ForkDetected
from ledger.replica.node import ReplicaNode, cosigner_key
from ledger.replica.remote import RemoteLog, RemoteRefused, RestrictedEntries
from ledger.storage.backends import open_database
from ledger.verify import verify_ledger
from ledger.witnessing import Witnessing, latest_witnessed, parse_witnesses
from tests.support.replicas import forge_transfer, grow, reader_token, rewrite_history
from web.app import make_web_app


@pytest.fixture
async def primary(app: App) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(make_web_app(app)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def start_replica(home: Path, primary_url: str, token: str | None) -> tuple[ReplicaNode, TestClient]:
    url = f"sqlite+aiosqlite:///{home / 'replica.db'}"
    home.mkdir(parents=True, exist_ok=True)
    await upgrade(url)
    db = await open_database(url)
    node = ReplicaNode(db, home, primary_url, workers=1, poll_s=0.1, reader_token=token, visibility=MARKET_VISIBILITY)
    await node.start()
    client = TestClient(TestServer(node.web_app()))
    await client.start_server()
    return node, client


async def stop_replica(node: ReplicaNode, client: TestClient) -> None:
    await client.close()
    await node.close()
    await node.db.close()


async def test_replica_syncs_verifies_serves_and_witnesses(app: App, primary: TestClient, tmp_path: Path) -> None:
    size = await grow(app, 3000)
    node, rclient = await start_replica(tmp_path / "r1", str(primary.make_url("")), await reader_token(app))
    try:
        await node.poll_once()
        status = await node.status_json()
        assert status["accepted_size"] == size and status["refusals"] == [] and not status["alarm"]

        # The replica's copy serves a receipt that checks against the ledger key, with entry bytes it holds.
        receipt = await (await rclient.get("/ledger/receipt/42")).text()
        async with app.db.snapshot() as snap:
            entry = await app.ledger.entry(snap, 42)
        log_key = parse_verifier_key((await (await primary.get("/ledger/key")).text()).strip())
        assert verify_receipt(receipt, entry, log_key).size == size
        # Its tiles are byte-for-byte the primary's.
        for path in ("/ledger/tile/0/000", "/ledger/tile/entries/001", "/ledger/tile/1/000.p/11"):
            mine, theirs = await rclient.get(path), await primary.get(path)
            assert mine.status == theirs.status == 200
            assert await mine.read() == await theirs.read()
        assert (await primary.get("/ledger/tile/0/000")).headers["Cache-Control"].endswith("immutable")

        # Witnessing: grow, publish, submit; the cosignature verifies and counts as a contribution.
        await grow(app, 500, seed=2)
        witness = f"{rclient.make_url('')} {cosigner_key(node.signer)} coop-a"
        witnessing = Witnessing(app.db, app.ledger, parse_witnesses([witness]), quorum=1, timeout_s=30)
        note = await witnessing.witness_latest()
        assert note is not None
        times = verify_cosignatures(note, parse_witnesses([witness])[0:1][0:1] and [parse_witnesses([witness])[0].key])
        assert node.signer.name in times
        async with app.db.snapshot() as snap:
            assert (await latest_witnessed(snap))[1] == note
            rows = await snap.fetch("SELECT operator, size FROM witness_contributions")
        assert rows == [("coop-a", size + 500)]
        assert (await node.status_json())["cosigned_size"] == size + 500
        # The primary's own verify still holds (witnessing writes no ledger entry).
        assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok
    finally:
        await stop_replica(node, rclient)


async def test_rewritten_history_is_detected_with_evidence(app: App, primary: TestClient, tmp_path: Path) -> None:
    await grow(app, 600)
    node, rclient = await start_replica(tmp_path / "r1", str(primary.make_url("")), await reader_token(app))
    try:
        await node.poll_once()
        accepted = node.follower.accepted if node.follower else None
        assert accepted is not None
        seq = await rewrite_history(app)
        assert seq < accepted.size
        assert (await verify_ledger(app.db, app.ledger.origin, workers=0)).ok  # the primary fools itself
        remote = RemoteLog(node.session, str(primary.make_url("")))  # type: ignore[arg-type]

        # Same size, another root: detected at once.
        with pytest.raises(ForkDetected):
            await node.follower.consider(await remote.checkpoint(), remote, context="test")  # type: ignore[union-attr]
        # A larger rewritten tree: detected from the primary's own hash tiles.
        await grow(app, 300, seed=3)
        await node.poll_once()
        status = await node.status_json()
        assert status["alarm"] and status["evidence"] == 2 and status["accepted_size"] == accepted.size
        async with node.db.snapshot() as snap:
            kept = await node.store.evidence(snap)
        for _id, _kind, text, _t in kept:
            line = verify_evidence(Evidence.decode(text), parse_verifier_key(str(node.follower.key)))  # type: ignore[union-attr]
            assert "signed" in line
        # Witnessing the rewritten history is refused, and nothing is cosigned.
        witness = f"{rclient.make_url('')} {cosigner_key(node.signer)}"
        witnessing = Witnessing(app.db, app.ledger, parse_witnesses([witness]), quorum=1, timeout_s=30)
        witnessing.held[str(rclient.make_url("")).rstrip("/")] = 0
        assert await witnessing.witness_latest() is None
        assert (await node.status_json())["cosignatures"] == 0
    finally:
        await stop_replica(node, rclient)


async def test_a_replica_without_a_credential_follows_the_tree_only(
    app: App, primary: TestClient, tmp_path: Path
) -> None:
    size = await grow(app, 600)
    url = str(primary.make_url(""))
    node, rclient = await start_replica(tmp_path / "r1", url, None)
    try:
        await node.poll_once()
        status = await node.status_json()
        assert status["reader_credential"] is False and status["refusals"] == []
        assert status["tree_size"] == size and status["accepted_size"] == 0  # the tree, not the entries
        assert node.session is not None
        with pytest.raises(RestrictedEntries) as restricted:  # restricted content is not given out
            await RemoteLog(node.session, url).entries(0, 100)
        assert "reader credential" in restricted.value.message
        with pytest.raises(RemoteRefused) as refused:  # nor to a token the operator did not issue
            await RemoteLog(node.session, url, token="chestnut-reader-" + "x" * 43).entries(0, 100)
        assert refused.value.data["status"] == 401
        assert (await rclient.get("/ledger/checkpoint")).status == 404  # it serves nothing it did not verify

        await grow(app, 300, seed=2)
        await node.poll_once()
        assert (await node.status_json())["tree_size"] == size + 300
        witness = f"{rclient.make_url('')} {cosigner_key(node.signer)}"
        witnessing = Witnessing(app.db, app.ledger, parse_witnesses([witness]), quorum=1, timeout_s=30)
        assert await witnessing.witness_latest() is None  # it cosigns only what it re-verified
        assert (await node.status_json())["cosignatures"] == 0

        # A rewritten history is caught from the hash tiles alone, with evidence anyone can check.
        await rewrite_history(app)
        await grow(app, 100, seed=3)
        await node.poll_once()
        status = await node.status_json()
        assert status["alarm"] and status["evidence"] == 1
        async with node.db.snapshot() as snap:
            ((_id, _kind, text, _t),) = await node.store.evidence(snap)
        assert "signed" in verify_evidence(Evidence.decode(text), parse_verifier_key(status["ledger_key"]))
    finally:
        await stop_replica(node, rclient)


async def test_a_replica_with_a_credential_catches_a_forged_transfer(
    app: App, primary: TestClient, tmp_path: Path
) -> None:
    """The operator changes a member's payment and re-signs every checkpoint: a replica that never saw the
    honest history refuses it — on the member's signature, and when the operator re-signs with the member's
    custodial key too, on the money rules."""
    await grow(app, 600)
    seq = await forge_transfer(app, resign=False)
    node, rclient = await start_replica(tmp_path / "r1", str(primary.make_url("")), await reader_token(app))
    try:
        await node.poll_once()
        status = await node.status_json()
        assert status["accepted_size"] == 0 and status["refusals"]
        reason = status["refusals"][-1]["reason"]
        assert f"entry {seq} does not verify" in reason and "signature" in reason
        await forge_transfer(app, 10**12, resign=True)  # more than the member ever had, signed in their name
        await node.poll_once()
        status = await node.status_json()
        assert status["accepted_size"] == 0
        reason = status["refusals"][-1]["reason"]
        assert f"entry {seq} does not verify" in reason and "money rules refuse" in reason and "available" in reason
    finally:
        await stop_replica(node, rclient)
