"""Ads in the chat: a member's ad settings and the ads they got (``receiving``), and a producer's
campaigns (``campaigns``). The ad message itself and its push are ``bots.ad_outbox``'s.

Member::

    더보기 ▶ ad (settings) ▶ adc ▶ adct:<i> (category on/off)   adr ▶ adrt:<i> (region on/off)
                        ▶ adn (night on/off)  adrc (re-confirm)  adi (ads received) ▶ ado:<c>:<token>
    the ad message: "(광고)" shop · contact · [자세히 보기 ado:<c>:<token>] [광고 그만 받기 adx:<c>]
    a sponsored search result: ads:<c>:<hmac> (paid like an open)

Producer (내 가게 ▶ 📢 광고)::

    adp ▶ adpn ▶ adpp:<product> ▶ ad.message (typed) ▶ adph:<0|1> ▶ adpa:<audience> ▶ adpr:<reward>
        ▶ adpl:<limit> ▶ adpb:<budget> ▶ confirmation ─adpy▶ running (dispatched in the background)
    adpc:<c> (report) ▶ adpz:<c> pause | adpg:<c> resume | adpe:<c> ▶ adpey:<c> end (unspent back)
"""
