"""The aiohttp application: every package's routes in one app, and errors turned into JSON."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bots.kakao import KakaoSkill, SkillGuard
from bots.telegram.bot import TelegramBot
from bots.telegram.push import TelegramNotifier
from bots.telegram.webhook import webhook_routes
from bots.webchat import SESSION_KEY_PURPOSE, WebChat
from commerce.shops import product_code
from commerce.visibility import MARKET_VISIBILITY
from ledger.api import LedgerApi, json_dumps
from ledger.errors import ChestnutError
from ledger.tiles import TileApi, TreeStore
from ledger.visibility import Gate
from ledger.witnessing import WitnessedApi, parse_witnesses
from web import landing, pages
from web.api import PaymentsApi
from web.exchange import MarketApi
from web.explorer import Explorer
from web.health import Health
from web.provenance import ProvenancePages

if TYPE_CHECKING:  # the shell builds the App and hands it in; the web layer never imports the shell
    from chestnut.bootstrap import App

log = logging.getLogger("chestnut.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Typed errors become ``{"error": code, "message": …}``; anything unexpected is logged, never shown."""
    try:
        return await handler(request)
    except ChestnutError as exc:
        return web.json_response(dumps=json_dumps, data=exc.to_json(), status=exc.http_status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return web.json_response(dumps=json_dumps, data={"error": code, "message": exc.reason}, status=exc.status)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return web.json_response(
            dumps=json_dumps,
            data={"error": "internal_error", "message": "something went wrong on our side; please try again"},
            status=500,
        )


def kakao_skill(app: App) -> KakaoSkill:
    """``POST /kakao/skill``: always mounted; without a secret it answers only in development."""
    secret = app.settings.kakao_skill_secret
    guard = SkillGuard.configured(
        secret.get_secret_value() if secret else None, app.settings.kakao_skill_header, app.settings.environment
    )
    return KakaoSkill(app.dialogue, guard, bot_id=app.settings.kakao_bot_id)


def make_web_app(app: App) -> web.Application:
    """Every route, the chat channels' included; the background work a server runs is ``chestnut.serve``'s."""
    web_app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    templates = pages.setup(web_app)  # the HTML pages' Jinja2 templates (web/templates/)
    # Who reads which entry: accredited replicas (bearer tokens) everything, a member their own, anyone the
    # public kinds (commerce.visibility).
    gate = Gate(MARKET_VISIBILITY, readers=True, keys=app.keys)
    web_app.add_routes(LedgerApi(app.db, app.ledger, gate).routes())
    web_app.add_routes(MarketApi(app.db, app.services).routes())
    web_app.add_routes(TileApi(app.db, TreeStore(), gate).routes())
    web_app.add_routes(WitnessedApi(app.db).routes())
    if app.gateway is not None:
        secret = app.settings.gateway_webhook_secret
        web_app.add_routes(
            PaymentsApi(
                app.db, app.services, app.gateway, webhook_secret=secret.get_secret_value().encode() if secret else b""
            ).routes()
        )

    kakao = kakao_skill(app)
    web_app.add_routes(kakao.routes())

    async def drain_kakao(_web_app: web.Application) -> None:
        await kakao.drain()

    web_app.on_shutdown.append(drain_kakao)
    web_app.add_routes(
        WebChat(
            app.dialogue,
            session_key=app.keys.derive_key(SESSION_KEY_PURPOSE),
            new_sessions_per_address=app.settings.webchat_new_sessions_per_address,
            new_sessions_overall=app.settings.webchat_new_sessions_overall,
            new_sessions_window_s=app.settings.webchat_new_sessions_window_s,
        ).routes()
    )
    web_app.add_routes(landing.routes())  # GET /: what this is, and the way to the chat, the ledger, a product
    # The trust pages: provenance pages behind the QR labels, and the ledger explorer (HTML under /ledger/).
    web_app.add_routes(ProvenancePages(app.db, templates=templates, base_url=app.settings.public_url).routes())
    explorer = Explorer(
        app.db,
        app.ledger,
        app.keys,
        witnesses=parse_witnesses(app.settings.witnesses),
        product_page=product_code.page_path,
        gate=gate,
    )
    web_app.add_routes(explorer.routes())
    web_app.on_startup.append(explorer.startup)
    telegram: TelegramBot | None = None
    if app.settings.telegram_token is not None:
        # The bot lives as long as the server (polling, or the webhook route with its secret token),
        # whether or not the other background work runs: the webhook route needs it to be up.
        telegram = TelegramBot.from_settings(app.settings, app.dialogue)
        if telegram.webhook_url:
            web_app.add_routes(webhook_routes(telegram))
        web_app.cleanup_ctx.append(telegram.lifespan)
        # Pushes (a new order to the shop, "delivered" to the shopper) go out through the same bot.
        app.pushes.add(TelegramNotifier(telegram.application.bot, keyboards=telegram.keyboards))
    web_app.add_routes(Health(app.db, telegram=telegram, kakao_up=kakao.guard.enabled).routes())

    return web_app
