"""Product search, Hangul-aware: ``hangul`` takes text apart into jamo and 초성, ``index`` is the catalog
in memory, ``matching`` finds and orders a query's products in it, ``service`` keeps the index current
from the database and answers a page of hits."""
