"""C2SP signed-note, tlog-checkpoint, tlog-cosignature (cosignature/v1) and tlog-proof@v1.

- c2sp.org/signed-note: UTF-8 text ending in a newline, a blank line, then lines
  ``— <key name> <base64(key ID || signature)>``. The text is split from the signatures at the *last*
  blank line, so the text itself may contain empty lines. A key is known by its name AND 4-byte key
  ID, ``SHA256(name || 0x0A || alg || public key)[:4]``; signatures by unknown keys are ignored, a
  bad signature by a known key rejects the note, and a note with no good signature by a known key is
  rejected. Verifier keys are written ``<name>+<hex key ID>+<base64(alg || public key)>``.
- c2sp.org/tlog-checkpoint: the note text ``<origin>\\n<size>\\n<base64 root>\\n`` [extension lines].
- c2sp.org/tlog-cosignature: a witness's note signature with alg 0x04 whose payload is
  ``u64 timestamp || Ed25519 signature`` over ``"cosignature/v1\\ntime <t>\\n" + checkpoint text``.
- c2sp.org/tlog-proof@v1: a receipt carrying an entry's index, its inclusion proof and the
  (co)signed checkpoint it is proved against, checkable offline by anyone.

Only public keys enter this module: signing goes through the ``Signer`` protocol, which the key store
implements. Every failure is a ``VerificationError`` whose message says what was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from ledger.errors import VerificationError
from ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "RECEIPT_HEADER",
    "Checkpoint",
    "Ed25519Signer",
    "OpenedNote",
    "Receipt",
    "Signer",
    "Verifier",
    "cosign",
    "format_receipt",
    "key_id",
    "open_note",
    "parse_receipt",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
    "verify_cosignatures",
    "verify_receipt",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
# The spec requires accepting at least 16; more than Go's limit of 100 is only a way to burn our CPU.
MAX_SIGNATURES = 100
RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
# A tree smaller than 2**63 leaves has an inclusion path of at most 63 hashes.
_MAX_PROOF_HASHES = 63
_MAX_TREE_SIZE = 2**63 - 1

_SIG_PREFIX = "— "
_COSIGNATURE_HEADER = b"cosignature/v1\ntime %d\n"
_PUBLIC_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# Notes must not contain ASCII control characters other than newline (signed-note §Format).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


class Signer(Protocol):
    """Something that signs with an Ed25519 key: the key store, or ``Ed25519Signer`` in tests."""

    @property
    def name(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        ...


class Ed25519Signer:
    """A ``Signer`` holding a PyNaCl signing key (tests, the replica witness). Never shows the key."""

    __slots__ = ("_key", "_name", "_public_key")

    def __init__(self, name: str, key: SigningKey) -> None:
        _check_name(name)
        self._name = name
        self._key = key
        self._public_key: bytes = bytes(key.verify_key)

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, SigningKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Ed25519Signer:
        if len(seed) != 32:
            raise VerificationError(f"an Ed25519 seed is 32 bytes, found {len(seed)}")
        return cls(name, SigningKey(seed))

    @property
    def name(self) -> str:
        return self._name

    @property
    def public_key(self) -> bytes:
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._key.sign(message).signature
        return signature

    def __repr__(self) -> str:
        return f"Ed25519Signer({verifier_key(self._name, self._public_key)!r})"

    def __reduce__(self) -> NoReturn:
        # Pickling would copy the private key into caches, queues or logs; refuse it.
        raise TypeError("Ed25519Signer holds a private key and cannot be pickled")


# --- keys -----------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    # str.split() splits on exactly the characters str.isspace() reports, at C speed.
    if "+" in name or name.split() != [name]:
        raise VerificationError(
            f"key name {name!r} is invalid: it must be non-empty with no spaces and no '+'", name=name
        )


def key_id(name: str, public_key: bytes, alg: int) -> bytes:
    """``SHA256(name || 0x0A || alg || public_key)[:4]`` (signed-note; alg 0x04 for cosignature/v1)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes((alg,)) + public_key).digest()[:4]


