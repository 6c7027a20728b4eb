"""C2SP signed-note, tlog-checkpoint, tlog-cosignature v1 and tlog-proof@v1.

Known answers come from golang.org/x/mod/sumdb/note's own tests (note_test.go, TestSign/TestOpen/
TestNewVerifier): the "PeterNeumann" and "EnochRoot" keys and signatures, copied verbatim. Ed25519 is
deterministic (RFC 8032), so signing the same text with the same seed must give the same bytes.

Our output is also checked by an independent verifier written below from the C2SP texts alone; it does
not import ledger.note, ledger.checkpoint or ledger.receipt.
"""

from __future__ import annotations

import base64
import hashlib
import pickle
from dataclasses import dataclass

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from ledger.checkpoint import Checkpoint, cosign, verify_cosignatures
from ledger.errors import VerificationError
from ledger.merkle import Frontier, inclusion_proof, leaf_hash
from ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Ed25519Signer,
    Verifier,
    key_id,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
)
from ledger.receipt import format_receipt, parse_receipt, verify_receipt

# --- golang.org/x/mod/sumdb/note note_test.go ----------------------------------------------------------

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
# The published *test* private key from the same file (not a secret: it is in the Go repository).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def peter_signer() -> Ed25519Signer:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == ALG_ED25519
    return Ed25519Signer.from_seed("PeterNeumann", raw[1:])


def test_go_verifier_keys() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    assert (peter.name, peter.key_id.hex(), peter.alg) == ("PeterNeumann", "c74f20a3", ALG_ED25519)
    assert str(peter) == PETER_VKEY == verifier_key(peter.name, peter.public_key)
    assert peter_signer().public_key == peter.public_key
    assert str(parse_verifier_key(ENOCH_VKEY)) == ENOCH_VKEY


def test_go_verifier_key_manglings_are_refused() -> None:
    # As TestNewVerifier: every proper substring and every single-byte increment must be refused.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(VerificationError):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        with pytest.raises(VerificationError):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :])
    with pytest.raises(VerificationError):  # wrong length key, adjusted key hash (and stray bits)
        parse_verifier_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(VerificationError, match="algorithm"):  # unknown algorithm, adjusted key hash
        parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_go_sign_reproduces_the_published_note() -> None:
    assert sign_note(GO_TEXT, [peter_signer()]) == GO_TEXT + "\n" + PETER_SIG


def test_go_open() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    both = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG

    opened = open_note(both, [peter])
    assert opened.text == GO_TEXT
    assert opened.verified_by == ("PeterNeumann",)
    assert opened.signature_lines == (PETER_SIG, ENOCH_SIG)
    assert open_note(both, [peter, enoch]).verified_by == ("PeterNeumann", "EnochRoot")
    assert open_note(both, [enoch]).verified_by == ("EnochRoot",)
    with pytest.raises(VerificationError, match="no signature by a trusted key"):
        open_note(both, [])

    # Repeated good signatures are fine; an unknown key's tampered signature is ignored.
    tampered_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    noisy = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + tampered_enoch
    assert open_note(noisy, [peter]).verified_by == ("PeterNeumann",)

    # A known key's signature that does not verify rejects the note.
    with pytest.raises(VerificationError, match="PeterNeumann"):
        open_note(GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [peter])
    # More than 100 signature lines is refused before any verification.
    with pytest.raises(VerificationError, match="more than the 100"):
        open_note(GO_TEXT + "\n" + PETER_SIG * 101, [peter])
    assert open_note(GO_TEXT + "\n" + PETER_SIG * 16, [peter]).verified_by == ("PeterNeumann",)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        "\ud800" + GO_TEXT + "\n" + PETER_SIG,  # Go's "\xff" case: not valid UTF-8 / Unicode
        GO_TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ],
)
def test_go_malformed_notes(note: str) -> None:
    with pytest.raises(VerificationError):
        open_note(note, [parse_verifier_key(PETER_VKEY)])


# --- an independent verifier, from the C2SP texts only ------------------------------------------------


@dataclass
class IndependentKey:
    name: str
    public_key: bytes
    alg: int  # 0x01 signed-note Ed25519, 0x04 cosignature/v1


