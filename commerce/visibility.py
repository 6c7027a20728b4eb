"""The market's public entry kinds: what anyone may read in full on the ledger (``ledger.visibility``).

What the public is promised: shops and listings, where goods come from (the producer's stages and the
courier's hand-over and delivery), reviews, and the claim record with A/S (a claim's every step). Every
other kind — joining, phones, money in and out, orders and payments, settlements, refunds, the BNM
market, dividends, ads, recommendations, abuse cases — is restricted: its content goes only to
accredited replicas and to the member it concerns. A kind new to the code is restricted until it is
listed here, and a listed kind is still restricted in any entry that moves money or opens an account
with an owner.

Why these are safe to show: none names a buyer's account or amount. A review or a claim is signed by
the buyer's key — published by the buyer's own choice, as it is on the provenance page — and the key is
a pseudonym: no public entry or page ties a key to a member's number, name or phone (``member.join``
is restricted, links carry tokens, pages show no names).
"""

from __future__ import annotations

from ledger.visibility import Visibility

PUBLIC_KINDS = frozenset(
    {
        # the ledger's own set-up: its keys, rules and system accounts (no owner)
        "ledger.genesis",
        "ledger.rules",
        "market.accounts",
        # shops
        "shop.open",
        "shop.verify",
        "shop.terms",
        "shop.referral",
        # listings
        "product.list",
        "product.price",
        "product.stock",
        "product.active",
        # provenance: the producer's stages, the courier's hand-over and delivery, a collected pickup
        "provenance.harvested",
        "provenance.processed",
        "provenance.packed",
        "provenance.handed_over",
        "provenance.delivered",
        "delivery.pickup",
        "delivery.confirm",
        "delivery.handover",
        # reviews, claims and A/S (an after-sales claim is a claim of kind after_sales)
        "review.post",
        "claim.open",
        "claim.answer",
        "claim.accept",
        "claim.escalate",
        "claim.decide",
    }
)

MARKET_VISIBILITY = Visibility(PUBLIC_KINDS)
