"""Rules of the event diff's fourth pass (classes of error seen on blind6.yaml), on short sentences of
our own: each test is one class, not one sentence of the set."""
from __future__ import annotations

from datetime import date

from tests.event_helpers import contradicted, named, read


# --- fact checks: a claim the text rates false is not a statement ----------------------------------

def test_a_labelled_claim_rated_false_in_the_next_sentence_states_no_date():
    text = "Claim: the Treasury sanctioned Petro on November 2. Verdict: False. It did so in October."
    assert "timeline:ofac-sanctions:date" not in contradicted(text)
    assert "ofac-sanctions" in named(text)


def test_a_viral_post_answered_with_that_is_wrong_states_no_date():
    text = ("A widely shared post says Washington recalled its ambassador on June 20. "
            "That is false: the recall came in July.")
    assert not contradicted(text, published=date(2025, 7, 30))


def test_a_quoted_claim_rated_false_states_no_date():
    text = "'El Tesoro sancionó a Petro el 2 de noviembre': falso. La sanción fue en octubre."
    assert "timeline:ofac-sanctions:date" not in contradicted(text, language="es")


def test_a_figure_in_a_claim_rated_false_is_no_statement():
    text = "Claim: Colombia got $3 billion in U.S. aid in 2024. Rating: false."
    assert not contradicted(text)


def test_a_false_verdict_opening_the_sentence_covers_its_first_clause_only():
    text = "Falso que la ONUDD haya contado 400.000 hectáreas de coca en 2023; contó 253.000."
    assert not contradicted(text, published=date(2024, 11, 5), language="es")
