"""Keys for sealing quarantined text (AES-GCM) and for pseudonyms (HMAC), from settings or files.

Key material comes from ``MEMORY_ENCRYPTION_KEY`` / ``MEMORY_PSEUDONYM_KEY`` when set (every
replica of a scaled-out deployment must share them), else from files created on first start in
the data directory with mode 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from memory_service.domain.models import Sealed
from memory_service.domain.pseudonyms import make_token
from memory_service.errors import SealMismatch

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyMaterialError(ValueError):
    """A configured key is malformed; the message never includes the key."""


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError:
        raise KeyMaterialError("a key must be 32 bytes, base64-encoded") from None
    if len(raw) != KEY_BYTES:
        raise KeyMaterialError("a key must be 32 bytes, base64-encoded")
    return raw


def _encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_keyring(text: str) -> dict[str, bytes]:
    """``kid:base64key`` entries separated by commas or newlines; a bare key gets kid ``k1``."""
    entries = [e.strip() for e in text.replace(",", "\n").splitlines() if e.strip()]
    keys: dict[str, bytes] = {}
    for entry in entries:
        kid, sep, material = entry.partition(":")
        if not sep:
            kid, material = "k1", entry
        if not kid or len(kid) > 64:  # noqa: PLR2004 - the column holds 64
            raise KeyMaterialError("a key id must be 1..64 characters")
        keys[kid] = _decode_key(material)
    if not keys:
        raise KeyMaterialError("no key given")
    return keys


def load_or_create_key_file(path: Path, header: str) -> str:
    """The file's content, creating it with a fresh key (mode 0600) if absent."""
    if path.exists():
        return path.read_text()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = f"k{secrets.randbelow(10**6):06d}:{_encode_key(secrets.token_bytes(KEY_BYTES))}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text()
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# {header}\n" if header else "")
        handle.write(content)
    return path.read_text()


def without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@dataclass(frozen=True)
class AesGcmSealer:
    """Seals with the newest key (the last listed); opens with whichever key sealed it."""

    keys: dict[str, bytes]

    @classmethod
    def from_text(cls, text: str) -> AesGcmSealer:
        return cls(parse_keyring(without_comments(text)))

    @property
    def current_key_id(self) -> str:
        return next(reversed(self.keys))

    def seal(self, plaintext: str, aad: bytes) -> Sealed:
        kid = self.current_key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(self.keys[kid]).encrypt(nonce, plaintext.encode(), aad)
        return Sealed(key_id=kid, nonce=nonce, ciphertext=ciphertext)

    def open(self, sealed: Sealed, aad: bytes) -> str:
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise KeyMaterialError("the key that sealed this record is not configured")
        try:
            return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad).decode()
        except InvalidTag as exc:
            raise SealMismatch("the sealed record does not open under this binding") from exc


@dataclass(frozen=True)
class HmacPseudonymizer:
    """``<PERSON_3f9a2c>``: HMAC-SHA256 under a per-org key derived from one secret.

    Keyed per org (the scope's first segment) rather than per full scope so that a search over
    an org's subtree needs one query variant, and a person is the same pseudonym across the
    org's client scopes; orgs never share pseudonyms.
    """

    secret: bytes

    @classmethod
    def from_text(cls, text: str) -> HmacPseudonymizer:
        keys = parse_keyring(without_comments(text))
        return cls(next(iter(keys.values())))

    def _org_key(self, org: str) -> bytes:
        return hmac.new(self.secret, b"pseudonym-org:" + org.encode(), hashlib.sha256).digest()

    def org_hasher(self, org: str) -> Callable[[str, str], str]:
        """:meth:`pseudonym` for one org, with its key derived once: a search query turns
        dozens of word runs into tokens, so the per-call key derivation would dominate."""
        keyed = hmac.new(self._org_key(org), digestmod=hashlib.sha256)

        def pseudonym(entity_type: str, value: str) -> str:
            digest = keyed.copy()
            digest.update(f"{entity_type}\x00{canonical(value)}".encode())
            return make_token(entity_type, digest.hexdigest())

        return pseudonym

    def pseudonym(self, org: str, entity_type: str, value: str) -> str:
        return self.org_hasher(org)(entity_type, value)


def canonical(value: str) -> str:
    """One spelling per value: "Emily  CLARKE" and "emily clarke" get the same pseudonym."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def keyed_digest(key: bytes, label: str, value: str) -> str:
    """An HMAC-SHA256 hex digest of ``value``: names it to whoever knows it, to nobody else."""
    return hmac.new(key, f"{label}\x00{value}".encode(), hashlib.sha256).hexdigest()
