"""English — the operator's menu (``bots.flows.operator``): shops to approve, couriers, cash top-ups,
disputes, phone numbers checked in person.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "op.not_operator": "This menu is for the market office only.",
    "op.title": "🧑‍💼 Office menu.\n{shops} shops waiting · {claims} disputes to decide",
    "op.shops": "🏪 Shops ({n})",
    "op.courier": "🛵 Add courier",
    "op.topup": "💵 Cash top-up",
    "op.claims": "⚖️ Disputes ({n})",
    "op.who_unknown": "No member found. Write their phone (010-1234-5678) or member number (e.g. 12) again.",
    "opsh.title": "{n} shops are waiting for approval. Tap one.",
    "opsh.empty": "No shops are waiting.",
    "opsv.card": (
        "{name} ({kind}) · {status}\nMarket: {market}\nArea: {region}\nPhone: {phone}\n"
        "Applied by: {owner} (member {owner_id})\nBamnamu up to {share}% · delivery {fee}"
    ),
    "opsv.approve": "✅ Approve",
    "opsv.reject": "🙅 Do not approve",
    "opsv.list": "🏪 Shops",
    "opsa.done": "✅ '{name}' approved.",
    "opsr.done": "'{name}' not approved.",
    "opc.ask": "Write the phone or member number of the new courier.",
    "opc.confirm": "Make {name} (member {id}, {phone}) a courier?",
    "opc.yes": "✅ Make courier",
    "opc.done": "✅ {name} is now a courier.",
    "optu.ask_who": "Write the phone or member number of the person who paid cash.",
    "optu.ask_amount": "How much for {name} (member {id}, {phone})? Write the cash received.",
    "optu.ask_receipt": "Write the receipt number (letters, digits, dashes; e.g. R-1024).",
    "optu.bad_receipt": "A receipt number is letters, digits and dashes, up to 40.",
    "optu.confirm": "Record this top-up?\nFor: {name} (member {id})\nAmount: {amount}\nReceipt: {receipt}",
    "optu.yes": "✅ Record",
    "optu.done": "✅ Topped up {amount} for {name}. (ledger #{seq})",
    "opcl.title": "Disputes waiting for the office's decision.",
    "opcl.empty": "No disputes to decide.",
    "opcl.button": "⚖️ Dispute #{id}",
    "opcd.ask_reason": "Write the reason for the decision. Customer and shop both see it.",
    "opcd.confirm": "Decide dispute #{id} like this?\nDecision: {resolution}\nReason: {reason}",
    "opcd.yes": "✅ Decide",
    "opcd.done": "✅ Dispute #{id} decided: {resolution}.",
    "op.phone": "📱 Check a phone",
    "opph.ask_who": "Type the member number (e.g. 12) of the person whose phone you are checking. (Their wallet's top-up help shows it.)",
    "opph.ask_phone": "Type the mobile number of {name} (member {id}). Please look at their own handset to check it.",
    "opph.confirm": "Register {phone} as the number of {name} (member {id})?",
    "opph.yes": "✅ Register the number",
    "opph.done": "✅ {name}'s phone number is registered. They can pay now.",
}
