"""A write is a record of fields, not one text: every string it stores is classified.

A record maps field names to values: a string, a list of strings, or a JSON object (keys and
leaves at any depth). :func:`parts_of` cuts it into the texts the classifiers read;
:func:`decide_record` applies a policy to the findings on each and rebuilds the record with
every flagged span rewritten *in the field it was found in*. The strongest action over all
fields decides the fate of the whole write: a credential in a tag holds the write like one in
the content.

An object's leaf is read with its key in front (``password: hunter2``), because the key is
often what makes a value a credential; spans in that key prefix belong to the key, which is
classified on its own.

The classifiers read a record as one text (:class:`Layout`): its parts one after another,
separated by blank lines. The fixed cost of a classifier call (Presidio's is most of it) is
then paid once per write, not once per tag or metadata leaf; a record that is only content is
read exactly as that content alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from classifiers.findings import Finding, Kind
from classifiers.pipeline import Decided, Decision, Pseudonymize, apply, marker
from classifiers.policy import SEVERITY, Action, Policy

Path = tuple[str | int, ...]
_KEY_SEPARATOR = ": "
_PART_SEPARATOR = "\n\n"
_HOLDING = frozenset({Action.QUARANTINE, Action.REJECT})


@dataclass(frozen=True, slots=True)
class Part:
    """One text of a record as the classifiers read it.

    ``role`` says whether it is a value or an object key; the value itself starts at
    ``offset`` in ``text`` (after ``key: `` for an object's leaf).
    """

    field: str
    path: Path
    role: Literal["value", "key"]
    text: str
    offset: int = 0
    key_len: int | None = None  # a leaf read with its key: the key is text[:key_len]

    def key_part(self) -> Part:
        """The object key this leaf is read with, as a part of its own."""
        return Part(self.field, self.path, "key", self.text[: self.key_len or 0])

    @property
    def value(self) -> str:
        return self.text[self.offset :]


@dataclass(frozen=True, slots=True)
class FieldDecided:
    """A decided finding and the field it was found in; spans are within that value."""

    field: str
    decided: Decided


@dataclass(frozen=True, slots=True)
class RecordDecision:
    """The verdict on a whole record.

    ``fields`` is the record as it may be stored (every redaction and pseudonym applied);
    None unless storable. ``masked`` is the record with every finding replaced by
    ``[kind:type]``, for reviewers of a held write; None when classification failed (nothing
    was read, so nothing may be shown).
    """

    outcome: Action
    fields: dict[str, Any] | None
    masked: dict[str, Any] | None
    findings: tuple[FieldDecided, ...]
    failed: bool = False

    @property
    def storable(self) -> bool:
        return self.outcome in (Action.ALLOW, Action.REDACT, Action.PSEUDONYMIZE)

    @property
    def altered(self) -> bool:
        return any(f.decided.action in (Action.REDACT, Action.PSEUDONYMIZE) for f in self.findings)


FAILED = RecordDecision(
    outcome=Action.QUARANTINE, fields=None, masked=None, findings=(), failed=True
)
"""A classifier broke or timed out: held back, never stored, never previewed (fail closed)."""


def parts_of(record: Mapping[str, Any]) -> list[Part]:
    """Every text of ``record`` the classifiers must read, in a stable order."""
    parts: list[Part] = []
    for name, value in record.items():
        _collect(parts, name, (), value, key=None)
    return parts


def _collect(parts: list[Part], field: str, path: Path, value: Any, key: str | None) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            name = str(k)
            if (text := _leaf_text(v)) is not None:
                # One part for both: the key is read in front of its value, as ``key: value``.
                prefix = f"{name}{_KEY_SEPARATOR}"
                parts.append(
                    Part(
                        field,
                        (*path, name),
                        "value",
                        prefix + text,
                        offset=len(prefix),
                        key_len=len(name),
                    )
                )
                continue
            parts.append(Part(field, (*path, name), "key", name))
            _collect(parts, field, (*path, name), v, key=name)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _collect(parts, field, (*path, i), v, key=key)
    elif (text := _leaf_text(value)) is not None:
        prefix = f"{key}{_KEY_SEPARATOR}" if key is not None else ""
        parts.append(Part(field, path, "value", prefix + text, offset=len(prefix)))


def _leaf_text(value: Any) -> str | None:
    # Booleans and null carry no text; an integer can be a card, phone or national number.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


@dataclass(frozen=True, slots=True)
class Layout:
    """The parts of a record laid out as one text for the classifiers."""

    parts: tuple[Part, ...]
    text: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Layout:
        parts = tuple(parts_of(record))
        starts: list[int] = []
        cursor = 0
        for part in parts:
            starts.append(cursor)
            cursor += len(part.text) + len(_PART_SEPARATOR)
        return cls(parts, _PART_SEPARATOR.join(p.text for p in parts), tuple(starts))

    def split(self, findings: Sequence[Finding]) -> list[list[Finding]]:
        """Findings on :attr:`text`, each given to every part it overlaps, in that part's
        coordinates (clipped to it)."""
        out: list[list[Finding]] = [[] for _ in self.parts]
        for f in findings:
            for i, (part, start) in enumerate(zip(self.parts, self.starts, strict=True)):
                lo, hi = max(f.start - start, 0), min(f.end - start, len(part.text))
                if hi > lo:
                    out[i].append(_moved(f, lo, hi))
        return out


def findings_in_value(part: Part, findings: Sequence[Finding]) -> list[Finding]:
    """The findings on ``part.text`` that touch its value, clipped and shifted into it."""
    out: list[Finding] = []
    length = len(part.text) - part.offset
    for f in findings:
        start, end = max(f.start - part.offset, 0), min(f.end - part.offset, length)
        if end > start:
            out.append(_moved(f, start, end))
    return out


def _moved(finding: Finding, start: int, end: int) -> Finding:
    return Finding(finding.kind, finding.type, start, end, finding.score, finding.detector)


def decide_record(
    record: Mapping[str, Any],
    layout: Layout,
    findings: Sequence[Finding],
    policy: Policy,
    pseudonymize: Pseudonymize | None = None,
) -> RecordDecision:
    """Apply ``policy`` to ``findings`` on ``layout.text`` (the layout of ``record``), part by
    part: each span is rewritten in the field it was found in."""
    decisions: dict[tuple[str, Path, str], tuple[Part, Decision]] = {}
    every: list[FieldDecided] = []
    for part, part_found in zip(layout.parts, layout.split(findings), strict=True):
        decision = apply(part.value, findings_in_value(part, part_found), policy, pseudonymize)
        decisions[part.field, part.path, part.role] = (part, decision)
        every.extend(FieldDecided(part.field, d) for d in decision.findings)
        if part.key_len is not None:
            # A span that touches the key rewrites the key too (clipped to it), even when it
            # runs on into the value: a credential may start in a key and end in its value.
            key = part.key_part()
            in_key = [
                _moved(f, f.start, min(f.end, part.key_len))
                for f in part_found
                if f.start < part.key_len and f.start < f.end
            ]
            key_decision = apply(key.value, in_key, policy, pseudonymize)
            decisions[key.field, key.path, key.role] = (key, key_decision)
            every.extend(FieldDecided(key.field, d) for d in key_decision.findings)
    outcome = max((f.decided.action for f in every), key=SEVERITY.__getitem__, default=Action.ALLOW)
    masked = _rebuilt(record, lambda part: _masked(part, decisions, pseudonymize))
    if outcome in (Action.QUARANTINE, Action.REJECT):
        return RecordDecision(outcome, None, masked, tuple(every))
    stored = _rebuilt(record, lambda part: _stored(part, decisions))
    return RecordDecision(outcome, stored, masked, tuple(every))


def _stored(part: Part, decisions: Mapping[tuple[str, Path, str], tuple[Part, Decision]]) -> str:
    _, decision = decisions[part.field, part.path, part.role]
    return part.value if decision.content is None else decision.content


def _masked(
    part: Part,
    decisions: Mapping[tuple[str, Path, str], tuple[Part, Decision]],
    pseudonymize: Pseudonymize | None,
) -> str:
    """A secret or an instruction that held back the write becomes ``[kind:type]``; personal
    data that held it becomes its pseudonym (a keyed token, never the value), so that erasing
    that data subject still finds the held write; every other finding is rewritten as a
    stored memory would hold it."""
    _, decision = decisions[part.field, part.path, part.role]
    labelled: list[Finding] = []
    rewritten: list[Decided] = []
    for d in decision.findings:
        if d.action not in _HOLDING:
            rewritten.append(d)
        elif d.finding.kind is Kind.PII and pseudonymize is not None:
            rewritten.append(Decided(d.finding, Action.PSEUDONYMIZE))
        else:
            labelled.append(d.finding)
    return mask(part.value, labelled, rewrite=rewritten, pseudonymize=pseudonymize)


def mask(
    text: str,
    findings: Sequence[Finding],
    *,
    rewrite: Sequence[Decided] = (),
    pseudonymize: Pseudonymize | None = None,
) -> str:
    """``text`` with every finding replaced by ``[kind:type]`` (and each of ``rewrite`` by
    what its action stores); overlapping spans merge."""
    spans = sorted(
        [(f.start, f.end, f"[{f.kind.value}:{f.type}]") for f in findings]
        + [(d.finding.start, d.finding.end, marker(text, d, pseudonymize)) for d in rewrite]
    )
    out: list[str] = []
    cursor = 0
    for start, end, label in spans:
        if end <= cursor:
            continue
        out.append(text[cursor:start] if start >= cursor else "")
        out.append(label)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _rebuilt(record: Mapping[str, Any], rewrite: Callable[[Part], str]) -> dict[str, Any]:
    """``record`` with each classified text replaced by ``rewrite(part)``; unchanged leaves
    (and non-text leaves) keep their value and type."""
    return {name: _rebuild(name, (), value, None, rewrite) for name, value in record.items()}


def _rebuild(
    field: str, path: Path, value: Any, key: str | None, rewrite: Callable[[Part], str]
) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            name = str(k)
            new_key = _unique(rewrite(Part(field, (*path, name), "key", name)), out)
            out[new_key] = _rebuild(field, (*path, name), v, name, rewrite)
        return out
    if isinstance(value, list | tuple):
        items = [_rebuild(field, (*path, i), v, key, rewrite) for i, v in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    text = _leaf_text(value)
    if text is None:
        return value
    prefix = f"{key}{_KEY_SEPARATOR}" if key is not None else ""
    new = rewrite(Part(field, path, "value", prefix + text, offset=len(prefix)))
    return value if new == text else new


def _unique(key: str, taken: Mapping[str, Any]) -> str:
    # Two keys can be rewritten to the same marker ([REDACTED:...]); neither value is lost.
    if key not in taken:
        return key
    n = 2
    while f"{key}#{n}" in taken:
        n += 1
    return f"{key}#{n}"
