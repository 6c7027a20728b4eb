"""English — cash-out to a bank account (``bots.flows.cashout``), for any member with a verified phone."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "cashout.bank_name.011": "NH",
    "cashout.bank_name.004": "KB",
    "cashout.bank_name.088": "Shinhan",
    "cashout.bank_name.020": "Woori",
    "cashout.bank_name.081": "Hana",
    "cashout.start.button": "🏦 Cash out",
    "cashout.account.none": "There is no bank account to pay out to yet. Please register one first.",
    "cashout.account.ask_bank": "Which bank?",
    "cashout.account.bank_other": "✏️ Bank code",
    "cashout.account.ask_bank_code": "Write the three-digit bank code (e.g. NH is 011).",
    "cashout.account.ask_number": "Write the account number (digits and dashes).",
    "cashout.account.bad_number": "An account number is 8–20 digits and dashes.",
    "cashout.account.ask_holder": "Write the account holder's name.",
    "cashout.account.registered": "✅ Account registered.",
    "cashout.account.choose": "Which account should it go to?",
    "cashout.account.add": "➕ Add account",
    "cashout.amount.ask": "How much do you want to cash out? Write a number.\nAvailable now: {available}.",
    "cashout.amount.all": "💯 All ({amount})",
    "cashout.confirm.text": "Send {amount} to {account}?\nIt is paid in the next cash-out run.",
    "cashout.confirm.yes": "✅ Cash out",
    "cashout.confirm.done": "Cash-out requested. {amount} is held for you until it is paid.",
    "cashout.start.wallet_button": "💸 Cash out to my bank",
}
