"""Book versions (``commerce.exchange.resting``): a process trusts its copy of the open book only while the
database holds the version it made the copy at, so no two processes may draw the same versions."""

from __future__ import annotations

import os

from commerce.exchange.resting import new_version


def test_a_forked_process_draws_other_versions_than_its_parent() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next versions, then out without running the test session's cleanup
        os.write(write_end, ",".join(str(new_version()) for _ in range(3)).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = [int(v) for v in os.read(read_end, 1_000).decode().split(",")]
    os.close(read_end)
    parent = [new_version() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)
    assert all(v > 0 for v in child + parent)  # 0 is the version of a market from before versions
