"""Bad input to a replica, each refused with its reason while the follower keeps going.

A stand-in primary on loopback serves the honest ledger's answers, or a tampered one per case:
malformed checkpoint, wrong signature, unknown origin, an older checkpoint, a truncated or garbage
tile; the witness gets malformed submissions, a wrong old size, a proof that does not verify. A
witness that answers garbage to the primary's witnessing is ignored there. SQLite only (the
replica's store is SQLite here; the primary's backends are covered in test_replica_follow.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App, build
from chestnut.migrate import upgrade
from chestnut.settings import Settings
from commerce.visibility import MARKET_VISIBILITY
from ledger.note import Ed25519Signer, sign_note
from ledger.replica.node import ReplicaNode, cosigner_key
from ledger.storage.backends import open_database
from ledger.witnessing import Witnessing, parse_witnesses
from tests.support.replicas import grow, reader_token
from web.app import make_web_app

Tamper = Callable[[web.Request, bytes], bytes | None]


@pytest.fixture
async def honest(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[App, TestClient]]:
    app = await build(Settings(home=tmp_path / "p", database_url=sqlite_url, environment="test"))
    await grow(app, 700)
    client = TestClient(TestServer(make_web_app(app)))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await app.close()


class StandIn:
    """Forwards to the honest primary; ``tamper`` may replace an answer's body (None: 500)."""

    def __init__(self, upstream: TestClient) -> None:
        self.upstream = upstream
        self.tamper: Tamper | None = None

    async def handle(self, request: web.Request) -> web.Response:
        passed = {k: v for k, v in request.headers.items() if k == "Authorization"}
        resp = await self.upstream.get(request.path_qs, headers=passed)
        body = await resp.read()
        if self.tamper is not None:
            changed = self.tamper(request, body)
            if changed is None:
                return web.Response(status=500, text="boom")
            body = changed
        return web.Response(body=body, status=resp.status, content_type=resp.content_type)


@pytest.fixture
async def replica(
    honest: tuple[App, TestClient], tmp_path: Path
) -> AsyncIterator[tuple[ReplicaNode, StandIn, TestClient]]:
    app, upstream = honest
    stand_in = StandIn(upstream)
    web_app = web.Application()
    web_app.router.add_get("/{tail:.*}", stand_in.handle)
    primary = TestClient(TestServer(web_app))
    await primary.start_server()
    home = tmp_path / "r"
    home.mkdir()
    url = f"sqlite+aiosqlite:///{home / 'replica.db'}"
    await upgrade(url)
    db = await open_database(url)
    node = ReplicaNode(
        db,
        home,
        str(primary.make_url("")),
        workers=0,
        reader_token=await reader_token(app),
        visibility=MARKET_VISIBILITY,
    )
    await node.start()
    rclient = TestClient(TestServer(node.web_app()))
    await rclient.start_server()
    try:
        yield node, stand_in, rclient
    finally:
        await rclient.close()
        await primary.close()
        await node.close()
        await db.close()


def last_refusal(node: ReplicaNode) -> str:
    assert node.follower is not None and node.follower.refusals
    return node.follower.refusals[-1].reason


def on_checkpoint(fn: Callable[[str], str]) -> Tamper:
    def tamper(request: web.Request, body: bytes) -> bytes:
        return fn(body.decode()).encode() if request.path == "/ledger/checkpoint" else body

    return tamper


def on_tile(fn: Callable[[bytes], bytes | None]) -> Tamper:
    def tamper(request: web.Request, body: bytes) -> bytes | None:
        return fn(body) if request.path.startswith("/ledger/tile/") else body

    return tamper


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (on_checkpoint(lambda n: n.replace("\n\n", "\n")), "not a signed note"),
        (on_checkpoint(lambda n: n.replace("\n7", "\n8", 1)), "not signed by the ledger key"),
        (on_checkpoint(lambda n: n.replace("chestnut.coop/ledger\n", "evil.example/log\n", 1)), "unknown origin"),
        (on_checkpoint(lambda n: "garbage" * 3), "not a signed note"),
        (on_tile(lambda b: b[:-5]), "entry bundle"),
        (on_tile(lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:]), "does not verify"),
        (on_tile(lambda b: None), "answered 500"),
    ],
    ids=["malformed", "wrong-signature", "unknown-origin", "garbage", "truncated-tile", "flipped-byte", "http-500"],
)
async def test_bad_answers_are_refused_and_the_follower_goes_on(
    replica: tuple[ReplicaNode, StandIn, TestClient], tamper: Tamper, reason: str
) -> None:
    node, stand_in, _r = replica
    stand_in.tamper = tamper
    await node.poll_once()
    assert reason in last_refusal(node)
    status = await node.status_json()
    assert status["accepted_size"] == 0 and not status["alarm"]
    stand_in.tamper = None  # the primary comes back to its senses: the next poll syncs
    await node.poll_once()
    assert (await node.status_json())["accepted_size"] > 0


