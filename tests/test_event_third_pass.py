"""The general rules of issue 13's third pass (docs/events.md, "Rules of the
third pass"), each on sentences written for the rule, not taken from any
labelled set: concept classes for facts' keywords and events' words,
parent organisations, demonyms, undoing verbs, live-blog labels, dates of
campaigns and weeks, anchors on other actions, parts and shares of figures,
another country's acts, senses of "recall" and "summon", domestic politics.
Pure: diff_text on short texts against the test timeline."""
from __future__ import annotations

from datetime import date

import pytest

from crawler.events.timeline import Names
from crawler.facts import metadata_prefix, year_positions
from crawler.text import fold
from event_helpers import contradicted, named, read


def candidates(text: str, **kw) -> set[date]:
    return {c.date_start for c in read(text, **kw).candidates}


@pytest.mark.parametrize("text, language, event", [
    ("Los gringos bombardearon otra lancha en el Caribe.", "es", "boat-strikes"),  # a demonym of the US
    ("American missiles sank another speedboat in the Caribbean.", "en", "boat-strikes"),
    ("Petro perdió su visa estadounidense tras el discurso en Nueva York.", "es", "visa-revocation"),  # losing
    ("Petro se quedó sin visado después de su discurso.", "es", "visa-revocation"),  # left without: no negation
    ("Both governments brought their ambassadors home for consultations.", "en", "ambassador-recall"),
    ("El rechazo de Petro a los vuelos de deportación desató la crisis.", "es", "deportation-standoff"),
    ("Durante el pleito por los deportados, el peso cayó.", "es", "deportation-standoff"),  # a quarrel
    ("Washington stripped Colombia of its anti-drug certification.", "en", "decertification"),  # de-certify
    ("Colombia had 253,000 hectares of coca in 2023, United Nations monitors reported.", "en", "coca-survey-2023"),
    ("El Departamento de Estado dejó de girar fondos a Colombia tras el anuncio.", "es", "aid-cut"),  # stopped
])
def test_words_news_uses_for_the_event_name_it(text, language, event):
    assert event in named(text, language=language, published=date(2025, 11, 20))


@pytest.mark.parametrize("text, language, event", [
    ("Bolivia told the United Nations that its coca fields had shrunk.", "en", "coca-survey-2023"),  # not Colombia's
    ("The former ambassador recalled that the 1990s were harder.", "en", "ambassador-recall"),  # remembered
    ("Petro summoned the Japanese ambassador to thank him for the donation.", "en", "ambassador-recall"),
    ("OFAC sanctioned two Peruvian businessmen on November 3.", "en", "ofac-sanctions"),  # another country's
    ("Trump exempted Colombia from the aid cuts that usually follow such a finding.", "en", "aid-cut"),  # spared
    ("El Gobierno eximió a Colombia de los recortes de ayuda.", "es", "aid-cut"),
])
def test_other_senses_targets_and_spared_acts_are_not_the_event(text, language, event):
    assert event not in named(text, language=language)


def test_a_place_is_not_another_countrys_target():
    """'off the Venezuelan coast' is where the strike was, not whom it was against."""
    assert "boat-strikes" in named("US strikes on boats off the Venezuelan coast killed six people.")


def test_another_countrys_act_proposes_no_candidate_and_contradicts_nothing():
    text = "OFAC sanctioned two Peruvian businessmen on November 3."
    assert candidates(text) == set() and contradicted(text) == set()


