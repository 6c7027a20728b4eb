"""Replica nodes: follow a ledger over HTTP, verify every entry, keep a verified copy, cosign, and catch forks.

- ``follower`` polls the primary's checkpoint, fetches tlog-tiles entry bundles, and judges every entry
  with the very checks of ``chestnut ledger verify`` (``ledger.replay``: the replay and its signature workers);
- ``store`` is the replica's own database (``replica_*`` tables through ``ledger.storage``);
- ``witness`` answers c2sp.org/tlog-witness ``POST /add-checkpoint`` with a c2sp.org/tlog-cosignature;
- ``evidence`` is the proof, checkable by anyone holding the ledger's verifier key, that the ledger key
  signed two checkpoints no single append-only history can have;
- ``node`` puts them together behind one aiohttp server (``chestnut replica``).
"""
