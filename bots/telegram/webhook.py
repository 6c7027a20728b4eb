"""``POST /telegram/webhook``: Telegram's secret-token header (checked in constant time), JSON only, each
update queued for ``TelegramBot`` — answered 200 even when it cannot be read, or Telegram would send it
again and again.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bots.telegram.bot import TelegramBot
from ledger.errors import ChestnutError
from ledger.jsonbody import read_json

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KB; the server's own body limit


class NotJson(ChestnutError):
    code = "not_json"


def webhook_routes(bot: TelegramBot) -> list[web.RouteDef]:
    """``POST /telegram/webhook``: Telegram's secret-token header (checked in constant time), JSON only."""
    secret = (bot.webhook_secret or "").encode()

    def refuse(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": code, "message": message}, status=status)

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return refuse(403, "forbidden", "missing or wrong secret token")
        try:
            data = await read_json(request, max_bytes=MAX_UPDATE_BYTES, error=NotJson)
        except NotJson as exc:
            return refuse(400, exc.code, exc.message)
        if not bot.running:
            return refuse(503, "starting", "the bot is starting; Telegram will retry")
        fed = await bot.feed(data)
        if fed == "not_an_update":
            return refuse(400, "not_an_update", "the body is not a Telegram update")
        return web.json_response({"ok": True, "ignored": True} if fed == "ignored" else {"ok": True})

    return [web.post("/telegram/webhook", webhook)]
