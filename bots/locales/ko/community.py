"""Korean — recommendations, comments and what they earn (``bots.flows.community``)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "community.card.line": "💬 댓글 {n}개 · 최근: “{text}”",
    "community.card.button": "💬 댓글·추천",
    "community.comments.title": "💬 {name} 이야기",
    "community.comments.none": "아직 댓글이 없어요. 궁금한 걸 물어보거나 먹어 본 이야기를 남겨 주세요.",
    "community.comments.ask": "❓ 물어보기",
    "community.comments.tip": "💡 팁 남기기",
    "community.comments.answer": "🙋 {who}님께 답하기",
    "community.comments.share": "📣 친구에게 추천",
    "community.write.question": "궁금한 걸 적어 보내 주세요. (500자까지)",
    "community.write.tip": "먹어 본 이야기나 요리 팁을 적어 보내 주세요. (500자까지)",
    "community.write.answer": "답을 적어 보내 주세요. (500자까지)",
    "community.write.back": "◀ 댓글로",
    "community.comments.posted": "댓글이 올라갔어요! 서명되어 장부에 남았어요.",
    "community.share.title": "📣 {name} 추천하기",
    "community.share.pays": "이 링크로 친구가 {days}일 안에 사면, 가게가 물건값의 {pct}를 드려요. (배달이 끝나 정산될 때)",
    "community.share.free": "이 가게는 아직 추천 수수료가 없어요. 그래도 좋은 물건은 나눠 주세요!",
    "community.share.web": "🔗 링크: {link}",
    "community.share.kakao": "카카오톡으로 보낼 글 (길게 눌러 복사):\n{text}",
    "community.share.telegram": "✈️ 텔레그램으로 보내기",
    "community.earnings.button": "💰 추천으로 번 돈",
    "community.earnings.text": (
        "💰 추천·댓글로 번 돈\n• 추천 수수료: {referral}\n• 댓글 덕분 보상: {broker}\n• 정산을 기다리는 주문: {waiting}건\n"
        "• 확인 중인 주문: {held}건\n• 기여 보상(밤나무): {bnm}"
    ),
    "community.credit.chosen": "💬 {who}님의 댓글 덕분에 사요: “{text}” (정산 때 감사 보상이 가요)",
    "community.credit.button": "💬 이 댓글 덕분에 샀어요",
    "community.credit.choose": "어느 댓글 덕분에 사시나요? 고르시면 그분께 감사 보상이 가요. (내시는 돈은 그대로예요)",
    "community.credit.back": "◀ 주문 확인으로",
    "community.commission.button": "⚙️ 추천 수수료 정하기",
    "community.commission.choose": "{shop}의 추천 수수료를 골라 주세요. 지금은 {pct}예요. 친구 추천으로 팔린 물건값에서 정산 때 드려요.",
    "community.commission.set": "{shop}의 추천 수수료를 {pct}로 정했어요. 장부에 서명되어 남았어요.",
}
