"""The yardsticks benchmarks share: the machine's signed-ledger ceiling, percentiles, memory, a port.

The ceiling is what any signed-ledger design could at most reach on this machine, so a benchmark's
entries/s can be read as a fraction of it on whatever machine it ran.
"""

from __future__ import annotations

import hashlib
import os
import resource
import socket
import sqlite3
import tempfile
import time
from pathlib import Path

import nacl.signing

BATCH = 2000  # entries per transaction, in the ledger benchmark's batched run and in the ceiling alike


def ceiling(entries: int, batch: int = BATCH) -> float:
    """Entries/s of sign + verify + SHA-256 + batched SQLite insert with nothing else around it."""
    key = nacl.signing.SigningKey.generate()
    verify_key = key.verify_key
    body = os.urandom(150).hex().encode()
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "ceiling.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE e (seq INTEGER PRIMARY KEY, leaf BLOB, entry BLOB)")
        started = time.perf_counter()
        rows = []
        for seq in range(entries):
            message = body + str(seq).encode()
            signed = key.sign(message)
            verify_key.verify(signed)
            entry = bytes(signed)
            rows.append((seq, hashlib.sha256(b"\x00" + entry).digest(), entry))
            if len(rows) == batch:
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO e VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
                rows.clear()
        if rows:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO e VALUES (?, ?, ?)", rows)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return entries / elapsed


def percentile(sorted_values: list[float], q: float) -> float:
    """The value at quantile ``q`` (0–1) of already sorted values, by nearest rank; 0.0 for none."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def children_peak_rss_mb() -> float:
    """The peak resident memory of the largest child process waited for so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
