"""English — what members are told unasked (``bots.pushes``): domain events and the scheduler's notices."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "push.order_paid": "🔔 New order! Order #{id}: {goods} (total {total})\nPlease check it and tap 'Accept'.",
    "push.see_order": "📦 See order",
    "push.order_accepted": "The shop accepted order #{id}. It will be on its way soon.",
    "push.courier_assigned": "🛵 Delivery #{id} is yours.",
    "push.see_job": "🛵 See job",
    "push.picked_up": "🛵 Order #{id} is on its way. Tell the courier your delivery code when it arrives.",
    "push.delivered": "✅ Order #{id} has arrived. If all is well, tap 'I got it'.",
    "push.claim_opened": "⚠️ A problem was reported on order #{id}. Please answer it.",
    "push.see_claim": "⚠️ See claim",
    "push.shop_approved": "🎉 Your shop '{shop}' is approved! You can list goods now.",
    "push.shop_refused": "Your shop '{shop}' was not approved. Please call the market office.",
    "push.dividend_paid": "🌰 A cooperative dividend of {amount} arrived in your wallet. Thank you for being with us!",
    "push.cashout_paid": "🏦 Your cash-out of {amount} was sent to the bank.",
    "push.cashout_failed": "Your cash-out did not go through; the Bamtol are back in your wallet. Reason: {reason}",
    "push.order_reminder": "⏰ Order #{order} is still waiting for you to accept it.",
    "push.topup": "💰 {amount} in 밤톨 arrived in your wallet.",
    "push.back_to_order": "🧾 Back to my order",
    # what the "trust" batch tells members (bots/pushes.py NOTICES)
    "push.abuse.hold_review": "🔔 A note for you: some of your reviews looked unusual, so one is hidden until the market office has checked it. This is not a penalty. See why, and appeal if we got it wrong.",
    "push.abuse.withhold_reward": "🔔 A note for you: while your reviews are being checked, review and recommendation rewards wait. They are not lost. See why, and appeal if we got it wrong.",
    "push.abuse.claims_need_approval": "🔔 A note for you: you have made many more problem reports than the market's average, so the market office now checks each one before it is filed. See why, and appeal if we got it wrong.",
}
