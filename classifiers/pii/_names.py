"""People and places: spaCy's NER, filtered for agent memories, plus cues and word lists.

The small English model misses names outside the news it was trained on and calls product
names people. So PERSON/LOCATION come from four sources, all filtered by
:func:`plausible_entity`:

- the NER (``SpacyRecognizer``), minus product names, jargon, acronyms and code;
- names the text announces: a title (``Dr. Ilse Brandt``), a name field
  (``"full_name": ...``), a role (``customer: Aiko Tanaka``) (``PersonCueRecognizer``);
- a known given name followed by a capitalised surname (``GivenNameRecognizer``);
- well-known places (``PlaceNameRecognizer``) and street addresses
  (``StreetAddressRecognizer``).
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from classifiers.pii._base import CASE_SENSITIVE, result
from classifiers.pii._gazetteer import ALL_GIVEN_NAMES, GIVEN_NAMES, NOT_SURNAMES, PLACES
from classifiers.pii._vocabulary import (
    APOSTROPHE,
    JARGON,
    NAME_PARTICLES,
    NAME_PREFIXES,
    NOT_PERSON_LAST,
    PLACEHOLDER_NAMES,
    PRODUCT_TERMS,
    QUALIFIER_TERMS,
    STREET_WORDS,
)

_HAS_DIGIT = re.compile(r"\d")
_CODE_CHARS = re.compile(r"[_/\\@=<>{}\[\]#$%^*+|~`:;\"()]")
_VERSIONISH = re.compile(r"(?i)^v?\d+(?:[.\-]\w+)*$")
# English derivational endings: a lone capitalised "Maintainer" or "Onboarding" opening a
# line is a word, not a person (names with these endings are in the given-name list).
_COMMON_NOUN_ENDING = re.compile(
    r"(?:er|or|ing|tion|sion|ment|ness|ity|ist|ism|ance|ence|ship|able|ible|ive|ous|ful|less"
    r"|ure|ery|ogy|ics|ware|ops|bot)$"
)
_MIN_SPAN = 2


def words_of(span: str) -> list[str]:
    """The whitespace/comma separated words of a span."""
    return [w for w in re.split(r"[\s,]+", span.strip()) if w]


def is_product_name(span: str) -> bool:
    """Whether every word of ``span`` is a product/vendor term, qualifier or version."""
    words = [w.strip(f".,'{APOSTROPHE}!?").lower() for w in words_of(span)]
    words = [w.removesuffix("'s").removesuffix(f"{APOSTROPHE}s") for w in words if w]
    meaningful = [w for w in words if not _VERSIONISH.match(w)]
    if not meaningful or not any(w in PRODUCT_TERMS for w in meaningful):
        return False
    return all(w in PRODUCT_TERMS or w in QUALIFIER_TERMS for w in meaningful)


def is_name_word(word: str) -> bool:
    """Capitalised like a name: ``Anna``, ``O'Neil``, ``McAllister``, ``Jean-Luc``, ``Ji-woo``,
    ``J.``; not ``OpenAI``, ``GitHub`` or ``iPhone``."""
    if word.lower() in NAME_PARTICLES:
        return True
    if len(word) == _MIN_SPAN and word[0].isupper() and word[1] == ".":  # an initial
        return True
    for i, part in enumerate(word.split("-")):
        if i and part.isalpha() and part.islower():
            continue  # romanised Korean given names: Ji-woo, Hye-jin
        if not part or not part[0].isupper():
            return False
        rest = part[1:]
        for prefix in NAME_PREFIXES:
            if part.startswith(prefix) and len(part) > len(prefix):
                rest = part[len(prefix) + 1 :]
                break
        if any(ch.isupper() for ch in rest):  # OpenAI, GitHub, ChatGPT, FastAPI
            return False
    return True


def _plausible_person(span: str, words: list[str]) -> bool:
    if _HAS_DIGIT.search(span) or not all(is_name_word(w) for w in words):
        return False
    lower = [w.lower().strip(".") for w in words]
    if " ".join(lower) in PLACEHOLDER_NAMES:
        return False
    if lower[-1] in NOT_PERSON_LAST or any(w in JARGON for w in lower):
        return False  # "Platform Team", "Customer Success", "Merge Request", "Grandma"
    # A product word may open a name ("Claude Moreau", "Max Müller"), never continue one
    # ("Google Cloud Run" -> "Cloud Run", "Upgrade Node").
    for i, w in enumerate(lower):
        if (w in PRODUCT_TERMS or w in QUALIFIER_TERMS) and (
            i > 0 or len(words) == 1 or w not in ALL_GIVEN_NAMES
        ):
            return False
    if len(words) == 1:
        return lower[0] in ALL_GIVEN_NAMES or not _COMMON_NOUN_ENDING.search(lower[0])
    return True


def plausible_entity(entity: str, span: str) -> bool:
    """Whether a span can be a person or a place rather than jargon.

    Drops spans shorter than two characters, all-caps acronyms, anything with code
    punctuation, product and vendor names, camel-cased identifiers, and (for people) digits,
    team/company suffixes, engineering jargon and placeholder people (John Doe).
    """
    span = span.strip()
    words = words_of(span)
    if len(span) < _MIN_SPAN or not words:
        return False
    if _CODE_CHARS.search(span) or is_product_name(span):
        return False
    letters = [ch for ch in span if ch.isalpha()]
    if not letters or (len(words) == 1 and all(ch.isupper() for ch in letters)):
        return False  # an acronym (AWS, SRE, EMEA) or no letters at all
    if entity == "PERSON":
        return _plausible_person(span, words)
    # LOCATION: a digit is only expected in a street address ("221B Baker Street")
    if _HAS_DIGIT.search(span) and not any(w.lower().strip(".") in STREET_WORDS for w in words):
        return False
    return words[0][0].isupper() or words[0][0].isdigit()


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span past surrounding punctuation and a trailing possessive."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum() and text[end - 1] != ".":
        end -= 1
    for suffix in ("'s", f"{APOSTROPHE}s"):
        if text[start:end].endswith(suffix):
            end -= len(suffix)
    return start, end


# Words after which a single capitalised word is a place, not a person ("moving to Austin").
_PLACE_BEFORE = re.compile(
    r"(?i:\b(?:in|near|outside|around|across|(?:moving|moved|move|relocating|relocate|flying"
    r"|fly|travell?ing|trip|back|commute|commuting)\s+to|visiting|visit))\s+$"
)


class NerRecognizer(SpacyRecognizer):
    """PERSON and LOCATION from spaCy's NER, minus what agent memories are full of.

    spaCy gives no per-entity confidence, so every kept entity scores ``SCORE``. A single
    word the model calls a person but that is a known place (or follows "in", "moving to")
    is a LOCATION; a known given name it calls a place is a PERSON.
    """

    NAME = "SpacyRecognizer"
    SCORE = 0.85

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON", "LOCATION"], ner_strength=self.SCORE, name=self.NAME
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """The NER's entities that pass :func:`plausible_entity`."""
        found: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)
        kept: list[RecognizerResult] = []
        for r in found:
            start, end = _trim(text, r.start, r.end)
            span = text[start:end]
            first = span.split(maxsplit=1)[0].lower() if span else ""
            if (
                r.entity_type == "LOCATION"
                and span not in PLACES
                and (span.lower() in GIVEN_NAMES or (" " in span and first in ALL_GIVEN_NAMES))
            ):
                r.entity_type = "PERSON"  # "Tanya from finance", "Karolina Söderholm"
            elif r.entity_type == "PERSON" and (
                span in PLACES or _PLACE_BEFORE.search(text, 0, start)
            ):
                r.entity_type = "LOCATION"  # the small model calls Glasgow a person
            if plausible_entity(r.entity_type, span):
                r.start, r.end, r.score = start, end, self.SCORE
                kept.append(r)
        return kept