@pytest.mark.parametrize("text, language, published, expected", [
    # a fact's keyword read as its concept class ("levy" = tariff, "cooperación" = aid), or on lemmas
    ("Trump's levy of 40% on Colombian imports during the deportation standoff was never collected.", "en",
     date(2025, 6, 1), "timeline:deportation-standoff:tariff_rate"),
    ("Bogotá recibió de Washington 700 millones de dólares de cooperación en 2024.", "es", date(2025, 11, 20),
     "timeline:aid-cut:us_aid_2024"),
    ("In 2024 Washington gave Colombia $720 million.", "en", date(2025, 11, 20), "timeline:aid-cut:us_aid_2024"),
    # an irregular past before the keyword is a verb, not a programme modifier
    ("Colombia grew coca on 280,000 hectares in 2023, the UNODC said.", "en", date(2024, 12, 1),
     "timeline:coca-survey-2023:coca_hectares_2023"),
    # "the previous year": the year before the last one stated; a figure's year is its own clause's first
    ("Según el informe de la ONUDD de 2024, Colombia tenía 270.000 hectáreas de coca el año anterior.", "es",
     date(2025, 2, 1), "timeline:coca-survey-2023:coca_hectares_2023"),
    # a participle apposition dates the noun before it
    ("The revocation of Petro's visa, signed on 20 September, surprised Bogotá.", "en", date(2025, 10, 5),
     "timeline:visa-revocation:date"),
    # a calendar week well off a one-day event
    ("La semana pasada el Tesoro sancionó a Petro.", "es", date(2025, 11, 12), "timeline:ofac-sanctions:date"),
    # an offset anchored on another action leaves the date the event's own
    ("Petro's visa was cancelled on September 29, two days after Trump posted about the speech.", "en",
     date(2025, 10, 5), "timeline:visa-revocation:date"),
    # "the following month" counts from a month stated before it
    ("In July the envoys were called home; the following month the White House decertified Colombia.", "en",
     date(2025, 12, 1), "timeline:decertification:date"),
    # the first act of an ongoing campaign dates its first day
    ("The first US strike on a drug boat came on September 9.", "en", date(2025, 10, 1), "timeline:boat-strikes:date"),
    # a day counted from the day stated, in a subjunctive Spanish grammar asks for after "antes de que"
    ("El 20 de septiembre, dos días antes de que Washington revocara la visa de Petro, el presidente llegó a "
     "Nueva York.", "es", date(2025, 10, 5), "timeline:visa-revocation:date"),
    # two figures on the two sides of a semicolon
    ("Officials put Colombia's coca at 253,000 hectares in 2023; a local NGO said 300,000 hectares for the same "
     "year.", "en", date(2024, 12, 1), "internal:coca-survey-2023:coca_hectares_2023"),
])
def test_contradictions_in_other_words(text, language, published, expected):
    assert expected in contradicted(text, language=language, published=published)


@pytest.mark.parametrize("text, language", [
    ("La ayuda estadounidense de 2024 fue de 12 dólares por cada colombiano.", "es"),  # per person
    ("Roughly a quarter of last year's US assistance to Colombia, $150 million, was spent in Cauca.", "en"),
    ("La mitad de la ayuda de Estados Unidos a Colombia en 2024, 300 millones de dólares, fue a la policía.", "es"),
    ("Petro's lawyers asked the Treasury on November 4 to lift the sanctions on him.", "en"),  # the request's date
])
def test_parts_rates_and_requests_are_not_contradictions(text, language):
    assert contradicted(text, language=language, published=date(2025, 11, 20)) == set()


def test_a_live_blog_label_before_a_time_first_stamp_is_metadata():
    text = "LIVE | 09:40 ET, Oct. 2 - Petro says the lost visa changes nothing."
    assert text[:metadata_prefix(text)] == "LIVE | 09:40 ET, Oct. 2 - "
    assert named(text, published=date(2025, 10, 2)) == {"visa-revocation"}
    assert contradicted(text, published=date(2025, 10, 2)) == set()


def test_the_previous_year_is_counted_from_the_year_stated():
    positions = year_positions("In 2025 the ministry said the previous year was worse.", date(2025, 3, 1))
    assert sorted(positions.values()) == [2024, 2025]


def test_american_is_the_us_but_not_latin_american_or_the_oas():
    us = Names.of("United States")
    for text, expected in [("American helicopters", True), ("Latin American leaders", False),
                           ("the Organization of American States", False), ("the Inter-American Court", False)]:
        assert bool(us.search(fold(text), text)) is expected, text


@pytest.mark.parametrize("text, language, published, day", [
    # a request's own day, though what it asks for is not done
    ("El canciller colombiano pidió el 5 de noviembre a la OEA una reunión sobre los ataques contra lanchas.",
     "es", date(2025, 11, 7), date(2025, 11, 5)),
    # "citar" with a diplomat after it is a summons
    ("La Cancillería colombiana citó el 2 de diciembre al encargado de negocios de Estados Unidos por los bombardeos.",
     "es", date(2025, 12, 3), date(2025, 12, 2)),
    # the topic's side dealing with another country is news of the story
    ("Petro signed a trade deal with Japan on 3 November 2025.", "en", date(2025, 11, 4), date(2025, 11, 3)),
    ("Colombia abandonó el 14 de noviembre un acuerdo de patrullaje con Estados Unidos.", "es",
     date(2025, 11, 16), date(2025, 11, 14)),
])
def test_candidates_in_other_words(text, language, published, day):
    assert day in candidates(text, language=language, published=published)


@pytest.mark.parametrize("text, published", [
    ("El 4 de noviembre, Petro nombró a un nuevo ministro de Hacienda en la Casa de Nariño.", date(2025, 11, 5)),
    ("El alcalde de Bogotá inauguró el 3 de octubre un colegio en Bosa.", date(2025, 10, 4)),
])
def test_domestic_politics_is_no_candidate(text, published):
    assert candidates(text, language="es", published=published) == set()
