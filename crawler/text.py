"""The one text normalizer.

Every stage that compares text (the syndication hash, MinHash shingles,
keyword rules, event aliases) folds it the same way, so two articles that
differ only in typography compare equal everywhere.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

# Typographic variants that syndication and CMSs swap freely.
_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
})
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """'deportación' → 'deportacion' (NFKD, combining marks dropped)."""
    if text.isascii():  # nothing to decompose: the common case, and the per-character loop is costly
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Case-, accent- and typography-folded text that keeps its length-ish
    shape and punctuation: for matching phrases with word boundaries."""
    return strip_accents(text.translate(_TRANSLATE)).casefold()


def normalize_text(text: str) -> str:
    """Fold case, accents, quotes, dashes, punctuation and whitespace:
    the form two copies of one story share even when typeset differently."""
    folded = fold(text or "")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded)).strip()


def words(text: str) -> list[str]:
    """The normalized text's words, in order."""
    normalized = normalize_text(text)
    return normalized.split(" ") if normalized else []


def text_hash(text: str) -> str:
    """SHA-256 of the normalized text: equal for verbatim copies."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