# --- names the text announces ----------------------------------------------------------------

# One word of a name: letters with inner apostrophes/hyphens (O'Neil, Jean-Luc), or an initial.
_NAME_TOKEN = re.compile(rf"[^\W\d_](?:(?:[^\W\d_]|['{APOSTROPHE}-](?=[^\W\d_]))+|\.)")
_GAP = re.compile(r"[ \t]+")
_MAX_NAME_WORDS = 4


def name_run(
    text: str, pos: int, max_words: int = _MAX_NAME_WORDS, *, surname_only: bool = False
) -> tuple[int, int]:
    """End offset and word count of the name-shaped words starting at ``pos``.

    Words are separated by spaces or tabs; a lower-case particle (``van``, ``de``) counts only
    between two name words. With ``surname_only`` every word must also pass
    :func:`surname_ok`.
    """
    end, count, cursor = pos, 0, pos
    while count < max_words:
        match = _NAME_TOKEN.match(text, cursor)
        if match is None:
            break
        word = match.group()
        possessive = word[-2:] in {"'s", f"{APOSTROPHE}s"} and len(word) > 2  # noqa: PLR2004
        if possessive:
            word = word[:-2]
        if word.lower() in NAME_PARTICLES and not word[0].isupper():
            gap = _GAP.match(text, match.end())
            if count == 0 or gap is None:
                break
            cursor = gap.end()
            continue
        if not is_name_word(word) or (surname_only and not surname_ok(word)):
            break
        end, count = match.start() + len(word), count + 1
        if possessive:
            return end, count  # "Priya Raman's": the name ends before the possessive
        gap = _GAP.match(text, end)
        if gap is None:
            break
        cursor = gap.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "@_/"):
        return pos, 0  # glued to an identifier or an email address
    return end, count


