"""Reviews of delivered orders, signed by the buyer's key (``service``)."""
