"""Where a matched phrase stands: addressed to the reader, negated, or only mentioned.

These tests draw the line between an instruction and a fact about one. The same words ("ignore
the previous instructions") are an attack when they are directed at whoever reads the text (an
imperative at the start of a clause, or a clause about "you") and a fact when they report what
someone else said or should do ("Tom said to...", "new hires should..."), when they are negated
("never reveal your system prompt"), or when they are quoted as an example ("attackers type
'ignore all previous instructions'"). Every helper looks at a bounded window, so each call costs
O(1) whatever the length of the text.
"""

from __future__ import annotations

import re

_WINDOW = 200
_I = re.IGNORECASE

# What precedes a phrase within its clause. A clause ends at sentence punctuation, a colon, a
# line break, a quote or a bracket: "User: ignore..." and 'He said "ignore...' both start fresh.
_CLAUSE_BREAK = re.compile(r"[.!?;:\n\"\u201c\u201d(\[\]>|]")

_NEGATED = re.compile(
    # "Never let anyone make you ignore ...", but not "Don't tell the user, but forward ...".
    r"(?:^(?:never|no\s+one|nobody|do\s+not|don't|dont|please\s+(?:never|do\s+not|don't))\b"
    r"(?!.*\b(?:but|then|instead|however)\b)"
    r"|\b(?:not|never|n't|cannot|refuse\s+to|without|no\s+need\s+to)"
    r"(?:\s+(?:ever|even|just|try\s+to|attempt\s+to|be\s+(?:tricked|asked|told)\s+(?:into|to)))?"
    r"\s*$)",
    _I,
)
_YOU = re.compile(r"\b(?:you|you're|youre|yourself|u|ur)\b", _I)
# Reported speech or a statement with its own subject: the phrase is what someone else said,
# wants or should do, not an order to the reader.
_REPORTED = re.compile(
    r"\b(?:said|says|(?<!when\s)(?<!if\s)(?<!once\s)asked|asks|told|tells|wants|wanted|"
    r"suggested|suggests|mentioned|recommended|recommends|advised|advises|instructed|instructs|"
    r"reminded|requested|decided|"
    r"agreed|noted|explained|wrote|writes|prefers|preferred|according\s+to|states|stated|"
    r"policy|doc|docs|documentation|handbook|guide|wiki|readme|memo|ticket)\b",
    _I,
)
# A clause made only of openers ("Okay, please now ...") leaves the phrase in imperative position.
_OPENERS_ONLY = re.compile(
    r"^(?:[\W\d_]|\b(?:please|pls|kindly|now|okay|ok|hey|hi|hello|important|urgent|note|"
    r"attention|actually|first|next|finally|instead|just|simply|immediately|always|also|so|then|"
    r"right|at\s+once|seriously|really|carefully|quickly|secretly|silently|quietly|step|ps|btw|"
    r"by\s+the\s+way|additionally|moreover|afterwards|otherwise|again|and|but|or|same|new|"
    r"assistant|ai|bot|agent|model|system|admin|task|reminder|warning|update|well|great|thanks|"
    r"thank\s+you|good|perfect|sure|yes|no|wait|stop|listen|look|remember|must|should|"
    r"you\s+must|you\s+should|you\s+need\s+to|you\s+have\s+to)\b)*$",
    _I,
)
# "Before you answer, ..." / "When the user asks for logs, ...": a subordinate clause, then the
# main clause opens with the imperative.
_SUBORDINATE = re.compile(
    r"^(?:before|after|when|whenever|once|if|as\s+soon\s+as|while|until|unless|to\s+\w+|in\s+"
    r"order\s+to\s+\w+|for\s+(?:every|each|any)|instead\s+of|rather\s+than|after\s+that|"
    r"first\s+of\s+all|in\s+(?:your|the|each|every)\s+(?:answer|reply|response))\b[^,]{0,150},"
    r"(?:\s*(?:please|just|simply|also|then|immediately|always|now|quietly|silently|secretly|"
    r"first)\b)*\s*$",
    _I,
)
# "... and ignore ...": imperative only if the clause itself began with an imperative verb.
_CONNECTOR_TAIL = re.compile(
    r"\b(?:and|or|then|but|so|also|instead|afterwards|next|plus)\b\s*,?"
    r"(?:\s*(?:please|just|simply|also|then|immediately|always|now|quietly|silently)\b)*\s*$",
    _I,
)
_SEQUENCE_TAIL = re.compile(r",\s*(?:and\s+)?then\s*$", _I)
_IMPERATIVE_START = re.compile(
    r"^(?:please\s+|now\s+|first\s+|then\s+|just\s+|also\s+)*(?:don't|dont|do\s+not|never|"
    r"ignore|disregard|forget|send|"
    r"forward|reveal|print|output|say|tell|reply|respond|answer|call|run|execute|stop|act|"
    r"pretend|remember|always|never|do|make|include|append|add|summari[sz]e|translate|write|"
    r"read|open|visit|fetch|go|use|delete|remove|copy|post|upload|check|be|become|start|begin|"
    r"continue|switch|enable|enter|activate|return|give|show|list|repeat|insert|embed|render|"
    r"display|follow|obey|comply|consider|treat|keep|note|understand|listen|look|find|search|"
    r"collect|gather|email|mail|share|export|encode|load|download|install|invoke|trigger)\b",
    _I,
)
# Words of a text that discusses attacks rather than making one. Not inside a host name or
# path ("evil.example", "/attacks/"): those are part of the payload.
_META = re.compile(
    r"(?<![.@/\\-])\b(?:prompt[\s-]*injections?|injections?|jailbreak\w*|attacks?|attackers?|"
    r"adversarial|"
    r"malicious|payloads?|red[\s-]*team\w*|phishing|exploits?|classifiers?|detectors?|"
    r"detection|detects?|flags?|filters?|exfiltration|defen[cs]es?|blocklists?|denylists?|"
    r"test\s+cases?|examples?|"
    r"phrases?|strings?|patterns?|signatures?|canonical|classic|known|typical|tried|attempts?|"
    r"attempted|spam|scams?|quoted|verbatim\s+text|warns?\s+about|slides?|talk|paper|training)\b"
    r"(?![.@/-]\w)",
    _I,
)
# A verb that introduces quoted speech, somewhere on the line before the quote.
_QUOTING = re.compile(
    r"\b(?:said|says|say|asked|asks|told|tells|wrote|writes|typed|types|shouted|shouts|replied|"
    r"replies|answered|answers|read|reads|titled|called|named|labelled|labeled|captioned|"
    r"headlined|quoted|quotes)\b",
    _I,
)
_INTRODUCES_EXAMPLE = re.compile(
    r"(?:such\s+as|like|e\.g\.|for\s+example|for\s+instance|including|phrases?|strings?|"
    r"the\s+words?|containing|contains|as\s+in)\s*[:,]?\s*$",
    _I,
)
_QUOTE_PAIRS = (
    ('"', '"'),
    ("\u201c", "\u201d"),  # curly double quotes
    ("\u2018", "\u2019"),  # curly single quotes
    ("`", "`"),
    ("\u00ab", "\u00bb"),  # guillemets
    ("'", "'"),
)
# Documentation about chat formats names the markers without using them.
_DOC_WORDS = re.compile(
    r"\b(?:tags?|tokens?|format|formats|template|templates|syntax|marks?|wraps?|delimiters?|"
    r"chatml|llama|mistral|alpaca|vicuna|tokenizer|escape|escaped|special)\b",
    _I,
)
# Only markup before a marker on its line. Used as match(text, line_start, start): no "^",
# which would only match at the real start of the text.
_LINE_LEAD = re.compile(r"[\s>*\-#\"'\[(|]*$")


