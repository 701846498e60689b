from __future__ import annotations

import base64
import json
import sys
import time
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from classifiers.normalise import MAX_DECODED_VIEWS, MAX_DEPTH, View, views

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def clean(text: str) -> View:
    return views(text)[0]


def removed(original: str, span: tuple[int, int]) -> str:
    return original[: span[0]] + original[span[1] :]


def decoded(text: str, kind: str | None = None) -> list[View]:
    return [v for v in views(text)[1:] if kind is None or v.kind == kind]


# ---- the clean view: span tables -------------------------------------------------------------

# (original, clean text, span in the clean text, the original span it must map to)
CLEAN_SPANS = [
    ("plain ascii", "plain ascii", (6, 11), (6, 11)),
    ("AK\u200bIA1234", "AKIA1234", (0, 8), (0, 9)),
    ("key AK\u200bIA\u200c1234 end", "key AKIA1234 end", (4, 12), (4, 14)),
    ("\u200bAKIA", "AKIA", (0, 4), (1, 5)),  # a leading invisible is not part of the token
    ("a\u00adb", "ab", (0, 2), (0, 3)),
    ("x\u202eevil\u202cy", "xevily", (1, 5), (2, 6)),
    ("tab\tand\nline", "tab\tand\nline", (0, 12), (0, 12)),
    ("bell\x07ring", "bellring", (0, 8), (0, 9)),
    ("crlf\r\nnext", "crlf\nnext", (4, 5), (5, 6)),
    ("\uff21\uff2b\uff29\uff21", "AKIA", (0, 4), (0, 4)),  # fullwidth, one for one
    ("\ufb01le", "file", (0, 2), (0, 1)),  # the ligature expands: both letters map to it
    ("\ufb01le", "file", (1, 3), (0, 2)),
    ("①②", "12", (1, 2), (1, 2)),
    ("e\u0301x", "\u00e9x", (0, 1), (0, 2)),  # a combining accent composes with its base
    ("\u1100\u1161\u11a8!", "\uac01!", (0, 1), (0, 3)),  # Hangul jamo compose to one syllable
    # mathematical bold (astral; offsets are code points, not UTF-16 units)
    ("\U0001d400\U0001d40a\U0001d408\U0001d400", "AKIA", (1, 3), (1, 3)),
    ("\u0410KIA", "AKIA", (0, 4), (0, 4)),  # a Cyrillic A inside a Latin token is folded
    ("ghp_ab\u200d\ncd", "ghp_abcd", (0, 8), (0, 10)),  # joined across a line break
    ("ghp_ab\u200b\n    cd", "ghp_abcd", (0, 8), (0, 14)),  # and the indentation dropped
    ("line one\nline two", "line one\nline two", (5, 13), (5, 13)),  # ordinary breaks stay
]


@pytest.mark.parametrize(("original", "text", "span", "expected"), CLEAN_SPANS)
def test_clean_view_text_and_span_map(
    original: str, text: str, span: tuple[int, int], expected: tuple[int, int]
) -> None:
    view = clean(original)
    assert view.kind == "clean"
    assert view.depth == 0
    assert view.text == text
    assert view.to_original(*span) == expected


def test_clean_view_of_plain_ascii_is_the_identity() -> None:
    text = "nothing to see here, user=bob"
    view = clean(text)
    assert view.text == text
    assert all(view.to_original(i, j) == (i, j) for i in range(len(text)) for j in (i, i + 1))


def test_russian_text_is_not_folded_but_mixed_script_tokens_are() -> None:
    assert clean("Привет, мир").text == "Привет, мир"
    assert clean("Ελλάδα").text == "Ελλάδα"
    assert clean("p\u0430ypal").text == "paypal"  # one Cyrillic letter inside a Latin word
    # all four letters are Cyrillic look-alikes, but the token goes on in ASCII
    assert clean("\u0410\u041a\u0406\u04102Z7QWERTY").text == "AKIA2Z7QWERTY"


def test_empty_and_invisible_only_texts() -> None:
    assert clean("").text == ""
    assert clean("").to_original(0, 0) == (0, 0)
    view = clean("\u200b\u200c")
    assert view.text == ""
    assert view.to_original(0, 0) == (0, 0)