def independent_open(note: str, key: IndependentKey) -> tuple[str, int | None]:
    """signed-note §Format/§Signatures, tlog-cosignature §Format/§Signed message. Returns the text
    and, for a cosignature, its timestamp. Raises AssertionError or BadSignatureError on failure."""
    text, signatures = note[: note.rindex("\n\n") + 1], note[note.rindex("\n\n") + 2 :]
    assert text.endswith("\n") and signatures.endswith("\n")
    assert not any(ord(c) < 0x20 and c != "\n" for c in note)
    wanted_id = hashlib.sha256(key.name.encode() + b"\n" + bytes([key.alg]) + key.public_key).digest()[:4]
    for line in signatures.splitlines():
        assert line.startswith("\u2014 ")
        name, blob = line[2:].split(" ")
        raw = base64.b64decode(blob, validate=True)
        if name != key.name or raw[:4] != wanted_id:
            continue
        if key.alg == 0x01:
            VerifyKey(key.public_key).verify(text.encode(), raw[4:])
            return text, None
        timestamp = int.from_bytes(raw[4:12], "big")
        message = b"cosignature/v1\n" + b"time " + str(timestamp).encode() + b"\n" + text.encode()
        VerifyKey(key.public_key).verify(message, raw[12:])
        return text, timestamp
    raise AssertionError("no signature by the key")


def independent_checkpoint(text: str) -> tuple[str, int, bytes]:
    """tlog-checkpoint §Note text."""
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) >= 4
    origin, size, root = lines[0], lines[1], lines[2]
    assert origin and size.isdecimal() and (size == "0" or not size.startswith("0"))
    root_hash = base64.b64decode(root, validate=True)
    assert len(root_hash) == 32
    return origin, int(size), root_hash


# --- our keys, checkpoints and notes ------------------------------------------------------------------

ORIGIN = "chestnut.example/ledger"
LOG = Ed25519Signer.from_seed(ORIGIN, hashlib.sha256(b"test log key").digest())
WITNESS_A = Ed25519Signer.from_seed("witness.example/a", hashlib.sha256(b"test witness a").digest())
WITNESS_B = Ed25519Signer.from_seed("witness.example/b", hashlib.sha256(b"test witness b").digest())
STRANGER = Ed25519Signer.from_seed("stranger.example", hashlib.sha256(b"test stranger").digest())

LOG_KEY = Verifier.from_public_key(LOG.name, LOG.public_key)
COSIGNER_A = Verifier.from_public_key(WITNESS_A.name, WITNESS_A.public_key, ALG_COSIGNATURE_V1)
COSIGNER_B = Verifier.from_public_key(WITNESS_B.name, WITNESS_B.public_key, ALG_COSIGNATURE_V1)


def test_signer_never_shows_its_key() -> None:
    seed = hashlib.sha256(b"test log key").digest()
    shown = repr(LOG) + str(LOG)
    assert seed.hex() not in shown and base64.b64encode(seed).decode() not in shown
    assert shown.startswith("Ed25519Signer('chestnut.example/ledger+")
    with pytest.raises(TypeError):
        pickle.dumps(LOG)


def test_key_ids_and_verifier_keys() -> None:
    pub = LOG.public_key
    assert key_id(ORIGIN, pub, 0x01) == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + pub).digest()[:4]
    assert key_id(ORIGIN, pub, 0x04) == hashlib.sha256(ORIGIN.encode() + b"\n\x04" + pub).digest()[:4]
    for alg in (ALG_ED25519, ALG_COSIGNATURE_V1):
        vkey = verifier_key(ORIGIN, pub, alg)
        assert vkey == f"{ORIGIN}+{key_id(ORIGIN, pub, alg).hex()}+{base64.b64encode(bytes([alg]) + pub).decode()}"
        assert parse_verifier_key(vkey) == Verifier(ORIGIN, key_id(ORIGIN, pub, alg), alg, pub)
    for bad_name in ("", "a b", "a+b", "tab\there", "nbsp\u00a0", "line\u2028sep"):
        with pytest.raises(VerificationError, match="key name"):
            verifier_key(bad_name, pub)
        with pytest.raises(VerificationError):
            Ed25519Signer(bad_name, LOG._key)
    with pytest.raises(VerificationError, match="key ID"):
        Verifier(ORIGIN, b"\x00\x00\x00\x00", ALG_ED25519, pub)
    with pytest.raises(VerificationError, match="algorithm"):
        verifier_key(ORIGIN, pub, 0x02)
    with pytest.raises(VerificationError, match="32 bytes"):
        verifier_key(ORIGIN, pub[:31])
    with pytest.raises(VerificationError, match="canonical"):  # the same key, base64 with stray bits
        parse_verifier_key("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX=")