async def test_older_checkpoint_is_not_accepted_and_a_foreign_key_is_refused(
    replica: tuple[ReplicaNode, StandIn, TestClient], honest: tuple[App, TestClient]
) -> None:
    node, stand_in, _r = replica
    app, _client = honest
    await node.poll_once()
    size = (await node.status_json())["accepted_size"]
    async with app.db.snapshot() as snap:
        old_note = (await snap.fetch("SELECT note FROM ledger_checkpoints ORDER BY size LIMIT 1"))[0][0]
    stand_in.tamper = on_checkpoint(lambda _n: old_note)
    await node.poll_once()
    assert (await node.status_json())["accepted_size"] == size  # an older, consistent one changes nothing
    forger = Ed25519Signer.generate("chestnut.coop/ledger")
    stand_in.tamper = on_checkpoint(lambda n: sign_note(n.split("\n\n")[0] + "\n", [forger]))
    await node.poll_once()
    assert "not signed by the ledger key" in last_refusal(node)


async def test_witness_refuses_bad_submissions_with_the_protocol_status(
    replica: tuple[ReplicaNode, StandIn, TestClient], honest: tuple[App, TestClient]
) -> None:
    node, _stand_in, rclient = replica
    app, client = honest
    note = await (await client.get("/ledger/checkpoint")).text()
    cases = [
        (b"hello", 400),
        ("old 01\n\n" + note, 400),
        ("old 5\nnot-base64!\n\n" + note, 400),
        ("old 99999999\n\n" + note, 400),  # old > new
        ("old 3\n\n" + note, 409),  # the witness holds 0
        ("old 0\n\n" + note.replace("chestnut.coop/ledger\n", "x.example/log\n", 1), 404),
        ("old 0\n\n" + note.replace("\n7", "\n8", 1), 403),
    ]
    for body, expected in cases:
        resp = await rclient.post("/add-checkpoint", data=body if isinstance(body, bytes) else body.encode())
        assert resp.status == expected, (body[:40], await resp.text())
    resp = await rclient.post("/add-checkpoint", data=("old 3\n\n" + note).encode())
    assert resp.headers["Content-Type"].startswith("text/x.tlog.size") and (await resp.text()) == "0\n"
    ok = await rclient.post("/add-checkpoint", data=("old 0\n\n" + note).encode())
    assert ok.status == 200 and (await ok.text()).startswith("— replica-")
    # A later checkpoint with a proof that does not verify: 422, nothing stored.
    await grow(app, 50, seed=4)
    newer = await (await client.get("/ledger/checkpoint")).text()
    held = int(note.split("\n")[1])
    bad = f"old {held}\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" + "\n" + newer
    resp = await rclient.post("/add-checkpoint", data=bad.encode())
    assert resp.status == 422 and "does not verify" in await resp.text()
    assert (await node.status_json())["cosigned_size"] == held


async def test_witnessing_ignores_a_replica_answering_garbage(honest: tuple[App, TestClient]) -> None:
    app, _client = honest

    async def garbage(_request: web.Request) -> web.Response:
        return web.Response(text="— nobody AAAA\n")

    web_app = web.Application()
    web_app.router.add_post("/add-checkpoint", garbage)
    liar = TestClient(TestServer(web_app))
    await liar.start_server()
    try:
        key = cosigner_key(Ed25519Signer.generate("liar"))
        witnessing = Witnessing(app.db, app.ledger, parse_witnesses([f"{liar.make_url('')} {key}"]), timeout_s=5)
        assert await witnessing.witness_latest() is None
        async with app.db.snapshot() as snap:
            assert (await snap.fetch("SELECT COUNT(*) FROM witness_contributions"))[0][0] == 0
    finally:
        await liar.close()
