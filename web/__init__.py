"""Every HTTP page and JSON route for people and systems (the ledger's tlog API, which replicas serve
too, stays in ``ledger.api``; the chat channels' webhooks live with the chat in ``bots``).

- ``app``         the aiohttp application: every route mounted, the bots' webhooks included;
- ``landing``     ``GET /``; ``health`` the channels' state;
- ``api``         the commerce JSON API; ``exchange`` BNM market data;
- ``explorer``    the public ledger explorer (what it reads: ``explorer_reads``);
- ``provenance``  a product's provenance page, kept rendered by ``page_cache``;
- ``pages``       how the HTML pages are rendered: the Jinja2 templates in ``templates/`` (autoescape,
                  the strict CSP); ``static/`` the in-browser verifier and style.
"""
