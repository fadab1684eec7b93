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


# --- "a fortnight ago", "hace quince días": two weeks before publication ----------------------------

def test_a_fortnight_ago_resolves_to_two_weeks_before_publication():
    from crawler.facts import find_dates
    spans = find_dates("A fortnight ago the envoys left.", date(2025, 8, 1))
    assert [(s.start, s.precision) for s in spans] == [(date(2025, 7, 18), "day")]


def test_hace_quince_dias_is_read_as_a_fortnight_and_can_contradict():
    text = "Hace quince días el Tesoro sancionó a Petro."
    assert "timeline:ofac-sanctions:date" in contradicted(text, published=date(2025, 12, 1), language="es")


# --- a term group restated with near-synonyms reserves nothing from the other --------------------

def test_a_verb_of_a_parallel_term_group_still_widens_the_first_one():
    # aid-cut pairs [aid, cut*] and [payments, suspen*]: both mean stopping money, so "suspended aid"
    # names the event through the first group's concept class.
    assert "aid-cut" in named("Trump suspended the remaining aid to Colombia.", published=date(2025, 10, 25))


def test_terms_read_on_lemmas_may_stand_together_in_a_later_clause():
    text = ("Since the first bombing, reported on 2 September, the Navy has destroyed at least ten boats, "
            "the Pentagon said.")
    assert "boat-strikes" in named(text, published=date(2025, 10, 25))
