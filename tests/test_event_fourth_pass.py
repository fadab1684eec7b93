"""Rules of the event diff's fourth pass (classes of error seen on blind6.yaml), on short sentences of
our own: each test is one class, not one sentence of the set."""
from __future__ import annotations

from datetime import date

from event_helpers import contradicted, named, read


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


# --- the survey's figures: the UN and the measured year name the survey --------------------------

def test_the_parent_organisation_with_the_measured_year_names_the_survey():
    assert "coca-survey-2023" in named("Coca covered 253,000 hectares in 2023, the UN said.",
                                       published=date(2024, 11, 5))


def test_the_parent_organisation_with_the_measured_year_is_not_another_countrys_survey():
    assert "coca-survey-2023" not in named("Peru's coca grew to 95,000 hectares in 2023, the UN said.",
                                           published=date(2024, 11, 5))


def test_the_year_a_fact_measures_is_not_the_survey_date():
    text = "La ONUDD midió 253.000 hectáreas de coca en Colombia en 2023."
    assert "coca-survey-2023" in named(text, published=date(2024, 11, 5), language="es")


def test_a_spanish_mil_figure_is_read():
    text = "Según la ONUDD, en 2023 había 300 mil hectáreas de coca en Colombia."
    assert "timeline:coca-survey-2023:coca_hectares_2023" in contradicted(text, published=date(2024, 11, 5),
                                                                          language="es")


# --- days without a month name, or as words ---------------------------------------------------------

def _days(text: str, published: date, language: str = "en") -> list[tuple[str, str]]:
    from crawler.events.ordinals import ordinal_dates
    from crawler.facts import find_dates

    return [(str(d.start), d.precision) for d in ordinal_dates(text, published, find_dates(text, published, None,
                                                                                            language))]


def test_an_ordinal_day_alone_takes_the_month_of_publication():
    assert _days("The agreement signed on the 9th holds.", date(2025, 4, 12)) == [("2025-04-09", "day")]


def test_an_ordinal_day_alone_takes_the_month_the_sentence_names():
    assert ("2025-07-03", "day") in _days("In July, on the 3rd, both envoys left.", date(2025, 11, 1))


def test_an_ordinal_word_with_a_month_is_a_day():
    assert _days("On the twenty-fourth of October the Treasury acted.", date(2025, 11, 1)) == [("2025-10-24", "day")]


def test_a_weekday_with_its_day_number_is_that_day():
    assert _days("Eso pasó el viernes 24 en Bogotá.", date(2025, 11, 10), "es") == [("2025-10-24", "day")]


def test_ordinals_that_number_other_things_are_no_days():
    assert _days("Since the 21st century the 14th Amendment and the 5th Fleet.", date(2025, 11, 1)) == []
    assert [d for d in _days("Trump acted on Monday, 28 years after Clinton.", date(2025, 9, 17))
            if d[0] != "2025-09-15"] == []


def test_a_known_event_dated_by_an_ordinal_word_is_a_dated_mention():
    text = "On the twenty-fourth of October, the Treasury sanctioned Petro."
    diff = read(text, published=date(2025, 11, 1))
    assert {m.event_id for m in diff.mentions if m.flag is None} == {"ofac-sanctions"}
    assert any(s.fact == "date" and s.event_id == "ofac-sanctions" for s in diff.statements)
    assert "timeline:ofac-sanctions:date" in contradicted("On the twentieth of October, the Treasury sanctioned Petro.",
                                                          published=date(2025, 11, 1))


# --- bare titles and press names for the actors ------------------------------------------------------

def test_a_bare_title_names_the_head_of_state():
    assert "deportation-standoff" in named("The president turned back the deportation planes on Sunday.",
                                           published=date(2025, 1, 27))
    assert "visa-revocation" in named("El jefe de Estado se quedó sin visa el 26 de septiembre.",
                                      published=date(2025, 10, 1), language="es")


def test_a_title_of_another_countrys_leader_is_not_the_head_of_state():
    assert "deportation-standoff" not in named("The Ecuadorian president turned back the deportation planes.",
                                               published=date(2025, 1, 27))


