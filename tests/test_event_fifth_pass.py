"""Rules of the event diff's fifth pass (classes of error seen on blind6.yaml and blind7.yaml), on short
sentences of our own: each test is one class, not one sentence of a set."""
from __future__ import annotations

from datetime import date

from event_helpers import contradicted, named, read


# --- rival dates: "…; the sidebar says <another day>" is a second statement of the event's date -----

def test_a_chart_quoted_after_a_semicolon_with_another_day_contradicts_the_event():
    text = "Treasury sanctioned Petro on 24 October; the graphic below puts it on 14 October."
    found = contradicted(text)
    assert {"timeline:ofac-sanctions:date", "internal:ofac-sanctions:date"} <= found
    assert "ofac-sanctions" in named(text)


def test_a_spanish_chronology_placing_the_event_on_another_day_contradicts_it():
    text = "Washington descertificó a Colombia el 15 de septiembre; el recuadro de la agencia la fecha el 22 de septiembre."
    assert "internal:decertification:date" in contradicted(text, language="es")


def test_a_later_clause_with_its_own_act_is_not_a_rival_date():
    text = "Treasury sanctioned Petro on 24 October; his lawyers filed an appeal on 4 November."
    assert not contradicted(text)


def test_a_rival_clause_agreeing_with_the_timeline_is_no_contradiction():
    text = "Treasury sanctioned Petro on 24 October; the sidebar says 24 October too."
    assert not contradicted(text)
