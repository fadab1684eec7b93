"""Rules of the event diff's sixth pass (classes of error seen on blind8.yaml), on short sentences of our
own, English and Spanish: each test is one class, not one sentence of a set.

FAILING_BEFORE: filled in at the end of the pass (how many of these cases fail on the code before it).
"""
from __future__ import annotations

from datetime import date

from event_helpers import contradicted, named, read


def candidates(text: str, **kw) -> set[str]:
    return {f"{c.date_start:%Y-%m-%d}" if c.precision == "day" else f"{c.date_start:%Y-%m}"
            for c in read(text, **kw).candidates}


# --- another act's object: the clause's date is that act's, the event is named undated ---------------

def test_a_motion_passed_against_a_known_event_dates_the_motion_not_the_event():
    text = "On 2 October the Colombian Senate passed a motion of censure on the decertification by Washington."
    kw = dict(published=date(2025, 10, 6))
    assert not contradicted(text, **kw)
    assert "decertification" in named(text, **kw)
    assert "2025-10-02" in candidates(text, **kw)


def test_a_spanish_note_delivered_over_a_known_event_dates_the_note():
    text = "El 30 de septiembre la Cancillería colombiana envió un memorando a la embajada de EE.UU. referente a la revocatoria de la visa de Petro."
    kw = dict(published=date(2025, 10, 3), language="es")
    assert not contradicted(text, **kw)
    assert "visa-revocation" in named(text, **kw)
    assert "2025-09-30" in candidates(text, **kw)


def test_an_appeal_lodged_with_the_agency_dates_the_appeal():
    text = "Petro's attorneys lodged an appeal with OFAC on 12 November to have his name taken off the list."
    kw = dict(published=date(2025, 11, 14))
    assert not contradicted(text, **kw)
    assert "2025-11-12" in candidates(text, **kw)


def test_the_event_as_the_verbs_object_keeps_its_date():
    # the verb's object holds the event's words: a wrong date still contradicts
    assert "timeline:aid-cut:date" in contradicted("Trump announced an end to US aid to Colombia on 23 October.",
                                                   published=date(2025, 10, 30))
    assert "timeline:visa-revocation:date" in contradicted(
        "El 3 de octubre el Departamento de Estado revocó la visa de Petro.", published=date(2025, 10, 8), language="es")
