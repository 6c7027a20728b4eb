"""Reviews of delivered orders, signed by the buyer's key (``service``); what pages and chats read of them,
ratings included (``queries``), the rows (``rows``) and refusals (``errors``)."""
