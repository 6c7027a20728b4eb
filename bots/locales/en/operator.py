"""English — the operator's menu (``bots.flows.operator``): shops to approve, couriers, cash top-ups,
disputes, phone numbers checked in person.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "operator.not_operator": "This menu is for the market office only.",
    "operator.home.title": "🧑‍💼 Office menu.\n{shops} shops waiting · {claims} disputes to decide",
    "operator.home.shops": "🏪 Shops ({n})",
    "operator.home.courier": "🛵 Add courier",
    "operator.home.topup": "💵 Cash top-up",
    "operator.home.claims": "⚖️ Disputes ({n})",
    "operator.member_unknown": "No member found. Write their phone (010-1234-5678) or member number (e.g. 12) again.",
    "operator.shops.title": "{n} shops are waiting for approval. Tap one.",
    "operator.shops.empty": "No shops are waiting.",
    "operator.shop.card": (
        "{name} ({kind}) · {status}\nMarket: {market}\nArea: {region}\nPhone: {phone}\n"
        "Applied by: {owner} (member {owner_id})\nBamnamu up to {share}% · delivery {fee}"
    ),
    "operator.shop.approve": "✅ Approve",
    "operator.shop.reject": "🙅 Do not approve",
    "operator.shop.list": "🏪 Shops",
    "operator.shop.approved": "✅ '{name}' approved.",
    "operator.shop.refused": "'{name}' not approved.",
    "operator.courier.ask": "Write the phone or member number of the new courier.",
    "operator.courier.confirm": "Make {name} (member {id}, {phone}) a courier?",
    "operator.courier.yes": "✅ Make courier",
    "operator.courier.done": "✅ {name} is now a courier.",
    "operator.topup.ask_who": "Write the phone or member number of the person who paid cash.",
    "operator.topup.ask_amount": "How much for {name} (member {id}, {phone})? Write the cash received.",
    "operator.topup.ask_receipt": "Write the receipt number (letters, digits, dashes; e.g. R-1024).",
    "operator.topup.bad_receipt": "A receipt number is letters, digits and dashes, up to 40.",
    "operator.topup.confirm": "Record this top-up?\nFor: {name} (member {id})\nAmount: {amount}\nReceipt: {receipt}",
    "operator.topup.yes": "✅ Record",
    "operator.topup.done": "✅ Topped up {amount} for {name}. (ledger #{seq})",
    "operator.claims.title": "Disputes waiting for the office's decision.",
    "operator.claims.empty": "No disputes to decide.",
    "operator.claims.button": "⚖️ Dispute #{id}",
    "operator.claim.ask_reason": "Write the reason for the decision. Customer and shop both see it.",
    "operator.claim.confirm": "Decide dispute #{id} like this?\nDecision: {resolution}\nReason: {reason}",
    "operator.claim.yes": "✅ Decide",
    "operator.claim.done": "✅ Dispute #{id} decided: {resolution}.",
    "operator.home.phone": "📱 Check a phone",
    "operator.phone.ask_who": "Type the member number (e.g. 12) of the person whose phone you are checking. (Their wallet's top-up help shows it.)",
    "operator.phone.ask_phone": "Type the mobile number of {name} (member {id}). Please look at their own handset to check it.",
    "operator.phone.confirm": "Register {phone} as the number of {name} (member {id})?",
    "operator.phone.yes": "✅ Register the number",
    "operator.phone.done": "✅ {name}'s phone number is registered. They can pay now.",
}
