"""English — what any screen may show: the menu, home, 더보기, help, errors, list paging, and how a time of
day is said (``bots.texts.window``).
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "menu.home": "🏠 Home",
    "menu.help": "❓ Help",
    "error.flood": "Messages are coming very fast. Please wait a moment and tap again.",
    "error.generic": "Sorry, something went wrong for a moment. Please try again shortly, or tap 'Home'.",
    "error.stale": "That button belongs to an older screen and no longer works. Here is the home screen.",
    "home.greeting": "Hello, {name}! This is the Chestnut market. What would you like to do?",
    "home.no_phone": "📱 Tell us your phone number and we will keep you posted on orders and deliveries ('{more}' → '{phone}').",
    "home.shop": "🛒 Shop",
    "home.reorder": "🔁 Order like last time",
    "home.orders": "📦 My orders",
    "home.wallet": "💰 My wallet",
    "home.more": "⚙️ More",
    "home.work": "🧰 Work",
    "home.work.choose": "Which work?",
    "home.work.producer": "🏪 My shop",
    "home.work.courier": "🛵 Delivery jobs",
    "home.work.operator": "🧑‍💼 Operator",
    "more.title": "More options. Choose what you need.",
    "more.phone": "📱 Add phone number",
    "more.bnm_pref": "🌰 Bamnamu share",
    "more.lang": "🌐 언어 / Language",
    "more.open_shop": "🏪 Open a shop",
    "more.human": "☎️ Talk to a person",
    "help.text": (
        "How to use the Chestnut market:\n"
        "• Tap 'Shop' to choose a market, then a shop, then goods. No typing needed.\n"
        "• Or just type what you want (e.g. apple, 사과, ㅅㄱ).\n"
        "• 'Order like last time' fills your basket with your last order.\n"
        "• You always see a confirmation before paying.\n"
        "• Top up with cash at the market office.\n"
        "Questions? Call the office: {phone}"
    ),
    "help.call": "☎️ Call",
    "human.text": "To talk to a person, call the market office: {phone}\nWeekdays 9:00–18:00.",
    "lang.choose": "언어를 골라 주세요. / Choose your language.",
    # each language is named in its own words, in every catalogue
    "lang.korean": "한국어",
    "lang.english": "English",
    "start.welcome": "Welcome to the Chestnut market, {name}! 🌰\nBuy market goods by chat, and earn Bamtol for the ads you read.",
    "start.link_unknown": "We could not find this recommendation link. Look for the product under 🛒 Shop.",
    "list.prev": "◀ Back",
    "list.next": "Next ▶",
    "time.today": "today",
    "time.tomorrow": "tomorrow",
    "time.day_after": "the day after tomorrow",
    "time.date": "{month}/{day} ({weekday})",
    "time.weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
    "time.am": "am",
    "time.pm": "pm",
    "time.range": "{day} {start}–{end}",
    "time.hour": "{hour} {half}",
    "time.hour_min": "{hour}:{minute} {half}",
}
