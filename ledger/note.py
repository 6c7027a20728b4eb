"""C2SP signed-note: keys, signing and opening notes (and the cosignature lines in them).

- c2sp.org/signed-note: UTF-8 text ending in a newline, a blank line, then lines
  ``— <key name> <base64(key ID || signature)>``. The text is split from the signatures at the *last*
  blank line, so the text itself may contain empty lines. A key is known by its name AND 4-byte key
  ID, ``SHA256(name || 0x0A || alg || public key)[:4]``; signatures by unknown keys are ignored, a
  bad signature by a known key rejects the note, and a note with no good signature by a known key is
  rejected. Verifier keys are written ``<name>+<hex key ID>+<base64(alg || public key)>``.
- c2sp.org/tlog-cosignature: a witness's note signature with alg 0x04 whose payload is
  ``u64 timestamp || Ed25519 signature`` over ``"cosignature/v1\\ntime <t>\\n" + checkpoint text``; a
  note opened here checks such lines by known witness keys too.

The formats built on signed notes live beside it: ``ledger.checkpoint`` (tlog-checkpoint, cosigning)
and ``ledger.receipt`` (tlog-proof@v1). They share the primitives below that have no underscore:
canonical base64, the note text and name checks, the split of a note into text and signature lines.

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

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "CONTROL_CHARACTERS",
    "COSIGNATURE_HEADER",
    "MAX_SIGNATURES",
    "SIGNATURE_PREFIX",
    "SIGNATURE_SIZE",
    "Ed25519Signer",
    "OpenedNote",
    "SignatureLine",
    "Signer",
    "Verifier",
    "check_cosignature",
    "check_key",
    "check_name",
    "check_text",
    "decode_base64",
    "index_keys",
    "key_id",
    "open_note",
    "parse_verifier_key",
    "sign_note",
    "split_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
# The spec requires accepting at least 16; more than Go's limit of 100 is only a way to burn our CPU.
MAX_SIGNATURES = 100

SIGNATURE_PREFIX = "— "
COSIGNATURE_HEADER = b"cosignature/v1\ntime %d\n"
_PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# Notes must not contain ASCII control characters other than newline (signed-note §Format).
CONTROL_CHARACTERS = re.compile("[\x00-\x09\x0b-\x1f]")


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
        check_name(name)
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


def check_name(name: str) -> None:
    # str.split() splits on exactly the characters str.isspace() reports, at C speed.
    if "+" in name or name.split() != [name]:
        raise VerificationError(
            f"key name {name!r} is invalid: it must be non-empty with no spaces and no '+'", name=name
        )


def key_id(name: str, public_key: bytes, alg: int) -> bytes:
    """``SHA256(name || 0x0A || alg || public_key)[:4]`` (signed-note; alg 0x04 for cosignature/v1)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes((alg,)) + public_key).digest()[:4]


def check_key(public_key: bytes, alg: int) -> None:
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
    check_name(name)
    check_key(public_key, alg)
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
        check_name(self.name)
        check_key(self.public_key, self.alg)
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
        check_key(public_key, alg)
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
    raw = decode_base64(blob, "verifier key material")
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
class SignatureLine:
    name: str
    key_id: bytes
    payload: bytes
    line: str


def decode_base64(text: str, what: str) -> bytes:
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


def check_text(text: str) -> bytes:
    if not text.endswith("\n"):
        raise VerificationError("note text must end with a newline")
    control = CONTROL_CHARACTERS.search(text)
    if control:
        raise VerificationError(f"note text contains control character {control.group()!a}; only newline is allowed")
    return _utf8(text, "note text")


def split_note(note: str) -> tuple[str, bytes, list[SignatureLine]]:
    """The text, its UTF-8 bytes (what was signed) and the parsed signature lines of a signed note."""
    control = CONTROL_CHARACTERS.search(note)
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
    signatures: list[SignatureLine] = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise VerificationError(f"signature line {number} does not start with an em dash and a space")
        name, space, blob = line[2:].partition(" ")
        if not space or not blob:
            raise VerificationError(f"signature line {number} is not '— <name> <base64>'")
        check_name(name)
        raw = decode_base64(blob, f"signature line {number}")
        if len(raw) < 5:
            raise VerificationError(f"signature line {number} is {len(raw)} bytes, too short")
        signatures.append(SignatureLine(name, raw[:4], raw[4:], line + "\n"))
    return text, message, signatures


def index_keys(verifiers: Sequence[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            raise VerificationError(f"ambiguous key {v.name}+{v.key_id.hex()}: two different keys share it")
    return known


def _check_signature(v: Verifier, text: bytes, sig: SignatureLine) -> None:
    """Verify one line by a known key: the note text itself, or for alg 0x04 the cosigned message."""
    if v.alg == ALG_COSIGNATURE_V1:
        check_cosignature(v, text, sig)
        return
    _check_ed25519(v, text, sig.payload, SIGNATURE_SIZE)


def check_cosignature(v: Verifier, text: bytes, sig: SignatureLine) -> int:
    payload = sig.payload
    timestamp = int.from_bytes(payload[:_TIMESTAMP_SIZE], "big")
    _check_ed25519(v, COSIGNATURE_HEADER % timestamp + text, payload, _TIMESTAMP_SIZE + SIGNATURE_SIZE)
    return timestamp


def _check_ed25519(v: Verifier, message: bytes, payload: bytes, expected: int) -> None:
    if len(payload) != expected:
        raise VerificationError(
            f"signature by {v.name}+{v.key_id.hex()} is {len(payload)} bytes, expected {expected}",
            expected=expected,
            found=len(payload),
        )
    if not v._accepts(message, payload[-SIGNATURE_SIZE:]):
        raise VerificationError(f"signature by known key {v.name}+{v.key_id.hex()} does not verify", name=v.name)


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` (which must end in a newline) with each signer, as a c2sp.org/signed-note.

    The text may contain empty lines: readers split at the last blank line, which is ours.
    """
    message = check_text(text)
    if not signers:
        raise VerificationError("a note needs at least one signer")
    lines: list[str] = []
    for signer in signers:
        name = signer.name
        public_key = signer.public_key
        check_name(name)
        check_key(public_key, ALG_ED25519)
        signature = signer.sign(message)
        # A key store whose private key does not match its public key would publish notes nobody can
        # verify; one verification per checkpoint is a cheap guard.
        if len(signature) != SIGNATURE_SIZE or not Verifier.from_public_key(name, public_key)._accepts(
            message, signature
        ):
            raise VerificationError(f"signer {name} produced a signature its own public key rejects")
        blob = base64.b64encode(key_id(name, public_key, ALG_ED25519) + signature).decode("ascii")
        lines.append(f"{SIGNATURE_PREFIX}{name} {blob}\n")
    return text + "\n" + "".join(lines)


def open_note(note: str, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Check a signed note against trusted keys and return its text and who signed it.

    Lines by unknown keys (name and key ID not both matching) are ignored. A line by a known key
    must verify (alg 0x04 keys are checked as cosignature/v1), and at least one must.
    """
    text, message, signatures = split_note(note)
    known = index_keys(verifiers)
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
