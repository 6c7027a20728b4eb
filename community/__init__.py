"""Members recommending to members: referral links and their commission (``referrals``), comments that
broker a sale (``comments``); their tables (``schema``), rows (``rows``) and shared reads (``queries``)."""
