"""English — the ads flows (``bots.flows.ads``): the member's settings and the ad message, the
producer's campaigns.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "more.ads": "📢 Ads I get",
    "ad.message": "(광고) Ad · {shop}\n{message}\n📞 Contact: {phone}",  # the legal marker stays Korean
    "ad.open": "🔎 See more",
    "ad.stop": "🚫 Stop ads",
    "ad.kakao_hint": "To see it and get 밤톨, send 'ads received' in this chat. To stop: 'stop ads'.",
    "ad.typed_inbox": "ads received",
    "ad.typed_stop": "stop ads",
    "ad.any": "all",
    "ad.none": "none",
    "ad.on": "on",
    "ad.off": "off",
    "ad.settings": (
        "📢 Ad settings\nShops pay you 밤톨 for opening their ads.\n• Kinds: {categories}\n• Regions: {regions}\n"
        "• Night (21:00–08:00): {night}"
    ),
    "ad.expired": "⚠️ You agreed more than two years ago. Tap 'Agree again' to keep getting ads.",
    "ad.categories": "🥬 Kinds",
    "ad.regions": "📍 Regions",
    "ad.night": "🌙 Night on/off",
    "ad.inbox": "📬 Ads received",
    "ad.reconfirm": "✅ Agree again",
    "ad.stop_all": "🚫 Turn all ads off",
    "ad.choose_category": "Which kinds of ads? Tap to turn on or off.",
    "ad.choose_region": "Ads from shops in which regions? Tap to turn on or off.",
    "ad.back": "◀ Ad settings",
    "ad.stopped": "No more ads. You can turn them on again under 'More → Ads I get'.",
    "ad.settings_button": "📢 Ad settings",
    "ad.inbox_empty": "No ads yet.",
    "ad.inbox_title": "Ads you received. Open one to get 밤톨.",
    "ad.inbox_item": "(Ad) {shop}",
    "ad.product": "🛒 {name} · {price}",
    "ad.see_product": "🛒 See the product",
    "ad.paid": "🎁 Thanks for looking: {amount} is yours!",
    "ad.thanks": "Thanks for looking!",
    "ad.thanks_exhausted": "Thanks for looking! This ad's 밤톨 have all been given out.",
    "ad.thanks_held": "Thanks for looking! The 밤톨 follow after a check.",
    "ad.bad_button": "This button cannot be used.",
    "ad.sponsored": "(광고) {name}",
    "ad.campaigns.no_shop": "You need a shop to advertise.",
    "ad.campaigns.title": "📢 Ads of {shop}\nShoppers who open your ad get 밤톨; the unspent budget comes back.",
    "ad.campaigns.item": "Ad {id} · {status}",
    "ad.campaigns.new": "➕ New ad",
    "ad.new.no_products": "List a product first.",
    "ad.new.choose_product": "Which product?",
    "ad.new.ask_message": "Type the ad text for shoppers (up to 500 characters).",
    "ad.new.ask_photo": "Send the product photo with it?",
    "ad.new.photo_yes": "📷 With photo",
    "ad.new.photo_no": "Text only",
    "ad.new.ask_audience": "Who should get it? (only people who agreed to ads)",
    "ad.new.audience.consent": "Everyone who agreed",
    "ad.new.audience.buyers": "My regulars",
    "ad.new.audience.market": "My market's shoppers",
    "ad.new.ask_reward": "How much for each person who opens it? (once each)",
    "ad.new.ask_limit": "How many of your ads may one person get a week?",
    "ad.new.limit": "{n}",
    "ad.new.ask_budget": "Budget? It leaves your wallet and is held for the ad.",
    "ad.new.confirm": (
        "📢 Check your ad\n• Product: {product}\n• Text: {message}\n• To: {audience}\n• Per open: {reward}\n"
        "• Up to {limit} a week per person\n• Budget: {budget} (up to {opens} people)\nThe rest comes back when it ends."
    ),
    "ad.new.start": "✅ Start with {budget}",
    "ad.new.cancel": "✖ Cancel",
    "ad.new.started": "Ad {id} started! It goes to {n} people in turn. {budget} is held for it.",
    "ad.campaign.report": "📊 Ad report",
    "ad.campaign.report_text": (
        "📊 Ad {id} · {status}\nSent: {sent} · delivered: {delivered} · opened: {opened}\n"
        "Paid: {paid} · budget left: {remaining}\nOrders from the ad: {orders} · cost per order: {cpo}"
    ),
    "ad.campaign.pause": "⏸ Pause",
    "ad.campaign.resume": "▶ Resume",
    "ad.campaign.end": "⏹ End",
    "ad.campaign.end_ask": "End the ad? The rest of the budget goes back to your wallet.",
    "ad.campaign.end_yes": "⏹ End it",
    "ad.campaign.ended": "The ad has ended. {refund} went back to your wallet.",
    "ad.campaign.back": "◀ My ads",
    "ad.campaigns.button": "📢 Ads",
    "ad.status.draft": "draft",
    "ad.status.running": "sending",
    "ad.status.paused": "paused",
    "ad.status.ended": "ended",
}