def test_to_original_rejects_spans_outside_the_view() -> None:
    view = clean("abc\u200bd")
    with pytest.raises(ValueError, match="outside"):
        view.to_original(2, 9)
    with pytest.raises(ValueError, match="outside"):
        view.to_original(3, 2)
    with pytest.raises(ValueError, match="outside"):
        view.to_original(-1, 1)


@pytest.mark.parametrize("mark", [*ZERO_WIDTH, *BIDI, "\u2061", "\u180e", "\u3164", "\ufe0f"])
def test_each_invisible_character_is_removed(mark: str) -> None:
    assert clean(f"AK{mark}IA").text == "AKIA"


def test_every_format_character_of_the_unicode_database_is_removed() -> None:
    # Guards the hand-written ranges in normalise._INVISIBLE against a newer Unicode version.
    missed = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) == "Cf" and clean(f"a{chr(cp)}b").text != "ab"
    ]
    assert missed == []


def test_controls_are_removed_except_newline_and_tab() -> None:
    controls = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
    assert clean(f"a{controls}b").text == "a\t\nb"


# ---- the clean view: properties --------------------------------------------------------------

TOKEN = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=4,
    max_size=40,
)
SURROUNDING = st.text(max_size=40)  # any Unicode: marks, compatibility forms, controls, ...


@st.composite
def token_with_invisibles(draw: st.DrawFn) -> tuple[str, str, list[int]]:
    """A token with zero-width characters inside, in random text: (original, token, positions)."""
    token = draw(TOKEN)
    before, after = draw(SURROUNDING), draw(SURROUNDING)
    pieces: list[str] = []
    for i, char in enumerate(token):
        if i and draw(st.booleans()):
            pieces.append(draw(st.text(alphabet=ZERO_WIDTH + BIDI[:5], min_size=1, max_size=3)))
        pieces.append(char)
    obfuscated = "".join(pieces)
    original = f"{before} {obfuscated} {after}"
    offset = len(before) + 1
    positions = [offset + i for i, c in enumerate(obfuscated) if c not in ZERO_WIDTH + BIDI]
    return original, token, positions


@settings(max_examples=300, deadline=None)
@given(token_with_invisibles())
@example(("x AK\u200bIA\u200d12 y", "AKIA12", [2, 3, 5, 6, 8, 9]))
def test_a_token_hidden_with_zero_width_characters_is_found_and_removed_whole(
    case: tuple[str, str, list[int]],
) -> None:
    original, token, positions = case
    view = clean(original)
    # The surrounding text is arbitrary, so the token may occur there too: one occurrence must
    # map exactly onto the obfuscated token (from its first to its last character).
    expected = (positions[0], positions[-1] + 1)
    spans = []
    at = view.text.find(token)
    while at >= 0:
        spans.append(view.to_original(at, at + len(token)))
        at = view.text.find(token, at + 1)
    assert expected in spans
    rest = removed(original, expected)
    assert len(rest) == len(original) - (expected[1] - expected[0])
    assert all(positions[0] <= p < expected[1] for p in positions)  # every token char removed


RICH = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(
            [*ZERO_WIDTH, *BIDI, "\n", "\r", "\t", "e", "\u0301", "\ufb01", "\u2460", "\uff21",
             "\u1100", "\u1161", "\u11a8", "\u0430", "\U000e0041", "\ufdfa"]
        ),
    ),
    max_size=60,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(RICH)
def test_to_original_is_monotonic_and_within_bounds(original: str) -> None:
    for view in views(original):
        n = len(view.text)
        previous = (0, 0)
        for i in range(n + 1):
            start, end = view.to_original(i, i)
            assert 0 <= start <= end <= len(original)
            assert start >= previous[0]
            previous = (start, end)
        for i in range(n):
            for j in range(i + 1, min(n, i + 4) + 1):
                start, end = view.to_original(i, j)
                assert 0 <= start < end <= len(original)
                wider = view.to_original(max(0, i - 1), j)
                assert wider[0] <= start
                assert wider[1] >= end


@settings(max_examples=200, deadline=None)
@given(RICH)
def test_clean_view_is_free_of_invisibles_and_compatibility_forms(original: str) -> None:
    text = clean(original).text
    assert not any(unicodedata.category(c) == "Cf" for c in text)
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text)
    assert all(unicodedata.normalize("NFKC", c) == c or unicodedata.combining(c) for c in text)


def _visible(text: str) -> str:
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cf", "Cc"))


