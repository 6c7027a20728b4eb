"""Claims after delivery: a buyer's complaint, the shop's answer, A/S and the operator's ruling (``service``);
what the claim screens read (``queries``), the rows (``rows``) and refusals (``errors``)."""
