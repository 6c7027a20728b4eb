"""Korean — cash-out to a bank account (``bots.flows.cashout``), for any member with a verified phone."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "cashout.bank_name.011": "농협",
    "cashout.bank_name.004": "국민",
    "cashout.bank_name.088": "신한",
    "cashout.bank_name.020": "우리",
    "cashout.bank_name.081": "하나",
    "cashout.start.button": "🏦 출금하기",
    "cashout.account.none": "출금할 은행 계좌가 아직 없어요. 먼저 계좌를 등록해 주세요.",
    "cashout.account.ask_bank": "어느 은행인가요?",
    "cashout.account.bank_other": "✏️ 은행 코드",
    "cashout.account.ask_bank_code": "은행 코드 세 자리를 써 주세요. (예: 농협 011)",
    "cashout.account.ask_number": "계좌번호를 써 주세요. (숫자와 - 만)",
    "cashout.account.bad_number": "계좌번호는 숫자와 - 로 8~20자예요.",
    "cashout.account.ask_holder": "예금주 이름을 써 주세요.",
    "cashout.account.registered": "✅ 계좌를 등록했어요.",
    "cashout.account.choose": "어느 계좌로 보낼까요?",
    "cashout.account.add": "➕ 계좌 추가",
    "cashout.amount.ask": "얼마를 출금할까요? 숫자로 써 주세요.\n지금 쓸 수 있는 돈은 {available}이에요.",
    "cashout.amount.all": "💯 전부 ({amount})",
    "cashout.confirm.text": "{amount:을} {account} 계좌로 보낼까요?\n출금 처리 때 보내 드려요.",
    "cashout.confirm.yes": "✅ 출금 신청",
    "cashout.confirm.done": "출금 신청을 받았어요. {amount:은} 보내 드릴 때까지 따로 묶어 둬요.",
    "cashout.start.wallet_button": "💸 현금으로 찾기",
}
