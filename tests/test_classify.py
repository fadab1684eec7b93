"""Topic classification: the rule language, the default US–Colombia topic on
the seed articles and on off-topic stories, the archive rows the stage writes,
and `newsmon explain`."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text as sql

from crawler.classify import Document, compile_rule, compile_topics
from crawler.rules import validate_topics
from crawler.stages.classify import ClassifyStage
from crawler.config import ConfigError, parse_config, read_config
from storage.db import session_scope
from storage.models import Article

from conftest import add_article as shared_add_article
from cli_helpers import REPO, run_newsmon

FIXTURES = Path(__file__).parent / "fixtures"
TOPICS_FILE = FIXTURES / "topics.us-colombia.yaml"
OFFTOPIC = sorted((FIXTURES / "offtopic").glob("*.txt"))
ALL_THEMES = {"drugs-coca", "migration-deportations", "trade-tariffs", "sanctions-visas", "us-aid",
              "military-strikes", "diplomacy", "china-venezuela", "elections", "armed-groups"}


def topics_config(**overrides):
    data = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    data["topics"][0].update(overrides)
    return parse_config(data, str(TOPICS_FILE))


def classify_story(story: str):
    """The us-colombia result for a story whose first line is its title."""
    title, _, body = story.partition("\n")
    return compile_topics(topics_config().topics).classify(title, body)[0]


def matches(rule: str, text: str, title: str | None = None):
    return compile_rule(rule).match(Document(title, text))


def matched_words(rule: str, text: str) -> list[str]:
    found = matches(rule, text)
    return [h.matched for h in found.hits] if found else []


# --- the default topic on the seeds and on off-topic stories ---------------------------

SEED_THEMES = {
    # prefix: (themes it must match, themes it must not match)
    "000": ({"drugs-coca", "migration-deportations", "trade-tariffs", "sanctions-visas", "military-strikes",
             "china-venezuela", "elections", "armed-groups"}, {"us-aid"}),
    "001": ({"drugs-coca", "migration-deportations", "trade-tariffs", "sanctions-visas", "us-aid",
             "military-strikes", "diplomacy", "china-venezuela", "armed-groups"}, {"elections"}),
    "002": ({"drugs-coca", "migration-deportations", "trade-tariffs", "sanctions-visas", "us-aid",
             "military-strikes", "diplomacy", "armed-groups"}, {"elections"}),
    "003": ({"drugs-coca", "diplomacy", "armed-groups", "migration-deportations", "elections"},
            {"us-aid", "military-strikes"}),
    "004": ({"drugs-coca", "us-aid", "military-strikes", "armed-groups"},
            {"migration-deportations", "trade-tariffs", "sanctions-visas"}),
}


@pytest.mark.parametrize("prefix", sorted(SEED_THEMES))
def test_every_seed_is_relevant_to_us_colombia(seed_texts, prefix):
    result = classify_story(seed_texts[prefix])
    assert result.gate_ok
    assert result.relevant
    assert result.score >= topics_config().topics[0].threshold


@pytest.mark.parametrize("prefix", sorted(SEED_THEMES))
def test_seed_matches_its_expected_themes_and_not_the_absent_ones(seed_texts, prefix):
    must, must_not = SEED_THEMES[prefix]
    matched = {t.name for t in classify_story(seed_texts[prefix]).themes}
    assert must <= matched, f"missing themes: {must - matched}"
    assert not (must_not & matched), f"unexpected themes: {must_not & matched}"


def test_offtopic_fixtures_cover_the_required_kinds_of_story():
    names = {p.stem for p in OFFTOPIC}
    assert len(names) >= 4
    assert {"market-wrap", "weather-report", "sports-us-colombia-friendly", "mexico-us-trade",
            "espanol-vivienda-madrid"} <= names


@pytest.mark.parametrize("path", OFFTOPIC, ids=lambda p: p.stem)
def test_offtopic_story_scores_below_the_threshold(path):
    result = classify_story(path.read_text(encoding="utf-8"))
    assert result.score < topics_config().topics[0].threshold
    assert not result.relevant


@pytest.mark.parametrize("stem", ["mexico-us-trade", "venezuela-us-strikes"])
def test_single_country_story_matches_themes_but_fails_the_us_and_colombia_gate(stem):
    result = classify_story((FIXTURES / "offtopic" / f"{stem}.txt").read_text(encoding="utf-8"))
    assert result.themes, "the story is full of theme words; the gate is what keeps it out"
    assert not result.gate_ok
    assert result.score == 0


def test_spanish_story_matches_spanish_terms_without_accents_in_the_rules():
    story = ("Petro rechaza los vuelos de deportación desde Estados Unidos\n"
             "El presidente Gustavo Petro impidió el aterrizaje de dos aviones con migrantes deportados "
             "desde EE.UU. y Washington respondió con aranceles del 25% a las importaciones de Colombia "
             "y la revocación de visas a funcionarios colombianos.")
    result = classify_story(story)
    assert result.relevant
    matched = {t.name: t for t in result.themes}
    assert {"migration-deportations", "trade-tariffs", "sanctions-visas"} <= set(matched)
    assert "deportación" in {h.matched for h in matched["migration-deportations"].hits}


def test_example_config_ships_the_same_topic_as_the_fixture():
    example = read_config(REPO / "newsmon" / "data" / "newsmon.example.yaml")
    assert [t.model_dump() for t in example.topics] == [t.model_dump() for t in topics_config().topics]
    assert {t.name for t in example.topics[0].themes} == ALL_THEMES


# --- the rule language ---------------------------------------------------------------


def test_and_needs_both_terms():
    assert matches("coca AND cocaine", "coca fields and cocaine labs")
    assert not matches("coca AND cocaine", "coca fields only")


def test_or_needs_either_term():
    assert matches("heroin OR cocaine", "a cocaine lab")
    assert not matches("heroin OR cocaine", "a coffee farm")


def test_not_excludes_articles_with_the_term():
    assert matches("coca NOT cola", "coca growers protest")
    assert not matches("coca NOT cola", "coca growers drink Coca-Cola")
    assert not matches("coca AND NOT cola", "coca cola")


def test_adjacent_terms_are_joined_by_and():
    assert matches("coca cultivation", "cultivation of coca rose")
    assert not matches("coca cultivation", "coca prices rose")


def test_and_binds_tighter_than_or():
    rule = "petro AND visa OR tariffs"
    assert matches(rule, "new tariffs announced")
    assert matches(rule, "Petro lost his visa")
    assert not matches(rule, "Petro spoke")


def test_parentheses_group():
    rule = "petro AND (visa OR tariffs)"
    assert not matches(rule, "new tariffs announced")
    assert matches(rule, "Petro and the tariffs")


def test_trailing_wildcard_matches_word_prefixes_in_both_languages():
    text = "Deportation flights, deportees and la deportación; a report and a passport."
    assert matched_words("deport*", text) == ["Deportation", "deportees", "deportación"]


def test_phrase_matches_consecutive_words_across_punctuation_and_spacing():
    assert matched_words('"drug trafficking"', "drug-trafficking, drug  trafficking and drug\ntrafficking") == [
        "drug-trafficking", "drug  trafficking", "drug\ntrafficking"]
    assert matched_words('"u.s."', "the U.S. said; the U S said") == ["U.S", "U S"]
    assert not matches('"drug trafficking"', "trafficking in drug markets")


def test_near_matches_within_n_words_in_any_order():
    rule = "petro NEAR/3 visa"
    assert matches(rule, "Petro lost his US visa")  # 3 words between
    assert matches(rule, "the visa held by Petro")  # reversed order
    assert not matches(rule, "Petro lost his American tourist visa")  # 4 words between


def test_near_takes_phrases_groups_and_the_lucene_proximity_form():
    rule = '"gustavo petro" NEAR/4 (visa OR visado)'
    assert matched_words(rule, "Gustavo Petro se quedó sin visado") == ["Gustavo Petro", "visado"]
    assert not matches(rule, "Gustavo Petro habló ayer en Nueva York sin visado")
    assert matches('"petro visa"~2', "visa of president Petro")
    assert not matches('"petro visa"~2', "visa of the president, Petro")


def test_near_hits_are_only_the_occurrences_close_together():
    text = "Petro spoke. Many other words here fill the sentence before the tariffs on Colombia."
    assert matched_words("tariffs NEAR/2 (colombia OR petro)", text) == ["tariffs", "Colombia"]


def test_matching_ignores_accents_in_the_rule_and_in_the_text():
    assert matches("deportación", "la deportacion de migrantes")
    assert matches("deportacion", "LA DEPORTACIÓN DE MIGRANTES")
    assert matches('"Bogotá"', "Bogota\u0301 said")  # decomposed accent in the text


def test_matching_ignores_case_and_typography():
    assert matches('"petro\'s visa"', "Petro\u2019s VISA was revoked")


def test_terms_match_whole_words_only():
    assert not matches("ELN", "Elnora Smith met Elnath")
    assert matches("ELN", "the ELN, a guerrilla")
    assert not matches("coca", "Coca\u00edna")  # "cocaína" is another word, not coca


def test_offsets_point_at_the_matched_text_in_the_original_string():
    text = ("\u201cStra\u00dfe\u201d \u2014 la deportaci\u00f3n de Petro\u2019s aliados en Bogota\u0301; "
            "\ufb01nance ministers said DEPORTACI\u00d3N.")
    rule = "strasse OR deportacion OR petro OR bogota OR finance"
    hits = matches(rule, text).hits
    assert [text[h.start:h.end] for h in hits] == [h.matched for h in hits]
    assert sorted(h.matched for h in hits) == sorted(
        ["Stra\u00dfe", "deportaci\u00f3n", "Petro", "Bogota\u0301", "\ufb01nance", "DEPORTACI\u00d3N"])
    assert all(h.field == "text" for h in hits)


def test_title_hits_are_marked_and_count_three_times():
    topics = parse_config({"topics": [{"name": "t", "themes": [{"name": "drugs", "rule": "coca"}]}]}).topics
    compiled = compile_topics(topics)
    in_text = compiled.classify("Farmers protest", "coca prices")[0]
    in_title = compiled.classify("Coca prices", "farmers protest")[0]
    assert in_text.themes[0].score == 1.0  # 1 × log2(1 + 1)
    assert in_title.themes[0].score == 2.0  # 1 × log2(1 + 3)
    assert in_title.themes[0].hits[0].field == "title"


def test_score_sums_weighted_themes_and_threshold_decides_relevance():
    topics = parse_config({"topics": [{"name": "t", "threshold": 2.5, "themes": [
        {"name": "drugs", "rule": "coca", "weight": 2},
        {"name": "aid", "rule": "usaid", "weight": 0.5}]}]}).topics
    compiled = compile_topics(topics)
    both = compiled.classify(None, "coca and usaid")[0]
    assert both.score == 2.5 and both.relevant
    one = compiled.classify(None, "coca only")[0]
    assert one.score == 2.0 and not one.relevant


def test_clause_shows_the_satisfied_part_of_the_rule():
    found = matches("(coca OR cocaine OR heroin) AND (colombia OR peru) NOT bolivia",
                    "coca and cocaine from Colombia")
    assert found.clause == "(coca OR cocaine) AND colombia AND NOT bolivia"


def test_near_clause_keeps_only_the_alternatives_that_were_close():
    found = matches('(coca OR cocaine OR heroin) NEAR/3 (colombia OR "united states")',
                    "cocaine from Colombia is seized, police said, while heroin is sold far away in the United States")
    assert found.clause == "cocaine NEAR/3 colombia"


def test_overlapping_terms_count_as_one_place():
    topics = parse_config({"topics": [{"name": "t", "themes": [
        {"name": "strikes", "rule": '"military strikes" OR strikes'}]}]}).topics
    theme = compile_topics(topics).classify(None, "US military strikes, and more strikes")[0].themes[0]
    assert len(theme.hits) == 3
    assert (theme.title_hits, theme.text_hits) == (0, 2)
    assert theme.score == round(math.log2(3), 4)


BAD_RULES = [
    ('""', "empty term"),
    ('"united states', "unbalanced quotes"),
    ("(petro OR visa", "unbalanced parentheses"),
    ("petro OR visa)", "unbalanced parentheses"),
    ("petro AMD visa", "unknown operator 'AMD'"),
    ("petro NEAR visa", "NEAR needs a distance"),
    ("petro AND", "dangling operator AND"),
    ("OR petro", "dangling operator OR"),
    ("petro NOT", "dangling operator NOT"),
    ("petro and visa", "upper case"),
    ("()", "empty group"),
    ("NOT petro", "NOT can only narrow"),
    ("*port", "trailing * wildcard"),
    ("title:petro", "not supported"),
]


@pytest.mark.parametrize("rule,problem", BAD_RULES, ids=[r for r, _ in BAD_RULES])
def test_bad_rule_raises_config_error_naming_topic_theme_and_rule(rule, problem):
    with pytest.raises(ConfigError) as caught:  # config loading runs validate_topics
        parse_config({"topics": [{"name": "bilateral", "themes": [
            {"name": "fine", "rule": "coca"}, {"name": "broken", "rule": rule}]}]})
    message = str(caught.value)
    assert "'bilateral'" in message and "'broken'" in message and repr(rule) in message
    assert problem in message


def test_bad_require_rule_is_named_too():
    with pytest.raises(ConfigError, match=r"us-colombia.*require rule.*dangling operator AND"):
        topics_config(require="colombia AND")


def test_valid_topics_pass_validation():
    validate_topics(topics_config())


# --- the stage on a real archive -------------------------------------------------------


def add_article(session, text: str, title: str | None, url: str = "https://example.org/a"):
    return shared_add_article(session, text=text, title=title or "", url=url)


def theme_rows(url: str, article_id: int) -> list[tuple]:
    with session_scope(url) as session:
        return [tuple(r) for r in session.execute(sql(
            "SELECT topic, theme, score, weight, topic_score, relevant FROM v_article_themes "
            "WHERE article_id = :id ORDER BY theme"), {"id": article_id})]


def run_stage(url: str, config, article_id: int) -> None:
    stage = ClassifyStage(config)
    with session_scope(url) as session:
        stage.process(session, session.get(Article, article_id))


def test_stage_writes_themes_visible_in_the_view_and_is_idempotent(db_url, seed_texts):
    title, _, body = seed_texts["003"].partition("\n")
    with session_scope(db_url) as session:
        article_id = add_article(session, body, title).id
    config = topics_config()
    run_stage(db_url, config, article_id)
    first = theme_rows(db_url, article_id)
    expected = {t.name for t in classify_story(seed_texts["003"]).themes}
    assert {r[1] for r in first} == expected
    assert {r[0] for r in first} == {"us-colombia"}
    assert all(bool(r[5]) for r in first) and first[0][4] >= 3.0
    with session_scope(db_url) as session:
        hits_before = session.execute(sql("SELECT COUNT(*) FROM term_hits")).scalar_one()
        stored = session.execute(sql(
            "SELECT h.matched, h.field, h.start_offset, h.end_offset, a.text FROM term_hits h "
            "JOIN theme_matches m ON m.id = h.theme_match_id JOIN article_topics t ON t.id = m.article_topic_id "
            "JOIN articles a ON a.id = t.article_id WHERE h.field = 'text'")).all()
        assert session.get(Article, article_id).relevant is True
    assert hits_before > 10
    assert all(text_[start:end] == matched for matched, _, start, end, text_ in stored)

    run_stage(db_url, config, article_id)
    assert theme_rows(db_url, article_id) == first
    with session_scope(db_url) as session:
        assert session.execute(sql("SELECT COUNT(*) FROM term_hits")).scalar_one() == hits_before
        assert session.execute(sql("SELECT COUNT(*) FROM article_topics")).scalar_one() == 1


def test_stage_blanks_irrelevant_text_when_the_topic_says_so(sqlite_url, seed_texts):
    config = topics_config(keep_irrelevant_text=False)
    with session_scope(sqlite_url) as session:
        weather = add_article(session, (FIXTURES / "offtopic" / "weather-report.txt").read_text(), "Rain",
                              url="https://example.org/weather").id
        seed = add_article(session, seed_texts["004"], "US-Colombia alliance", url="https://example.org/seed").id
    run_stage(sqlite_url, config, weather)
    run_stage(sqlite_url, config, seed)
    with session_scope(sqlite_url) as session:
        off = session.get(Article, weather)
        assert off.relevant is False and off.text == ""
        assert off.versions[0].raw_html == b"x"
        on = session.get(Article, seed)
        assert on.relevant is True and on.text == seed_texts["004"]


def test_stage_without_topics_leaves_relevance_unknown_and_clears_old_rows(sqlite_url, seed_texts):
    with session_scope(sqlite_url) as session:
        article_id = add_article(session, seed_texts["001"], "Rift").id
    run_stage(sqlite_url, topics_config(), article_id)
    assert theme_rows(sqlite_url, article_id)
    run_stage(sqlite_url, parse_config({}), article_id)
    assert theme_rows(sqlite_url, article_id) == []
    with session_scope(sqlite_url) as session:
        assert session.get(Article, article_id).relevant is None


# --- newsmon explain -------------------------------------------------------------------


@pytest.fixture
def explain_setup(tmp_path, seed_texts):
    """A config with the default topic and an archive holding one classified seed."""
    from storage.db import migrate

    db = tmp_path / "archive.db"
    url = f"sqlite:///{db}"
    migrate(url)
    data = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    data["database_url"] = url
    config_path = tmp_path / "newsmon.yaml"
    config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    title, _, body = seed_texts["003"].partition("\n")
    with session_scope(url) as session:
        article_id = add_article(session, body, "US recalls top diplomat in Colombia").id
    run_stage(url, read_config(config_path), article_id)
    return config_path, article_id


def test_explain_shows_score_arithmetic_and_terms_in_context(explain_setup):
    config_path, article_id = explain_setup
    done = run_newsmon("--config", str(config_path), "explain", str(article_id))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "US recalls top diplomat in Colombia" in out
    assert "Topic us-colombia: score" in out and "threshold 3 → relevant" in out
    assert "Theme armed-groups: 1 × log2(1 + " in out
    assert "National Liberation Army ([[ELN]])" in out
    assert "[[diplomat]]" in out  # the title hit
    assert "required clause satisfied:" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_explain_unknown_article_exits_2_with_one_line(explain_setup):
    config_path, _ = explain_setup
    done = run_newsmon("--config", str(config_path), "explain", "9999")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no article with id 9999" in done.stderr
    assert "Traceback" not in done.stderr


def test_explain_says_when_the_gate_kept_matching_themes_out(explain_setup):
    config_path, _ = explain_setup
    config = read_config(config_path)
    story = (FIXTURES / "offtopic" / "mexico-us-trade.txt").read_text(encoding="utf-8")
    title, _, body = story.partition("\n")
    with session_scope(config.effective_database_url()) as session:
        article_id = add_article(session, body, title, url="https://example.org/mexico").id
    run_stage(config.effective_database_url(), config, article_id)
    done = run_newsmon("--config", str(config_path), "explain", str(article_id))
    assert done.returncode == 0, done.stderr
    assert "score 0.00 < threshold 3 → not relevant" in done.stdout
    assert "required clause NOT satisfied" in done.stdout
    assert "[[fentanyl]]" in done.stdout


def test_explain_highlights_with_rich_markup_on_a_terminal(explain_setup):
    from sqlalchemy.orm import selectinload

    from newsmon.explain import explain_lines
    from storage.models import ArticleTopic, ThemeMatch

    config_path, article_id = explain_setup
    config = read_config(config_path)
    with session_scope(config.effective_database_url()) as session:
        rows = session.query(ArticleTopic).options(
            selectinload(ArticleTopic.themes).selectinload(ThemeMatch.hits)).all()
        lines = explain_lines(session.get(Article, article_id), rows, config, rich=True)
    report = "\n".join(lines)
    assert "[bold reverse]ELN[/bold reverse]" in report
    assert "[[" not in report


def test_article_without_title_or_text_is_classified_not_relevant(sqlite_url):
    with session_scope(sqlite_url) as session:
        article = add_article(session, "", None, url="https://example.org/empty")
        article.text = None
        article_id = article.id
    run_stage(sqlite_url, topics_config(), article_id)
    with session_scope(sqlite_url) as session:
        assert session.get(Article, article_id).relevant is False
    assert theme_rows(sqlite_url, article_id) == []


@pytest.mark.timeout(120)  # a safety net: quadratic NEAR on this page would take hours (speed: bench/)
def test_near_on_a_long_article_is_classified(seed_texts):
    """NEAR looks only inside the window, so a 1 MB page does not go quadratic."""
    result = classify_story(seed_texts["002"] * 30)
    assert result.relevant


# --- word senses in the shipped topic ----------------------------------------------------

# The US-and-Colombia gate, far enough (20+ words) from the sentence under test for no NEAR to reach it.
GATE = (" The weather was mild and the streets of the old town were quiet for most of that long and "
        "uneventful week in late autumn. Washington and Bogota officials met on Monday.")


@pytest.mark.parametrize("theme, other_sense, own_sense", [
    ("diplomacy", "Petro recalled his years as a guerrilla in a long interview.",
     "Petro recalled his ambassador for consultations."),
    ("drugs-coca", "Coca-Cola opened a bottling plant near Medellín.",
     "Coca cultivation rose to a record in Putumayo."),
    ("migration-deportations", "Two survivors of the strike were repatriated to Ecuador.",
     "Colombia repatriated 200 migrants on two flights from Texas."),
    ("us-aid", "Congress approved new U.S. aid for Ukraine.",
     "Trump cut U.S. aid to Colombia by half."),
])
def test_shipped_topic_rules_read_the_word_sense_not_the_word(theme, other_sense, own_sense):
    """The example topic is also the example of rule-writing (docs/classify.md): a word with an
    everyday second sense is matched only with what makes it this story's."""
    assert theme not in {t.name for t in classify_story("Story\n" + other_sense + GATE).themes}
    assert theme in {t.name for t in classify_story("Story\n" + own_sense + GATE).themes}