def _check_key(public_key: bytes, alg: int) -> None:
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise VerificationError(
            f"unsupported key algorithm {alg:#04x}: expected 0x01 (Ed25519) or 0x04 (cosignature/v1)",
            alg=alg,
        )
    if len(public_key) != _PUBLIC_KEY_SIZE:
        raise VerificationError(
            f"an Ed25519 public key is {_PUBLIC_KEY_SIZE} bytes, found {len(public_key)}",
            found=len(public_key),
        )


def verifier_key(name: str, public_key: bytes, alg: int = ALG_ED25519) -> str:
    """The verifier key string ``<name>+<hex key ID>+<base64(alg || public key)>``."""
    _check_name(name)
    _check_key(public_key, alg)
    blob = base64.b64encode(bytes((alg,)) + public_key).decode("ascii")
    return f"{name}+{key_id(name, public_key, alg).hex()}+{blob}"


@dataclass(frozen=True, slots=True)
class Verifier:
    """A trusted public key: name, key ID, algorithm (0x01 note, 0x04 cosignature/v1) and key."""

    name: str
    key_id: bytes
    alg: int
    public_key: bytes
    _verify_key: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_key(self.public_key, self.alg)
        expected = key_id(self.name, self.public_key, self.alg)
        if self.key_id != expected:
            raise VerificationError(
                f"key ID for {self.name} should be {expected.hex()}, found {self.key_id.hex()}",
                expected=expected.hex(),
                found=self.key_id.hex(),
            )
        # Built once here rather than per signature checked.
        object.__setattr__(self, "_verify_key", VerifyKey(self.public_key))

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes, alg: int = ALG_ED25519) -> Verifier:
        _check_key(public_key, alg)
        return cls(name, key_id(name, public_key, alg), alg, public_key)

    def __str__(self) -> str:
        return verifier_key(self.name, self.public_key, self.alg)

    def _accepts(self, message: bytes, signature: bytes) -> bool:
        try:
            self._verify_key.verify(message, signature)
        except BadSignatureError:
            return False
        return True


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse ``<name>+<hex key ID>+<base64(alg || public key)>``, checking the key ID matches."""
    name, _, rest = vkey.partition("+")
    hex_id, _, blob = rest.partition("+")
    if len(hex_id) != 8 or not _HEX_DIGITS.issuperset(hex_id) or not blob:
        raise VerificationError(f"verifier key {vkey!r} is malformed: expected <name>+<8 hex digits>+<base64 key>")
    raw = _b64decode(blob, "verifier key material")
    if not raw:
        raise VerificationError("verifier key material is empty")
    return Verifier(name, bytes.fromhex(hex_id), raw[0], raw[1:])


# --- signed notes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose signatures checked out: its text (with final newline), who signed, every line."""

    text: str
    verified_by: tuple[str, ...]
    signature_lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _SignatureLine:
    name: str
    key_id: bytes
    payload: bytes
    line: str


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise VerificationError(f"{what} is not valid base64") from None
    # Only the one canonical spelling, so a signed object has exactly one text form.
    if base64.b64encode(raw).decode("ascii") != text:
        raise VerificationError(f"{what} is not canonical base64")
    return raw


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise VerificationError(f"{what} is not valid Unicode (lone surrogate)") from None


def _check_text(text: str) -> bytes:
    if not text.endswith("\n"):
        raise VerificationError("note text must end with a newline")
    control = _CONTROL.search(text)
    if control:
        raise VerificationError(f"note text contains control character {control.group()!a}; only newline is allowed")
    return _utf8(text, "note text")


