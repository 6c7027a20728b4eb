"""Replicas and primaries as separate processes on loopback (``chestnut serve``, ``chestnut replica``).

- Three replicas follow a primary holding ~20,000 entries, converge to its checkpoint, cosign, and a
  checkpoint witnessed by 2 of 3 is published; one replica is SIGKILLed mid-sync and restarted, and
  catches up. Then the operator rewrites history (one byte of an old entry, everything after it
  recomputed and every checkpoint re-signed with the ledger key, the primary restarted): every replica
  raises the alarm, refuses to cosign, and ``chestnut replica audit`` prints evidence that verifies.
- Split view: two primaries with the same ledger key and diverging histories, each followed by one
  replica that cross-checks the other: both catch it.
Each replica holds the reader credential the operator issued it (``chestnut ledger readers issue``),
sent to its primary only: peers compare checkpoints and public hash tiles.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chestnut.bootstrap import build
from chestnut.settings import Settings
from ledger.checkpoint import verify_cosignatures
from ledger.note import parse_verifier_key
from ledger.replica.evidence import Evidence, verify_evidence
from ledger.replica.node import cosigner_key, witness_signer
from tests.support.replicas import grow, rewrite_history

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHESTNUT = str(ROOT / ".venv" / "bin" / "chestnut")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def status(port: int) -> dict[str, Any]:
    code, body = get(f"http://127.0.0.1:{port}/status")
    return json.loads(body) if code == 200 else {}


def wait_for(what: str, check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Procs:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Any] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        out = self.logs[name] = log.open("ab")
        self.procs[name] = subprocess.Popen(
            [CHESTNUT, *args], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.logs.pop(name).close()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    try:
        yield p
    finally:
        p.stop_all()


def primary_env(home: Path, witnesses: list[str] | None = None) -> dict[str, str]:
    env = {"CHESTNUT_HOME": str(home), "CHESTNUT_CHECKPOINT_INTERVAL_S": "0.5", "CHESTNUT_DATABASE_URL": ""}
    if witnesses:
        env |= {"CHESTNUT_WITNESSES": json.dumps(witnesses), "CHESTNUT_WITNESS_QUORUM": "2"}
    return env


REPLICA_ENV = {"CHESTNUT_REPLICA_POLL_INTERVAL_S": "0.3", "CHESTNUT_DATABASE_URL": ""}


async def _grow(home: Path, entries: int, seed: int) -> int:
    app = await build(Settings(home=home, environment="development", database_url=None))
    try:
        return await grow(app, entries, seed=seed)
    finally:
        await app.close()


async def _rewrite(home: Path) -> int:
    app = await build(Settings(home=home, environment="development", database_url=None))
    try:
        return await rewrite_history(app)
    finally:
        await app.close()


def start_primary(procs: Procs, name: str, home: Path, port: int, witnesses: list[str] | None = None) -> None:
    procs.start(name, ["serve", "--port", str(port), "--role", "web"], primary_env(home, witnesses), home / "serve.log")
    wait_for(f"{name} up", lambda: get(f"http://127.0.0.1:{port}/health")[0] == 200, 60)


def issue_token(primary_home: Path, name: str) -> str:
    """The reader credential the operator issues a replica (``chestnut ledger readers issue NAME``)."""
    done = subprocess.run(
        [CHESTNUT, "ledger", "readers", "issue", name],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **primary_env(primary_home)},
        check=True,
    )
    return done.stdout.strip()


def start_replica(
    procs: Procs,
    name: str,
    home: Path,
    port: int,
    primary: int,
    token: str,
    peers: list[int] = (),  # type: ignore[assignment]
) -> None:
    args = ["replica", "--primary", f"http://127.0.0.1:{primary}", "--home", str(home), "--port", str(port)]
    for peer in peers:
        args += ["--peer", f"http://127.0.0.1:{peer}"]
    home.mkdir(parents=True, exist_ok=True)
    procs.start(name, args, {**REPLICA_ENV, "CHESTNUT_REPLICA_TOKEN": token}, home / "replica.log")


def audit(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHESTNUT, "replica", "audit", "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **REPLICA_ENV},
        check=False,
    )


def test_three_replicas_converge_survive_sigkill_and_catch_a_rewrite(procs: Procs, tmp_path: Path) -> None:
    home = tmp_path / "primary"
    size = asyncio.run(_grow(home, 20_000, seed=1))
    ports = [free_port() for _ in range(3)]
    homes = [tmp_path / f"replica{i}" for i in range(3)]
    witnesses = []
    for i, (h, p) in enumerate(zip(homes, ports, strict=True)):
        h.mkdir()
        witnesses.append(f"http://127.0.0.1:{p} {cosigner_key(witness_signer(h))} coop-{i}")
    tokens = [issue_token(home, f"coop-{i}") for i in range(3)]
    pport = free_port()
    start_primary(procs, "primary", home, pport, witnesses)
    for i in range(2):
        start_replica(procs, f"r{i}", homes[i], ports[i], pport, tokens[i])

    # The third replica is killed mid-sync, restarted, and catches up.
    start_replica(procs, "r2", homes[2], ports[2], pport, tokens[2])
    wait_for("r2 mid-sync", lambda: 0 < status(ports[2]).get("size", 0) < size, 60)
    procs.stop("r2", signal.SIGKILL)
    start_replica(procs, "r2", homes[2], ports[2], pport, tokens[2])

    for p in ports:
        wait_for("convergence", lambda p=p: status(p).get("accepted_size") == size, 90)
    _code, checkpoint = get(f"http://127.0.0.1:{pport}/ledger/checkpoint")
    for p in ports:
        assert get(f"http://127.0.0.1:{p}/ledger/checkpoint")[1] == checkpoint  # the very same signed note
        assert not status(p)["alarm"]
    # A checkpoint witnessed by at least 2 of the 3 is published, and its cosignatures verify.
    keys = [parse_verifier_key(w.split()[1]) for w in witnesses]
    witnessed = wait_for(
        "a witnessed checkpoint",
        lambda: (lambda r: r[1] if r[0] == 200 and len(verify_cosignatures(r[1], keys)) >= 2 else None)(
            get(f"http://127.0.0.1:{pport}/ledger/checkpoint/witnessed")
        ),
        60,
    )
    assert witnessed.startswith(checkpoint.split("\n\n")[0])
    assert audit(homes[2]).returncode == 0

    # The dishonest operator rewrites history and restarts; new entries make a new checkpoint.
    procs.stop("primary")
    changed = asyncio.run(_rewrite(home))
    assert changed < size
    start_primary(procs, "primary", home, pport, witnesses)
    asyncio.run(_grow(home, 200, seed=2))
    for p in ports:
        wait_for("the alarm", lambda p=p: status(p).get("alarm"), 60)
        assert status(p)["accepted_size"] == size  # the rewritten history is never accepted
    ledger_key = parse_verifier_key(get(f"http://127.0.0.1:{pport}/ledger/key")[1].strip())
    for h in homes:
        result = audit(h)
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        assert report["evidence"]
        for item in report["evidence"]:
            assert "signed" in verify_evidence(Evidence.from_json(item["evidence"]), ledger_key)
    # No replica cosigned the rewritten history: the witnessed checkpoint is still the honest one.
    time.sleep(1.5)
    assert (
        get(f"http://127.0.0.1:{pport}/ledger/checkpoint/witnessed")[1].split("\n\n")[0] == witnessed.split("\n\n")[0]
    )


def test_split_view_is_detected(procs: Procs, tmp_path: Path) -> None:
    home_a = tmp_path / "primary-a"
    asyncio.run(_grow(home_a, 1000, seed=1))
    tokens = [issue_token(home_a, "coop-a"), issue_token(home_a, "coop-b")]
    home_b = tmp_path / "primary-b"
    shutil.copytree(home_a, home_b)  # the same ledger key, the same history so far (and readers)
    asyncio.run(_grow(home_a, 100, seed=2))
    asyncio.run(_grow(home_b, 150, seed=3))  # … and from here on, two different ones
    pa, pb, ra, rb = (free_port() for _ in range(4))
    start_primary(procs, "a", home_a, pa)
    start_primary(procs, "b", home_b, pb)
    start_replica(procs, "ra", tmp_path / "ra", ra, pa, tokens[0], peers=[rb])
    start_replica(procs, "rb", tmp_path / "rb", rb, pb, tokens[1], peers=[ra])
    for port in (ra, rb):
        wait_for("split view detected", lambda port=port: status(port).get("alarm"), 60)
    key = parse_verifier_key(get(f"http://127.0.0.1:{pa}/ledger/key")[1].strip())
    for h in (tmp_path / "ra", tmp_path / "rb"):
        result = audit(h)
        assert result.returncode == 1
        for item in json.loads(result.stdout)["evidence"]:
            verify_evidence(Evidence.from_json(item["evidence"]), key)
