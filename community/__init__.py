"""Members recommending to members: referral links and their commission (``referrals``), comments that
broker a sale (``comments``), both decided when an order is paid (``OrderPaid`` handlers); their tables
(``schema``), rows (``rows``) and shared reads (``queries``)."""
