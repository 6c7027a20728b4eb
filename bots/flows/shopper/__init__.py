"""The shopper: browse, search, a product and where it came from, the cart, paying, orders, reviews, claims.

A routine order needs no typing::

    home ─장보기→ markets ─→ shops ─→ products ─→ product card ─담기→ cart ─결제→ confirmation
                                                     │                            │ (밤나무 비율)
                                                     └─어디서 왔나요?→ provenance  └─결제하기→ paid (code shown)
    home ─지난번처럼→ confirmation (the last order at today's prices)
    home ─내 주문→ orders ─→ order ─→ cancel | 잘 받았어요 | 후기 | 문제 신고

The confirmation's "결제하기" button carries the total the member saw and a nonce naming that confirmation
(the cart's version, share and total), so a changed price is refused (never charged) and a double tap
pays once (the nonce is the checkout's idempotency key).

One module a part: ``browse`` (markets, shops, categories, the search), ``product`` (a product's card
and where it came from), ``cart`` (putting goods in and changing them), ``orders`` (the shopper's
orders: cancelling, receiving, reviews and claims).
"""
