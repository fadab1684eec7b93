"""How the event diff reads a sentence (crawler/events/): lemmas and demonyms,
modality, dates, evidence, candidates. Pure: diff_text on short texts against
the test timeline, what an analyst would check in `newsmon report`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crawler.events.diff import diff_text
from crawler.events.timeline import read_timeline
from crawler.facts import find_dates, metadata_prefix

TIMELINE = read_timeline(Path(__file__).parent / "fixtures" / "events" / "timeline.yaml")


def read(text: str, published=date(2025, 11, 20), language: str = "en"):
    return diff_text(text, TIMELINE, published, language, None, published)


def mentions(text: str, **kw) -> list[str]:
    return [m.event_id for m in read(text, **kw).mentions if m.flag is None]


@pytest.mark.parametrize("text, language, event", [
    ("A US missile struck a suspected drug vessel off Venezuela on 14 October.", "en", "boat-strikes"),
    ("Washington stripped Petro of his visa after the speech.", "en", "visa-revocation"),
    ("A Petro le quitaron la visa tras el discurso.", "es", "visa-revocation"),
    ("Both governments summoned their envoys home for consultations.", "en", "ambassador-recall"),
    ("Trump decidió cortar toda la ayuda a Colombia.", "es", "aid-cut"),
    ("Las embarcaciones atacadas por Estados Unidos llevaban droga.", "es", "boat-strikes"),
])
def test_inflections_synonyms_and_demonyms_name_the_event(text, language, event):
    diff = read(text, language=language)
    assert event in [m.event_id for m in diff.mentions]
    assert "lemmas" in next(m.how for m in diff.mentions if m.event_id == event)


@pytest.mark.parametrize("text, language, actor", [
    ("The Colombian government recalled its envoys for consultations.", "en", "Colombia"),
    ("El Gobierno estadounidense retiró a su embajador en Bogotá.", "es", "United States"),
])
def test_a_demonym_or_a_spanish_form_names_the_actor(text, language, actor):
    [mention] = read(text, language=language).mentions
    assert mention.event_id == "ambassador-recall" and f"with {actor}" in mention.how


def test_the_written_form_scores_higher_than_the_lemma_form():
    written = next(m for m in read("Washington revoked Petro's visa.").mentions)
    lemmas = next(m for m in read("Washington stripped Petro of his visa.").mentions)
    assert written.confidence > lemmas.confidence and "lemmas" not in written.how


def test_an_event_is_found_from_its_own_evidence_date_actor_and_title_word():
    diff = read("On January 26, Trump imposed 25% tariffs on Colombian goods.", published=date(2025, 1, 27))
    hit = next(m for m in diff.mentions if m.event_id == "deportation-standoff")
    assert "its date 'January 26'" in hit.how and "Trump" in hit.how and hit.confidence < 0.7
    assert diff.candidates == []  # the stand-off told in other words, not a new event


@pytest.mark.parametrize("text", [
    "If Washington sanctioned Petro, markets would fall.",
    "Will Trump revoke Petro's visa?",
    "¿Revocará Washington la visa de Petro?",
    "Washington is considering decertifying Colombia.",
    "Trump threatened to cut all aid to Colombia.",
    "The State Department did not revoke Petro's visa.",
    "The Treasury denied reports that it had sanctioned Petro.",
    "The embassy rejected as 'fabricated' a claim that Washington had sanctioned Petro.",
    "Es falso que Washington haya sancionado a Petro.",
])
def test_questions_conditions_plans_negations_and_denials_are_not_the_event_happening(text):
    language = "es" if text.startswith(("¿", "Es ")) else "en"
    assert mentions(text, language=language) == []


def test_a_presupposed_event_is_mentioned_whatever_the_mood_of_the_sentence():
    assert mentions("Petro may travel to Washington if talks on the aid cut advance.") == ["aid-cut"]
    assert mentions("Will the decertification hurt Colombian exports?") == ["decertification"]


def test_a_year_bounding_a_period_does_not_cancel_the_mention():
    text = "Estados Unidos descertificó a Colombia el 15 de septiembre por primera vez desde 1997."
    diff = read(text, published=date(2025, 9, 16), language="es")
    assert [m.event_id for m in diff.mentions] == ["decertification"] and diff.contradictions == []


def test_a_contradicted_date_is_a_flagged_mention_of_the_event():
    diff = read("On September 22, the White House decertified Colombia.", published=date(2025, 9, 25))
    assert [(c.event_id, c.fact) for c in diff.contradictions] == [("decertification", "date")]
    assert [(m.event_id, m.flag) for m in diff.mentions] == [("decertification", "date-contradicted")]


def test_an_announcement_dates_what_it_announces():
    diff = read("The White House announced on Sept. 22 that it had decertified Colombia.",
                published=date(2025, 9, 25))
    assert [(c.event_id, c.stated_value) for c in diff.contradictions] == [("decertification", "2025-09-22")]


def test_relative_dates_are_anchored_on_publication_and_on_the_last_date_stated():
    published = date(2025, 11, 12)  # a Wednesday
    spans = {d.text: (d.start, d.end, d.precision) for d in find_dates(
        "In mid-August, la semana pasada, three days ago and this fall", published)}
    assert spans["mid-August"] == (date(2025, 8, 1), date(2025, 8, 31), "month")
    assert spans["la semana pasada"] == (date(2025, 11, 3), date(2025, 11, 9), "week")
    assert spans["three days ago"][0] == date(2025, 11, 9)
    assert spans["this fall"][:2] == (date(2025, 9, 1), date(2025, 11, 30))
    following = find_dates("the following month", published, anchor=date(2025, 9, 15))
    assert (following[0].start, following[0].precision) == (date(2025, 10, 1), "month")


def test_live_blog_timestamps_and_datelines_are_not_the_news_dates():
    assert metadata_prefix("Updated November 3, 2025 — Petro said") == len("Updated November 3, 2025 — ")
    assert metadata_prefix("BOGOTA, Nov 14 (Reuters) - Colombia") == len("BOGOTA, Nov 14 (Reuters) - ")
    assert metadata_prefix("On November 3, 2025 Petro said") == 0
    diff = read("Updated November 3, 2025 — Petro's visa was revoked by the State Department.",
                published=date(2025, 11, 3))
    assert diff.contradictions == [] and [m.event_id for m in diff.mentions] == ["visa-revocation"]


def test_a_follow_up_action_about_a_known_event_is_a_candidate_that_explains_itself():
    diff = read("Colombia filed suit against the decertification at the WTO on 3 November 2025.",
                published=date(2025, 11, 4))
    assert [m.event_id for m in diff.mentions] == ["decertification"] and diff.contradictions == []
    [candidate] = diff.candidates
    assert candidate.date_start == date(2025, 11, 3)
    assert "actor Colombia" in candidate.explanation and "'filed' (file" in candidate.explanation
    assert "'3 November 2025'" in candidate.explanation and "follows up decertification" in candidate.explanation


@pytest.mark.parametrize("text", [
    "Colombia being designated a drug transit country was expected.",
    "The conditions had been met in full, the Treasury said.",
    "Trump has threatened to cut all aid to Colombia.",
    "El anuncio de Petro sorprendió a la Casa Blanca.",
    "Petro recalled how Washington had treated Colombia as a partner.",
])
def test_an_undated_sentence_is_not_dated_from_the_publication_month(text):
    assert read(text, language="es" if text.startswith("El ") else "en").candidates == []


def test_a_present_tense_lede_reports_the_articles_own_news():
    text = ("Colombia expels the US military mission\n"
            "Colombia has expelled the US military mission from Bogota, the defence ministry said on a day of "
            "protests outside the embassy and angry statements from both governments about the future.")
    [candidate] = read(text, published=date(2025, 12, 3)).candidates
    assert (candidate.date_start, candidate.precision) == (date(2025, 12, 1), "month")
    assert "present-tense lede" in candidate.explanation


def test_a_watched_actor_in_another_story_proposes_no_candidate():
    assert read("President Trump imposed 34% tariffs on Chinese goods on April 2.",
                published=date(2025, 4, 3)).candidates == []
    assert read("Trump imposed 34% tariffs on Colombian coffee on April 2.",
                published=date(2025, 4, 3)).candidates != []


@pytest.mark.parametrize("text", [
    "In 2024, US aid to Colombia amounted to about $11 per Colombian.",
    "Colombia eradicated 9,000 hectares of coca in 2023.",
    "En 2023 se erradicaron 9.000 hectáreas de coca en Colombia.",
])
def test_a_figure_per_person_or_of_another_measure_is_not_the_fact(text):
    diff = read(text, published=date(2025, 6, 1), language="es" if text.startswith("En ") else "en")
    assert diff.statements == [] and diff.contradictions == []


def test_last_weekday_written_on_that_weekday_is_a_week_ago():
    thursday = date(2025, 11, 20)
    assert [d.start for d in find_dates("last Thursday", thursday)] == [date(2025, 11, 13)]
    assert [d.start for d in find_dates("el jueves pasado", thursday)] == [date(2025, 11, 13)]
    assert [d.start for d in find_dates("on Thursday", thursday)] == [thursday]
