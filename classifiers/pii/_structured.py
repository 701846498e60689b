"""Recognisers for structured personal data: contact details, payment and government ids.

Presidio's recognisers are used where they fit and subclassed where they do not; everything
is offline. Notably absent: Presidio's URL recogniser (a URL is not personal data on its own)
and its stock email validation, which calls ``tldextract``, which downloads the public suffix
list on first use.
"""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar

import phonenumbers
from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)

from classifiers.pii._base import CASE_SENSITIVE, digit_count, inside_identifier, result

# --- email -----------------------------------------------------------------------------------


class OfflineEmailRecognizer(EmailRecognizer):
    """Email addresses, validated without a public suffix list.

    The local part is limited to the characters people use (letters, digits, ``. _ % + ' -``):
    Presidio's RFC-wide class also takes ``|`` and ``/``, so in ``name|mail@x.org`` it would
    swallow the neighbouring field. The user-info of a URL (``https://user:pw@host``) and git's
    SSH remotes (``git@github.com:org/repo``) are not mailboxes.
    """

    NAME = "EmailRecognizer"
    _PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "Email",
            r"(?<![\w.%+'-])[\w%+'-](?:[\w.%+'-]{0,62}[\w%+'-])?"
            r"@\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+\b",
            0.5,
        ),
    )
    _URL_USERINFO = re.compile(r"://(?:[^\s/@:]*:)?$")

    def __init__(self) -> None:
        super().__init__(patterns=list(self._PATTERNS), name=self.NAME)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Email addresses, minus URL credentials."""
        found = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [
            r for r in found if not self._URL_USERINFO.search(text[max(0, r.start - 80) : r.start])
        ]

    def validate_result(self, pattern_text: str) -> bool | None:
        """At least two domain labels and an alphabetic top label (``react@18.2.0`` is not)."""
        local, _, domain = pattern_text.rpartition("@")
        labels = domain.split(".")
        top = labels[-1]
        return (
            local.lower() != "git"
            and len(labels) >= 2  # noqa: PLR2004
            and all(labels)
            and top.isalpha()
            and 2 <= len(top) <= 24  # noqa: PLR2004
        )


# --- phone -----------------------------------------------------------------------------------

PHONE_CONTEXT = ["phone", "telephone", "tel", "cell", "mobile", "call", "whatsapp", "sms"]

# A run of at least 7 digits with the usual phone separators. libphonenumber's matcher costs
# ~0.25 ms per region over a whole text, so it only ever sees small windows around these.
_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_DATE_OR_IP = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3}"
)
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_NATIONAL_REGIONS = ("GB", "DE", "FR", "IN", "IT", "ES", "NL", "AU", "IE")
_WINDOW_PAD = 3
_MIN_PHONE_DIGITS = 7
_INDIAN_MOBILE_DIGITS = 10


def _first_region_matches(
    window: str, regions: tuple[str, ...]
) -> list[phonenumbers.PhoneNumberMatch]:
    """The numbers in ``window`` as read by the first region (most common first) that finds any."""
    for region in regions:
        matches = list(phonenumbers.PhoneNumberMatcher(window, region, leniency=1))
        if matches:
            return matches
    return []


class PhoneNumberRecognizer(LocalRecognizer):
    """Phone numbers libphonenumber validates, international (+CC) or national.

    Numbers with a country code are validated whatever the region; national numbers (a trunk
    0, or a 10-digit Indian mobile) are tried against the regions we serve. A bare digit run
    is as often an order or account number, so it needs a context word to pass.
    """

    NAME = "PhoneRecognizer"
    SCORE = 0.75
    BARE_SCORE = 0.4

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PHONE_NUMBER"], name=self.NAME, context=list(PHONE_CONTEXT)
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Phone numbers libphonenumber considers valid."""
        del entities, nlp_artifacts
        seen: set[tuple[int, int]] = set()
        results: list[RecognizerResult] = []
        for candidate in _PHONE_CANDIDATE.finditer(text):
            raw = candidate.group()
            digits = digit_count(raw)
            if digits < _MIN_PHONE_DIGITS or _DATE_OR_IP.fullmatch(raw.strip()):
                continue
            offset = max(0, candidate.start() - _WINDOW_PAD)
            window = text[offset : candidate.end() + _WINDOW_PAD]
            bare = raw.lstrip("+(")
            national = bare.startswith("0") or (
                bare[0] in "6789" and digits == _INDIAN_MOBILE_DIGITS
            )
            regions = ("US", *(_NATIONAL_REGIONS if national else ()))
            for match in _first_region_matches(window, regions):
                span = (offset + match.start, offset + match.end)
                if span in seen or _DOTTED_QUAD.fullmatch(match.raw_string):
                    continue  # libphonenumber reads some IPv4 addresses as phone numbers
                if inside_identifier(text, *span):
                    continue  # digits inside ORD-2024-118833
                seen.add(span)
                score = self.BARE_SCORE if match.raw_string.isdigit() else self.SCORE
                results.append(result(self.NAME, self.id, "PHONE_NUMBER", span, score=score))
        return results


