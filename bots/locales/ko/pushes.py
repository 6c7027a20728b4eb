"""Korean — what members are told unasked (``bots.pushes``): domain events and the scheduler's notices."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "push.order_paid": "🔔 새 주문이 왔어요! 주문 {id}번: {goods} (합계 {total})\n확인하고 '접수'를 눌러 주세요.",
    "push.see_order": "📦 주문 보기",
    "push.order_accepted": "가게에서 주문 {id}번을 접수했어요. 곧 준비해서 보내 드려요.",
    "push.courier_assigned": "🛵 배달 {id}번을 맡겨 드렸어요.",
    "push.see_job": "🛵 배달 보기",
    "push.picked_up": "🛵 주문 {id}번이 배달을 떠났어요. 받으실 때 배달 확인 번호를 알려 주세요.",
    "push.delivered": "✅ 주문 {id}번이 도착했어요. 잘 받으셨으면 '잘 받았어요'를 눌러 주세요.",
    "push.claim_opened": "⚠️ 주문 {id}번에 문제 신고가 들어왔어요. 답을 드려 주세요.",
    "push.see_claim": "⚠️ 신고 보기",
    "push.shop_approved": "🎉 '{shop}' 가게가 승인됐어요! 이제 물건을 올릴 수 있어요.",
    "push.shop_refused": "'{shop}' 가게는 승인되지 않았어요. 시장 사무실로 연락해 주세요.",
    "push.dividend_paid": "🌰 조합 배당금 {amount}이 지갑에 들어왔어요. 함께해 주셔서 고마워요!",
    "push.cashout_paid": "🏦 출금 {amount}을 은행으로 보냈어요.",
    "push.cashout_failed": "출금이 되지 않아 밤톨을 지갑으로 돌려드렸어요. 이유: {reason}",
    "push.order_reminder": "⏰ 주문 {order}번이 아직 접수를 기다리고 있어요.",
    "push.topup": "💰 밤톨 {amount}이 들어왔어요.",
    "push.back_to_order": "🧾 하던 주문 계속하기",
    # what the "trust" batch tells members (bots/pushes.py NOTICES)
    "push.abuse.hold_review": "🔔 안내드려요. 올리신 후기 가운데 평소와 다른 점이 보여서, 시장 사무실이 확인할 때까지 그 후기를 잠시 가려 두었어요. 벌을 드리는 게 아니에요. 이유를 보시고, 잘못 본 것 같으면 이의 신청을 해 주세요.",
    "push.abuse.withhold_reward": "🔔 안내드려요. 후기를 확인하는 동안 후기·추천 보상을 잠시 보류해요. 없어지는 게 아니에요. 이유를 보시고, 잘못 본 것 같으면 이의 신청을 해 주세요.",
    "push.abuse.claims_need_approval": "🔔 안내드려요. 문제 신고가 장터 평균보다 훨씬 많아서, 앞으로의 신고는 시장 사무실이 확인한 뒤에 접수해요. 이유를 보시고, 잘못 본 것 같으면 이의 신청을 해 주세요.",
}