def test_a_press_name_for_the_united_states_is_the_actor():
    assert "boat-strikes" in named("El vecino del norte atacó otra lancha en el Caribe el martes.",
                                   published=date(2025, 10, 30), language="es")


def test_colombias_head_of_state_is_the_colombian_president():
    assert "visa-revocation" in named("Washington revoked the visa of Colombia's head of state.",
                                      published=date(2025, 10, 1))


# --- follow-up actions: their date is theirs, they are candidates and mentions -----------------------

def _candidate_days(text: str, **kw) -> set[str]:
    return {str(c.date_start) for c in read(text, **kw).candidates}


def test_an_act_in_retaliation_for_a_known_event_is_a_follow_up():
    text = "Colombia suspended its arms purchases on 20 September in retaliation for the decertification."
    kw = {"published": date(2025, 9, 25)}
    assert "timeline:decertification:date" not in contradicted(text, **kw)
    assert "decertification" in named(text, **kw)
    assert "2025-09-20" in _candidate_days(text, **kw)


def test_a_vote_tally_is_not_a_sports_score():
    text = "The U.S. Senate voted 52-47 on October 29 to reject a resolution ending the boat strikes."
    assert "2025-10-29" in _candidate_days(text, published=date(2025, 10, 31))


def test_an_act_until_an_ongoing_campaign_stops_has_its_own_date():
    text = "Colombia halted police cooperation with the DEA on November 4 until the strikes on drug boats end."
    kw = {"published": date(2025, 11, 6)}
    assert "boat-strikes" in named(text, **kw)
    assert "2025-11-04" in _candidate_days(text, **kw)


def test_an_act_to_seek_the_end_of_a_known_event_is_a_follow_up():
    text = "Petro contrató el 5 de noviembre a dos abogados para pedir su salida de la lista Clinton."
    kw = {"published": date(2025, 11, 7), "language": "es"}
    assert "timeline:ofac-sanctions:date" not in contradicted(text, **kw)
    assert "2025-11-05" in _candidate_days(text, **kw)


# --- the event named again by a definite noun in the next sentence; "both ambassadors" ---------------

def test_a_definite_noun_after_the_sentence_naming_the_event_names_it_again():
    text = "Washington revoked Petro's visa on September 26. The revocation, announced on October 1, surprised nobody."
    found = contradicted(text, published=date(2025, 10, 10))
    assert {"internal:visa-revocation:date", "timeline:visa-revocation:date"} <= found


def test_a_definite_noun_alone_names_no_event():
    assert "visa-revocation" not in named("The revocation, announced on October 1, surprised nobody.",
                                          published=date(2025, 10, 10))


def test_both_ambassadors_name_both_sides():
    assert "ambassador-recall" in named("Both ambassadors were recalled on July 3.", published=date(2025, 7, 20))


# --- a date followed by "when / cuando", and clefts ("It was on … that") ---------------------------

def test_a_date_followed_by_cuando_dates_the_event():
    assert "timeline:ofac-sanctions:date" in contradicted("Fue el 2 de noviembre cuando el Tesoro sancionó a Petro.",
                                                          published=date(2025, 11, 20), language="es")


def test_a_cleft_date_dates_the_event():
    assert "timeline:ofac-sanctions:date" in contradicted("It was on October 30 that the Treasury sanctioned Petro.",
                                                          published=date(2025, 11, 20))


def test_a_sayings_date_before_that_is_not_the_events():
    assert not contradicted("Petro said on November 2 that the sanctions on Petro were unjust.",
                            published=date(2025, 11, 20))


# --- the head of state by title and country; non-political acts are no candidates ------------------

def test_the_title_with_the_country_names_the_head_of_state():
    text = "Colombia's leader, blacklisted by Washington on Friday, vowed to fight back."
    diff = read(text, published=date(2025, 10, 27))
    assert "ofac-sanctions" in {m.event_id for m in diff.mentions}
    assert not diff.candidates  # the known event's own day, told again


