"""Shops and what they sell: shop registration and terms (``service``), products and stock (``catalog``),
product codes for printed labels (``product_code``, ``labels``)."""
