"""``chestnut bench``: one module per benchmark, each refusing a ledger that already has entries.

``ledger``, ``batch``, ``replica``, ``commerce``, ``market``, ``web``, ``chat`` and ``ads`` each hold one
``run_*_bench`` that returns the figures the command prints (the README quotes their keys). ``seed`` makes
the large honest markets the batch and ads benchmarks — and the crash tests — start from; ``measure``
holds the yardsticks several benchmarks read their figures against.
"""
