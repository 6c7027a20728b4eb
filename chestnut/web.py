"""The aiohttp server: assembles every package's routes, turns errors into JSON, runs background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bots.kakao import KakaoSkill, SkillGuard
from bots.telegram import TelegramBot, webhook_routes
from bots.telegram_push import TelegramNotifier
from bots.webchat import SESSION_KEY_PURPOSE, WebChat
from chestnut import landing
from chestnut.ads_wiring import dispatch_loop
from chestnut.bootstrap import App, batch_context
from chestnut.health import Health
from commerce import product_code
from commerce.api import PaymentsApi
from commerce.market.api import MarketApi
from commerce.provenance_page import ProvenancePages
from commerce.visibility import MARKET_VISIBILITY
from ledger.api import LedgerApi, json_dumps
from ledger.errors import ChestnutError
from ledger.explorer import Explorer
from ledger.tiles import TileApi, TreeStore
from ledger.visibility import Gate
from ledger.witnessing import WitnessedApi, Witnessing, parse_witnesses
from scheduler.wiring import SchedulerService

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


async def ledger_upkeep(app: App, interval_s: float, on_checkpoint: Callable[[], None] | None = None) -> None:
    """Every few seconds: void expired holds, and sign a new checkpoint when the ledger grew.

    ``on_checkpoint`` is told of each new checkpoint (witnessing wakes up; it never blocks this loop).
    """
    while True:
        try:
            async with app.db.unit_of_work() as uow:
                if await app.ledger.void_expired(uow):
                    await uow.commit()
            async with app.db.unit_of_work() as uow:
                if await app.ledger.publish_checkpoint(uow):
                    await uow.commit()
                    if on_checkpoint is not None:
                        on_checkpoint()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ledger upkeep failed; retrying in %.1fs", interval_s)
        await asyncio.sleep(interval_s)


def kakao_skill(app: App) -> KakaoSkill:
    """``POST /kakao/skill``: always mounted; without a secret it answers only in development."""
    secret = app.settings.kakao_skill_secret
    guard = SkillGuard.configured(
        secret.get_secret_value() if secret else None, app.settings.kakao_skill_header, app.settings.environment
    )
    return KakaoSkill(app.dialogue, guard, bot_id=app.settings.kakao_bot_id)


def witnessing_for(app: App) -> Witnessing | None:
    """The replicas that witness our checkpoints (``CHESTNUT_WITNESSES``), or None when there are none."""
    if not app.settings.witnesses:
        return None
    return Witnessing(
        app.db,
        app.ledger,
        parse_witnesses(app.settings.witnesses),
        quorum=app.settings.witness_quorum,
        timeout_s=app.settings.witness_timeout_s,
    )


def make_web_app(app: App, *, background: bool = True, scheduler: bool = False) -> web.Application:
    web_app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    # Who reads which entry: accredited replicas (bearer tokens) everything, a member their own, anyone the
    # public kinds (commerce.visibility).
    gate = Gate(MARKET_VISIBILITY, readers=True, keys=app.keys)
    web_app.add_routes(LedgerApi(app.db, app.ledger, gate).routes())
    web_app.add_routes(MarketApi(app.db, app.market).routes())
    web_app.add_routes(TileApi(app.db, TreeStore(), gate).routes())
    web_app.add_routes(WitnessedApi(app.db).routes())
    if app.gateway is not None:
        secret = app.settings.gateway_webhook_secret
        web_app.add_routes(
            PaymentsApi(
                app.db, app.market, app.gateway, webhook_secret=secret.get_secret_value().encode() if secret else b""
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
    web_app.add_routes(ProvenancePages(app.db, base_url=app.settings.public_url).routes())
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

    if background:

        async def background_tasks(_web_app: web.Application) -> AsyncIterator[None]:
            witnessing = witnessing_for(app)
            interval = app.settings.checkpoint_interval_s
            tasks = [asyncio.create_task(ledger_upkeep(app, interval, witnessing.wake if witnessing else None))]
            if witnessing is not None:
                tasks.append(asyncio.create_task(witnessing.run(interval)))
            # Ads go out from here, where the notifiers are (one process at a time: a lease).
            tasks.append(asyncio.create_task(dispatch_loop(app).run_forever(), name="ads-dispatch"))
            if app.pushes.notifiers:  # the push outbox's sender (several workers share its rows by claims)
                tasks.append(asyncio.create_task(app.pushes.run(), name="pushes"))
            yield
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        web_app.cleanup_ctx.append(background_tasks)
    if scheduler:

        async def batch_scheduler(_web_app: web.Application) -> AsyncIterator[None]:
            service = SchedulerService(batch_context(app))
            await service.start()
            yield
            await service.stop()

        web_app.cleanup_ctx.append(batch_scheduler)
    return web_app


async def serve_scheduler_only(app: App) -> None:
    """``serve --role scheduler``: the ledger upkeep and the batch scheduler, no HTTP listener."""
    upkeep = asyncio.create_task(ledger_upkeep(app, app.settings.checkpoint_interval_s))
    service = SchedulerService(batch_context(app))
    await service.start()
    print("Chestnut scheduler is standing by for the lease (role scheduler)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()
        upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upkeep


class CannotListen(ChestnutError):
    code = "cannot_listen"


async def serve(app: App, host: str, port: int, *, role: str = "all") -> None:
    """Serve HTTP (roles ``all``, ``web``); run the batch scheduler too (roles ``all``, ``scheduler``)."""
    if role == "scheduler":
        await serve_scheduler_only(app)
        return
    runner = web.AppRunner(make_web_app(app, scheduler=role == "all"), access_log=None)
    await runner.setup()
    # Why the try starts before site.start() and the OSError becomes a typed refusal: a busy port used
    # to skip runner.cleanup(), so the background tasks kept running on a closed database (tracebacks in
    # the log), and the CLI reported "internal error (OSError)"
    # (tests/e2e/test_http_api.py::test_serve_on_a_busy_port_is_a_one_line_refusal).
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)  # a burst of connects must not wait for SYN retries
        try:
            await site.start()
        except OSError as exc:
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}", host=host, port=port) from None
        log.info("Chestnut is serving on http://%s:%d (ledger: /ledger/checkpoint)", host, port)
        print(
            f"Chestnut is serving on http://{host}:{port}  —  chat in your browser: http://{host}:{port}/chat",
            flush=True,
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