class PhoneShapeRecognizer(PatternRecognizer):
    """Phone-shaped numbers libphonenumber rejects, such as the fictional (555) 123-4567.

    Below the threshold unless the shape is unmistakable or a context word is near.
    """

    NAME = "PhoneShapeRecognizer"
    _PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "NANP (xxx) xxx-xxxx",
            r"(?<![\w+-])(?:\+?1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?![\w-])",
            0.6,
        ),
        Pattern(
            "NANP xxx-xxx-xxxx",
            r"(?<![\w+.-])(?:\+?1[ .-])?\d{3}([ .-])\d{3}\1\d{4}(?![\w-])",
            0.45,
        ),
        Pattern("local xxx-xxxx", r"(?<![\w+.-])\d{3}-\d{4}(?![\w-])", 0.2),
        Pattern(
            "international +CC",
            r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\w-])",
            0.5,
        ),
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name=self.NAME,
            patterns=list(self._PATTERNS),
            context=list(PHONE_CONTEXT),
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Reject shapes with too few or too many digits for any numbering plan."""
        return None if 7 <= digit_count(pattern_text) <= 15 else False  # noqa: PLR2004


# --- payment ---------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2  # noqa: PLR2004 - double, fold above 9
        total += d
    return total % 10 == 0


# (lowest prefix, highest prefix, allowed lengths) per issuer
_ISSUERS: tuple[tuple[str, str, range | tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa
    ("51", "55", (16,)),  # Mastercard
    ("2221", "2720", (16,)),  # Mastercard 2-series
    ("34", "34", (15,)),  # American Express
    ("37", "37", (15,)),
    ("6011", "6011", range(16, 20)),  # Discover
    ("644", "649", range(16, 20)),
    ("65", "65", range(16, 20)),
    ("62", "62", range(16, 20)),  # UnionPay
    ("3528", "3589", range(16, 20)),  # JCB
    ("300", "305", range(14, 20)),  # Diners Club
    ("36", "36", range(14, 20)),
    ("38", "39", range(14, 20)),
    ("5018", "5018", range(12, 20)),  # Maestro
    ("5020", "5020", range(12, 20)),
    ("5038", "5038", range(12, 20)),
    ("5893", "5893", range(12, 20)),
    ("6304", "6304", range(12, 20)),
    ("6759", "6759", range(12, 20)),
    ("6761", "6763", range(12, 20)),
)


def issuer_length_ok(digits: str) -> bool:
    """Whether the number starts with a card issuer's prefix and has that issuer's length."""
    return any(
        low <= digits[: len(low)] <= high and len(digits) in lengths
        for low, high, lengths in _ISSUERS
    )


class PaymentCardRecognizer(CreditCardRecognizer):
    """Card numbers by issuer prefix, issuer length and Luhn; nothing else is reported.

    Presidio's stock pattern misses Amex's 4-6-5 grouping and Mastercard's 2-series, and lets
    any 13-19 digit run through to the Luhn check (one in ten random numbers passes it).
    """

    NAME = "CreditCardRecognizer"
    _PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "4-4-4-4", r"(?<![\d-])\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?(?![\d-])", 0.3
        ),
        Pattern("Amex 4-6-5", r"(?<![\d-])3[47]\d{2}([ -]?)\d{6}\1\d{5}(?![\d-])", 0.3),
        Pattern("Diners 4-6-4", r"(?<![\d-])3[0689]\d{2}([ -]?)\d{6}\1\d{4}(?![\d-])", 0.3),
        Pattern("unbroken", r"(?<![\d-])\d{12,19}(?![\d-])", 0.3),
    )

    def __init__(self) -> None:
        super().__init__(patterns=list(self._PATTERNS), name=self.NAME)

    def validate_result(self, pattern_text: str) -> bool:
        """Issuer prefix + length + Luhn: valid scores 1.0, anything else is dropped."""
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        return issuer_length_ok(digits) and luhn_ok(digits)


# Total IBAN length per country (ISO 13616 registry). Presidio's per-country patterns are not
# used: Portugal's expects four digits too few and rejects every valid PT IBAN.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_ok(candidate: str) -> bool:
    """Country, length and ISO 7064 mod-97 checksum of an IBAN (spaces and dashes ignored)."""
    iban = candidate.replace(" ", "").replace("-", "")
    if not (iban.isascii() and iban.isalnum() and iban[:2].isupper() and iban[2:4].isdigit()):
        return False
    if IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


class OfflineIbanRecognizer(IbanRecognizer):
    """Presidio's IBAN pattern with our own country-length and checksum validation.

    The stock validator logs the candidate text when it cannot parse it (no log line may hold
    a detected value), and its Portuguese format is wrong.
    """

    NAME = "IbanRecognizer"

    def __init__(self) -> None:
        super().__init__(name=self.NAME)

    def validate_result(self, pattern_text: str) -> bool:
        """Country length and mod-97 checksum."""
        return iban_ok(pattern_text)


# --- government identifiers and network addresses --------------------------------------------


class SsnRecognizer(UsSsnRecognizer):
    """Presidio's SSN patterns: dashed or spaced 3-2-4 alone, a bare 9 digits with a cue.

    Presidio also drops the published sample numbers (123-45-6789, 078-05-1120); we report
    them: a false alarm costs a pseudonym, a miss leaks a number someone did paste.
    """

    NAME = "UsSsnRecognizer"

    def __init__(self) -> None:
        super().__init__(name=self.NAME)

    def invalidate_result(self, pattern_text: str) -> bool:
        """Impossible SSNs: mixed delimiters, one repeated digit, an all-zero group, 000/666."""
        delimiters = {ch for ch in pattern_text if ch in ".- "}
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        return (
            len(delimiters) > 1
            or len(set(digits)) == 1
            or digits[3:5] == "00"
            or digits[5:] == "0000"
            or digits[:3] in {"000", "666"}
        )


class NinoRecognizer(UkNinoRecognizer):
    """UK National Insurance numbers, upper case only.

    Presidio's pattern accepts lower case, which flags hex strings such as ``ab123456c``.
    The HMRC example prefix ``QQ`` (never issued, so what test data uses) is accepted too.
    """

    NAME = "UkNinoRecognizer"
    _PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "NINO",
            r"\b(?!BG|GB|NK|KN|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r"([ -]?)\d{2}\1\d{2}\1\d{2}\1[A-D]\b",
            0.5,
        ),
        Pattern("NINO example prefix", r"\bQQ([ -]?)\d{2}\1\d{2}\1\d{2}\1[A-D]\b", 0.5),
    )

    def __init__(self) -> None:
        super().__init__(patterns=list(self._PATTERNS), name=self.NAME)
        self.global_regex_flags = CASE_SENSITIVE


_ALL_ONES = 0xFFFFFFFF


class NetworkAddressRecognizer(IpRecognizer):
    """IPv4/IPv6 addresses that point at a host.

    Dropped: loopback, unspecified, multicast, netmasks, broadcast and network addresses
    (``10.0.0.0/16``: configuration, not someone's address); MAC addresses and certificate
    fingerprints that look like IPv6; and
    dotted quads that are version numbers (``v1.2.3.4``, ``==1.2.3.4``, ``firmware 4.2.1.7``,
    ``1.2.3.4.5``, or all-single-digit quads with nothing saying "IP" nearby).
    """

    NAME = "IpRecognizer"
    _VERSION_BEFORE = re.compile(
        r"(?:\bv|(?:\bversion|\bver\.?|\brelease|\bbuild|firmware|bios|kernel|driver|patch)"
        r"(?:\s+\w+)?\s*[:=#]?|==|>=|<=|~=|@)\s*$",
        re.IGNORECASE,
    )
    _IP_CUE = re.compile(r"(?i)\b(?:ip|ipv4|addr|address|host|server|dns|from|via)\b")

    def __init__(self) -> None:
        super().__init__(name=self.NAME)

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject addresses that do not identify a host."""
        try:
            ip = ipaddress.ip_interface(pattern_text).ip
        except ValueError:
            return True
        if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
            return True
        groups = pattern_text.split("/", 1)[0].split(":")
        if len(groups) >= 6 and all(len(g) == 2 for g in groups):  # noqa: PLR2004
            return True  # a MAC address or a certificate fingerprint
        if isinstance(ip, ipaddress.IPv4Address):
            value = int(ip)
            if value | (value - 1) == _ALL_ONES:
                return True  # a netmask, or 255.255.255.255
            if value & 0xFF == 0:
                return True  # 10.0.0.0, 10.0.0.0/16: a network, not a host
        interface = ipaddress.ip_interface(pattern_text)
        # a CIDR block written by its network address ("2001:db8::/32") is config, not a host
        return "/" in pattern_text and interface.ip == interface.network.network_address

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Presidio's IP patterns, minus version numbers."""
        found = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in found if not self._is_version(text, r.start, r.end)]

    def _is_version(self, text: str, start: int, end: int) -> bool:
        if self._VERSION_BEFORE.search(text[max(0, start - 24) : start]):
            return True
        before, after = text[max(0, start - 2) : start], text[end : end + 2]
        if re.fullmatch(r"\d\.", before) or re.match(r"\.\d", after):
            return True  # part of a longer dotted number
        octets = text[start:end].split("/", 1)[0].split(".")
        if len(octets) == 4 and all(len(o) == 1 for o in octets):  # noqa: PLR2004
            return not self._IP_CUE.search(text[max(0, start - 30) : start])
        return False


