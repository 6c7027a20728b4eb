"""Korean — who the member is (``bots.flows.signup``): phone verification, identity levels, the default
밤나무 share.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "signup.default_name": "이웃",
    "signup.share_phone": "아래 '{button}' 버튼을 누르면 번호가 등록돼요.",
    "signup.share_button": "📱 전화번호 보내기",
    "signup.later": "나중에 하기",
    "signup.type_phone": "휴대폰 번호를 적어 주세요. (예: 010-1234-5678)",
    "signup.code_sent": "문자로 인증번호 6자리를 보냈어요. 받은 번호를 적어 주세요.",
    "signup.code_shown": "(시험용) 인증번호: {code}",
    "signup.again": "번호 다시 받기",
    "signup.code_wrong": "번호가 맞지 않아요. {left}번 더 해 볼 수 있어요.",
    "signup.done": "전화번호가 등록됐어요. 고마워요!",
    "preference.bnm_share.saved": "이제 결제할 때 밤나무 {share}%부터 보여 드릴게요.",
    "preference.bnm_share.choose": "결제할 때 밤나무로 낼 기본 비율을 골라 주세요. 지금은 {share}%예요.",
    "identity.verify_phone": "📱 전화번호 인증하기",
    "identity.level": "🪪 인증 단계: {level}",
    "identity.level.unverified": "인증 전 (결제하려면 전화번호 인증이 필요해요)",
    "identity.level.phone": "전화번호 인증됨",
    "identity.level.operator": "시장 사무실 확인됨",
    "signup.on_telegram": "✈️ 텔레그램에서 인증하기",
}
