"""The Bamnamu exchange: members trade BNM for BTL, and the price it discovers is the price payments use.

- ``book``     the matching engine: limit and market orders, price-time priority, no I/O;
- ``service``  placing, cancelling and matching through the ledger (holds, trades, cancels);
- ``resting``  the resting orders' in-memory copy of the book;
- ``price``    the reference price payments read (``commerce.services.PriceSource``);
- ``schema``   the exchange's tables; ``errors`` its typed refusals.

Its market data over HTTP (book, trades, price, a PNG chart) is ``web.exchange``.
"""