@settings(max_examples=200, deadline=None)
@given(RICH)
def test_each_clean_character_maps_to_original_characters_it_came_from(original: str) -> None:
    view = clean(original)
    for i, char in enumerate(view.text):
        start, end = view.to_original(i, i + 1)
        source = unicodedata.normalize("NFKC", _visible(original[start:end]))
        assert char in source or (char.isascii() and char.isalpha())  # or a folded look-alike


# ---- decoded views ---------------------------------------------------------------------------


def test_url_encoded_token_is_decoded_and_maps_to_the_whole_token() -> None:
    original = "login with password%3Dhunter2 please"
    (view,) = decoded(original, "url")
    assert view.text == "password=hunter2"
    assert view.depth == 1
    blob = (original.index("password"), original.index(" please"))
    assert view.to_original(0, 8) == blob
    assert view.to_original(9, 16) == blob  # any span: the whole blob


def test_url_token_keeps_the_query_but_not_the_quotes_around_it() -> None:
    original = "curl 'https://x.example/a?user=bob&pass%3Dsecret'"
    (view,) = decoded(original, "url")
    assert view.text == "https://x.example/a?user=bob&pass=secret"
    start, end = view.to_original(0, 1)
    assert original[start:end] == "https://x.example/a?user=bob&pass%3Dsecret"


def test_base64_env_snippet_is_decoded() -> None:
    env = "AWS_SECRET_ACCESS_KEY=abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD\nDEBUG=0\n"
    blob = base64.b64encode(env.encode()).decode()
    original = f"here: {blob} thanks"
    (view,) = decoded(original, "base64")
    assert "AWS_SECRET_ACCESS_KEY=abcdEFGH" in view.text
    assert view.to_original(3, 9) == (6, 6 + len(blob))


def test_wrapped_and_urlsafe_base64_are_decoded() -> None:
    text = "DATABASE_URL=postgres://user:pass@host/db and some more text to wrap"
    wrapped = base64.b64encode(text.encode()).decode()
    wrapped = "\n".join(wrapped[i : i + 20] for i in range(0, len(wrapped), 20))
    (view,) = decoded(f"blob:\n{wrapped}\nend", "base64")
    assert view.text == text
    text = "token=ghp_abc ??? ok"
    urlsafe = base64.urlsafe_b64encode(text.encode()).decode()
    assert "_" in urlsafe  # "???" encodes to "Pz8_" in the URL-safe alphabet
    assert [v.text for v in decoded(urlsafe, "base64")] == [text]


@pytest.mark.parametrize(
    "blob",
    [
        "AKIAIOSFODNN7EXAMPLEXYZ",  # an identifier, not base64 of text
        "internationalization",
        "0123456789abcdef0123456789abcdef",  # hex digest
        base64.b64encode(bytes(range(48))).decode(),  # binary
        "QUJD",  # too short to bother
    ],
)
def test_base64_like_runs_that_are_not_text_are_not_views(blob: str) -> None:
    assert decoded(f"value {blob} end", "base64") == []


def test_json_escaped_string_is_decoded_and_maps_to_the_string_content() -> None:
    original = '{"token": "\\u0067hp_abc\\"def"}'
    (view,) = decoded(original, "json")
    assert view.text == 'ghp_abc"def'
    start, end = view.to_original(0, 3)
    assert original[start:end] == '\\u0067hp_abc\\"def'


def test_json_escapes_with_newlines_and_surrogate_pairs() -> None:
    original = '{"pem": "-----BEGIN KEY-----\\nMIIB\\n-----END KEY-----", "e": "\\ud83d\\ude00 x"}'
    texts = [v.text for v in decoded(original, "json")]
    assert "-----BEGIN KEY-----\nMIIB\n-----END KEY-----" in texts
    assert "\U0001f600 x" in texts


def test_bare_escapes_outside_quotes_are_decoded() -> None:
    original = "token=\\x67hp_\\u0061bc next"
    (view,) = decoded(original, "escape")
    assert view.text == "token=ghp_abc"
    assert view.to_original(0, 1) == (0, original.index(" next"))


def test_tag_characters_are_decoded_from_the_original() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore this")
    original = f"hello{hidden}!"
    assert clean(original).text == "hello!"
    (view,) = decoded(original, "tags")
    assert view.text == "ignore this"
    assert view.to_original(0, 6) == (5, 5 + len(hidden))


