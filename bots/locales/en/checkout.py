"""English — the order confirmation and paying (``bots.flows.checkout``)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "pay.title": "🧾 Check your order at {shop}",
    "pay.subtotal": "Goods: {amount}",
    "pay.delivery": "Delivery: {amount}",
    "pay.total": "Total: {amount}",
    "pay.split_mixed": "You pay: Bamtol {btl} + Bamnamu {bnm} ({share}% Bamnamu)",
    "pay.split_btl": "You pay: Bamtol {btl}",
    "pay.confirm": "✅ Pay {amount}",
    "pay.change_share": "🌰 Bamnamu share",
    "pay.share_choose": "Choose how much to pay in Bamnamu. This shop takes up to {max}%.",
    "pay.done": "Paid! Your order number is {order}.\nPaid: {paid}\nTell the courier this code when your goods arrive: 🔑 {code}",
    "pay.need_phone": "📱 To pay, please verify your phone number first. It takes a minute, only once, and brings you straight back to this order.",
    "pay.need_phone_share": "📱 To pay, please verify your phone number first (just once). Tap '{button}' below; you come straight back to this order.",
    "pay.need_phone_typed": "📱 To pay, please verify your phone number first (just once). Please type your mobile number (e.g. 010-1234-5678); you come straight back to this order.",
    "pay.changed": "Your order changed, so here it is again. Please check it and pay.",
    "pay.changed_price": "A price changed. Please check the new total and pay.",
    "pay.done_pickup": "Paid! Your order number is {order}.\nPaid: {paid}\nShow this code when you collect it: 🔑 {code}",
}
