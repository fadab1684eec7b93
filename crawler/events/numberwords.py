"""Figures written in words: "seven hundred million dollars", "cuatrocientos millones de dólares",
"mil millones de dólares", "a quarter of a million hectares", "half a million hectares".

:func:`crawler.facts.find_quantities` reads figures in digits; news (quotes, transcripts, Spanish
prose) also spells them out. :func:`word_quantities` reads a spelled number before a scale word
(million, billion, millones, mil millones) and a unit (dollars, hectares), as a :class:`Quantity` the
fact rules then judge like any other. Spelled figures are round by nature: the rounding of their last
word (±10 % at most, as for digits).
"""
from __future__ import annotations

import re

from crawler.facts import Quantity, _bound_before
from crawler.text import fold

_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
       "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
       "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
       "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "an": 1}
_ES = {"un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
       "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30,
       "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90,
       "cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
       "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800, "novecientos": 900}
_WORDS = {**_EN, **_ES}
NUMBER_WORDS = _WORDS  # each number word's value, English and Spanish (also read by monthparts)
_WORD = "|".join(sorted(_WORDS, key=len, reverse=True))
_NUMBER = rf"(?:(?:{_WORD})(?:[\s-]+(?:hundred|y|and|{_WORD}))*)"
_SCALES = {"million": 1e6, "millions": 1e6, "billion": 1e9, "millon": 1e6, "millones": 1e6, "mil millones": 1e9}
_UNITS = {"dollars": ("money", 1.0), "us dollars": ("money", 1.0), "dolares": ("money", 1.0),
          "hectares": ("area", 1.0), "hectareas": ("area", 1.0)}
_SPELLED = re.compile(
    rf"\b(?P<num>a\s+quarter\s+of\s+a|three\s+quarters\s+of\s+a|half\s+a|{_NUMBER})?\s*"
    rf"(?P<scale>mil\s+millones|millones|millon|millions?|billion)\s+(?:de\s+|of\s+)?(?:us\s+)?"
    rf"(?P<unit>dollars|dolares|hectares|hectareas)\b")
_CUE = re.compile(r"million|billion|millon")


def _value(words: str) -> float | None:
    """The number a run of number words says ("seven hundred", "cuatrocientos", "twenty-five")."""
    if not words:
        return 1.0  # "mil millones de dólares": a thousand million
    words = words.strip()
    if words.startswith("a quarter"):
        return 0.25
    if words.startswith("three quarters"):
        return 0.75
    if words.startswith("half"):
        return 0.5
    total = 0.0
    for token in re.split(r"[\s-]+", words):
        if token in ("y", "and"):
            continue
        if token == "hundred":
            total = (total or 1) * 100
            continue
        if token not in _WORDS:
            return None
        total += _WORDS[token]
    return total or None


def word_quantities(text: str) -> list[Quantity]:
    """The spelled figures of ``text`` with a scale and a unit (offsets in ``text``)."""
    folded = fold(text)
    if not _CUE.search(folded):
        return []
    out = []
    for m in _SPELLED.finditer(folded):
        scale_text = re.sub(r"\s+", " ", m.group("scale"))
        start = m.start("num") if m.group("num") else m.start("scale")
        if (not m.group("num") and scale_text != "mil millones") or re.search(r"[\d.,]\s*$", folded[:start]):
            continue  # a scale after digits is find_quantities' ("590 millones"); alone it says no number
        value = _value(m.group("num") or "")
        if value is None:
            continue
        scale = _SCALES[scale_text]
        family, factor = _UNITS[m.group("unit")]
        out.append(Quantity(value * scale * factor, family, _bound_before(text, start), 0.1 if value < 10 else 0.05,
                            text[start:m.end()], start, m.end()))
    return out
