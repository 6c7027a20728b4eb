"""Product search: the in-memory index over the catalogue, Hangul-aware (``service``)."""