def surname_ok(word: str) -> bool:
    """A capitalised word that can follow a given name (not a weekday, product or place)."""
    lower = word.lower()
    return (
        lower not in NOT_SURNAMES
        and lower not in PRODUCT_TERMS
        and word not in PLACES
        and is_name_word(word)
    )


class PersonCueRecognizer(LocalRecognizer):
    """Names the NER misses but the text announces: a title, a name field, a role.

    ``Dr. Ilse Brandt``, ``"full_name": "Tomasz Wiśniewski"``, ``my name is Aiko Tanaka``,
    ``user="Olavi Korhonen"``, ``Employee Pietro Altera``, ``Hi Sepp,``. Generic keys and role
    nouns (``name:``, ``owner:``, ``customer``) need two capitalised name-shaped words: CI files
    are full of ``name: Build image``, and jargon (``name: Deploy Service``) is filtered out.
    """

    NAME = "PersonCueRecognizer"
    SCORE = 0.8
    _TITLE = re.compile(
        r"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Mme|Mlle|Herr|Frau|Sr|Sra)\b\.?[ \t]+"
    )
    _SEPARATOR = r"[\"']?[ \t]*(?:[:=]|\b(?:is|was)\b)?[ \t]*[\"']?"
    # (?<![^\W_]) rather than \b: snake_case keys (account_holder, emergency_contact) count
    _NAME_FIELD = re.compile(
        r"(?i:(?<![^\W_])(?:full|first|last|given|family|middle|maiden|legal|display|preferred"
        r"|customer|client|contact|patient|employee|account[_ -]?holder|card[_ -]?holder"
        r"|passenger|guest|tenant|applicant|candidate|member|user|person|owner|sender|recipient"
        r"|spouse|holder|beneficiary)[_ -]?name|(?<![^\W_])(?:surname|forename|cardholder)"
        r"|\bmy\s+name\s+is|\bname\s+is|\bnamed|\bcalled|\bi\s+am|\bi'm|\bthis\s+is"
        r"|\bin\s+the\s+name\s+of|\b(?:hi|hello|hey|dear|thanks(?:\s+to)?|thank\s+you|cheers|kudos\s+to)\b,?)"
        + _SEPARATOR
    )
    _ROLE = re.compile(
        r"(?i:(?<![^\W_])(?:name|user|owner|customer|client|contact|employee|patient|holder"
        r"|account[_ -]?holder|author|assignee|reporter|requester|approver|reviewer|traveller"
        r"|traveler|passenger|guest|tenant|member|recipient|sender|beneficiary|spouse|partner"
        r"|wife|husband|manager|colleague|attendee|speaker|primary|secondary|backup"
        r"|signed[_ -]by|on\s+behalf\s+of|emergency[_ -]contact|next[_ -]of[_ -]kin)(?![^\W_]))"
        + _SEPARATOR
    )
    # mail headers; "from"/"to" in prose are as often followed by a place
    _HEADER = re.compile(r"(?im:^[ \t>]*(?:from|to|cc|bcc|reply-to)[ \t]*:[ \t]*[\"']?)")
    _CUES: ClassVar[tuple[tuple[re.Pattern[str], int], ...]] = (
        (_TITLE, 1),
        (_NAME_FIELD, 1),
        (_ROLE, 2),
        (_HEADER, 2),
    )

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name=self.NAME)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Names after a title, in a name field or after a role."""
        del entities, nlp_artifacts
        results: list[RecognizerResult] = []
        for cue, min_words in self._CUES:
            for match in cue.finditer(text):
                start = match.end()
                end, count = name_run(text, start)
                name = text[start:end]
                if count >= min_words and name not in PLACES and plausible_entity("PERSON", name):
                    results.append(
                        result(self.NAME, self.id, "PERSON", (start, end), score=self.SCORE)
                    )
        return results


class GivenNameRecognizer(LocalRecognizer):
    """A known given name, alone or followed by capitalised surnames (``Oluwaseun Adeyemi``).

    Ambiguous given names (Will, Mark, Grace) count only with a surname.
    """

    NAME = "GivenNameRecognizer"
    SCORE = 0.75
    SINGLE_SCORE = 0.7
    _WORD_START = re.compile(r"(?<![\w@./#-])(?=[^\W\d_])")

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name=self.NAME)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Given names from the list, with their surnames when present."""
        del entities, nlp_artifacts
        results: list[RecognizerResult] = []
        covered = 0
        for boundary in self._WORD_START.finditer(text):
            start = boundary.start()
            token = _NAME_TOKEN.match(text, start)
            if start < covered or token is None or not text[start].isupper():
                continue
            word = token.group()
            possessive = word[-2:] in {"'s", f"{APOSTROPHE}s"}
            given = (word[:-2] if possessive else word).lower()
            if given not in ALL_GIVEN_NAMES:
                continue
            end, score = start + len(given), self.SINGLE_SCORE
            gap = None if possessive else _GAP.match(text, end)
            if gap is not None:
                surname_end, surnames = name_run(text, gap.end(), 2, surname_only=True)
                if surnames:
                    end, score = surname_end, self.SCORE
            if score == self.SINGLE_SCORE and given not in GIVEN_NAMES:
                continue  # an ambiguous given name alone ("Will", "Grace")
            if not possessive and end < len(text) and (text[end].isalnum() or text[end] in "@_/"):
                continue  # part of an identifier or an email address
            if plausible_entity("PERSON", text[start:end]):
                results.append(result(self.NAME, self.id, "PERSON", (start, end), score=score))
                covered = end
        return results