def test_a_former_holder_of_the_title_is_not_the_head_of_state():
    assert "visa-revocation" not in named("Former Colombian president Andrés Pastrana lost his visa on September 26.",
                                          published=date(2025, 10, 1))


def test_a_rescue_at_sea_is_no_candidate():
    text = "A U.S. Navy ship rescued six Colombian sailors whose freighter sank off Cartagena on November 9."
    assert not read(text, published=date(2025, 11, 12)).candidates


# --- an attributive date of the event's own words; labour strikes; verbs of changing an amount ------

def test_an_attributive_date_right_before_the_events_words_dates_it():
    assert "timeline:decertification:date" in contradicted("The September 19 decertification of Colombia shocked Bogotá.",
                                                           published=date(2025, 9, 30))


def test_an_attributive_date_of_another_noun_does_not():
    assert not contradicted("The September 19 speech attacked the decertification of Colombia.",
                            published=date(2025, 9, 30))


def test_a_labour_strike_is_not_a_military_one():
    text = "Port workers in Cartagena went on strike on November 3, and 20 boats stayed in port, the U.S. embassy said."
    assert "boat-strikes" not in named(text, published=date(2025, 11, 5))


def test_doubling_an_amount_is_an_action():
    text = "En octubre, Washington duplicó la recompensa por los jefes del narcotráfico en Colombia."
    assert {str(c.date_start)[:7] for c in read(text, published=date(2025, 11, 5), language="es").candidates} == {"2025-10"}


def test_an_act_against_a_measure_about_the_event_is_a_follow_up_at_some_distance():
    text = "The U.S. Senate voted on November 5, opposing a bipartisan resolution that would have ended the boat strikes."
    assert "2025-11-05" in _candidate_days(text, published=date(2025, 11, 7))


# --- agentless passives and Spanish impersonal "se": the act told without its actor ----------------

def test_an_agentless_passive_names_the_event():
    assert "boat-strikes" in named("Una lancha fue destruida con un misil en el Caribe el martes.",
                                   published=date(2025, 10, 30), language="es")


def test_an_impersonal_se_names_the_event():
    assert "boat-strikes" in named("Se atacó otra lancha en el Pacífico el jueves.",
                                   published=date(2025, 10, 30), language="es")


def test_a_passive_with_another_agent_does_not():
    assert "boat-strikes" not in named("Una lancha fue destruida por la Armada de Ecuador el martes.",
                                       published=date(2025, 10, 30), language="es")


# --- a word inside a long alias; the presidential palace names its country --------------------------

def test_a_long_alias_may_take_one_more_word_inside_it():
    assert "deportation-standoff" in named("Petro bloqueó los vuelos militares con deportados.",
                                           published=date(2025, 1, 27), language="es")


def test_the_presidential_palace_names_its_country():
    assert "deportation-standoff" in named("La Casa de Nariño rechazó los aviones con deportados.",
                                           published=date(2025, 1, 27), language="es")


# --- dated non-political news naming a watched country ------------------------------------------------

def test_sport_and_culture_news_are_no_candidates():
    for text in ("Un ciclista colombiano llegó el 4 de septiembre a la meta del Tour con una medalla.",
                 "A Colombian film premiered in U.S. cinemas on October 3 to strong reviews.",
                 "A Colombian tennis player reached the quarterfinals of the U.S. Open on September 2."):
        assert not read(text, published=date(2025, 10, 6)).candidates, text


def test_treasury_bonds_are_not_the_treasury():
    text = "El Gobierno colocó bonos del Tesoro colombiano en Nueva York el 5 de noviembre con Estados Unidos."
    assert all("Treasury" not in c.actors for c in read(text, published=date(2025, 11, 7), language="es").candidates)


def test_a_verdict_before_the_claim_denies_it():
    text = "Veredicto: falso. Circula en redes que el Tesoro sancionó a Petro el 2 de octubre."
    assert not contradicted(text, published=date(2025, 11, 5), language="es")


