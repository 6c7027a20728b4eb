"""Korean — the operator's menu (``bots.flows.operator``): shops to approve, couriers, cash top-ups,
disputes, phone numbers checked in person.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "operator.not_operator": "운영자만 쓸 수 있는 메뉴예요.",
    "operator.home.title": "🧑‍💼 운영 메뉴예요.\n승인 기다리는 가게 {shops}곳 · 판단할 분쟁 {claims}건",
    "operator.home.shops": "🏪 가게 승인 ({n})",
    "operator.home.courier": "🛵 배달원 등록",
    "operator.home.topup": "💵 현금 충전",
    "operator.home.claims": "⚖️ 분쟁 ({n})",
    "operator.member_unknown": "그 회원을 찾지 못했어요. 전화번호(010-1234-5678)나 회원번호(예: 12)를 다시 써 주세요.",
    "operator.shops.title": "승인을 기다리는 가게가 {n}곳 있어요. 눌러서 보세요.",
    "operator.shops.empty": "승인을 기다리는 가게가 없어요.",
    "operator.shop.card": (
        "{name} ({kind}) · {status}\n시장: {market}\n지역: {region}\n전화: {phone}\n"
        "신청한 분: {owner} (회원 {owner_id})\n밤나무 최대 {share}% · 배달비 {fee}"
    ),
    "operator.shop.approve": "✅ 승인",
    "operator.shop.reject": "🙅 승인 안 함",
    "operator.shop.list": "🏪 가게 목록",
    "operator.shop.approved": "✅ '{name}' 가게를 승인했어요.",
    "operator.shop.refused": "'{name}' 가게는 승인하지 않았어요.",
    "operator.courier.ask": "배달원으로 등록할 분의 전화번호나 회원번호를 써 주세요.",
    "operator.courier.confirm": "{name}님(회원 {id}, {phone})을 배달원으로 등록할까요?",
    "operator.courier.yes": "✅ 배달원 등록",
    "operator.courier.done": "✅ {name}님이 이제 배달원이에요.",
    "operator.topup.ask_who": "현금을 낸 분의 전화번호나 회원번호를 써 주세요.",
    "operator.topup.ask_amount": "{name}님 (회원 {id}, {phone})께 얼마를 충전할까요? 받은 현금을 숫자로 써 주세요.",
    "operator.topup.ask_receipt": "영수증 번호를 써 주세요. (영문·숫자·-, 예: R-1024)",
    "operator.topup.bad_receipt": "영수증 번호는 영문, 숫자, - 로 40자까지예요.",
    "operator.topup.confirm": "이대로 충전할까요?\n받는 분: {name} (회원 {id})\n금액: {amount}\n영수증: {receipt}",
    "operator.topup.yes": "✅ 충전 기록",
    "operator.topup.done": "✅ {name}님께 {amount:을} 충전했어요. (장부 #{seq})",
    "operator.claims.title": "운영자 판단을 기다리는 분쟁이에요.",
    "operator.claims.empty": "판단할 분쟁이 없어요.",
    "operator.claims.button": "⚖️ 분쟁 #{id}",
    "operator.claim.ask_reason": "판단 이유를 써 주세요. 손님과 가게가 함께 봐요.",
    "operator.claim.confirm": "분쟁 #{id:을} 이렇게 결정할까요?\n결정: {resolution}\n이유: {reason}",
    "operator.claim.yes": "✅ 결정하기",
    "operator.claim.done": "✅ 분쟁 #{id}: {resolution:으로} 결정했어요.",
    "operator.home.phone": "📱 전화번호 확인",
    "operator.phone.ask_who": "전화번호를 확인해 드릴 분의 회원번호(예: 12)를 써 주세요. (지갑 화면의 충전 안내에 나와요)",
    "operator.phone.ask_phone": "{name}님 (회원 {id})의 휴대폰 번호를 써 주세요. 그분 휴대폰을 직접 보고 확인해 주세요.",
    "operator.phone.confirm": "{name}님 (회원 {id})의 번호를 {phone:으로} 등록할까요?",
    "operator.phone.yes": "✅ 번호 등록",
    "operator.phone.done": "✅ {name}님의 전화번호를 등록했어요. 이제 결제할 수 있어요.",
}