def test_two_layers_are_decoded_and_map_to_the_outer_blob() -> None:
    inner = base64.b64encode(b"# ???\nGITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n")
    original = f"see https://h.example/?t={quote(inner.decode(), safe='')} ok"
    layered = [v for v in views(original) if "ghp_abcdefghij" in v.text]
    assert [v.depth for v in layered] == [2]
    start, end = layered[0].to_original(0, 1)
    assert original[start:end].startswith("https://h.example/?t=")


def test_a_third_layer_is_not_decoded() -> None:
    secret = b"password=correct-horse-battery"
    layer1 = base64.b64encode(secret).decode()
    layer2 = base64.b64encode(layer1.encode()).decode()
    layer3 = base64.b64encode(layer2.encode()).decode()
    assert any(v.text == secret.decode() for v in views(layer2))
    texts = [v.text for v in views(layer3)]
    assert layer1 in texts
    assert secret.decode() not in texts
    assert max(v.depth for v in views(layer3)) == MAX_DEPTH


def test_decoded_views_are_capped_and_the_rest_share_one_overflow_view() -> None:
    blobs = [quote(f"item{i}=v{i}&x", safe="") for i in range(50)]
    original = " ".join(blobs) + " " + quote("password=last-one", safe="")
    result = views(original)
    assert len(result) == 1 + MAX_DECODED_VIEWS
    overflow = result[-1]
    assert overflow.kind == "overflow"
    assert "password=last-one" in overflow.text  # nothing is dropped past the cap
    start, end = overflow.to_original(0, 1)
    assert original[start:end].endswith(quote("password=last-one", safe=""))


def test_repeated_wrappers_are_not_repeated_views() -> None:
    blob = quote("password=x1", safe="")
    assert len(decoded(f"{blob} {blob} {blob}")) == 1


@pytest.mark.parametrize(
    "bomb",
    [
        '"\\' * 100_000,
        "\u200b" * 200_000,
        "%41" * 60_000,
        "QUFB" * 50_000,
        "A" * 200_000,
        ("QUFB" * 19 + "\n") * 2_000,
        "e" + "\u0301" * 100_000,
        "\ufdfa" * 20_000,
        "\\u0041" * 30_000,
        quote(quote(base64.b64encode(b"A" * 60_000).decode(), safe=""), safe=""),
        "\U000e0041" * 100_000,
    ],
    ids=lambda b: repr(b[:12]),
)
def test_hostile_inputs_stay_fast(bomb: str) -> None:
    started = time.perf_counter()
    result = views(bomb)
    assert time.perf_counter() - started < 2.0
    assert len(result) <= 1 + MAX_DECODED_VIEWS
    assert sum(len(v.text) for v in result) <= 60 * len(bomb)


# ---- the evasion corpus ----------------------------------------------------------------------


def _evasion_findings() -> list[tuple[str, str, dict[str, str]]]:
    cases: list[tuple[str, str, dict[str, str]]] = []
    for line in (CORPUS / "evasion.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cases.extend((record["id"], record["text"], f) for f in record["findings"])
    return cases


def test_evasion_corpus_is_well_formed() -> None:
    cases = _evasion_findings()
    assert len({case_id for case_id, _, _ in cases}) >= 30
    secret_types = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY",
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DATABASE_URL", "PASSWORD_ASSIGNMENT",
        "PRIVATE_KEY", "JWT",
    }  # fmt: skip
    pii_types = {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN"}
    for case_id, text, finding in cases:
        assert finding["value"] in text, case_id
        assert finding["value"] != finding["clean"], case_id  # every record is obfuscated
        allowed = secret_types if finding["kind"] == "secret" else pii_types
        assert finding["type"] in allowed, case_id


@pytest.mark.parametrize(("case_id", "text", "finding"), _evasion_findings(), ids=lambda x: x)
def test_every_evasion_has_a_view_with_the_clean_value_covering_the_original(
    case_id: str, text: str, finding: dict[str, str]
) -> None:
    del case_id
    start = text.index(finding["value"])
    end = start + len(finding["value"])
    clean_value = finding["clean"]
    covering = []
    for view in views(text):
        at = view.text.find(clean_value)
        while at >= 0:
            mapped = view.to_original(at, at + len(clean_value))
            if mapped[0] <= start and end <= mapped[1]:
                covering.append(view.kind)
            at = view.text.find(clean_value, at + 1)
    assert covering, [(v.kind, v.text) for v in views(text)]
