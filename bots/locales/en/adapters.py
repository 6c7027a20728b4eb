"""English — the messenger adapters' own words (``bots.telegram``, ``bots.kakao``, ``bots.kakao_render``):
hints and fallbacks that no flow writes.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "telegram.contact_not_yours": ("Sorry, only your own phone number can be registered. Please tap '{button}' below."),
    "telegram.contact_hint": "Tap '{button}' below and your number is registered at once.",
    "telegram.menu_hint": "The big buttons below always take you home or to help.",
    "kakao.busy": "We are a little busy. Please tap the same button again in a moment.",
    "kakao.empty_reply": "Got it.",
    "kakao.choose_below": "Please choose below.",
}
