"""The Bamnamu exchange: members trade BNM for BTL, and the price it discovers is the price payments use.

- ``book``      the matching engine: limit and market orders, price-time priority, no I/O;
- ``rules``     tick, lot, the day's band and the limits an order is checked against;
- ``service``   placing and cancelling through the ledger (holds, trades, cancels);
- ``fills``     what a placement's fills transfer and write;
- ``resting``   the resting orders' in-memory copy of the book;
- ``queries``   orders, trades, the book by level, the day's summary, today's band;
- ``price``     the reference price payments read (``commerce.services.PriceSource``);
- ``rows``      the exchange's rows by column name; ``accounts`` its names on the ledger;
- ``schema``    the exchange's tables; ``errors`` its typed refusals.

Its market data over HTTP (book, trades, price, a PNG chart) is ``web.exchange``.
"""
