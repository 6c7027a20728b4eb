"""Korean — cash-out to a bank account (``bots.flows.cashout``), for any member with a verified phone."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "work.bank.011": "농협",
    "work.bank.004": "국민",
    "work.bank.088": "신한",
    "work.bank.020": "우리",
    "work.bank.081": "하나",
    "ps.cashout": "🏦 출금하기",
    "pco.no_account": "출금할 은행 계좌가 아직 없어요. 먼저 계좌를 등록해 주세요.",
    "pco.ask_bank": "어느 은행인가요?",
    "pco.bank_other": "✏️ 은행 코드",
    "pco.ask_bank_code": "은행 코드 세 자리를 써 주세요. (예: 농협 011)",
    "pco.ask_account": "계좌번호를 써 주세요. (숫자와 - 만)",
    "pco.bad_account": "계좌번호는 숫자와 - 로 8~20자예요.",
    "pco.ask_holder": "예금주 이름을 써 주세요.",
    "pco.registered": "✅ 계좌를 등록했어요.",
    "pco.choose_account": "어느 계좌로 보낼까요?",
    "pco.add_account": "➕ 계좌 추가",
    "pco.ask_amount": "얼마를 출금할까요? 숫자로 써 주세요.\n지금 쓸 수 있는 돈은 {available}이에요.",
    "pco.all": "💯 전부 ({amount})",
    "pco.confirm": "{amount:을} {account} 계좌로 보낼까요?\n출금 처리 때 보내 드려요.",
    "pco.yes": "✅ 출금 신청",
    "pco.done": "출금 신청을 받았어요. {amount:은} 보내 드릴 때까지 따로 묶어 둬요.",
    "pco.wallet": "💸 현금으로 찾기",
}
