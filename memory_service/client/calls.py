"""Every API call as data: method, path, query, body and how to read the answer.

The sync and async clients only move bytes; building requests and reading answers lives here
once, so both clients speak exactly the same contract (shared/API.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import msgspec

from memory_service.client import models as m
from memory_service.client.errors import ApiError, error_for

T = TypeVar("T")
Query = Mapping[str, str | int | bool]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[int, bytes], T]
    query: Query = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    errors_are_answers: bool = False

    def answer(self, status: int, content: bytes) -> T:
        """The decoded answer, or the API error it stands for."""
        if status >= 400 and not self.errors_are_answers:  # noqa: PLR2004 - HTTP's boundary
            raise error_for(status, content)
        return self.read(status, content)


def _as(kind: type[T]) -> Callable[[int, bytes], T]:
    return lambda _status, content: msgspec.json.decode(content, type=kind)


def _one_of(union: Any) -> Callable[[int, bytes], Any]:
    # A union of tagged structs is no ``type[T]``; the caller's return annotation types it.
    return lambda _status, content: msgspec.json.decode(content, type=union)


def _nothing(_status: int, _content: bytes) -> None:
    return None


def _lines_of(kind: type[T]) -> Callable[[int, bytes], list[T]]:
    def read(_status: int, content: bytes) -> list[T]:
        return [msgspec.json.decode(line, type=kind) for line in content.splitlines() if line]

    return read


def _id(value: str) -> str:
    # Ids go into the path: quote everything so a crafted id cannot change the route.
    return quote(str(value), safe="")


def _query(**values: Any) -> dict[str, str | int | bool]:
    out: dict[str, str | int | bool] = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _body(**values: Any) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if value is not None
    }


def _plain(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings and sequences as JSON-ready dicts and lists."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, Mapping):
            out[name] = dict(value)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def _idempotent(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}


# -- keyword arguments, typed once for both clients ------------------------------------------


class MemoryFields(TypedDict, total=False):
    metadata: Mapping[str, Any]
    tags: Sequence[str]
    subject: str
    ttl_seconds: int
    expires_at: datetime
    source: Mapping[str, Any]


class ListQuery(TypedDict, total=False):
    scope: str
    tag: str
    subject: str
    limit: int
    cursor: str | None


class Change(TypedDict, total=False):
    content: str
    metadata: Mapping[str, Any]
    tags: Sequence[str]
    expires_at: datetime
    if_match: int


class SearchOptions(TypedDict, total=False):
    scopes: Sequence[str]
    tags_any: Sequence[str]
    subject: str
    metadata: Mapping[str, Any]
    limit: int
    min_score: float


class QuarantineQuery(TypedDict, total=False):
    scope: str
    status: str
    limit: int
    cursor: str


class Selector(TypedDict, total=False):
    scope: str
    subject: str
    tags_any: Sequence[str]
    created_before: datetime
    dry_run: bool


class AuditQuery(TypedDict, total=False):
    actor: str
    action: str
    memory_id: str
    scope: str
    since: datetime
    order: str
    limit: int
    cursor: str


class PolicyFields(TypedDict, total=False):
    scope: str
    secret: str
    pii: str
    injection: str
    pii_types: Mapping[str, str]
    min_score: float
    two_person_release: bool
    hold_unclassified: bool


class RetentionFields(TypedDict):
    scope: str
    applies_to: str
    max_age_seconds: int | None


# -- memories ---------------------------------------------------------------------------------


def memory_body(content: str, scope: str, **fields: Unpack[MemoryFields]) -> dict[str, Any]:
    """One item for :func:`remember` or :func:`remember_batch`."""
    return _body(content=content, scope=scope, **_plain(fields))


def remember(item: dict[str, Any], idempotency_key: str | None = None) -> Call[m.WriteResult]:
    headers = _idempotent(idempotency_key)
    return Call("POST", "/v1/memories", _one_of(m.WriteResult), body=item, headers=headers)


def remember_batch(
    items: Sequence[dict[str, Any]], idempotency_key: str | None = None
) -> Call[m.Batch]:
    return Call(
        "POST",
        "/v1/memories/batch",
        _as(m.Batch),
        body={"items": list(items)},
        headers=_idempotent(idempotency_key),
    )


def get(memory_id: str) -> Call[m.Memory]:
    return Call("GET", f"/v1/memories/{_id(memory_id)}", _as(m.Memory))


def list_memories(**query: Unpack[ListQuery]) -> Call[m.MemoryPage]:
    return Call("GET", "/v1/memories", _as(m.MemoryPage), query=_query(**query))


def update(memory_id: str, **change: Unpack[Change]) -> Call[m.WriteResult]:
    fields = _plain(change)
    if_match = fields.pop("if_match", None)
    body = _body(**fields)
    headers = {"If-Match": str(if_match)} if if_match is not None else {}

    def read(status: int, content: bytes) -> m.WriteResult:
        if status == 200:  # noqa: PLR2004 - a bare Memory; 202 is a Quarantined document
            return m.Stored(memory=msgspec.json.decode(content, type=m.Memory))
        return msgspec.json.decode(content, type=m.Quarantined)

    return Call("PATCH", f"/v1/memories/{_id(memory_id)}", read, body=body, headers=headers)


def delete(memory_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/memories/{_id(memory_id)}", _nothing)


def history(memory_id: str) -> Call[m.History]:
    return Call("GET", f"/v1/memories/{_id(memory_id)}/history", _as(m.History))


def restore(memory_id: str, version: int | None = None) -> Call[m.Memory]:
    path = f"/v1/memories/{_id(memory_id)}/restore"
    return Call("POST", path, _as(m.Memory), body=_body(version=version))


def search(query: str, **options: Unpack[SearchOptions]) -> Call[m.SearchResults]:
    fields = _plain(options)
    filters = _body(**{k: fields.pop(k, None) for k in ("tags_any", "subject", "metadata")})
    body = _body(query=query, filters=filters or None, **fields)
    return Call("POST", "/v1/memories/search", _as(m.SearchResults), body=body)


# -- keys -------------------------------------------------------------------------------------


def create_key(
    name: str, grants: Sequence[m.Grant | Mapping[str, Any]], expires_at: datetime | None = None
) -> Call[m.IssuedKey]:
    wire = [msgspec.to_builtins(g) if isinstance(g, m.Grant) else dict(g) for g in grants]
    body = _body(name=name, grants=wire, expires_at=expires_at)
    return Call("POST", "/v1/keys", _as(m.IssuedKey), body=body)


def list_keys() -> Call[m.KeyList]:
    return Call("GET", "/v1/keys", _as(m.KeyList))


def revoke_key(key_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/keys/{_id(key_id)}", _nothing)


# -- quarantine -------------------------------------------------------------------------------


def quarantine_list(**query: Unpack[QuarantineQuery]) -> Call[m.QuarantinePage]:
    return Call("GET", "/v1/quarantine", _as(m.QuarantinePage), query=_query(**query))


def quarantine_get(item_id: str) -> Call[m.QuarantineItem]:
    return Call("GET", f"/v1/quarantine/{_id(item_id)}", _as(m.QuarantineItem))


def reveal(item_id: str, reason: str) -> Call[str]:
    def read(_status: int, content: bytes) -> str:
        return str(msgspec.json.decode(content)["content"])

    return Call("POST", f"/v1/quarantine/{_id(item_id)}/reveal", read, body={"reason": reason})


def release(item_id: str, mode: str, reason: str) -> Call[m.ReleaseResult]:
    path = f"/v1/quarantine/{_id(item_id)}/release"
    return Call("POST", path, _one_of(m.ReleaseResult), body={"mode": mode, "reason": reason})


def reject(item_id: str, reason: str) -> Call[m.QuarantineItem]:
    path = f"/v1/quarantine/{_id(item_id)}/reject"
    return Call("POST", path, _as(m.QuarantineItem), body={"reason": reason})


# -- purge, erasure, receipts -----------------------------------------------------------------


def purge(**selector: Unpack[Selector]) -> Call[m.PurgeResult]:
    return Call("POST", "/v1/purge", _as(m.PurgeResult), body=_body(**_plain(selector)))


def erase_subject(subject: str) -> Call[m.Erasure]:
    return Call("DELETE", f"/v1/subjects/{_id(subject)}", _as(m.Erasure))


def receipt(receipt_id: str) -> Call[m.Receipt]:
    return Call("GET", f"/v1/receipts/{_id(receipt_id)}", _as(m.Receipt))


# -- audit ------------------------------------------------------------------------------------


def audit(**query: Unpack[AuditQuery]) -> Call[m.AuditPage]:
    return Call("GET", "/v1/audit", _as(m.AuditPage), query=_query(**query))


def audit_verify() -> Call[m.AuditVerification]:
    return Call("GET", "/v1/audit/verify", _as(m.AuditVerification))


def audit_export(after_seq: int = 0) -> Call[list[m.AuditEvent]]:
    query = _query(after_seq=after_seq)
    return Call("GET", "/v1/audit/export", _lines_of(m.AuditEvent), query=query)


# -- policies, retention, jobs ----------------------------------------------------------------


def list_policies() -> Call[m.PolicyList]:
    return Call("GET", "/v1/policies", _as(m.PolicyList))


def put_policy(name: str, **policy: Unpack[PolicyFields]) -> Call[m.Policy]:
    return Call("PUT", f"/v1/policies/{_id(name)}", _as(m.Policy), body=_body(**_plain(policy)))


def delete_policy(name: str) -> Call[None]:
    return Call("DELETE", f"/v1/policies/{_id(name)}", _nothing)


def list_retention_policies() -> Call[m.RetentionPolicyList]:
    return Call("GET", "/v1/retention/policies", _as(m.RetentionPolicyList))


def put_retention_policy(name: str, **policy: Unpack[RetentionFields]) -> Call[m.RetentionPolicy]:
    body = dict(policy)
    return Call("PUT", f"/v1/retention/policies/{_id(name)}", _as(m.RetentionPolicy), body=body)


def delete_retention_policy(name: str) -> Call[None]:
    return Call("DELETE", f"/v1/retention/policies/{_id(name)}", _nothing)


def jobs() -> Call[m.JobList]:
    return Call("GET", "/v1/jobs", _as(m.JobList))


def job_runs(name: str | None = None, limit: int | None = None) -> Call[m.JobRunList]:
    return Call("GET", "/v1/jobs/runs", _as(m.JobRunList), query=_query(name=name, limit=limit))


def run_job(name: str) -> Call[m.JobRun]:
    return Call("POST", f"/v1/jobs/{_id(name)}/run", _as(m.JobRun))


# -- health -----------------------------------------------------------------------------------


def ready() -> Call[bool]:
    # 503 is an answer here, not an error: the caller asked whether the service is ready.
    return Call("GET", "/readyz", lambda status, _c: status == 200, errors_are_answers=True)  # noqa: PLR2004


__all__ = ["ApiError", "Call"]
