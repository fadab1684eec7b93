"""The general rules of issue 13's second pass (docs/events.md), each on
sentences written for the rule, not taken from any labelled set: Spanish
moods, ruled-out acts, two-word verbs, dates anchored on another event,
appositions, rates and regions in figures, sport and habits in candidates.
Pure: diff_text on short texts against the test timeline."""
from __future__ import annotations

from datetime import date

import pytest

from crawler.events.modality import irrealis
from crawler.facts import find_dates, metadata_prefix, year_positions
from event_helpers import contradicted, named, read

@pytest.mark.parametrize("text", [
    "Según el diario, la Casa Blanca descertificaría a Colombia antes de fin de mes.",   # conditional form
    "Si el Tesoro llegara a actuar, Petro quedaría en la lista Clinton.",  # si + subjunctive, then a conditional
    "De descertificar a Colombia, Washington perdería a su principal aliado.",  # "de" + infinitive = if
    "El Gobierno estadounidense descartó cortar la ayuda a Colombia este año.",  # ruled out doing it
    "Senators ruled out any cut in aid to Colombia for next year.",  # ruled out, "any"
    "The ministry called 'an invention' the story that Washington had revoked Petro's visa.",
])
def test_moods_that_are_not_the_event_happening(text):
    assert named(text, language="en" if text.startswith(("Senators", "The ")) else "es") == set()


def test_an_announced_decision_in_the_conditional_is_the_event():
    assert "aid-cut" in named("Trump aseguró que acabaría con toda la ayuda a Colombia.", language="es")


@pytest.mark.parametrize("text, language, event", [
    ("They took away the Colombian president's visa on the day he spoke.", "en", "visa-revocation"),
    ("El Departamento de Estado dejó sin visado a Petro.", "es", "visa-revocation"),
    ("Washington dejó de certificar a Colombia en la lucha antidrogas.", "es", "decertification"),
    ("La Casa Blanca sancionó a Petro por narcotráfico.", "es", "ofac-sanctions"),
    ("Exporters feared the worst during the row over deportees in January.", "en", "deportation-standoff"),
    ("The UN Office on Drugs and Crime counted a record coca crop in Colombia.", "en", "coca-survey-2023"),
])
def test_two_word_verbs_inverted_compounds_and_an_actors_other_names_name_the_event(text, language, event):
    assert event in named(text, language=language, published=date(2025, 10, 30))


def test_spanish_irrealis_forms_are_read_from_the_lemma():
    assert irrealis("descertificaría") and irrealis("enviará") and irrealis("llegara")
    assert not irrealis("secretaría") and not irrealis("policía") and not irrealis("historia")


def test_an_offset_from_another_events_date_dates_the_event_named_after_it():
    text = "Three days after the September 15 decertification, Washington revoked Petro's visa."
    assert "timeline:visa-revocation:date" in contradicted(text)
    agreeing = "Eleven days after the September 15 decertification, Washington revoked Petro's visa."
    assert contradicted(agreeing) == set() and "visa-revocation" in named(agreeing)


def test_an_apposition_and_the_sentence_before_date_the_event():
    text = ("Trump cut off US aid to Colombia on 19 October.\n"
            "The end to US aid, announced on 12 October according to the minister, hit rural programmes.")
    assert {"timeline:aid-cut:date", "internal:aid-cut:date"} <= contradicted(text)
    assert "timeline:coca-survey-2023:date" in contradicted(
        "The UNODC coca report, published in August 2024, showed a record.", published=date(2025, 3, 1))


@pytest.mark.parametrize("text", [
    "La ayuda de Washington a Colombia en 2024 equivalió a 2 millones de dólares diarios.",  # a rate
    "Solo en el departamento de Nariño hubo 70.000 hectáreas de coca en 2023.",  # a region
    "En 2023 el Ejército erradicó 40.000 hectáreas de coca en Colombia.",  # another measure (preterite)
    "Algunos diarios dijeron que Colombia habría recibido 900 millones de dólares de ayuda de EE.UU. en 2024.",
])
def test_rates_regions_other_measures_and_conditionals_are_not_the_fact(text):
    assert contradicted(text, language="es") == set()


def test_relative_days_weeks_and_years_are_anchored_on_publication():
    published = date(2025, 11, 20)
    days = {d.text: d.start for d in find_dates("Petro spoke the day before yesterday; anteayer; "
                                               "three weeks ago; hace dos semanas", published)}
    assert days == {"the day before yesterday": date(2025, 11, 18), "anteayer": date(2025, 11, 18),
                    "three weeks ago": date(2025, 10, 30), "hace dos semanas": date(2025, 11, 6)}
    assert set(year_positions("Hace dos años la ayuda llegó", published).values()) == {2023}
    [span] = find_dates("After the July 3 recall, the following month brought talks.", published)[1:]
    assert span.start == date(2025, 8, 1)
    text = "Nov 4, 2025, 09:30 ET — Petro says the sanctions hurt."
    assert text[metadata_prefix(text):].startswith("Petro")


@pytest.mark.parametrize("text", [
    "La selección Colombia goleó 4-1 a Estados Unidos el 14 de noviembre en Bogotá.",
    "Estados Unidos ha deportado a Colombia a miles de migrantes a lo largo de los últimos diez años.",
])
def test_sport_and_habits_propose_no_candidate(text):
    assert read(text, language="es").candidates == []


def test_both_governments_and_a_refusal_of_entry_are_candidates():
    diff = read("Ambos gobiernos acordaron el 12 de noviembre reanudar la cooperación antidrogas.", language="es")
    assert [c.date_start for c in diff.candidates] == [date(2025, 11, 12)]
    diff = read("Migración Colombia negó el 15 de noviembre la entrada a dos funcionarios estadounidenses.",
                language="es")
    assert [c.date_start for c in diff.candidates] == [date(2025, 11, 15)]
