"""The ledger explorer over real HTTP: public pages, bad numbers, and a member's own entries only.

An entry that moves money is restricted: a stranger's page shows its number and leaf hash, the page of
the member whose money it moved shows the transfers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chestnut.bootstrap import App, build
from chestnut.demo import build_demo
from chestnut.settings import Settings
from commerce.members import service as members
from commerce.shops import product_code
from ledger import liabilities
from ledger.links import LOGIN_TTL_S, link_signer, login_link
from web.app import make_web_app


@pytest.fixture
async def client(tmp_path: Path, sqlite_url: str) -> AsyncIterator[tuple[App, TestClient]]:
    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    await build_demo(app.services, app.db, shoppers=30)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await app.close()


async def _link(app: App, member_id: int) -> str:
    async with app.db.unit_of_work() as uow:
        key = await app.keys.get(uow, members.key_label(member_id))
        url = await login_link(app.keys, uow, "http://example.invalid", key.public_key)
        await uow.commit()
    return url.removeprefix("http://example.invalid")


async def _buyers(app: App) -> list[int]:
    async with app.db.snapshot() as snap:
        return [int(r[0]) for r in await snap.fetch("SELECT DISTINCT buyer_id FROM orders ORDER BY buyer_id LIMIT 2")]


async def test_the_public_pages(client: tuple[App, TestClient]) -> None:
    _app, http = client
    index = await http.get("/ledger/")
    assert index.status == 200
    text = await index.text()
    assert "최근 체크포인트" in text and "토큰별 합계" in text and "✅ 같아요" in text
    entry = await http.get("/ledger/entry/3")
    assert entry.status == 200 and 'data-seq="3"' in await entry.text()
    assert (await http.get("/ledger/entry?seq=3", allow_redirects=False)).status == 302
    pol = await http.get("/ledger/liabilities")
    assert pol.status == 200 and "뿌리 해시" in await pol.text()
    trust = await (await http.get("/ledger/trust.json")).json()
    assert trust["ledger_key"].startswith("chestnut.coop/ledger+") and trust["witnesses"] == []


async def test_an_entry_page_shows_the_money_it_moved(client: tuple[App, TestClient]) -> None:
    app, http = client
    async with app.db.snapshot() as snap:
        (seq,) = (await snap.fetch("SELECT seq FROM ledger_transfers GROUP BY seq HAVING COUNT(*) >= 2 LIMIT 1"))[0]
        moved = await snap.fetch(
            "SELECT debit, credit, token, amount FROM ledger_transfers WHERE seq = :s ORDER BY id", {"s": seq}
        )
        (owner,) = (
            await snap.fetch(
                "SELECT owner FROM ledger_accounts WHERE owner IS NOT NULL AND id IN "
                "(SELECT debit FROM ledger_transfers WHERE seq = :s) LIMIT 1",
                {"s": seq},
            )
        )[0]
    stranger = await (await http.get(f"/ledger/entry/{seq}")).text()
    assert "비공개 기록" in stranger and "돈의 움직임" not in stranger  # only its number and leaf hash
    async with app.db.unit_of_work() as uow:
        url = await login_link(app.keys, uow, "http://example.invalid", bytes(owner))
        await uow.commit()
    assert (await http.get(url.removeprefix("http://example.invalid"), allow_redirects=False)).status == 303
    page = await (await http.get(f"/ledger/entry/{seq}")).text()  # the member whose money it moved
    assert "돈의 움직임" in page
    table = page[page.index("돈의 움직임") :]
    cells = [
        f"<td>{debit}</td><td>{credit}</td><td>{int(amount):,} {token}</td>" for debit, credit, token, amount in moved
    ]
    assert all(c in table for c in cells)
    assert [table.index(c) for c in cells] == sorted(table.index(c) for c in cells)  # in transfer-id order


@pytest.mark.parametrize("seq", ["x1", "-1", "1.5", "99999999999999999999", "%20", "١٢"])
async def test_a_malformed_entry_number_is_a_400_page(client: tuple[App, TestClient], seq: str) -> None:
    _app, http = client
    r = await http.get(f"/ledger/entry/{seq}")
    assert r.status == 400
    page = await r.text()
    assert "기록 번호" in page and "Traceback" not in page
    assert (await http.get(f"/ledger/entry?seq={seq}")).status == 400


async def test_an_unknown_entry_is_a_404_page(client: tuple[App, TestClient]) -> None:
    _app, http = client
    r = await http.get("/ledger/entry/999999")
    assert r.status == 404 and "찾는 기록이 없어요" in await r.text()


async def test_a_member_sees_their_own_entries_only(client: tuple[App, TestClient]) -> None:
    app, http = client
    me, other = await _buyers(app)
    assert (await http.get("/ledger/me")).status == 401  # not logged in: told to come from the chat
    login = await http.get(await _link(app, me), allow_redirects=False)
    assert login.status == 303 and login.headers["Location"] == "/ledger/me"
    cookie = login.cookies["chestnut_ledger"]
    assert cookie["httponly"] and cookie["path"] == "/ledger"
    mine = await http.get("/ledger/me")
    assert mine.status == 200
    page = await mine.text()
    async with app.db.snapshot() as snap:
        my_key = await app.keys.get(snap, members.key_label(me))
        other_key = await app.keys.get(snap, members.key_label(other))
        my_seqs = [
            int(r[0])
            for r in await snap.fetch("SELECT seq FROM ledger_entries WHERE actor = :k", {"k": my_key.public_key})
        ]
        other_seqs = [
            int(r[0])
            for r in await snap.fetch("SELECT seq FROM ledger_entries WHERE actor = :k", {"k": other_key.public_key})
        ]
    assert all(f'/ledger/entry/{s}"' in page for s in my_seqs)
    assert not any(f'/ledger/entry/{s}"' in page for s in other_seqs)
    # Another member's list is refused, never shown.
    refused = await http.get(f"/ledger/members/{other_key.public_key.hex()}/entries")
    assert refused.status == 403 and "다른 분" in await refused.text()
    assert (await http.get(f"/ledger/members/{my_key.public_key.hex()}/entries", allow_redirects=False)).status == 303
    # The member's leaf is inside the published liabilities root.
    lia = await http.get("/ledger/liabilities/mine")
    assert lia.status == 200 and "data-liability" in await lia.text()


async def test_forged_mangled_and_expired_links_are_refused(client: tuple[App, TestClient]) -> None:
    app, http = client
    me, _other = await _buyers(app)
    good = await _link(app, me)
    token = good.split("t=", 1)[1]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    for bad in (f"/ledger/login?t={forged}", "/ledger/login?t=", "/ledger/login?t=%00%01", "/ledger/login"):
        r = await http.get(bad, allow_redirects=False)
        assert r.status == 403, bad
        assert "쓸 수 없어요" in await r.text()
    async with app.db.unit_of_work() as uow:  # a link signed by someone else's key
        stranger = await app.keys.create(uow, "stranger")
        signer = await link_signer(app.keys, uow)
        await uow.commit()
    from ledger.links import LinkSigner

    alien = LinkSigner(stranger).issue("login", stranger.public_key, ttl_s=60)
    assert (await http.get(f"/ledger/login?t={alien}", allow_redirects=False)).status == 403
    # A session cookie is not a login link, and a login link is not a session cookie.
    session = signer.issue("session", stranger.public_key, ttl_s=60)
    assert (await http.get(f"/ledger/login?t={session}", allow_redirects=False)).status == 403
    async with app.db.snapshot() as snap:
        key = await app.keys.get(snap, members.key_label(me))
    expired = signer.issue("login", key.public_key, ttl_s=LOGIN_TTL_S, now_s=time.time() - 2 * LOGIN_TTL_S)
    r = await http.get(f"/ledger/login?t={expired}", allow_redirects=False)
    assert r.status == 403 and "만료" in await r.text()
    # A forged session cookie reads as "not logged in".
    http.session.cookie_jar.update_cookies({"chestnut_ledger": forged})
    assert (await http.get("/ledger/me")).status == 401


def test_the_sum_tree_refuses_a_changed_balance() -> None:
    tree = liabilities.build("BTL", 10, {f"wallet:{i}:btl": i * 100 for i in range(1, 8)}, lambda a: a.encode())
    i = tree.index_of("wallet:3:btl")
    assert i is not None
    leaf = tree.leaves[i]
    liabilities.verify(liabilities.Node(leaf.hash, leaf.balance), tree.proof(i), tree.root)
    assert tree.root.total == sum(i * 100 for i in range(1, 8))
    with pytest.raises(liabilities.LiabilityError):
        liabilities.verify(liabilities.Node(leaf.hash, leaf.balance + 1), tree.proof(i), tree.root)


async def test_the_wallet_screen_links_to_the_members_own_ledger_page(client: tuple[App, TestClient]) -> None:
    from tests.support.chat import ChatUser

    app, http = client
    me = ChatUser(app.dialogue, "kakao", "explorer-1", "손님")
    await me.send("안녕하세요")
    await me.tap("처음으로")
    await me.tap("내 지갑")
    link = me.find("내 장부 보기")
    assert link.url is not None and link.url.startswith(app.settings.public_url + "/ledger/login?t=")
    assert len([b for r in me.last.replies for b in r.all_buttons]) <= 6  # type: ignore[union-attr]
    login = await http.get(link.url.removeprefix(app.settings.public_url), allow_redirects=False)
    assert login.status == 303
    assert (await http.get("/ledger/me")).status == 200


async def test_entries_about_a_product_link_to_its_page(client: tuple[App, TestClient]) -> None:
    """A listing, a provenance step, a review: each entry's page leads to the product's /p/<code>."""
    app, http = client
    async with app.db.snapshot() as snap:
        (listed,) = await snap.fetch("SELECT id, listed_seq FROM products ORDER BY id LIMIT 1")
        (step,) = await snap.fetch(
            "SELECT product_id, seq FROM provenance_events WHERE stage IN ('harvested', 'packed') ORDER BY seq LIMIT 1"
        )
        (review,) = await snap.fetch(
            "SELECT product_id, seq FROM reviews WHERE status = 'visible' ORDER BY seq DESC LIMIT 1"
        )
        (topup,) = await snap.fetch("SELECT seq FROM ledger_entries WHERE kind = 'cash.topup' LIMIT 1")
        (producer,) = await snap.fetch("SELECT owner_id FROM shops WHERE id = (SELECT shop_id FROM products LIMIT 1)")
    for product_id, seq in (listed, step, review):
        page = await (await http.get(f"/ledger/entry/{int(seq)}")).text()
        path = f"/p/{product_code.encode(int(product_id))}"
        assert f'href="{path}"' in page, seq
        product = await http.get(path)
        assert product.status == 200 and f'data-seq="{int(seq)}"' in await product.text()
    assert 'href="/p/' not in await (await http.get(f"/ledger/entry/{int(topup[0])}")).text()  # about money only
    # The producer's own list links their listings to the products' pages too.
    await http.get(await _link(app, int(producer[0])))
    mine = await (await http.get("/ledger/me")).text()
    assert f'href="/p/{product_code.encode(int(listed[0]))}"' in mine
