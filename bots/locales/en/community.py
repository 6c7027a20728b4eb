"""English — recommendations, comments and what they earn (``bots.flows.community``)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "rc.card_line": "💬 {n} comments · latest: “{text}”",
    "rc.card_button": "💬 Comments & share",
    "rc.comments_title": "💬 About {name}",
    "rc.comments_none": "No comments yet. Ask a question or tell how it tasted.",
    "rc.ask": "❓ Ask",
    "rc.tip": "💡 Leave a tip",
    "rc.answer": "🙋 Answer {who}",
    "rc.share": "📣 Recommend to a friend",
    "rc.write_question": "Type your question and send it. (up to 500 characters)",
    "rc.write_tip": "Type how it tasted or a cooking tip and send it. (up to 500 characters)",
    "rc.write_answer": "Type your answer and send it. (up to 500 characters)",
    "rc.back_comments": "◀ Comments",
    "rc.posted": "Your comment is up! It is signed and kept on the ledger.",
    "rc.share_title": "📣 Recommend {name}",
    "rc.share_pays": (
        "If a friend buys through this link within {days} days, the shop pays you {pct} of the goods "
        "(when the order is settled after delivery)."
    ),
    "rc.share_free": "This shop pays no recommendation commission yet. Good food is worth sharing anyway!",
    "rc.share_web": "🔗 Link: {link}",
    "rc.share_kakao": "Text to send on KakaoTalk (long-press to copy):\n{text}",
    "rc.share_telegram": "✈️ Send on Telegram",
    "rc.earnings_button": "💰 What recommending earned",
    "rc.earnings": (
        "💰 Earned by recommending and comments\n• Commissions: {referral}\n• Thanks for comments: {broker}\n"
        "• Orders waiting for settlement: {waiting}\n• Orders under review: {held}\n• Contribution rewards (BNM): {bnm}"
    ),
    "rc.credited": "💬 Buying thanks to {who}'s comment: “{text}” (they get a thank-you at settlement)",
    "rc.thanks_comment": "💬 I'm buying thanks to a comment",
    "rc.choose_comment": "Which comment convinced you? Its author gets a thank-you. (You pay the same.)",
    "rc.back_to_pay": "◀ Back to the order",
    "rc.set_commission": "⚙️ Set the commission",
    "rc.commission_choose": (
        "Pick {shop}'s recommendation commission (now {pct}). It is paid at settlement from goods sold through "
        "a friend's link."
    ),
    "rc.commission_set": "{shop}'s recommendation commission is now {pct}. Signed and kept on the ledger.",
}
