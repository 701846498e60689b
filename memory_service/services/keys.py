"""API keys: issue, authenticate, revoke. Keys are stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from memory_service.domain.audit import audit_entry
from memory_service.domain.grants import ALL_PERMISSIONS, Caller, Grant, Principal
from memory_service.domain.models import ApiKeyRecord
from memory_service.domain.ports import ControlStore
from memory_service.domain.scopes import ScopePattern
from memory_service.errors import InvalidInput, NotFound, Unauthenticated
from memory_service.services.free_text import Screen

# A recognisable prefix lets our own secret scanner (and GitHub-style scanners) spot a leaked key.
KEY_PREFIX = "msk_"
_LOOKUP_BYTES = 8
_SECRET_BYTES = 24
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    key: str  # shown to the caller once, never stored


def _hash_secret(secret: str) -> str:
    # Keys are 192-bit random tokens, so a fast hash is enough: no password stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str) -> tuple[str, str] | None:
    if not token.startswith(KEY_PREFIX):
        return None
    body = token[len(KEY_PREFIX) :]
    lookup, sep, secret = body.partition("_")
    if not sep or not lookup or not secret or len(token) > 200:  # noqa: PLR2004
        return None
    return lookup, secret


def make_key_material() -> tuple[str, str, str]:
    """A new key as (full token, lookup, secret)."""
    lookup = secrets.token_hex(_LOOKUP_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES).replace("_", "x").replace("-", "y")
    return f"{KEY_PREFIX}{lookup}_{secret}", lookup, secret


def is_key_format(token: str) -> bool:
    return _split(token) is not None


class KeyService:
    """Issues and checks keys. Deny by default: anything unexpected is :class:`Unauthenticated`."""

    def __init__(
        self, store: ControlStore, clock: Callable[[], datetime], *, screen: Screen
    ) -> None:
        self._store = store
        self._clock = clock
        self._screen = screen  # a key's name is in the audit trail and every log line

    def issue(
        self,
        name: str,
        grants: Sequence[Grant],
        expires_at: datetime | None = None,
        *,
        by: Caller | None = None,
    ) -> IssuedKey:
        """Create a key with ``grants``; the returned token is the only copy of the secret."""
        if not name.strip():
            raise InvalidInput("name must not be empty")
        self._screen({"name": name}, by.principal.key_id if by is not None else "system")
        token, lookup, secret = make_key_material()
        return IssuedKey(self._save(name, grants, lookup, secret, expires_at, by=by), token)

    def import_key(self, name: str, token: str, grants: Sequence[Grant]) -> ApiKeyRecord:
        """Register an operator-chosen token (the bootstrap admin key)."""
        parts = _split(token)
        if parts is None:
            raise InvalidInput(f"a key must look like {KEY_PREFIX}<lookup>_<secret>")
        return self._save(name, grants, parts[0], parts[1], None, by=None)

    def _save(
        self,
        name: str,
        grants: Sequence[Grant],
        lookup: str,
        secret: str,
        expires_at: datetime | None,
        *,
        by: Caller | None,
    ) -> ApiKeyRecord:
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires_at must be in the future")
        record = ApiKeyRecord(
            id=uuid.uuid4(),
            name=name,
            lookup=lookup,
            secret_hash=_hash_secret(secret),
            grants=tuple(grants),
            created_at=now,
            expires_at=expires_at,
        )
        entry = audit_entry(
            by,
            "key.create",
            details={
                "key_id": str(record.id),
                "name": name,
                "grants": [g.to_json() for g in record.grants],
            },
        )
        self._store.add_key(record, audit=[entry])
        return record

    def authenticate(self, token: str | None) -> Principal:
        """The principal behind ``token``; constant-time on the secret, whatever the failure."""
        parts = _split(token or "")
        record = self._store.key_by_lookup(parts[0]) if parts else None
        expected = record.secret_hash if record else _DUMMY_HASH
        presented = _hash_secret(parts[1] if parts else "")
        matches = hmac.compare_digest(expected, presented)
        if record is None or not matches:
            raise Unauthenticated
        now = self._clock()
        if record.revoked_at is not None or (record.expires_at and record.expires_at <= now):
            raise Unauthenticated
        return Principal(key_id=str(record.id), name=record.name, grants=tuple(record.grants))

    def list_keys(self) -> list[ApiKeyRecord]:
        return self._store.list_keys()

    def revoke(self, key_id: uuid.UUID, *, by: Caller | None = None) -> None:
        entry = audit_entry(by, "key.revoke", details={"key_id": str(key_id)})
        if not self._store.revoke_key(key_id, self._clock(), audit=[entry]):
            raise NotFound

    def ensure_bootstrap_admin(self, token: str | None) -> str | None:
        """On an empty store, create the admin key; return the token if we generated it."""
        if self._store.count_keys() > 0:
            return None
        admin = [Grant(ScopePattern.parse("**"), ALL_PERMISSIONS)]
        if token:
            self.import_key("bootstrap-admin", token, admin)
            return None
        return self.issue("bootstrap-admin", admin).key
