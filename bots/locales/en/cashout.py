"""English — cash-out to a bank account (``bots.flows.cashout``), for any member with a verified phone."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "work.bank.011": "NH",
    "work.bank.004": "KB",
    "work.bank.088": "Shinhan",
    "work.bank.020": "Woori",
    "work.bank.081": "Hana",
    "ps.cashout": "🏦 Cash out",
    "pco.no_account": "There is no bank account to pay out to yet. Please register one first.",
    "pco.ask_bank": "Which bank?",
    "pco.bank_other": "✏️ Bank code",
    "pco.ask_bank_code": "Write the three-digit bank code (e.g. NH is 011).",
    "pco.ask_account": "Write the account number (digits and dashes).",
    "pco.bad_account": "An account number is 8–20 digits and dashes.",
    "pco.ask_holder": "Write the account holder's name.",
    "pco.registered": "✅ Account registered.",
    "pco.choose_account": "Which account should it go to?",
    "pco.add_account": "➕ Add account",
    "pco.ask_amount": "How much do you want to cash out? Write a number.\nAvailable now: {available}.",
    "pco.all": "💯 All ({amount})",
    "pco.confirm": "Send {amount} to {account}?\nIt is paid in the next cash-out run.",
    "pco.yes": "✅ Cash out",
    "pco.done": "Cash-out requested. {amount} is held for you until it is paid.",
    "pco.wallet": "💸 Cash out to my bank",
}
