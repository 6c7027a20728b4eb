"""Korean — the ads flows (``bots.flows.ads``): the member's settings and the ad message, the
producer's campaigns.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "more.ads": "📢 광고 받기",
    "ad.message": "(광고) {shop}\n{message}\n📞 문의: {phone}",
    "ad.open": "🔎 자세히 보기",
    "ad.stop": "🚫 광고 그만 받기",
    "ad.kakao_hint": "자세히 보기와 밤톨 받기: 채팅창에 '받은 광고'라고 보내 주세요. 그만 받기: '광고 그만'.",
    "ad.typed_inbox": "받은 광고",
    "ad.typed_stop": "광고 그만",
    "ad.any": "전체",
    "ad.none": "없음",
    "ad.on": "켜짐",
    "ad.off": "꺼짐",
    "ad.settings": (
        "📢 광고 받기 설정\n광고를 열어 보시면 가게가 밤톨을 드려요.\n• 종류: {categories}\n• 지역: {regions}\n"
        "• 밤 시간(21시~8시): {night}"
    ),
    "ad.expired": "⚠️ 동의하신 지 2년이 지났어요. 계속 받으시려면 '다시 동의하기'를 눌러 주세요.",
    "ad.categories": "🥬 종류 고르기",
    "ad.regions": "📍 지역 고르기",
    "ad.night": "🌙 밤 시간 켜기/끄기",
    "ad.inbox": "📬 받은 광고",
    "ad.reconfirm": "✅ 다시 동의하기",
    "ad.stop_all": "🚫 광고 모두 끄기",
    "ad.choose_category": "어떤 종류의 광고를 받을까요? 누르면 켜고 꺼요.",
    "ad.choose_region": "어느 지역 가게의 광고를 받을까요? 누르면 켜고 꺼요.",
    "ad.back": "◀ 광고 설정",
    "ad.stopped": "이제 광고를 보내지 않을게요. 언제든 '더보기 → 광고 받기'에서 다시 켤 수 있어요.",
    "ad.settings_button": "📢 광고 설정",
    "ad.inbox_empty": "받은 광고가 아직 없어요.",
    "ad.inbox_title": "받은 광고예요. 열어 보시면 밤톨을 받을 수 있어요.",
    "ad.inbox_item": "(광고) {shop}",
    "ad.product": "🛒 {name} · {price}",
    "ad.see_product": "🛒 물건 보기",
    "ad.paid": "🎁 광고를 봐 주셔서 {amount}을 드렸어요!",
    "ad.thanks": "봐 주셔서 고마워요!",
    "ad.thanks_exhausted": "봐 주셔서 고마워요! 이 광고의 밤톨은 모두 나갔어요.",
    "ad.thanks_held": "봐 주셔서 고마워요! 밤톨은 확인 후 드릴게요.",
    "ad.bad_button": "이 버튼은 쓸 수 없어요.",
    "ad.sponsored": "(광고) {name}",
    "ad.campaigns.no_shop": "가게가 있어야 광고를 할 수 있어요.",
    "ad.campaigns.title": "📢 {shop}의 광고\n광고를 열어 본 손님께 밤톨을 드리고, 남은 예산은 돌려받아요.",
    "ad.campaigns.item": "광고 {id}번 · {status}",
    "ad.campaigns.new": "➕ 새 광고 만들기",
    "ad.new.no_products": "먼저 물건을 올려 주세요.",
    "ad.new.choose_product": "어떤 물건을 광고할까요?",
    "ad.new.ask_message": "손님께 보낼 광고 글을 써 주세요. (500자까지)",
    "ad.new.ask_photo": "물건 사진을 함께 보낼까요?",
    "ad.new.photo_yes": "📷 사진 넣기",
    "ad.new.photo_no": "글만 보내기",
    "ad.new.ask_audience": "누구에게 보낼까요? (광고 받기에 동의한 분께만 가요)",
    "ad.new.audience.consent": "동의한 모든 분",
    "ad.new.audience.buyers": "우리 가게 단골",
    "ad.new.audience.market": "우리 시장 손님",
    "ad.new.ask_reward": "광고를 열어 본 분께 얼마를 드릴까요? (한 분께 한 번)",
    "ad.new.ask_limit": "한 분이 일주일에 우리 가게 광고를 몇 번까지 받을까요?",
    "ad.new.limit": "{n}번",
    "ad.new.ask_budget": "예산은 얼마로 할까요? 지갑에서 빠져 광고 계좌에 맡겨져요.",
    "ad.new.confirm": (
        "📢 광고 확인\n• 물건: {product}\n• 글: {message}\n• 받는 분: {audience}\n• 열어 보면: {reward}\n"
        "• 한 분당 일주일에 {limit}번까지\n• 예산: {budget} (최대 {opens}분)\n남은 예산은 광고를 끝내면 돌려드려요."
    ),
    "ad.new.start": "✅ {budget}으로 시작하기",
    "ad.new.cancel": "✖ 그만두기",
    "ad.new.started": "광고 {id}번을 시작했어요! {n}분께 차례로 보내요. 예산 {budget}을 맡겼어요.",
    "ad.campaign.report": "📊 광고 보고서",
    "ad.campaign.report_text": (
        "📊 광고 {id}번 · {status}\n보냄: {sent} · 받음: {delivered} · 열어 봄: {opened}\n"
        "드린 밤톨: {paid} · 남은 예산: {remaining}\n광고로 온 주문: {orders}건 · 주문당 비용: {cpo}"
    ),
    "ad.campaign.pause": "⏸ 잠시 멈추기",
    "ad.campaign.resume": "▶ 다시 보내기",
    "ad.campaign.end": "⏹ 끝내기",
    "ad.campaign.end_ask": "광고를 끝낼까요? 남은 예산은 지갑으로 돌려드려요.",
    "ad.campaign.end_yes": "⏹ 끝내기",
    "ad.campaign.ended": "광고를 끝냈어요. {refund}을 지갑으로 돌려드렸어요.",
    "ad.campaign.back": "◀ 광고 목록",
    "ad.campaigns.button": "📢 광고",
    "ad.status.draft": "준비 중",
    "ad.status.running": "보내는 중",
    "ad.status.paused": "멈춤",
    "ad.status.ended": "끝남",
}
