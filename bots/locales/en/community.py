"""English — recommendations, comments and what they earn (``bots.flows.community``)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "community.card.line": "💬 {n} comments · latest: “{text}”",
    "community.card.button": "💬 Comments & share",
    "community.comments.title": "💬 About {name}",
    "community.comments.none": "No comments yet. Ask a question or tell how it tasted.",
    "community.comments.ask": "❓ Ask",
    "community.comments.tip": "💡 Leave a tip",
    "community.comments.answer": "🙋 Answer {who}",
    "community.comments.share": "📣 Recommend to a friend",
    "community.write.question": "Type your question and send it. (up to 500 characters)",
    "community.write.tip": "Type how it tasted or a cooking tip and send it. (up to 500 characters)",
    "community.write.answer": "Type your answer and send it. (up to 500 characters)",
    "community.write.back": "◀ Comments",
    "community.comments.posted": "Your comment is up! It is signed and kept on the ledger.",
    "community.share.title": "📣 Recommend {name}",
    "community.share.pays": (
        "If a friend buys through this link within {days} days, the shop pays you {pct} of the goods "
        "(when the order is settled after delivery)."
    ),
    "community.share.free": "This shop pays no recommendation commission yet. Good food is worth sharing anyway!",
    "community.share.web": "🔗 Link: {link}",
    "community.share.kakao": "Text to send on KakaoTalk (long-press to copy):\n{text}",
    "community.share.telegram": "✈️ Send on Telegram",
    "community.earnings.button": "💰 What recommending earned",
    "community.earnings.text": (
        "💰 Earned by recommending and comments\n• Commissions: {referral}\n• Thanks for comments: {broker}\n"
        "• Orders waiting for settlement: {waiting}\n• Orders under review: {held}\n• Contribution rewards (BNM): {bnm}"
    ),
    "community.credit.chosen": "💬 Buying thanks to {who}'s comment: “{text}” (they get a thank-you at settlement)",
    "community.credit.button": "💬 I'm buying thanks to a comment",
    "community.credit.choose": "Which comment convinced you? Its author gets a thank-you. (You pay the same.)",
    "community.credit.back": "◀ Back to the order",
    "community.commission.button": "⚙️ Set the commission",
    "community.commission.choose": (
        "Pick {shop}'s recommendation commission (now {pct}). It is paid at settlement from goods sold through "
        "a friend's link."
    ),
    "community.commission.set": "{shop}'s recommendation commission is now {pct}. Signed and kept on the ledger.",
}
