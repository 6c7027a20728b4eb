"""Korean — the messenger adapters' own words (``bots.telegram``, ``bots.kakao``, ``bots.kakao_render``):
hints and fallbacks that no flow writes.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "telegram.contact_not_yours": (
        "죄송해요, 전화번호는 본인 것만 등록할 수 있어요. 아래 '{button}' 버튼을 눌러 주세요."
    ),
    "telegram.contact_hint": "아래 '{button}' 버튼을 누르면 번호가 바로 등록돼요.",
    "telegram.menu_hint": "아래 큰 버튼으로 언제든 처음 화면과 도움말로 갈 수 있어요.",
    "kakao.busy": "잠시 일이 밀려 있어요. 조금 뒤에 같은 버튼을 한 번 더 눌러 주세요.",
    "kakao.empty_reply": "알겠어요.",
    "kakao.choose_below": "아래에서 골라 주세요.",
}
