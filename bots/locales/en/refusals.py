"""English — a refused action said kindly, one text per error code: ``bots.refusals`` reads
"refusal.<code>", or "refusal.<code>.<reason>" where the error names one.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # shopping, paying, orders, phone verification
    "refusal.insufficient_balance": "You are {missing} short in Bamtol. Please top up, then pay again.",
    "refusal.out_of_stock": "Sorry, only {available} left. Please take fewer.",
    "refusal.price_changed": "The price changed meanwhile. The new total is {total}. Please check your basket again.",
    "refusal.empty_cart": "Your basket is empty. Please add goods first.",
    "refusal.no_earlier_order": "There is no earlier order to repeat yet. Please choose goods under 'Shop'.",
    "refusal.bnm_share_too_high": "This order takes at most {max_share}% in Bamnamu. Please choose again.",
    "refusal.shop_not_verified": "The shop is still waiting for the market office's check.",
    "refusal.wrong_delivery_code": "That delivery code does not match. Please ask the shopper again. ({attempts_left} tries left)",
    "refusal.delivery_locked": "Too many wrong codes: this delivery is locked. Please call the market office.",
    "refusal.already_taken": "That job is already taken. Please choose another.",
    "refusal.already_reviewed": "You have already reviewed this product. Thank you!",
    "refusal.claim_window_closed": "The time for claims has passed. Please call the market office.",
    "refusal.verification_code_requested_recently": "A code was just sent. You can ask again in {wait_s} seconds.",
    "refusal.verification_code_expired": "The code has expired. Please ask for a new one.",
    "refusal.wrong_verification_code": "That code does not match.",
    "refusal.phone_in_use": "This number belongs to another member. Please call the market office.",
    "refusal.invalid_state": "That cannot be done with this order now. Please check its status.",
    "refusal.not_allowed": "That is not possible. Call the market office if you need help.",
    "refusal.invalid_input": "We could not understand that. Please try once more.",
    "refusal.not_found": "We could not find it. It may be gone already.",
    "refusal.other": "That cannot be done right now. Tap 'Home' or call the market office.",
    "refusal.insufficient_balance.cashout": "That is {missing} more than you can cash out. Please ask for less.",
    "refusal.identity_required": "This needs a verified phone number first. Please tap '{verify_button}' below; you only do it once.",
    "refusal.identity_required.operator": "Only members checked by the market office can do this. Please contact the market office.",
    "refusal.verification_code_limit": "Too many codes were sent to this number. Please try again in {wait_min} minutes, or call the market office if it is urgent.",
    "refusal.sms_not_configured": "We cannot send codes by text message right now. Please verify on Telegram with '{share_button}', or drop by the market office and we will do it for you.",
    "refusal.sms_unavailable": "The text message could not be sent. Please try again in a moment, or contact the market office if it keeps failing.",
    "refusal.sms_failed": "The text message could not be sent. Please try again in a moment, or contact the market office if it keeps failing.",
    "refusal.sms_refused": "We could not send a text message to this number. Please check the number.",
    # where an order goes
    "refusal.invalid_address": "That address is hard to read. Please type it again with its district (gu/si/gun).\n(e.g. 12 World Cup-ro, Mapo-gu, 101-1203)",
    "refusal.invalid_address.empty": "The address is empty. Please type where it should go.",
    "refusal.invalid_address.too_long": "The address is too long (200 characters at most). Please shorten it.",
    "refusal.invalid_address.no_letters": "There are no letters in that address. Please type where it should go.\n(e.g. 12 World Cup-ro, Mapo-gu)",
    "refusal.invalid_address.unknown_place": "We can't tell which district that location is in. Please type the address.\n(e.g. 12 World Cup-ro, Mapo-gu)",
    "refusal.outside_delivery_area": "Sorry, this shop does not deliver to that address.\nIt delivers to: {areas}\nChoose another address, or collect it yourself.",
    "refusal.unknown_address": "That address could not be found. Please choose one of your saved addresses.",
    "refusal.address_book_full": "Up to 5 addresses can be saved. Remove one you no longer use first.",
    "refusal.address_needed": "Please say where the order should go: add an address, or collect it yourself.",
    "refusal.window_unavailable": "That time can't be chosen (it has passed or the shop doesn't deliver then). Please pick another.",
    "refusal.pickup_unavailable": "This shop does not offer collection. Please have it delivered.",
    # the 밤나무 market
    "refusal.market_error": "That order cannot be taken right now. Please try again in a moment.",
    "refusal.market_bad_order": "That amount or price does not fit. Please choose again from the buttons.",
    "refusal.market_outside_band": "That price is outside today's range. Please choose one nearer the reference price.",
    "refusal.market_self_trade": "You cannot trade with your own order. Cancel your waiting order first.",
    "refusal.market_no_liquidity": "Nobody is trading at that price right now.",
    "refusal.market_too_many_orders": "You have too many waiting orders. Cancel some, then try again.",
    "refusal.market_insufficient": "That is more than you have. Choose less, or top up.",
    "refusal.market_not_your_order": "You cannot cancel someone else's order.",
    "refusal.market_order_closed": "That order has already traded or been cancelled.",
    "refusal.market_unknown_order": "That order could not be found.",
    # recommendations and comments
    "refusal.referral_product_not_sold": "This product is no longer sold. Have a look at others.",
    "refusal.referral_commission_too_high": "A recommendation commission can be at most 50% of the goods.",
    "refusal.comment_limit_reached": "You wrote many comments today. Please write again tomorrow.",
    "refusal.unknown_comment": "That comment could not be found. It may have been removed.",
    # the trust features
    "refusal.claims_need_approval": "The market office checks your problem reports first for now. Call them and they will file it with you. You can see why under 'My record notices'.",
}