def make_checkpoint(size: int = 5, root: bytes = b"\x07" * 32, extensions: tuple[str, ...] = ()) -> Checkpoint:
    return Checkpoint(ORIGIN, size, root, extensions)


def test_checkpoint_text_round_trip() -> None:
    checkpoint = make_checkpoint(20852163, bytes(range(32)), ("ext one", "ext two"))
    text = checkpoint.to_text()
    assert text == (f"{ORIGIN}\n20852163\n{base64.b64encode(bytes(range(32))).decode()}\next one\next two\n")
    assert Checkpoint.parse(text) == checkpoint
    assert independent_checkpoint(text) == (ORIGIN, 20852163, bytes(range(32)))
    assert Checkpoint.parse(make_checkpoint(0).to_text()).size == 0


ROOT_B64 = base64.b64encode(b"\x07" * 32).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n5\n{ROOT_B64}",  # no final newline
        f"{ORIGIN}\n5\n",  # two lines
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"{ORIGIN}\n05\n{ROOT_B64}\n",  # leading zero
        f"{ORIGIN}\n-5\n{ROOT_B64}\n",
        f"{ORIGIN}\n+5\n{ROOT_B64}\n",
        f"{ORIGIN}\n 5\n{ROOT_B64}\n",
        f"{ORIGIN}\n\u0665\n{ROOT_B64}\n",  # ARABIC-INDIC DIGIT FIVE: isdigit() but not ASCII
        f"{ORIGIN}\n9223372036854775808\n{ROOT_B64}\n",  # 2**63
        f"{ORIGIN}\n5\n{base64.b64encode(bytes(31)).decode()}\n",
        f"{ORIGIN}\n5\n{ROOT_B64[:-1]}\n",
        f"{ORIGIN}\n5\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwd=\n",  # 32 bytes, stray bits set
        f"{ORIGIN}\n5\n{ROOT_B64}\n\n",  # empty extension line
        f"{ORIGIN}\r\n5\n{ROOT_B64}\n",
    ],
)
def test_checkpoint_parse_is_strict(text: str) -> None:
    with pytest.raises(VerificationError):
        Checkpoint.parse(text)


def test_our_checkpoint_verifies_independently() -> None:
    text = make_checkpoint(20852163, hashlib.sha256(b"root").digest()).to_text()
    note = sign_note(text, [LOG])
    key = IndependentKey(LOG.name, LOG.public_key, 0x01)
    assert independent_open(note, key) == (text, None)
    assert independent_checkpoint(text) == (ORIGIN, 20852163, hashlib.sha256(b"root").digest())
    assert open_note(note, [LOG_KEY]).verified_by == (ORIGIN,)


def test_text_with_empty_lines_round_trips() -> None:
    # The C2SP signed-note example text has an empty line; the split is at the last blank line.
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    note = sign_note(text, [LOG])
    assert open_note(note, [LOG_KEY]).text == text
    assert independent_open(note, IndependentKey(LOG.name, LOG.public_key, 0x01))[0] == text
    assert open_note(sign_note("x\n\n", [LOG]), [LOG_KEY]).text == "x\n\n"


def test_sign_note_refuses_bad_text_and_signers() -> None:
    for text in ("no newline", "", "tab\there\n", "cr\r\n", "\ud800\n"):
        with pytest.raises(VerificationError):
            sign_note(text, [LOG])
    with pytest.raises(VerificationError, match="at least one signer"):
        sign_note("text\n", [])

    class LyingSigner:
        name = "liar.example"
        public_key = LOG.public_key

        def sign(self, message: bytes) -> bytes:
            return STRANGER.sign(message)

    with pytest.raises(VerificationError, match="rejects"):
        sign_note("text\n", [LyingSigner()])


