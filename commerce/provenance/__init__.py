"""Where goods come from: each product's stages, from the producer's own entries to delivery (``service``)."""
