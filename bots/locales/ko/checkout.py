"""Korean — the order confirmation and paying (``bots.flows.checkout``)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "pay.title": "🧾 {shop} 주문 확인",
    "pay.subtotal": "물건값: {amount}",
    "pay.delivery": "배달비: {amount}",
    "pay.total": "합계: {amount}",
    "pay.split_mixed": "내실 돈: 밤톨 {btl} + 밤나무 {bnm} (밤나무 {share}%)",
    "pay.split_btl": "내실 돈: 밤톨 {btl}",
    "pay.confirm": "✅ {amount} 결제하기",
    "pay.change_share": "🌰 밤나무 비율",
    "pay.share_choose": "밤나무로 낼 비율을 골라 주세요. 이 가게는 {max}%까지 받아요.",
    "pay.done": "결제됐어요! 주문 번호는 {order}번이에요.\n낸 돈: {paid}\n배달 받으실 때 기사님께 이 번호를 알려 주세요: 🔑 {code}",
    "pay.need_phone": "📱 결제하려면 먼저 전화번호 인증이 필요해요. 한 번만 하면 되고, 인증이 끝나면 이 주문 화면으로 바로 돌아와요.",
    "pay.need_phone_share": "📱 결제하려면 전화번호 인증이 필요해요 (한 번만). 아래 '{button}' 단추를 누르면 끝나고, 이 주문 화면으로 바로 돌아와요.",
    "pay.need_phone_typed": "📱 결제하려면 전화번호 인증이 필요해요 (한 번만). 휴대폰 번호를 적어 주세요 (예: 010-1234-5678). 인증이 끝나면 이 주문 화면으로 바로 돌아와요.",
    "pay.changed": "주문 내용이 바뀌어서 다시 보여 드려요. 확인하고 결제해 주세요.",
    "pay.changed_price": "가격이 바뀌었어요. 새 금액을 확인하고 결제해 주세요.",
    "pay.done_pickup": "결제됐어요! 주문 번호는 {order}번이에요.\n낸 돈: {paid}\n찾으러 가실 때 이 번호를 보여 주세요: 🔑 {code}",
}