def test_every_flipped_character_is_refused() -> None:
    note = sign_note(make_checkpoint().to_text(), [LOG])
    open_note(note, [LOG_KEY])
    for i, c in enumerate(note):
        tampered = note[:i] + chr(ord(c) ^ 1) + note[i + 1 :]
        with pytest.raises(VerificationError):
            open_note(tampered, [LOG_KEY])


def test_every_flipped_signature_bit_is_refused() -> None:
    text = make_checkpoint().to_text()
    note = sign_note(text, [LOG])
    name, blob = note[len(text) + 1 : -1][2:].split(" ")
    raw = base64.b64decode(blob)
    for bit in range(len(raw) * 8):
        bad = bytearray(raw)
        bad[bit // 8] ^= 1 << (bit % 8)
        tampered = f"{text}\n— {name} {base64.b64encode(bytes(bad)).decode()}\n"
        with pytest.raises(VerificationError):
            open_note(tampered, [LOG_KEY])


def test_unknown_keys() -> None:
    text = make_checkpoint().to_text()
    stranger_only = sign_note(text, [STRANGER])
    with pytest.raises(VerificationError, match="no signature by a trusted key"):
        open_note(stranger_only, [LOG_KEY])
    # A stranger's line beside a good one is ignored, before or after it.
    assert open_note(sign_note(text, [STRANGER, LOG]), [LOG_KEY]).verified_by == (ORIGIN,)
    assert open_note(sign_note(text, [LOG, STRANGER]), [LOG_KEY]).verified_by == (ORIGIN,)
    # Sharing the name but not the key ID, or the key ID but not the name, is still unknown.
    impostor = Ed25519Signer.from_seed(ORIGIN, hashlib.sha256(b"impostor").digest())
    assert open_note(sign_note(text, [impostor, LOG]), [LOG_KEY]).verified_by == (ORIGIN,)
    good_line = sign_note(text, [LOG])[len(text) + 1 :]
    renamed = good_line.replace(ORIGIN, "other.example")
    with pytest.raises(VerificationError, match="no signature by a trusted key"):
        open_note(text + "\n" + renamed, [LOG_KEY])
    # But a stranger's signature under our key's name and ID is checked, and refused.
    forged = sign_note(text, [STRANGER])[len(text) + 1 :].replace("stranger.example", ORIGIN)
    forged_blob = base64.b64decode(forged.split(" ")[2])
    forged = f"— {ORIGIN} {base64.b64encode(LOG_KEY.key_id + forged_blob[4:]).decode()}\n"
    with pytest.raises(VerificationError, match="does not verify"):
        open_note(text + "\n" + good_line + forged, [LOG_KEY])
    # Two different keys claiming the same name and ID make the trust list ambiguous.
    twin = Verifier.__new__(Verifier)
    object.__setattr__(twin, "name", ORIGIN)
    object.__setattr__(twin, "key_id", LOG_KEY.key_id)
    object.__setattr__(twin, "alg", ALG_ED25519)
    object.__setattr__(twin, "public_key", STRANGER.public_key)
    with pytest.raises(VerificationError, match="ambiguous"):
        open_note(text + "\n" + good_line, [LOG_KEY, twin])


# --- cosignatures -------------------------------------------------------------------------------------


def test_cosignature_round_trip_and_independent_check() -> None:
    text = make_checkpoint(1234).to_text()
    line_a = cosign(text, WITNESS_A, 1_679_315_147)
    line_b = cosign(text, WITNESS_B, 1_700_000_000)
    note = sign_note(text, [LOG]) + line_a + line_b
    assert verify_cosignatures(note, [COSIGNER_A, COSIGNER_B]) == {
        WITNESS_A.name: 1_679_315_147,
        WITNESS_B.name: 1_700_000_000,
    }
    assert verify_cosignatures(note, [COSIGNER_A]) == {WITNESS_A.name: 1_679_315_147}
    assert verify_cosignatures(note, []) == {}
    assert open_note(note, [LOG_KEY]).verified_by == (ORIGIN,)  # cosignatures are unknown note keys
    assert independent_open(note, IndependentKey(WITNESS_A.name, WITNESS_A.public_key, 0x04)) == (
        text,
        1_679_315_147,
    )
    raw = base64.b64decode(line_a.split(" ")[2])
    assert len(raw) == 4 + 8 + 64 and raw[4:12] == (1_679_315_147).to_bytes(8, "big")
    assert raw[:4] == key_id(WITNESS_A.name, WITNESS_A.public_key, 0x04)


def test_tampered_cosignatures_fail() -> None:
    text = make_checkpoint(1234).to_text()
    note = sign_note(text, [LOG])
    line = cosign(text, WITNESS_A, 1_679_315_147)
    name, blob = line[2:-1].split(" ")
    raw = base64.b64decode(blob)
    later = raw[:4] + (1_679_315_148).to_bytes(8, "big") + raw[12:]
    tampered = f"— {name} {base64.b64encode(later).decode()}\n"
    with pytest.raises(VerificationError, match="does not verify"):
        verify_cosignatures(note + tampered, [COSIGNER_A])
    with pytest.raises(BadSignatureError):
        independent_open(note + tampered, IndependentKey(WITNESS_A.name, WITNESS_A.public_key, 0x04))
    # A cosignature moved onto another checkpoint fails.
    other = make_checkpoint(1235).to_text()
    with pytest.raises(VerificationError, match="does not verify"):
        verify_cosignatures(sign_note(other, [LOG]) + line, [COSIGNER_A])
    # A plain note signature by the witness's key is not a cosignature (different key ID, so unknown).
    assert verify_cosignatures(note + sign_note(text, [WITNESS_A])[len(text) + 1 :], [COSIGNER_A]) == {}
    # Configuring a note key as a cosigner is a mistake we refuse.
    with pytest.raises(VerificationError, match="not a cosignature/v1 key"):
        verify_cosignatures(note + line, [LOG_KEY])


def test_cosign_refuses_bad_input() -> None:
    text = make_checkpoint().to_text()
    for timestamp in (-1, 2**64):
        with pytest.raises(VerificationError, match="u64"):
            cosign(text, WITNESS_A, timestamp)
    with pytest.raises(VerificationError):
        cosign("not a checkpoint\n", WITNESS_A, 1)


# --- receipts -----------------------------------------------------------------------------------------

ENTRIES = [f'{{"seq":{i}}}'.encode() for i in range(37)]


@pytest.fixture(scope="module")
def log() -> tuple[str, list[list[bytes]]]:
    """A signed, cosigned checkpoint of a real 37-entry tree, and every entry's inclusion proof."""
    frontier = Frontier()
    leaves = [leaf_hash(e) for e in ENTRIES]
    nodes: dict[tuple[int, int], bytes] = {}
    for h in leaves:
        nodes.update({(level, index): node for level, index, node in frontier.append(h)})

    def get_node(level: int, index: int) -> bytes:
        return leaves[index] if level == 0 else nodes[(level, index)]

    text = Checkpoint(ORIGIN, frontier.size, frontier.root()).to_text()
    note = sign_note(text, [LOG]) + cosign(text, WITNESS_A, 1_700_000_000) + cosign(text, WITNESS_B, 1_700_000_001)
    proofs = [inclusion_proof(i, len(ENTRIES), get_node) for i in range(len(ENTRIES))]
    return note, proofs


def test_receipts_verify(log: tuple[str, list[list[bytes]]]) -> None:
    note, proofs = log
    for i, entry in enumerate(ENTRIES):
        receipt = format_receipt(i, proofs[i], note)
        checkpoint = verify_receipt(receipt, entry, LOG_KEY, [COSIGNER_A, COSIGNER_B], min_cosigners=2)
        assert (checkpoint.origin, checkpoint.size) == (ORIGIN, len(ENTRIES))
    receipt = format_receipt(3, proofs[3], note, extra=b"order o-88121")
    assert receipt.startswith(f"c2sp.org/tlog-proof@v1\nextra {base64.b64encode(b'order o-88121').decode()}\n")
    assert receipt.endswith("\n\n" + note)
    parsed = parse_receipt(receipt)
    assert (parsed.extra, parsed.index, parsed.hashes, parsed.note) == (b"order o-88121", 3, tuple(proofs[3]), note)
    assert parse_receipt(format_receipt(3, proofs[3], note)).extra is None
    verify_receipt(receipt, ENTRIES[3], LOG_KEY)


def test_tampered_receipts_fail(log: tuple[str, list[list[bytes]]]) -> None:
    note, proofs = log
    index = 21
    good = format_receipt(index, proofs[index], note)
    verify_receipt(good, ENTRIES[index], LOG_KEY)

    def refused(receipt: str, entry: bytes = ENTRIES[index], **kwargs: object) -> None:
        with pytest.raises(VerificationError):
            verify_receipt(receipt, entry, LOG_KEY, **kwargs)  # type: ignore[arg-type]

    refused(good.replace(f"index {index}\n", f"index {index + 1}\n"))
    refused(good.replace(f"index {index}\n", f"index {index - 1}\n"))
    refused(good, ENTRIES[index + 1])
    refused(good, ENTRIES[index] + b" ")
    for k, h in enumerate(proofs[index]):
        flipped = bytes([h[0] ^ 1]) + h[1:]
        bad = [*proofs[index][:k], flipped, *proofs[index][k + 1 :]]
        refused(format_receipt(index, bad, note))
    refused(format_receipt(index, proofs[index][:-1], note))
    refused(format_receipt(index, [*proofs[index], proofs[index][0]], note))
    refused(format_receipt(index, proofs[index - 1], note))
    # The checkpoint: another size or root breaks the log's signature; a re-signed one by a stranger
    # is not trusted.
    text = note[: note.index("\n\n") + 1]
    refused(good.replace(f"\n{len(ENTRIES)}\n", f"\n{len(ENTRIES) + 1}\n"))
    refused(good.replace(text, Checkpoint(ORIGIN, len(ENTRIES), bytes(32)).to_text()))
    refused(format_receipt(index, proofs[index], sign_note(text, [STRANGER])))
    # Cosignature policy: too few, or a known witness's line broken.
    refused(good, cosigners=[COSIGNER_A], min_cosigners=2)
    refused(format_receipt(index, proofs[index], sign_note(text, [LOG])), cosigners=[COSIGNER_A], min_cosigners=1)
    line_b = cosign(text, WITNESS_B, 1_700_000_001)
    broken_b = line_b[:-10] + ("A" if line_b[-10] != "A" else "B") + line_b[-9:]
    refused(format_receipt(index, proofs[index], note.replace(line_b, broken_b)), cosigners=[COSIGNER_B])
    # A note key passed as the log key must be alg 0x01.
    with pytest.raises(VerificationError, match="alg 0x01"):
        verify_receipt(good, ENTRIES[index], COSIGNER_A)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: r.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
        lambda r: r.replace("index 21\n", "index 021\n"),
        lambda r: r.replace("index 21\n", "index -1\n"),
        lambda r: r.replace("index 21\n", "idx 21\n"),
        lambda r: r.replace("index 21\n", ""),
        lambda r: r.replace("\n\n", "\n", 1),
        lambda r: r[: r.index("\n\n") + 2],
        lambda r: r.replace("index 21\n", "index 21\nnot base64!\n"),
        lambda r: r.replace("index 21\n", "index 21\n" + base64.b64encode(bytes(31)).decode() + "\n"),
        lambda r: r.replace("index 21\n", "index 21\n" + (base64.b64encode(bytes(32)).decode() + "\n") * 63),
        lambda r: r.replace("c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v1\nextra ???\n"),
    ],
)
def test_malformed_receipts(log: tuple[str, list[list[bytes]]], mangle: object) -> None:
    note, proofs = log
    receipt = format_receipt(21, proofs[21], note)
    with pytest.raises(VerificationError):
        parse_receipt(mangle(receipt))  # type: ignore[operator]


def test_format_receipt_refuses_bad_input(log: tuple[str, list[list[bytes]]]) -> None:
    note, proofs = log
    with pytest.raises(VerificationError):
        format_receipt(-1, proofs[0], note)
    with pytest.raises(VerificationError):
        format_receipt(0, [b"short"], note)
    with pytest.raises(VerificationError):
        format_receipt(0, proofs[0], "not a signed note\n")