# --- values that are personal only next to a cue ---------------------------------------------

_SENTENCE_END = re.compile(r"(?<!\bno)(?<!\bnr)(?<!\bNo)[.!?](?:\s+[A-Z]|\s*\n)")
# Another key between a cue and a value ("dob": ..., "joined": <date>) breaks the link; a
# generic sub-key does not ("passport": {"number": <value>}).
_NEXT_KEY = re.compile(
    r"[,;{\n]\s*[\"']?(?!(?:number|no|num|nr|id|value|code|date)[\"']?\s*[:=])"
    r"[A-Za-z_][\w -]{0,30}[\"']?\s*[:=]"
)
_WORD = re.compile(r"[^\W_]+")
_MAX_WORDS_AFTER_CUE = 6
_MAX_WORDS_BEFORE_CUE = 3


def cue_before(window: str, cue: re.Pattern[str]) -> bool:
    """Whether ``window`` (the text just before a value) ends with a cue about that value.

    The last cue must not be followed by a sentence end, another key (``, "joined":``) or
    more than a few words: "born in Lisbon on <date>" is a birth date, "born in Lisbon. The
    review is on <date>" is not.
    """
    matches = list(cue.finditer(window))
    if not matches:
        return False
    tail = window[matches[-1].end() :]
    return (
        not _SENTENCE_END.search(tail)
        and not _NEXT_KEY.search(tail)
        and len(_WORD.findall(tail)) <= _MAX_WORDS_AFTER_CUE
    )


