"""What the ledger explorer's pages read from the ledger, as plain values its templates show.

The latest checkpoints and the replicas that cosigned them, the totals per token (BTL in circulation
beside the cash reserve recorded), the money an entry moved, a member's latest entries and balances, and
the proof-of-liabilities trees (``ledger.liabilities``), built once per checkpoint and token.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import liabilities, reads
from ledger.checkpoint import verify_cosignatures
from ledger.errors import ChestnutError, NotFound
from ledger.links import LinkSigner
from ledger.model import TOKENS, decode_entry_json
from ledger.service import Ledger
from ledger.storage.unit_of_work import UnitOfWork
from ledger.witnessing import WitnessConfig, witnessed_notes, witnessed_size

log = logging.getLogger("chestnut.explorer")
CHECKPOINTS_SHOWN = 8
MY_ENTRIES = 50


@dataclass(frozen=True, slots=True)
class Checkpoint:
    size: int
    root: str  # base64
    created_ms: int
    cosigners: list[str]  # "operator ✅" for a configured replica whose signature checks, else "name (키 모름)"


@dataclass(frozen=True, slots=True)
class TokenTotals:
    members: int = 0  # in members' accounts
    system: int = 0  # in the market's own accounts (escrow, fees…), the reserve and treasury aside
    issued: int = 0  # the reserve's (or treasury's) net debit: what came in, less what went out
    held: int = 0  # pending credits: payments held until delivery


@dataclass(frozen=True, slots=True)
class Totals:
    btl: TokenTotals
    bnm: TokenTotals

    @property
    def circulating(self) -> int:
        return self.btl.members + self.btl.system

    @property
    def balanced(self) -> bool:
        """BTL exists only against cash: what circulates must equal the cash reserve recorded."""
        return self.circulating == self.btl.issued

    @property
    def bnm_issued(self) -> int:
        return self.bnm.members + self.bnm.system


@dataclass(frozen=True, slots=True)
class Transfer:
    type: str
    debit: str
    credit: str
    token: str
    amount: int


@dataclass(frozen=True, slots=True)
class LiabilityLeaf:
    """A member's leaf in one token's tree, with the data the browser checks it against the root with."""

    token: str
    balance: int
    total: int
    proof_json: str


async def checkpoints(
    snap: UnitOfWork, witnesses: Sequence[WitnessConfig], ledger_origin: str, n: int = CHECKPOINTS_SHOWN
) -> list[Checkpoint]:
    """The latest ``n`` checkpoints, newest first, each with who cosigned it."""
    published = await reads.checkpoints(snap, n)
    cosigned = await _witnessed(snap, [c.size for c in published], witnesses, ledger_origin)
    return [
        Checkpoint(c.size, base64.b64encode(c.root).decode(), c.created_ms, cosigned.get(c.size, [])) for c in published
    ]


async def latest_witnessed_size(snap: UnitOfWork) -> int | None:
    try:
        return await witnessed_size(snap)
    except Exception:  # an old schema without the replication tables
        log.debug("no ledger_witnessed table", exc_info=True)
        return None


async def _witnessed(
    snap: UnitOfWork, sizes: list[int], witnesses: Sequence[WitnessConfig], ledger_origin: str
) -> dict[int, list[str]]:
    """Cosigners by checkpoint size: checked against the configured replicas' keys where known."""
    if not sizes:
        return {}
    try:
        notes = await witnessed_notes(snap, sizes)
    except Exception:  # the replication tables are not there (an old schema): nobody cosigned
        log.debug("no ledger_witnessed table", exc_info=True)
        return {}
    operators = {w.key.name: w.operator for w in witnesses}
    out: dict[int, list[str]] = {}
    for size, note in notes.items():
        try:
            verified = verify_cosignatures(note, [w.key for w in witnesses]) if witnesses else {}
        except ChestnutError:
            verified = {}
        names = [f"{operators[n]} ✅" for n in verified]
        names += [f"{n} (키 모름)" for n in _cosigner_names(note, ledger_origin) if n not in verified]
        out[size] = names
    return out


def _cosigner_names(note: str, ledger_name: str) -> list[str]:
    """Names on the note's signature lines other than the ledger's own (shown when a key is unknown here)."""
    cut = note.rfind("\n\n")
    names = []
    for line in note[cut + 2 :].splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] != ledger_name:
            names.append(parts[1])
    return names


async def totals(snap: UnitOfWork) -> Totals:
    found = await reads.totals(snap)
    by_token = {t: TokenTotals(**found.get(t, {})) for t in TOKENS}
    return Totals(btl=by_token["BTL"], bnm=by_token["BNM"])


def transfers(signed: dict[str, Any]) -> list[Transfer]:
    """The money an entry moved, from the signed entry itself, in transfer-id order.

    Why not the transfers table: it has no index by entry, and reading it by seq scanned every transfer
    ever made for each page view.
    """
    return [
        Transfer(str(t["type"]), str(t["debit"]), str(t["credit"]), str(t["token"]), int(t["amount"]))
        for t in sorted(signed.get("transfers", []), key=lambda t: str(t["id"]))
    ]


async def my_entries(snap: UnitOfWork, ledger: Ledger, me: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(seq, signed action) of the entries ``me`` signed or that moved money in their accounts, newest first."""
    accounts = [a.id for a in await reads.accounts_of(snap, me)]
    seqs = set(await reads.latest_entries_of(snap, me, MY_ENTRIES))
    if accounts:
        seqs |= set(await reads.entries_moving(snap, accounts, MY_ENTRIES))
    shown = sorted(seqs, reverse=True)[:MY_ENTRIES]
    return [(s, decode_entry_json(await ledger.entry(snap, s))["signed"]) for s in shown]


async def my_balances(snap: UnitOfWork, me: bytes) -> list[reads.Balance]:
    return await reads.balances_of(snap, me)


class LiabilityTrees:
    """The proof-of-liabilities trees, built once per (checkpoint, token) and kept for the next reader."""

    def __init__(self) -> None:
        self._trees: dict[tuple[int, str], liabilities.SumTree] = {}

    async def tree(self, snap: UnitOfWork, signer: LinkSigner | None, token: str, size: int) -> liabilities.SumTree:
        cached = self._trees.get((size, token))
        if cached is not None:
            return cached
        if signer is None:
            raise NotFound("no member has opened the explorer yet, so no liabilities tree is published")
        balances = await liabilities.balances_at(snap, token, size)
        tree = liabilities.build(token, size, balances, lambda account: signer.salt(size, account))
        if len(self._trees) > 16:
            self._trees.clear()
        self._trees[(size, token)] = tree
        return tree

    async def leaves_of(self, snap: UnitOfWork, signer: LinkSigner, me: bytes, size: int) -> list[LiabilityLeaf]:
        """The member's leaf in each token's tree at checkpoint ``size``, with its path to the root."""
        out = []
        for account in await reads.accounts_of(snap, me, opened_before=size):
            token = account.token
            tree = await self.tree(snap, signer, token, size)
            index = tree.index_of(account.id)
            if index is None:
                continue
            leaf = tree.leaves[index]
            data = {
                "account": leaf.account,
                "salt": base64.b64encode(leaf.salt).decode(),
                "balance": leaf.balance,
                "path": [
                    {"hash": base64.b64encode(s.hash).decode(), "total": s.total, "left": s.left}
                    for s in tree.proof(index)
                ],
                "root": base64.b64encode(tree.root.hash).decode(),
                "total": tree.root.total,
            }
            out.append(LiabilityLeaf(token, leaf.balance, tree.root.total, json.dumps(data)))
        return out
