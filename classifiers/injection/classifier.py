"""The injection classifier: text that addresses the agent rather than records a fact."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from classifiers.findings import Finding, Kind
from classifiers.injection import context
from classifiers.injection.rules import (
    AGENT_NOUN,
    DIRECTIVE,
    HIDDEN_CONTAINER_SCORE,
    INVISIBLE_TAGS_SCORE,
    PROMPT_INJECTION,
    RULES,
    Gate,
    Rule,
)
from classifiers.normalise import View, views

_I = re.IGNORECASE
# Elements styled so that a human never sees them while a model still reads them.
_HIDDEN_OPEN = re.compile(
    r"<(?P<tag>[a-z][a-z0-9]{0,15})\b[^>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|"
    r"font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?:\.0+)?\s*[;\"']|"
    r"color\s*:\s*(?:white|#fff(?:fff)?|transparent)\b|\bhidden\b|aria-hidden\s*=\s*[\"']?true)"
    r"[^>]{0,300}>",
    _I,
)
_MARKDOWN_COMMENT = re.compile(
    r"^[ \t]*\[//\]:\s*#\s*[(\"'](?P<body>[^\n]*)[)\"']?[ \t]*$", re.MULTILINE
)
_IMPORTANT_OPEN = re.compile(r"<\s*(?:important|secret|hidden|instructions?)\s*>", _I)
_MAX_HIDDEN_BODY = 4000
# Triggers made of these characters are looked up among the words of the text, others as
# substrings; the words of the (lowercased) text are split the same way.
_WORD = re.compile(r"[a-z0-9_]+")
_MIN_TAG_TEXT = 4
_BLACK_FLAG = "\U0001f3f4"


class InjectionClassifier:
    """Flags instructions aimed at the agent: overrides, role changes, tool and exfil orders.

    Every rule of :data:`classifiers.injection.rules.RULES` runs over every view of the text
    (:func:`classifiers.normalise.views`), so an instruction hidden with zero-width characters,
    fullwidth letters, base64 or tag characters is still found; its span is mapped back to the
    original text. Instructions hidden in HTML comments, invisible elements or tag characters
    are also flagged as a whole, as PROMPT_INJECTION. ``normalise=False`` scans the raw text
    only, for a pipeline that hands each view to the classifier itself.
    """

    name = "injection"

    def __init__(self, rules: Sequence[Rule] = RULES, *, normalise: bool = True) -> None:
        self._rules = tuple(
            (rule, _Triggers(rule.triggers), _Triggers(rule.also)) for rule in rules
        )
        self._normalise = normalise

    def classify(self, text: str) -> list[Finding]:
        """Every instruction phrase in ``text``, in text order.

        Spans are offsets into ``text`` (code points). Overlapping matches of one type are
        merged into one finding; the score and detector are those of the strongest rule.
        """
        return self.classify_views(text, views(text) if self._normalise else [View(text)])

    def classify_views(self, text: str, readings: Sequence[View]) -> list[Finding]:
        """:meth:`classify` over views of ``text`` already made (by the pipeline, once)."""
        best: dict[tuple[str, int, int], Finding] = {}
        for view in readings:
            for rule_name, type_, score, start, end in self._scan(view, text):
                o_start, o_end = view.to_original(start, end)
                key = (type_, o_start, o_end)
                if key not in best or best[key].score < score:
                    best[key] = Finding(
                        Kind.INJECTION, type_, o_start, o_end, score, f"rule:{rule_name}"
                    )
        return _merge_overlaps(best.values())

    def _scan(self, view: View, original: str) -> Iterator[tuple[str, str, float, int, int]]:
        text = view.text
        for rule, start, end in self._matches(text):
            yield rule.name, rule.type, rule.score, start, end
        for name, start, end in _hidden_instructions(text):
            yield name, PROMPT_INJECTION, HIDDEN_CONTAINER_SCORE, start, end
        if view.kind == "tags" and len(text.strip()) >= _MIN_TAG_TEXT:
            # Text spelled in invisible tag characters exists only to be read by a model; the
            # one legitimate use is a subdivision flag (black flag + tags, e.g. England).
            blob_start = view.to_original(0, 0)[0]
            if not original.startswith(_BLACK_FLAG, blob_start - len(_BLACK_FLAG)):
                yield "invisible_tags", PROMPT_INJECTION, INVISIBLE_TAGS_SCORE, 0, len(text)

    def _matches(self, text: str) -> Iterator[tuple[Rule, int, int]]:
        lowered = _lower(text)
        words = frozenset(_WORD.findall(lowered))
        for rule, triggers, also in self._rules:
            if not triggers.found(lowered, words):
                continue
            if also and not also.found(lowered, words):
                continue
            for match in rule.pattern.finditer(lowered):
                if match.end() > match.start() and _passes(rule, text, match):
                    yield rule, match.start(), match.end()


def _lower(text: str) -> str:
    """``text`` in lower case, character for character, so that offsets stay valid."""
    lowered = text.lower()
    if len(lowered) == len(text):  # no character grew (lowering never shrinks one)
        return lowered
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


class _Triggers:
    """A rule's trigger list, split once into whole words and substrings."""

    __slots__ = ("_substrings", "_words")

    def __init__(self, triggers: tuple[str, ...]) -> None:
        self._words = frozenset(t for t in triggers if _WORD.fullmatch(t))
        self._substrings = tuple(t for t in triggers if not _WORD.fullmatch(t))

    def __bool__(self) -> bool:
        return bool(self._words or self._substrings)

    def found(self, lowered: str, words: frozenset[str]) -> bool:
        """Whether one of the triggers occurs in the (lowercased) text."""
        if not self._words.isdisjoint(words):
            return True
        return any(t in lowered for t in self._substrings)


