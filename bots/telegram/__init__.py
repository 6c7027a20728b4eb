"""The Telegram adapter: python-telegram-bot 22 inside our own asyncio process, translating only.

An update becomes one ``Incoming`` (``updates``); the ``Screen`` that comes back becomes Bot API calls
(``render``); ``TelegramBot`` (``bot``) runs the application — polling, or a webhook (``webhook``) —
and keeps it up; pushes are paced within the Bot API's limits (``push``), broadcasts may go through
aiohttp (``transport``). No business rule lives here.
"""
