"""c2sp.org/tlog-witness ``POST /add-checkpoint``, answered with a c2sp.org/tlog-cosignature (cosignature/v1).

Request body: ``old <N>\\n``, up to 63 base64 consistency-proof lines, a blank line, the signed checkpoint.
Answers: 200 with the cosignature line; 400 malformed or old > new; 403 not signed by the ledger key;
404 unknown origin; 409 ``old`` is not the size this witness holds (body: that size, ``text/x.tlog.size``)
or the same size with another root; 422 a consistency proof or the entries that do not verify.

This witness is also a full verifier: before cosigning it has the follower fetch and verify every entry
up to the new size (``Follower.consider``), so its cosignature means "I replayed this whole history and
every rule held", not only "this is consistent with what I saw". The check of the old size and the
storing of the new checkpoint happen in one transaction (the witness row is read ``FOR UPDATE`` on
PostgreSQL; SQLite's writer holds the database lock), so two submissions can never both advance it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass

from ledger.checkpoint import cosign
from ledger.errors import ChestnutError, VerificationError
from ledger.merkle import verify_consistency
from ledger.note import Ed25519Signer
from ledger.replica.evidence import Evidence
from ledger.replica.follower import Follower, ForkDetected, Malformed, Refused, read_checkpoint
from ledger.replica.remote import RemoteLog
from ledger.replica.store import ReplicaStore, WitnessState

log = logging.getLogger("chestnut.replica.witness")

MAX_BODY = 128 * 1024
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class OldSizeMismatch(Refused):
    code = "old_size_mismatch"
    http_status = 409

    def __init__(self, held: int) -> None:
        super().__init__(f"{held}\n", held=held)
        self.held = held


class BadProof(Refused):
    code = "bad_consistency_proof"
    http_status = 422


class NotVerified(Refused):
    """A replica without a reader credential follows the tree only: it cosigns nothing it did not re-check."""

    code = "reader_credential_needed"
    http_status = 403


@dataclass(frozen=True, slots=True)
class Submission:
    old: int
    proof: tuple[bytes, ...]
    note: str


def parse_submission(body: bytes) -> Submission:
    if len(body) > MAX_BODY:
        raise Malformed(f"the request is larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the request is not UTF-8 text") from None
    head, blank, note = text.partition("\n\n")
    if not blank or not note:
        raise Malformed("the request has no blank line followed by a checkpoint")
    lines = head.split("\n")
    first = lines[0]
    digits = first[4:]
    if not first.startswith("old ") or not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise Malformed(f"the request must start with 'old <size>', found {first[:40]!r}")
    if len(digits) > 1 and digits[0] == "0":
        raise Malformed("the old size has a leading zero")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Malformed(f"the request has {len(lines) - 1} proof lines, at most {MAX_PROOF_LINES}")
    proof = []
    for number, line in enumerate(lines[1:], 1):
        try:
            h = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed(f"proof line {number} is not base64") from None
        if len(h) != 32:
            raise Malformed(f"proof line {number} is {len(h)} bytes, not a 32-byte hash")
        proof.append(h)
    return Submission(int(digits), tuple(proof), note)


class Witness:
    def __init__(self, store: ReplicaStore, follower: Follower, signer: Ed25519Signer, primary: RemoteLog) -> None:
        self.store = store
        self.follower = follower
        self.signer = signer
        self.primary = primary
        self.cosigned = 0

    async def held(self) -> WitnessState | None:
        async with self.store.db.snapshot() as snap:
            return await self.store.witness_state(snap, self.follower.origin)

    async def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line for a submission, or raise ``Refused`` with the tlog-witness status."""
        sub = parse_submission(body)
        cp = read_checkpoint(sub.note, self.follower.origin, self.follower.key)
        if sub.old > cp.size:
            raise Malformed(f"old size {sub.old} is larger than the checkpoint's size {cp.size}")
        state = await self.held()
        held = state.size if state else 0
        if sub.old != held:
            raise OldSizeMismatch(held)
        if state is not None and cp.size == state.size:
            if cp.root_hash != state.root:
                await self._fork_or_refuse(
                    Evidence(str(self.follower.key), state.note, sub.note, found_by=self.signer.name, context="witness")
                )
        else:
            try:
                verify_consistency(held, cp.size, state.root if state else b"", cp.root_hash, list(sub.proof))
            except VerificationError as exc:
                # A log that cannot prove consistency may be showing us a rewritten history: have the follower
                # look at the tree itself (and keep evidence if so) before answering.
                await self._follow(sub.note)
                raise BadProof(f"the consistency proof does not verify: {exc.message}") from None
        await self._follow(sub.note)
        now = int(time.time())
        line = cosign(cp.to_text(), self.signer, now)
        async with self.store.db.unit_of_work() as uow:
            current = await self.store.witness_state(uow, self.follower.origin)
            if (current.size if current else 0) != held or (current is not None and current.root != state_root(state)):
                raise OldSizeMismatch(current.size if current else 0)
            await self.store.store_cosigned(
                uow,
                self.follower.origin,
                WitnessState(cp.size, cp.root_hash, sub.note),
                had_state=current is not None,
                cosignature=line,
                time_s=now,
            )
            await uow.commit()
        self.cosigned += 1
        return line

    async def _follow(self, note: str) -> None:
        try:
            if await self.follower.consider(note, self.primary, context="witness") == "tree":
                raise NotVerified(
                    "this replica holds no reader credential, so it has checked this checkpoint's tree but not "
                    "its entries; it cosigns only what it re-verified"
                )
        except Refused as exc:
            self.follower.refuse("witness", exc)
            raise
        except ChestnutError as exc:
            self.follower.refuse("witness", exc)
            raise Refused(f"cannot verify the entries of this checkpoint: {exc.message}") from None

    async def _fork_or_refuse(self, evidence: Evidence) -> None:
        try:
            await self.follower.record_fork(evidence)
        except ForkDetected as exc:
            self.follower.refuse("witness", exc)
            raise


def state_root(state: WitnessState | None) -> bytes | None:
    return state.root if state else None