# --- places ----------------------------------------------------------------------------------


class PlaceNameRecognizer(PatternRecognizer):
    """Well-known countries, regions and cities, capitalised (``Lisbon``, ``New Zealand``).

    Not inside paths, time zones, hostnames or identifiers (``Europe/Berlin``, ``lisbon-db``).
    """

    NAME = "PlaceNameRecognizer"
    SCORE = 0.75

    def __init__(self) -> None:
        # longest first: the regex alternation takes the first name that matches
        names = "|".join(re.escape(p) for p in sorted(PLACES, key=len, reverse=True))
        super().__init__(
            supported_entity="LOCATION",
            name=self.NAME,
            patterns=[Pattern("place", rf"(?<![\w/@.#-])(?:{names})(?![\w/@-]|\.\w)", self.SCORE)],
            global_regex_flags=CASE_SENSITIVE,
        )


_STREET_PARTICLE = r"(?:de|del|la|le|les|des|du|da|das|do|dos|di|della|d')"


class StreetAddressRecognizer(PatternRecognizer):
    """Street addresses: a house number, capitalised words and a street type, in the order of
    English (``221B Baker Street``), French/Spanish (``25 Rue Oberkampf``) or German/Dutch
    (``Hauptstraße 12``) addresses.

    Scored above the NER so "221B Baker Street" stays one LOCATION, not a PERSON "Baker".
    """

    NAME = "StreetAddressRecognizer"
    _PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "number street",
            r"\b\d{1,5}[A-Za-z]?(?:[ \t]+\p{Lu}[\p{L}'.-]+){1,4}[ \t]+"
            r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way"
            r"|Place|Pl|Terrace|Close|Crescent|Square|Sq|Highway|Hwy|Parkway|Pkwy|Row|Gardens)"
            r"\b",
            0.9,
        ),
        Pattern(
            "number rue",
            r"\b\d{1,5}(?:[ \t]*(?:bis|ter|[A-Za-z]))?,?[ \t]+(?:Rue|Avenue|Boulevard|Calle"
            r"|Avenida|Via|Viale|Piazza|Plaza|Rua|Place|Chemin|Quai|Allée)"
            rf"(?:[ \t]+{_STREET_PARTICLE}?[ \t]*\p{{Lu}}[\p{{L}}'-]+){{1,3}}",
            0.9,
        ),
        Pattern(
            "street number",
            r"\b(?:\p{Lu}[\p{L}'-]+(?:stra(?:ss|ß)e|str\.|weg|gasse|laan|straat|plein)"
            r"|(?:Rue|Avenue|Boulevard|Calle|Avenida|Via|Viale|Piazza|Plaza|Rua)"
            rf"(?:[ \t]+{_STREET_PARTICLE}?[ \t]*\p{{Lu}}[\p{{L}}'-]+){{1,3}})"
            r"[ \t]+\d{1,5}[a-z]?\b",
            0.9,
        ),
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entity="LOCATION",
            name=self.NAME,
            patterns=list(self._PATTERNS),
            global_regex_flags=CASE_SENSITIVE,
        )