def test_a_correction_of_the_texts_own_claim_states_nothing():
    text = "Correction: An earlier version of this story said the Treasury sanctioned Petro on October 2."
    assert not contradicted(text, published=date(2025, 11, 5))


def test_a_verdict_after_a_claim_does_not_deny_the_next_sentence():
    text = "Claim: the Treasury sanctioned Petro on November 2. Rating: False. The Treasury sanctioned Petro on October 20."
    assert "timeline:ofac-sanctions:date" in contradicted(text, published=date(2025, 11, 5))


# --- "Eso fue el …", "That was on …": a date told just after the event ------------------------------

def test_a_sentence_dating_the_one_before_states_its_events_date():
    text = "Petro devolvió los aviones con deportados. Eso fue el 29 de enero, un miércoles."
    kw = {"published": date(2025, 3, 1), "language": "es"}
    assert "timeline:deportation-standoff:date" in contradicted(text, **kw)
    assert "deportation-standoff" not in named(text, **kw)  # flagged: named at a contradicted date


def test_a_sentence_dating_the_one_before_at_its_date_agrees():
    text = "Petro turned back the deportation flights. That was on January 26."
    diff = read(text, published=date(2025, 3, 1))
    assert not diff.contradictions and any(s.fact == "date" for s in diff.statements)


# --- the agency's act against other targets is not the known event --------------------------------

def test_the_agency_sanctioning_others_is_not_the_known_event():
    text = "OFAC also sanctioned three Clan del Golfo financiers on November 20 for laundering cocaine money."
    kw = {"published": date(2025, 11, 24)}
    assert "timeline:ofac-sanctions:date" not in contradicted(text, **kw)
    assert "ofac-sanctions" not in named(text, **kw)


def test_revoking_the_visas_of_others_is_not_the_known_event():
    text = "On October 2, Washington revoked the visas of five aides of the Colombian president."
    assert not contradicted(text, published=date(2025, 10, 10))


def test_the_agency_sanctioning_the_person_still_is():
    assert "ofac-sanctions" in named("OFAC sanctioned Petro and two of his relatives on October 24.",
                                     published=date(2025, 11, 24))


# --- an answer after a closed Spanish question is not a question --------------------------------------

def test_the_answer_after_a_closed_question_is_not_a_question():
    text = "—¿Cuándo empezó la crisis? —El 3 de julio, cuando Washington llamó a consultas a su embajador."
    assert "ambassador-recall" in named(text, published=date(2025, 8, 1), language="es")


def test_words_inside_an_open_question_still_are():
    text = "¿Llamó Washington a consultas a su embajador el 3 de julio?"
    assert "ambassador-recall" not in named(text, published=date(2025, 8, 1), language="es")


def test_a_weekday_before_the_day_it_names_is_that_day():
    assert _days("La sanción llegó el viernes 24 de octubre.", date(2025, 11, 7), "es") == [("2025-10-24", "day")]
    text = "El Tesoro sancionó a Petro el lunes 3 de noviembre."
    assert "timeline:ofac-sanctions:date" in contradicted(text, published=date(2025, 11, 7), language="es")


# --- figures written in words ------------------------------------------------------------------------

def test_a_figure_in_english_words_is_a_statement():
    text = "Colombia received some nine hundred million dollars in U.S. aid in 2024."
    assert "timeline:aid-cut:us_aid_2024" in contradicted(text, published=date(2025, 10, 25))


def test_a_figure_in_spanish_words_is_a_statement():
    text = "Colombia recibió en 2024 unos trescientos millones de dólares de ayuda estadounidense."
    assert "timeline:aid-cut:us_aid_2024" in contradicted(text, published=date(2025, 10, 25), language="es")


def test_a_spelled_figure_that_agrees_is_no_contradiction():
    text = "More than a quarter of a million hectares of coca grew in Colombia in 2023, the UNODC said."
    assert not contradicted(text, published=date(2024, 11, 5))


def test_a_scale_after_digits_is_read_once():
    from crawler.events.numberwords import word_quantities

    assert word_quantities("Colombia recibió 590 millones de dólares en 2024.") == []