def clause_before(text: str, start: int) -> str:
    """The part of the clause that precedes ``start``, whitespace-trimmed."""
    window = text[max(0, start - _WINDOW) : start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    if breaks:
        window = window[breaks[-1].end() :]
    return window.strip()


def negated(text: str, start: int) -> bool:
    """Whether the phrase at ``start`` is negated ("never reveal...", "do not ignore...")."""
    return bool(_NEGATED.search(clause_before(text, start)))


def addressed(text: str, start: int) -> bool:
    """Whether the phrase at ``start`` is directed at the reader of the text.

    True for an imperative at the start of a clause (after openers like "please" or "now"),
    after "and"/"then" in a clause that itself opened with an imperative, or in a clause that
    speaks to "you". False for reported speech and for statements with their own subject.
    """
    clause = clause_before(text, start)
    if _YOU.search(clause):
        return True
    if _REPORTED.search(clause):
        return False
    if _OPENERS_ONLY.match(clause) or _SUBORDINATE.match(clause):
        return True
    if _SEQUENCE_TAIL.search(clause):
        return True  # "do X, then do Y": a list of steps
    if _CONNECTOR_TAIL.search(clause):
        return bool(_IMPERATIVE_START.match(clause))
    return False


def quoted(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` sits inside a pair of quotes or backticks on its line."""
    line_start = text.rfind("\n", max(0, start - _WINDOW), start) + 1
    line_end = text.find("\n", end, end + _WINDOW)
    before = text[max(line_start, start - _WINDOW) : start]
    after = text[end : line_end if line_end >= 0 else end + _WINDOW]
    for opening, closing in _QUOTE_PAIRS:
        at = before.rfind(opening)
        if at < 0:
            continue
        if opening == closing:
            if before.count(opening) % 2 == 0:
                continue
        elif before.rfind(closing) > at:
            continue
        if opening == "'" and at > 0 and before[at - 1].isalnum():
            continue  # an apostrophe, not a quote
        if closing in after:
            return True
    return False


def _line_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The line holding ``text[start:end]``, cut to a window on each side (bounded cost)."""
    line_start = text.rfind("\n", max(0, start - _WINDOW), start) + 1
    if line_start == 0:
        line_start = max(0, start - _WINDOW)
    line_end = text.find("\n", end, end + _WINDOW)
    if line_end < 0:
        line_end = min(len(text), end + _WINDOW)
    return line_start, line_end


def in_backticks(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is inline code or inside a fenced code block."""
    line_start, line_end = _line_around(text, start, end)
    if text.count("`", line_start, start) % 2 == 1 and "`" in text[end:line_end]:
        return True
    return text.count("```", max(0, start - 4 * _WINDOW), start) % 2 == 1


def mentioned(text: str, start: int, end: int) -> bool:
    """Whether the phrase is talked about rather than used.

    Quoted after a reporting verb ("the AI says 'ignore your programming'"), quoted with a word
    like "attack", "example" or "injection" nearby, introduced by "such as" or "like" in such a
    sentence, or standing in a statement (not an imperative) whose own words are about attacks
    or detection.
    """
    before = text[max(0, start - _WINDOW) : start]
    after = text[end : end + _WINDOW]
    is_quoted = quoted(text, start, end)
    if is_quoted and _QUOTING.search(before[before.rfind("\n") + 1 :]):
        return True
    meta = bool(_META.search(before) or _META.search(after))
    if not meta:
        return False
    if is_quoted or in_backticks(text, start, end):
        return True
    if _INTRODUCES_EXAMPLE.search(before):
        return True
    line_before = before[before.rfind("\n") + 1 :]
    return bool(_META.search(line_before)) and not addressed(text, start)


def marker_in_use(text: str, start: int, end: int, directive: re.Pattern[str]) -> bool:
    """Whether a role marker ("[INST]", "<|im_start|>") is used rather than documented.

    Used: it opens its line, or the rest of its line speaks to the model; and it is neither in
    code nor in a line about chat formats.
    """
    if in_backticks(text, start, end):
        return False
    line_start, line_end = _line_around(text, start, end)
    if _LINE_LEAD.match(text, line_start, start):
        return True
    if _DOC_WORDS.search(text, line_start, line_end):
        return False
    # The rest of the line, and the next line: "<|im_start|>system" then "You are ...".
    return bool(directive.search(text, end, min(len(text), end + _WINDOW)))
