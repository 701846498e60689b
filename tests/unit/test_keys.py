from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from memory_service.domain.grants import Grant, Permission
from memory_service.domain.scopes import ScopePattern
from memory_service.errors import InvalidInput, NotFound, Unauthenticated
from memory_service.services.keys import KEY_PREFIX, KeyService, is_key_format
from memory_service.storage.sql import SqlControlStore, sqlite_url_for
from tests.conftest import AUDIT_KEY


def no_screen(_texts: Mapping[str, str], _owner: str) -> None:
    """Key names are screened by the service's classifiers in the API tests."""


NOW = datetime(2026, 1, 1, tzinfo=UTC)
READ = [Grant(ScopePattern.parse("acme/**"), frozenset({Permission.MEMORY_READ}))]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlControlStore]:
    s = SqlControlStore(sqlite_url_for(tmp_path), audit_key=AUDIT_KEY)
    s.migrate()
    yield s
    s.close()


def test_issued_key_authenticates_with_its_grants(store: SqlControlStore) -> None:
    keys = KeyService(store, Clock(), screen=no_screen)
    issued = keys.issue("agent", READ)
    assert issued.key.startswith(KEY_PREFIX)
    assert is_key_format(issued.key)
    principal = keys.authenticate(issued.key)
    assert principal.name == "agent"
    assert principal.can(Permission.MEMORY_READ, "acme/globex")
    assert not principal.can(Permission.MEMORY_WRITE, "acme/globex")


def test_only_a_hash_of_the_key_is_stored(store: SqlControlStore) -> None:
    issued = KeyService(store, Clock(), screen=no_screen).issue("agent", READ)
    secret = issued.key.rsplit("_", 1)[1]
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).all()
    dump = repr(rows)
    assert issued.key not in dump
    assert secret not in dump


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret
        lambda k: k.replace(KEY_PREFIX, "xsk_"),  # wrong prefix
        lambda k: k.split("_", 2)[0] + "_" + "0" * 16 + "_" + k.rsplit("_", 1)[1],  # wrong lookup
        lambda _k: "",
        lambda k: k + "_extra",
    ],
)
def test_wrong_keys_are_refused(store: SqlControlStore, mutate: object) -> None:
    keys = KeyService(store, Clock(), screen=no_screen)
    issued = keys.issue("agent", READ)
    with pytest.raises(Unauthenticated):
        keys.authenticate(mutate(issued.key))  # type: ignore[operator]
    with pytest.raises(Unauthenticated):
        keys.authenticate(None)


def test_revoked_and_expired_keys_are_refused(store: SqlControlStore) -> None:
    clock = Clock()
    keys = KeyService(store, clock, screen=no_screen)
    revoked = keys.issue("gone", READ)
    keys.revoke(revoked.record.id)
    with pytest.raises(Unauthenticated):
        keys.authenticate(revoked.key)
    with pytest.raises(NotFound):
        keys.revoke(revoked.record.id)
    expiring = keys.issue("brief", READ, expires_at=NOW + timedelta(hours=1))
    assert keys.authenticate(expiring.key).name == "brief"
    clock.now = NOW + timedelta(hours=1)
    with pytest.raises(Unauthenticated):
        keys.authenticate(expiring.key)
    with pytest.raises(InvalidInput):
        keys.issue("past", READ, expires_at=NOW)


def test_bootstrap_admin_only_on_an_empty_store(store: SqlControlStore) -> None:
    keys = KeyService(store, Clock(), screen=no_screen)
    generated = keys.ensure_bootstrap_admin(None)
    assert generated is not None
    admin = keys.authenticate(generated)
    assert admin.can(Permission.KEYS_ADMIN, "anything/at/all")
    assert keys.ensure_bootstrap_admin(None) is None
    assert len(keys.list_keys()) == 1


def test_bootstrap_admin_with_a_chosen_key(store: SqlControlStore) -> None:
    keys = KeyService(store, Clock(), screen=no_screen)
    chosen = "msk_0123456789abcdef_chosen-admin-secret"
    assert keys.ensure_bootstrap_admin(chosen) is None
    assert keys.authenticate(chosen).name == "bootstrap-admin"
    with pytest.raises(InvalidInput):
        KeyService(store, Clock(), screen=no_screen).import_key("bad", "not-a-key", READ)
