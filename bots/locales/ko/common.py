"""Korean — what any screen may show: the menu, home, 더보기, help, errors, list paging, and how a time of
day is said (``bots.texts.window``).
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "menu.home": "🏠 처음으로",
    "menu.help": "❓ 도움말",
    "error.flood": "메시지가 너무 빨리 와요. 잠시 뒤에 다시 눌러 주세요.",
    "error.generic": "죄송해요, 잠깐 문제가 생겼어요. 조금 뒤에 다시 해 주시거나 '처음으로'를 눌러 주세요.",
    "error.stale": "그 버튼은 예전 화면의 것이라 지금은 쓸 수 없어요. 처음 화면을 보여 드릴게요.",
    "home.greeting": "{name}님, 반가워요! 밤나무 장터예요. 무엇을 할까요?",
    "home.no_phone": "📱 전화번호를 알려 주시면 주문과 배달 소식을 챙겨 드려요. ('{more}' → '{phone}')",
    "home.shop": "🛒 장보기",
    "home.reorder": "🔁 지난번처럼 주문",
    "home.orders": "📦 내 주문",
    "home.wallet": "💰 내 지갑",
    "home.more": "⚙️ 더보기",
    "home.work": "🧰 일하기",
    "home.work.choose": "어떤 일을 할까요?",
    "home.work.producer": "🏪 내 가게",
    "home.work.courier": "🛵 배달 일감",
    "home.work.operator": "🧑‍💼 운영",
    "more.title": "더보기예요. 필요한 것을 골라 주세요.",
    "more.phone": "📱 전화번호 등록",
    "more.bnm_pref": "🌰 밤나무 결제 비율",
    "more.lang": "🌐 언어 / Language",
    "more.open_shop": "🏪 가게 열기",
    "more.human": "☎️ 사람과 이야기",
    "help.text": (
        "밤나무 장터 사용법이에요.\n"
        "• '장보기'를 누르면 시장 → 가게 → 물건 순서로 골라요. 글자를 치지 않아도 돼요.\n"
        "• 물건 이름을 그냥 쳐도 찾아 드려요 (예: 사과, ㅅㄱ).\n"
        "• '지난번처럼 주문'은 지난 주문을 그대로 다시 담아요.\n"
        "• 결제 전에는 꼭 확인 화면이 나와요.\n"
        "• 충전은 시장 사무실에서 현금으로 할 수 있어요.\n"
        "모르는 게 있으면 사무실로 전화 주세요: {phone}"
    ),
    "help.call": "☎️ 전화하기",
    "human.text": "사람과 직접 이야기하고 싶으시면 시장 사무실로 전화 주세요: {phone}\n평일 오전 9시 ~ 오후 6시예요.",
    "lang.choose": "언어를 골라 주세요. / Choose your language.",
    # each language is named in its own words, in every catalogue
    "lang.korean": "한국어",
    "lang.english": "English",
    "start.welcome": "{name}님, 밤나무 장터에 오신 걸 환영해요! 🌰\n시장 물건을 채팅으로 사고, 광고를 보면 밤톨도 받아요.",
    "start.link_unknown": "이 추천 링크는 찾을 수 없어요. 🛒 장보기에서 물건을 찾아 주세요.",
    "list.prev": "◀ 앞으로",
    "list.next": "다음 ▶",
    "time.today": "오늘",
    "time.tomorrow": "내일",
    "time.day_after": "모레",
    "time.date": "{month}월 {day}일({weekday})",
    "time.weekdays": "월,화,수,목,금,토,일",
    "time.am": "오전",
    "time.pm": "오후",
    "time.range": "{day} {start}~{end}",
    "time.hour": "{half} {hour}시",
    "time.hour_min": "{half} {hour}시 {minute}분",
}
