"""Shops' reputation and members' standing, recomputed from the ledger's entries alone (both databases)."""

from __future__ import annotations

import base64

from chestnut.bootstrap import App
from chestnut.demo import build_demo
from commerce.trust.standing import facts_from, load_facts, reputation, standing


async def test_reputation_from_the_public_entries_matches_the_market(app: App) -> None:
    await build_demo(app.services, app.db, shoppers=30)
    async with app.db.snapshot() as snap:
        ours = await load_facts(snap)
        # A replica with every entry's bytes (the public has the public ones): the bytes only, the same fold.
        raw = await app.ledger.entries(snap, 0, ours.size)
        public = facts_from([(s, base64.b64decode(base64.b64encode(e))) for s, e in raw], ours.size)
        shop_ids = [int(r[0]) for r in await snap.fetch("SELECT id FROM shops ORDER BY id")]
        for shop_id in shop_ids:
            rep = reputation(public, shop_id)
            assert rep == reputation(ours, shop_id)
            visible = await snap.fetch(
                "SELECT COUNT(*), COALESCE(SUM(r.rating), 0) FROM reviews r JOIN products p ON p.id = r.product_id "
                "WHERE p.shop_id = :s AND r.status = 'visible'",
                {"s": shop_id},
            )
            assert (rep.rating.count, rep.rating.total) == (int(visible[0][0]), int(visible[0][1]))
            delivered = await snap.fetch(
                "SELECT COUNT(*) FROM orders WHERE shop_id = :s AND delivered_ms IS NOT NULL", {"s": shop_id}
            )
            assert rep.delivered == int(delivered[0][0])
            claimed = await snap.fetch(
                "SELECT COUNT(*) FROM claims c JOIN orders o ON o.id = c.order_id WHERE o.shop_id = :s", {"s": shop_id}
            )
            assert rep.claims == int(claimed[0][0])
            assert rep.claim_rate_bp == (rep.claims * 10_000 // rep.delivered if rep.delivered else 0)
        # A member's standing: what they received, claimed and reviewed.
        buyer_rows = await snap.fetch("SELECT member_id, COUNT(*) FROM claims GROUP BY member_id")
        for member_id, n in buyer_rows:
            s = standing(public, int(member_id))
            assert s.claims == int(n) and s.delivered >= 1
        # Facts folded in two steps equal facts read at once (the cache's incremental refresh).
        half = await load_facts(snap, ours.size // 2)
        assert reputation(await load_facts(snap, since=half), shop_ids[0]) == reputation(ours, shop_ids[0])