def cue_after(window: str, cue: re.Pattern[str]) -> bool:
    """Whether a cue follows the value closely, as in ``1985-03-12 (DOB)``."""
    first = cue.search(window)
    if first is None:
        return False
    head = window[: first.start()]
    return not _SENTENCE_END.search(head) and len(_WORD.findall(head)) <= _MAX_WORDS_BEFORE_CUE


class CuedRecognizer(LocalRecognizer):
    """Values that are personal data only beside a cue word (a birth date, a passport no.)."""

    NAME: ClassVar[str]
    ENTITY: ClassVar[str]
    CANDIDATE: ClassVar[re.Pattern[str]]
    CUE: ClassVar[re.Pattern[str]]
    SCORE = 0.85
    LOOKBEHIND = 60
    LOOKAHEAD = 30

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=self.NAME)

    def load(self) -> None:
        """Nothing to load."""

    def accept(self, value: str) -> bool:
        """Extra validation of a candidate value."""
        del value
        return True

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Each candidate with a cue just before it (or just after it)."""
        del entities, nlp_artifacts
        matches = [m for m in self.CANDIDATE.finditer(text) if self.accept(m.group())]
        results: list[RecognizerResult] = []
        previous_end = 0
        for i, match in enumerate(matches):
            start, end = match.span()
            next_start = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            before = text[max(previous_end, start - self.LOOKBEHIND) : start]
            after = text[end : min(next_start, end + self.LOOKAHEAD)]
            if cue_before(before, self.CUE) or cue_after(after, self.CUE):
                results.append(
                    result(self.NAME, self.id, self.ENTITY, (start, end), score=self.SCORE)
                )
            previous_end = end
        return results


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d{2}|20\d{2})"
DATE = re.compile(
    rf"""(?ix)(?<![\w/.-])(?:
        \d{{4}}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])          # 1985-03-12
      | (?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:\d{{4}}|\d{{2}})  # 12/03/85
      | {_DAY}[\s-]+(?:of\s+)?{_MONTH}[\s,-]+{_YEAR}                         # 12 March 1985
      | {_MONTH}\s+{_DAY},?\s+{_YEAR}                                         # March 12, 1985
      | {_MONTH},?\s+{_YEAR}                                                  # March 1985
      | {_DAY}\s+(?:of\s+)?{_MONTH}                                           # 12 March
      | {_MONTH}\s+{_DAY}                                                     # March 12
    )(?![\w/-])"""
)


class DateOfBirthRecognizer(CuedRecognizer):
    """A date beside a birth cue (born, birthday, DOB, date of birth, ``birth_date``).

    Dates on their own (meetings, deadlines, timestamps) are not personal data.
    """

    NAME = "DateOfBirthRecognizer"
    ENTITY = "DATE_OF_BIRTH"
    CANDIDATE = DATE
    # "birth" also matches inside keys: date_of_birth, birthDate, birthday, DateOfBirth
    CUE = re.compile(
        r"(?i)birth|\bborn\b|\bd\.?o\.?b\b|\bb-?day\b|geboren|naissance|nacimiento|\bn[ée]e?\b"
    )


class PassportRecognizer(CuedRecognizer):
    """Passport numbers (US 9 digits or letter + 8 digits, UK, EU, Indian...) beside a cue."""

    NAME = "PassportRecognizer"
    ENTITY = "PASSPORT"
    CANDIDATE = re.compile(r"(?<![\w-])[A-Z0-9]{6,9}(?![\w-])")
    CUE = re.compile(r"(?i)passport|travel\s+doc(?:ument)?|reisepass|passeport|pasaporte")

    def accept(self, value: str) -> bool:
        """At least three digits and at most five letters: every national format we know."""
        digits = digit_count(value)
        return digits >= 3 and len(value) - digits <= 5  # noqa: PLR2004
