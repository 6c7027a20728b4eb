"""Korean — a refused action said kindly, one text per error code: ``bots.refusals`` reads
"refusal.<code>", or "refusal.<code>.<reason>" where the error names one.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # shopping, paying, orders, phone verification
    "refusal.insufficient_balance": "밤톨이 {missing} 모자라요. 충전하신 뒤에 다시 결제해 주세요.",
    "refusal.out_of_stock": "죄송해요, 남은 수량이 {available}개뿐이에요. 수량을 줄여 주세요.",
    "refusal.price_changed": "그 사이 가격이 바뀌었어요. 새 합계는 {total}이에요. 장바구니에서 다시 확인해 주세요.",
    "refusal.empty_cart": "장바구니가 비어 있어요. 먼저 물건을 담아 주세요.",
    "refusal.no_earlier_order": "아직 다시 주문할 지난 주문이 없어요. '장보기'에서 물건을 골라 주세요.",
    "refusal.bnm_share_too_high": "이 주문은 밤나무로 {max_share}%까지만 낼 수 있어요. 비율을 다시 골라 주세요.",
    "refusal.shop_not_verified": "가게가 아직 시장 사무실의 확인을 기다리고 있어요.",
    "refusal.wrong_delivery_code": "배달 확인 번호가 맞지 않아요. 손님께 번호를 다시 여쭤봐 주세요. ({attempts_left}번 남음)",
    "refusal.delivery_locked": "번호가 여러 번 틀려서 이 배달은 잠겼어요. 시장 사무실로 연락해 주세요.",
    "refusal.already_taken": "이미 맡겨진 일이에요. 다른 일을 골라 주세요.",
    "refusal.already_reviewed": "이 물건의 후기는 이미 남기셨어요. 고마워요!",
    "refusal.claim_window_closed": "신고할 수 있는 기간이 지났어요. 시장 사무실로 연락해 주세요.",
    "refusal.verification_code_requested_recently": "방금 번호를 보냈어요. {wait_s}초 뒤에 다시 받을 수 있어요.",
    "refusal.verification_code_expired": "인증번호가 만료됐어요. 번호를 다시 받아 주세요.",
    "refusal.wrong_verification_code": "인증번호가 맞지 않아요.",
    "refusal.phone_in_use": "이 번호는 다른 회원이 쓰고 있어요. 시장 사무실로 연락해 주세요.",
    "refusal.invalid_state": "지금 그 주문으로는 그걸 할 수 없어요. 주문 상태를 확인해 주세요.",
    "refusal.not_allowed": "그건 할 수 없어요. 필요하시면 시장 사무실로 연락해 주세요.",
    "refusal.invalid_input": "입력하신 내용을 알아보지 못했어요. 다시 한 번 해 주세요.",
    "refusal.not_found": "찾는 것이 없어요. 이미 없어졌을 수 있어요.",
    "refusal.other": "지금은 그걸 할 수 없어요. '처음으로'를 누르거나 시장 사무실로 연락해 주세요.",
    "refusal.insufficient_balance.cashout": "찾을 수 있는 돈보다 {missing} 많아요. 금액을 줄여 주세요.",
    "refusal.identity_required": "이 일은 전화번호 인증을 한 뒤에 할 수 있어요. 아래 '{verify_button}' 버튼을 눌러 주세요. 한 번만 하면 돼요.",
    "refusal.identity_required.operator": "이 일은 시장 사무실의 확인을 받은 분만 할 수 있어요. 시장 사무실로 연락해 주세요.",
    "refusal.verification_code_limit": "이 번호로 인증번호를 너무 여러 번 보냈어요. {wait_min}분 뒤에 다시 해 주세요. 급하시면 시장 사무실로 전화 주세요.",
    "refusal.sms_not_configured": "지금은 문자로 인증번호를 보낼 수 없어요. 텔레그램에서 '{share_button}' 버튼으로 인증하시거나, 시장 사무실에 들러 주시면 바로 해 드려요.",
    "refusal.sms_unavailable": "문자를 보내지 못했어요. 잠시 뒤에 다시 해 주세요. 계속 안 되면 시장 사무실로 연락해 주세요.",
    "refusal.sms_failed": "문자를 보내지 못했어요. 잠시 뒤에 다시 해 주세요. 계속 안 되면 시장 사무실로 연락해 주세요.",
    "refusal.sms_refused": "이 번호로는 문자를 보낼 수 없었어요. 번호를 다시 확인해 주세요.",
    # where an order goes
    "refusal.invalid_address": "주소를 알아보기 어려워요. 구·시·군을 넣어서 다시 적어 주세요.\n(예: 마포구 월드컵로 12, 101동 1203호)",
    "refusal.invalid_address.empty": "주소가 비어 있어요. 받으실 주소를 적어 주세요.",
    "refusal.invalid_address.too_long": "주소가 너무 길어요 (200자까지). 조금 줄여서 다시 적어 주세요.",
    "refusal.invalid_address.no_letters": "주소에 글자가 없어요. 받으실 주소를 적어 주세요.\n(예: 마포구 월드컵로 12)",
    "refusal.invalid_address.unknown_place": "이 위치는 어느 동네인지 알 수 없어요. 주소를 적어 주세요.\n(예: 마포구 월드컵로 12)",
    "refusal.outside_delivery_area": "죄송해요, 이 가게는 그 주소로 배달하지 않아요.\n배달하는 곳: {areas}\n다른 주소를 고르시거나 찾아가실 수 있어요.",
    "refusal.unknown_address": "그 주소는 찾을 수 없어요. 저장된 주소에서 골라 주세요.",
    "refusal.address_book_full": "주소는 5개까지 저장돼요. 안 쓰는 주소를 지우고 더해 주세요.",
    "refusal.address_needed": "어디로 보낼지 정해 주세요. 주소를 더하시거나 찾아가실 수 있어요.",
    "refusal.window_unavailable": "그 시간은 고를 수 없어요 (지났거나 가게가 배달하지 않는 시간이에요). 다른 시간을 골라 주세요.",
    "refusal.pickup_unavailable": "이 가게는 찾아가기를 받지 않아요. 배달로 받아 주세요.",
    # the 밤나무 market
    "refusal.market_error": "지금은 그 주문을 받을 수 없어요. 잠시 뒤에 다시 해 주세요.",
    "refusal.market_bad_order": "수량이나 값이 맞지 않아요. 버튼에서 다시 골라 주세요.",
    "refusal.market_outside_band": "오늘 거래할 수 있는 값을 벗어났어요. 기준가 가까이로 다시 골라 주세요.",
    "refusal.market_self_trade": "내가 낸 주문과는 거래할 수 없어요. 기다리는 내 주문을 먼저 취소해 주세요.",
    "refusal.market_no_liquidity": "지금은 그 값에 거래할 상대가 없어요.",
    "refusal.market_too_many_orders": "기다리는 주문이 너무 많아요. 몇 개를 취소한 뒤 다시 해 주세요.",
    "refusal.market_insufficient": "가지신 것보다 많아요. 수량을 줄이거나 충전해 주세요.",
    "refusal.market_not_your_order": "다른 분의 주문은 취소할 수 없어요.",
    "refusal.market_order_closed": "그 주문은 이미 거래가 끝났거나 취소됐어요.",
    "refusal.market_unknown_order": "그 주문을 찾을 수 없어요.",
    # recommendations and comments
    "refusal.referral_product_not_sold": "이 물건은 이제 팔지 않아요. 다른 물건을 둘러보세요.",
    "refusal.referral_commission_too_high": "추천 수수료는 물건값의 50%까지만 정할 수 있어요.",
    "refusal.comment_limit_reached": "오늘은 댓글을 많이 쓰셨어요. 내일 다시 써 주세요.",
    "refusal.unknown_comment": "그 댓글을 찾지 못했어요. 지워졌을 수 있어요.",
    # the trust features
    "refusal.claims_need_approval": "지금은 문제 신고를 시장 사무실이 먼저 확인해요. 사무실로 전화 주시면 함께 접수해 드려요. 이유는 '내 기록 알림'에서 보실 수 있어요.",
}
