"""Members recommending to members: referral links and their commission (``referrals``), comments that
broker a sale (``comments``), and their tables (``schema``)."""
