"""The Bamnamu market: members trade BNM for BTL, and the price it discovers is the price payments use.

- ``book``    the matching engine: limit and market orders, price-time priority, no I/O;
- ``service`` placing, cancelling and matching through the ledger (holds, trades, cancels);
- ``price``   the reference price payments read (``commerce.context.PriceSource``);
- ``api``     market data over HTTP (book, trades, price, a PNG chart);
- ``schema``  the market's tables; ``errors`` its typed refusals.
"""
