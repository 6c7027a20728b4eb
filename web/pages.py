"""How the public HTML pages are rendered: Jinja2 templates in ``web/templates/`` through aiohttp-jinja2,
autoescape on, each page served with a strict Content-Security-Policy.

Every value a template shows is escaped by Jinja2's autoescape; the policy (scripts and styles only from
ourselves, no inline script) means even a value that slipped past escaping could not run. The options
the templates are loaded with are written once here, for the pages rendered per request (``page``,
``problem``) and for those rendered ahead of any request (the provenance pages' cache, ``environment``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from importlib import resources
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

STATIC_TYPES = {"verify.js": "text/javascript", "trust.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
KST = dt.timezone(dt.timedelta(hours=9))


def kst(ms: int) -> str:
    """A ledger time (milliseconds since the epoch) as Korean wall-clock time, to the minute."""
    return dt.datetime.fromtimestamp(ms / 1000, KST).strftime("%Y-%m-%d %H:%M")


def number(value: int) -> str:
    """A whole number with thousands separators (amounts, entry numbers, counts)."""
    return f"{int(value):,}"


def _options() -> dict[str, Any]:
    # StrictUndefined: a name a template expects and the page did not give is an error, not a blank.
    return {
        "loader": jinja2.PackageLoader("web", "templates"),
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }


FILTERS = {"kst": kst, "number": number}


def setup(web_app: web.Application) -> jinja2.Environment:
    """The templates of ``web_app``'s pages, rendered through aiohttp-jinja2."""
    return aiohttp_jinja2.setup(web_app, autoescape=True, filters=FILTERS, default_helpers=False, **_options())


def environment() -> jinja2.Environment:
    """The same templates, for pages rendered before anyone asks for them (no request at hand)."""
    env = jinja2.Environment(autoescape=True, **_options())
    env.filters.update(FILTERS)
    return env


def page(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update({**HEADERS, **(headers or {})})
    return response


def problem(request: web.Request, status: int, title: str, message: str, *, hint: str = "") -> web.Response:
    """A friendly error page: what happened in plain words and where to go next; never a traceback."""
    return page(request, "problem.html", {"title": title, "message": message, "hint": hint}, status=status)


def load_static() -> dict[str, bytes]:
    folder = resources.files("web") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_TYPES}
