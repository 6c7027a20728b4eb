"""Every HTTP page and JSON route for people and systems (the ledger's tlog API, which replicas serve
too, stays in ``ledger.api``; the chat channels' webhooks live with the chat in ``bots``).

- ``app``         the aiohttp application: every route mounted, the bots' webhooks included;
- ``landing``     ``GET /``; ``health`` the channels' state;
- ``api``         the commerce JSON API; ``exchange`` BNM market data;
- ``explorer``    the public ledger explorer; ``provenance`` a product's provenance page;
- ``html``        the trust pages' shell and escaping; ``static/`` the in-browser verifier and style.
"""
