"""한국어 — 신뢰 기능의 채팅 문구 (공개 장부 로그인 버튼, 생산자의 QR 라벨)."""

from __future__ import annotations

TRUST_KO: dict[str, str] = {
    "trust.my_ledger": "📒 내 장부 보기",
    "trust.label": "🏷️ QR 라벨 받기",
    "trust.label_text": "{name}의 QR 라벨이에요. 인쇄해서 붙이시면 손님이 휴대폰으로 찍어 원산지와 기록을 직접 확인해요.\n코드: {code}",
}
