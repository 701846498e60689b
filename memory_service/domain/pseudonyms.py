"""The pseudonym token stored memories carry in place of personal data: ``<PERSON_3f9a2c>``.

One definition of its shape, shared by the pseudonymizer that makes tokens, the index that
finds memories holding one, and the recall path that looks for them.
"""

from __future__ import annotations

import re

HEX_DIGITS = 6
"""Hex digits of the keyed digest a token ends with (24 bits: a tag, not an identifier)."""

TOKEN = re.compile(rf"<[A-Z][A-Z_]*_([0-9a-f]{{{HEX_DIGITS}}})>")


def make_token(entity_type: str, hex_digest: str) -> str:
    return f"<{entity_type}_{hex_digest[:HEX_DIGITS]}>"


def tokens_in(text: str) -> set[str]:
    """Every pseudonym token in ``text``."""
    return {match.group(0) for match in TOKEN.finditer(text)}


def token_digest(token: str) -> str:
    """The hex part of ``token``: the one word of it that the index's text index keeps."""
    match = TOKEN.fullmatch(token)
    if match is None:
        raise ValueError("not a pseudonym token")
    return match.group(1)