def _passes(rule: Rule, text: str, match: re.Match[str]) -> bool:
    """Whether a match (found in the lowercased text) counts, judged on the original ``text``."""
    start, end = match.span()
    dan = match.span("dan") if "dan" in rule.pattern.groupindex else (-1, -1)
    if dan[0] >= 0 and text[dan[0] : dan[1]] != "DAN":
        return False  # "Dan" is a name; "DAN" is the jailbreak persona
    # match(), not search(): the look-ahead patterns are anchored at the end of the phrase.
    if rule.after is not None and not rule.after.match(text, end, end + 200):
        return False
    if rule.not_after is not None and rule.not_after.match(text, end, end + 200):
        return False
    if rule.check is not None and not rule.check(text, match):
        return False
    return _gate_allows(rule.gate, text, start, end)


def _gate_allows(gate: Gate, text: str, start: int, end: int) -> bool:
    """Whether the reading of ``text[start:end]`` the gate asks for holds."""
    if gate is Gate.ANY:
        return True
    if gate is Gate.MARKER:
        return context.marker_in_use(text, start, end, DIRECTIVE)
    if context.negated(text, start):
        return False
    if gate is Gate.ADDRESSED and not context.addressed(text, start):
        return False
    return not context.mentioned(text, start, end)


def _hidden_instructions(text: str) -> Iterator[tuple[str, int, int]]:
    """HTML comments, invisible elements and markdown comments that speak to the model."""
    for name, start, end, body in _containers(text):
        # An HTML or markdown comment is often a note for developers, so it must name a model;
        # a made-up <important> or <hidden> tag exists only to be read by one.
        speaks = _speaks_to_agent(body) if name != "tagged_instructions" else DIRECTIVE.search(body)
        if speaks:
            yield name, start, end


def _containers(text: str) -> Iterator[tuple[str, int, int, str]]:
    if "<!--" in text:
        yield from _html_comments(text)
    if "<" in text:
        lowered = _lower(text)
        # An element found inside another one is part of its body, not a container of its own:
        # skipping those keeps the total body length read linear in the text.
        covered = 0
        for match in _HIDDEN_OPEN.finditer(text):
            if match.start() >= covered:
                start, covered, body = _element(text, lowered, match.group("tag"), match)
                yield "hidden_html", start, covered, body
        covered = 0
        for match in _IMPORTANT_OPEN.finditer(text):
            if match.start() >= covered:
                tag = match.group().strip("<>/ \t").lower()
                start, covered, body = _element(text, lowered, tag, match)
                yield "tagged_instructions", start, covered, body
    if "[//]" in text:
        for match in _MARKDOWN_COMMENT.finditer(text):
            yield "markdown_comment", match.start(), match.end(), match.group("body")


def _element(text: str, lowered: str, tag: str, opening: re.Match[str]) -> tuple[int, int, str]:
    """The span of an element from its opening tag to its closing tag, and its body.

    The closing tag is looked for within a bounded distance, so that many unclosed elements
    cannot make this quadratic; an unclosed element runs to that bound.
    """
    limit = min(len(text), opening.end() + _MAX_HIDDEN_BODY)
    close = lowered.find(f"</{tag.lower()}", opening.end(), limit)
    if close < 0:
        return opening.start(), limit, text[opening.end() : limit]
    closing = text.find(">", close, min(len(text), close + 40))
    end = closing + 1 if closing >= 0 else close + len(tag) + 2
    return opening.start(), end, text[opening.end() : close]


def _html_comments(text: str) -> Iterator[tuple[str, int, int, str]]:
    """Every ``<!-- ... -->``, paired left to right in one pass; an unclosed one runs to the end."""
    at = text.find("<!--")
    while at >= 0:
        close = text.find("-->", at + 4)
        end = len(text) if close < 0 else close + 3
        yield "html_comment", at, end, text[at + 4 : end - 3 if close >= 0 else end]
        if close < 0:
            return
        at = text.find("<!--", end)


def _speaks_to_agent(body: str) -> bool:
    """Whether hidden text holds an instruction: it names a model and gives it an order."""
    return bool(AGENT_NOUN.search(body) and DIRECTIVE.search(body))


def _merge_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per run of overlapping findings of a type: their union, at the best score.

    Several rules often match parts of one instruction ("ignore all previous instructions" and
    "ignore all previous instructions and reveal"); one span per instruction is what a reader
    (and a redaction) needs. The detector of the best-scoring rule is kept.
    """
    merged: list[Finding] = []
    open_by_type: dict[str, int] = {}
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        at = open_by_type.get(finding.type)
        if at is not None and finding.start < merged[at].end:
            current = merged[at]
            best = current if current.score >= finding.score else finding
            merged[at] = Finding(
                Kind.INJECTION,
                finding.type,
                current.start,
                max(current.end, finding.end),
                best.score,
                best.detector,
            )
            continue
        open_by_type[finding.type] = len(merged)
        merged.append(finding)
    return merged
