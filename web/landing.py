"""``GET /``: what this server is and where to go — the web chat, the public ledger, checking a product.

Korean by default; English with ``?lang=en`` or a browser that prefers English (``Accept-Language``).
Rendered from ``templates/landing.html`` in the trust pages' layout (``web.pages``: autoescape, the
strict CSP); the texts are here, one catalogue per language.
"""

from __future__ import annotations

from aiohttp import web

from web.pages import page

TEXTS = {
    "ko": {
        "title": "밤나무 장터",
        "intro": "시민 협동조합의 직거래 장터예요. 카카오톡·텔레그램 채팅으로 동네 시장의 물건을 주문하고, "
        "생산자는 원산지와 함께 물건을 올리고, 배달 기사님은 손님의 배달 코드로 배달을 마쳐요.",
        "ledger_intro": "주문·결제·배달·후기·원산지 기록은 모두 서명되어 누구나 확인할 수 있는 공개 장부에 쌓여요.",
        "chat": "💬 채팅으로 장보기",
        "chat_hint": "메신저가 없어도 이 브라우저에서 바로 해 볼 수 있어요.",
        "ledger": "📒 공개 장부 보기",
        "ledger_hint": "서명된 기록과 체크포인트, 밤톨 유통량과 현금 준비금을 볼 수 있어요.",
        "verify": "🔍 물건이 어디서 왔는지 확인하기",
        "verify_hint": "라벨의 QR 코드를 찍거나, 라벨에 적힌 코드를 넣어 주세요. 물건 페이지(/p/코드)에서 원산지와 "
        "서명된 기록을 이 브라우저가 장부에서 직접 확인해요.",
        "code": "라벨의 코드 (예: 0001Y)",
        "open": "열기",
        "other": "English",
    },
    "en": {
        "title": "Chestnut market",
        "intro": "A citizens' cooperative's direct-trade market: shoppers order from their local market by "
        "KakaoTalk or Telegram chat, producers list goods with their origin, and couriers finish a delivery "
        "with the shopper's code.",
        "ledger_intro": "Every order, payment, delivery, review and origin record is signed and appended to a "
        "public ledger anyone can check.",
        "chat": "💬 Shop by chat",
        "chat_hint": "No messenger needed: try it right here in your browser.",
        "ledger": "📒 The public ledger",
        "ledger_hint": "Signed entries and checkpoints, the Bamtol in circulation and the cash reserve.",
        "verify": "🔍 Check where a product came from",
        "verify_hint": "Scan the QR code on the label, or type the code printed on it. The product's page "
        "(/p/code) shows its origin, and your browser checks its signed records against the ledger itself.",
        "code": "Code on the label (e.g. 0001Y)",
        "open": "Open",
        "other": "한국어",
    },
}


def _q(param: str) -> float:
    name, _, value = param.strip().partition("=")
    if name.strip() != "q":
        return 1.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def choose_lang(request: web.Request) -> str:
    """``?lang=`` when it names a language we have, else the browser's most preferred one we have, else Korean."""
    asked = request.query.get("lang", "")
    if asked in TEXTS:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("Accept-Language", "").split(",")[:32]):
        tag, *params = part.split(";")
        quality = min((_q(p) for p in params), default=1.0)
        ranked.append((-quality, i, tag.strip().split("-")[0].lower()))
    return next((lang for q, _i, lang in sorted(ranked) if q < 0 and lang in TEXTS), "ko")


async def landing(request: web.Request) -> web.StreamResponse:
    lang = choose_lang(request)
    other = "en" if lang == "ko" else "ko"
    return page(
        request,
        "landing.html",
        {"lang": lang, "other": other, "t": TEXTS[lang]},
        headers={"Vary": "Accept-Language", "Content-Language": lang},
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/", landing)]
