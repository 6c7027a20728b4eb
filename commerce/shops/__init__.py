"""Shops and what they sell: shop registration and terms (``service``), products and stock (``catalog``),
their rows (``rows``) and refusals (``errors``), product codes for printed labels (``product_code``,
``labels``)."""
