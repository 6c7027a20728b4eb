"""The shell of the public HTML pages (ledger explorer, provenance pages): one place that escapes.

Why a hand-written shell and not a template engine: the pages are few and small, every value goes
through ``esc`` here, and an error page must render even when nothing else can. A page is served
with a strict Content-Security-Policy (scripts and styles only from ourselves, no inline script), so
even a value that slipped past escaping could not run.
"""

from __future__ import annotations

import html
from importlib import resources

from aiohttp import web

STATIC_TYPES = {"verify.js": "text/javascript", "trust.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


TOP_LINK = {"ko": "🌰 밤나무 장터 · 공개 장부", "en": "🌰 Chestnut market · public ledger"}


def shell(title: str, body: str, *, lang: str = "ko") -> str:
    return (
        f'<!doctype html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/trust.css">'
        '<script src="/static/verify.js" defer></script></head><body>'
        f'<header class="top"><a href="/ledger/">{esc(TOP_LINK.get(lang, TOP_LINK["ko"]))}</a></header>'
        f"<main>{body}</main></body></html>"
    )


def page(
    title: str, body: str, *, status: int = 200, headers: dict[str, str] | None = None, lang: str = "ko"
) -> web.Response:
    return web.Response(
        text=shell(title, body, lang=lang),
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**HEADERS, **(headers or {})},
    )


def problem(status: int, title: str, message: str, *, hint: str = "") -> web.Response:
    """A friendly error page: what happened in plain words and where to go next; never a traceback."""
    body = f"<h1>{esc(title)}</h1><p>{esc(message)}</p>"
    if hint:
        body += f'<p class="muted">{esc(hint)}</p>'
    body += '<a class="button" href="/ledger/">공개 장부 첫 화면으로</a>'
    return page(title, body, status=status)


def load_static() -> dict[str, bytes]:
    folder = resources.files("web") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_TYPES}
