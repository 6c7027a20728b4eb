"""English — who the member is (``bots.flows.signup``): phone verification, identity levels, the default
밤나무 share.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "signup.default_name": "neighbour",
    "signup.share_phone": "Tap '{button}' below to register your phone.",
    "signup.share_button": "📱 Send my number",
    "signup.later": "Later",
    "signup.type_phone": "Please type your mobile number (e.g. 010-1234-5678).",
    "signup.code_sent": "We sent a 6-digit code by text message. Please type it here.",
    "signup.code_shown": "(test) Your code: {code}",
    "signup.again": "New code",
    "signup.code_wrong": "That code does not match. {left} tries left.",
    "signup.done": "Your phone number is registered. Thank you!",
    "preference.bnm_share.saved": "From now on, payments start at {share}% Bamnamu.",
    "preference.bnm_share.choose": "Choose your usual Bamnamu share for payments. Now: {share}%.",
    "identity.verify_phone": "📱 Verify my phone",
    "identity.level": "🪪 Verification: {level}",
    "identity.level.unverified": "not yet (paying needs a verified phone)",
    "identity.level.phone": "phone verified",
    "identity.level.operator": "checked by the market office",
    "signup.on_telegram": "✈️ Verify on Telegram",
}