def _split_note(note: str) -> tuple[str, bytes, list[_SignatureLine]]:
    """The text, its UTF-8 bytes (what was signed) and the parsed signature lines of a signed note."""
    control = _CONTROL.search(note)
    if control:
        raise VerificationError(f"note contains control character {control.group()!a}")
    encoded = _utf8(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("note has no blank line between its text and its signatures")
    text = note[: split + 1]
    message = encoded[: encoded.rfind(b"\n\n") + 1]
    block = note[split + 2 :]
    if not block.endswith("\n"):
        raise VerificationError("note must end with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(f"note has {len(lines)} signature lines, more than the {MAX_SIGNATURES} accepted")
    signatures: list[_SignatureLine] = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_SIG_PREFIX):
            raise VerificationError(f"signature line {number} does not start with an em dash and a space")
        name, space, blob = line[2:].partition(" ")
        if not space or not blob:
            raise VerificationError(f"signature line {number} is not '— <name> <base64>'")
        _check_name(name)
        raw = _b64decode(blob, f"signature line {number}")
        if len(raw) < 5:
            raise VerificationError(f"signature line {number} is {len(raw)} bytes, too short")
        signatures.append(_SignatureLine(name, raw[:4], raw[4:], line + "\n"))
    return text, message, signatures


def _index(verifiers: Sequence[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            raise VerificationError(f"ambiguous key {v.name}+{v.key_id.hex()}: two different keys share it")
    return known


def _check_signature(v: Verifier, text: bytes, sig: _SignatureLine) -> None:
    """Verify one line by a known key: the note text itself, or for alg 0x04 the cosigned message."""
    if v.alg == ALG_COSIGNATURE_V1:
        _check_cosignature(v, text, sig)
        return
    _check_ed25519(v, text, sig.payload, _SIGNATURE_SIZE)


def _check_cosignature(v: Verifier, text: bytes, sig: _SignatureLine) -> int:
    payload = sig.payload
    timestamp = int.from_bytes(payload[:_TIMESTAMP_SIZE], "big")
    _check_ed25519(v, _COSIGNATURE_HEADER % timestamp + text, payload, _TIMESTAMP_SIZE + _SIGNATURE_SIZE)
    return timestamp


def _check_ed25519(v: Verifier, message: bytes, payload: bytes, expected: int) -> None:
    if len(payload) != expected:
        raise VerificationError(
            f"signature by {v.name}+{v.key_id.hex()} is {len(payload)} bytes, expected {expected}",
            expected=expected,
            found=len(payload),
        )
    if not v._accepts(message, payload[-_SIGNATURE_SIZE:]):
        raise VerificationError(f"signature by known key {v.name}+{v.key_id.hex()} does not verify", name=v.name)


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` (which must end in a newline) with each signer, as a c2sp.org/signed-note.

    The text may contain empty lines: readers split at the last blank line, which is ours.
    """
    message = _check_text(text)
    if not signers:
        raise VerificationError("a note needs at least one signer")
    lines: list[str] = []
    for signer in signers:
        name = signer.name
        public_key = signer.public_key
        _check_name(name)
        _check_key(public_key, ALG_ED25519)
        signature = signer.sign(message)
        # A key store whose private key does not match its public key would publish notes nobody can
        # verify; one verification per checkpoint is a cheap guard.
        if len(signature) != _SIGNATURE_SIZE or not Verifier.from_public_key(name, public_key)._accepts(
            message, signature
        ):
            raise VerificationError(f"signer {name} produced a signature its own public key rejects")
        blob = base64.b64encode(key_id(name, public_key, ALG_ED25519) + signature).decode("ascii")
        lines.append(f"{_SIG_PREFIX}{name} {blob}\n")
    return text + "\n" + "".join(lines)


def open_note(note: str, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Check a signed note against trusted keys and return its text and who signed it.

    Lines by unknown keys (name and key ID not both matching) are ignored. A line by a known key
    must verify (alg 0x04 keys are checked as cosignature/v1), and at least one must.
    """
    text, message, signatures = _split_note(note)
    known = _index(verifiers)
    verified: list[str] = []
    for sig in signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        _check_signature(v, message, sig)
        if v.name not in verified:
            verified.append(v.name)
    if not verified:
        wanted = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers) or "none"
        found = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in signatures)
        raise VerificationError(
            f"note has no signature by a trusted key: trusted {wanted}; found {found}",
        )
    return OpenedNote(text, tuple(verified), tuple(sig.line for sig in signatures))


# --- checkpoints and cosignatures -----------------------------------------------------------------


def _parse_decimal(text: str, what: str, limit: int) -> int:
    # isdigit() alone would admit non-ASCII digits such as '٣'.
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0"):
        raise VerificationError(f"{what} {text!r} is not a decimal number without leading zeros")
    if len(text) > 19 or int(text) > limit:
        raise VerificationError(f"{what} {text} is larger than {limit}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog-checkpoint: the log's origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in (("origin", self.origin), *(("extension line", e) for e in self.extensions)):
            if not line or "\n" in line or _CONTROL.search(line):
                raise VerificationError(f"checkpoint {what} {line!r} must be one non-empty line")
        if type(self.size) is not int or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise VerificationError(f"checkpoint size must be an integer in 0..2**63-1, found {self.size!r}")
        if len(self.root_hash) != HASH_SIZE:
            raise VerificationError(f"checkpoint root hash must be {HASH_SIZE} bytes, found {len(self.root_hash)}")

    def to_text(self) -> str:
        """The note text: ``<origin>\\n<size>\\n<base64 root>\\n`` then any extension lines."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        tail = "".join(line + "\n" for line in self.extensions)
        return f"{self.origin}\n{self.size}\n{root}\n{tail}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (not the signed note: see ``open_note``)."""
        if not text.endswith("\n"):
            raise VerificationError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise VerificationError(f"checkpoint needs at least 3 lines, found {len(lines)}")
        origin, size, root, *extensions = lines
        return cls(
            origin,
            _parse_decimal(size, "checkpoint size", _MAX_TREE_SIZE),
            _b64decode(root, "checkpoint root hash"),
            tuple(extensions),
        )


def cosign(checkpoint_text: str, signer: Signer, timestamp: int) -> str:
    """A witness's cosignature/v1 line (with its newline) for ``checkpoint_text`` at ``timestamp``.

    Append it to the checkpoint's signed note. ``timestamp`` is in Unix seconds.
    """
    Checkpoint.parse(checkpoint_text)
    message = _check_text(checkpoint_text)
    if type(timestamp) is not int or not 0 <= timestamp < 2**64:
        raise VerificationError(f"cosignature timestamp must be a u64, found {timestamp!r}")
    name = signer.name
    public_key = signer.public_key
    _check_name(name)
    _check_key(public_key, ALG_COSIGNATURE_V1)
    signature = signer.sign(_COSIGNATURE_HEADER % timestamp + message)
    if len(signature) != _SIGNATURE_SIZE:
        raise VerificationError(f"signer {name} returned {len(signature)} bytes, not a signature")
    payload = key_id(name, public_key, ALG_COSIGNATURE_V1) + timestamp.to_bytes(8, "big") + signature
    return f"{_SIG_PREFIX}{name} {base64.b64encode(payload).decode('ascii')}\n"


def verify_cosignatures(note: str, cosigners: Sequence[Verifier]) -> dict[str, int]:
    """``{cosigner name: timestamp}`` for the cosignatures in ``note`` by the given witness keys.

    Lines by other keys are ignored; a line by a listed witness that does not verify raises. The
    caller decides how many cosignatures it needs.
    """
    for v in cosigners:
        if v.alg != ALG_COSIGNATURE_V1:
            raise VerificationError(f"{v.name} is not a cosignature/v1 key: expected alg 0x04, found {v.alg:#04x}")
    _, message, signatures = _split_note(note)
    known = _index(cosigners)
    times: dict[str, int] = {}
    for sig in signatures:
        witness = known.get((sig.name, sig.key_id))
        if witness is None:
            continue
        timestamp = _check_cosignature(witness, message, sig)
        times[witness.name] = max(timestamp, times.get(witness.name, timestamp))
    return times


# --- receipts (c2sp.org/tlog-proof@v1) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    """A parsed tlog-proof: unauthenticated extra data, entry index, inclusion hashes, signed note."""

    extra: bytes | None
    index: int
    hashes: tuple[bytes, ...]
    note: str


def format_receipt(index: int, inclusion: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None) -> str:
    """A c2sp.org/tlog-proof@v1 text: header, [extra], index, proof hashes, blank line, the note.

    ``checkpoint_note`` is the signed checkpoint (with any cosignatures) verbatim, and ``inclusion``
    must be the proof for exactly that checkpoint's tree size.
    """
    if type(index) is not int or not 0 <= index <= _MAX_TREE_SIZE:
        raise VerificationError(f"receipt index must be in 0..2**63-1, found {index!r}")
    if len(inclusion) > _MAX_PROOF_HASHES:
        raise VerificationError(f"inclusion proof has {len(inclusion)} hashes, at most 63 possible")
    for h in inclusion:
        if len(h) != HASH_SIZE:
            raise VerificationError(f"every proof hash must be {HASH_SIZE} bytes, found {len(h)}")
    _split_note(checkpoint_note)
    parts = [RECEIPT_HEADER, "\n"]
    if extra is not None:
        parts += ["extra ", base64.b64encode(extra).decode("ascii"), "\n"]
    parts += ["index ", str(index), "\n"]
    for h in inclusion:
        parts += [base64.b64encode(h).decode("ascii"), "\n"]
    parts += ["\n", checkpoint_note]
    return "".join(parts)


def parse_receipt(text: str) -> Receipt:
    """Parse a tlog-proof@v1 text; checks its shape only (``verify_receipt`` checks its truth)."""
    head, blank, note = text.partition("\n\n")
    if not blank or not note:
        raise VerificationError("receipt has no blank line followed by a checkpoint")
    lines = head.split("\n")
    if lines[0] != RECEIPT_HEADER:
        raise VerificationError(f"receipt must start with {RECEIPT_HEADER!r}, found {lines[0][:40]!r}")
    at = 1
    extra = None
    if at < len(lines) and lines[at].startswith("extra "):
        extra = _b64decode(lines[at][6:], "receipt extra data")
        at += 1
    if at >= len(lines) or not lines[at].startswith("index "):
        raise VerificationError("receipt has no 'index <n>' line")
    index = _parse_decimal(lines[at][6:], "receipt index", _MAX_TREE_SIZE)
    proof_lines = lines[at + 1 :]
    if len(proof_lines) > _MAX_PROOF_HASHES:
        raise VerificationError(f"receipt has {len(proof_lines)} proof hashes, at most 63 possible")
    hashes: list[bytes] = []
    for number, line in enumerate(proof_lines, 1):
        h = _b64decode(line, f"receipt proof hash {number}")
        if len(h) != HASH_SIZE:
            raise VerificationError(f"receipt proof hash {number} is {len(h)} bytes, expected {HASH_SIZE}")
        hashes.append(h)
    return Receipt(extra, index, tuple(hashes), note)


def verify_receipt(
    receipt: str,
    entry: bytes,
    log_key: Verifier,
    cosigners: Sequence[Verifier] = (),
    min_cosigners: int = 0,
) -> Checkpoint:
    """Check that ``entry`` is in the log, as the receipt claims, and return the checkpoint it is in.

    Checks the log's signature on the checkpoint, every cosignature by a listed witness (at least
    ``min_cosigners`` of them present and valid), and the inclusion of ``SHA256(0x00 || entry)`` at
    the receipt's index under the checkpoint's root. The extra data is not authenticated.
    """
    if log_key.alg != ALG_ED25519:
        raise VerificationError(f"log key {log_key.name} must be an Ed25519 note key (alg 0x01)")
    parsed = parse_receipt(receipt)
    opened = open_note(parsed.note, [log_key])
    checkpoint = Checkpoint.parse(opened.text)
    if cosigners or min_cosigners:
        times = verify_cosignatures(parsed.note, cosigners)
        if len(times) < min_cosigners:
            raise VerificationError(
                f"checkpoint has {len(times)} valid cosignatures by trusted witnesses, "
                f"expected at least {min_cosigners}",
                expected=min_cosigners,
                found=len(times),
            )
    verify_inclusion(leaf_hash(entry), parsed.index, checkpoint.size, parsed.hashes, checkpoint.root_hash)
    return checkpoint
