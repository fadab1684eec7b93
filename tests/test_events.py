"""The event diff: mentions of known events, candidates, contradictions.

Stage tests run the real stage on a migrated SQLite file and a real
PostgreSQL database (``db_url``) over the seed articles; date and figure
reading is checked as pure functions.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from crawler.events.diff import diff_text
from crawler.events.promote import event_summary
from crawler.events.timeline import parse_timeline, read_timeline
from crawler.facts import find_dates, find_quantities
from crawler.stages import StageRunner
from crawler.config import ConfigError, parse_config
from storage.db import session_scope
from storage.models import (
    Article,
    CandidateSource,
    Contradiction,
    Event,
    EventCandidate,
    EventMention,
    FactStatement,
    Source,
)

FIXTURES = Path(__file__).parent / "fixtures" / "events"
REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "newsmon" / "data" / "events.example.yaml"
TIMELINE = FIXTURES / "timeline.yaml"  # the test timeline: a pinned copy of the example
NO_RECALL = FIXTURES / "timeline_no_recall.yaml"  # the same without the July 2025 recall of ambassadors
STAGE = ["crawler.events.store.EventDiffStage"]
# When each seed was published (the seeds' own datelines and the events they report).
PUBLISHED = {"000": datetime(2025, 11, 20), "001": datetime(2025, 11, 5), "002": datetime(2025, 10, 20),
             "003": datetime(2025, 7, 6), "004": datetime(2025, 10, 22)}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def newsmon(capsys, monkeypatch):
    """The real command line, run in this process (a subprocess per call
    costs seconds of imports): ``newsmon(*args, env={...})``."""
    from newsmon.cli import main

    def run(*args: str, cwd=None, env: dict | None = None) -> Run:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run


def make_config(tmp_path: Path, timeline: Path, sources: list[dict] | None = None):
    """A config whose timeline is a copy in tmp_path (promote writes to it)."""
    target = tmp_path / "events.yaml"
    if timeline.resolve() != target.resolve():
        shutil.copy(timeline, target)
    sources = sources or [{"name": f"outlet{i}", "feeds": ["http://127.0.0.1:9/feed"]} for i in range(6)]
    data = {"events": "events.yaml", "sources": sources}
    (tmp_path / "newsmon.yaml").write_text(yaml.safe_dump(data))  # for the command line
    return parse_config(data, "test", tmp_path / "newsmon.yaml")


def add_article(session, source: str, text: str, published: datetime | None, *, language: str = "en",
                relevant: bool | None = None, first_seen: datetime | None = None) -> Article:
    source_row = session.scalar(select(Source).where(Source.name == source))
    if source_row is None:
        source_row = Source(name=source)
        session.add(source_row)
        session.flush()
    number = session.query(Article).count() + 1
    article = Article(source_id=source_row.id, canonical_url=f"https://{source}.example/{number}",
                      url=f"https://{source}.example/{number}", title=text.split("\n")[0][:80],
                      text_hash=f"{number:064d}", text=text, published_at=published, language=language,
                      relevant=relevant, first_seen=first_seen or published or datetime(2025, 11, 25))
    session.add(article)
    session.flush()
    return article


def run_seed(url: str, config, seed_texts, prefix: str, source: str, runner=None) -> int:
    runner = runner or StageRunner(config, STAGE)
    with session_scope(url) as session:
        article = add_article(session, source, seed_texts[prefix], PUBLISHED[prefix])
        runner.process(session, article)
        return article.id


# --- stage tests on SQLite and PostgreSQL ---------------------------------------------


def test_seed_002_states_two_dates_for_the_visa_revocation(db_url, tmp_path, seed_texts):
    config = make_config(tmp_path, TIMELINE)
    article_id = run_seed(db_url, config, seed_texts, "002", "outlet0")
    with session_scope(db_url) as session:
        rows = session.scalars(select(Contradiction).where(Contradiction.article_id == article_id)).all()
    internal = [c for c in rows if c.kind == "internal" and c.event_id == "visa-revocation"]
    assert len(internal) == 1
    both = {internal[0].sentence, internal[0].other_sentence}
    assert any("17 Octobr 2025" in s for s in both) and any("26 September 2025" in s for s in both)
    timeline = [c for c in rows if c.kind == "timeline"]
    assert [(c.event_id, c.fact, c.stated_value, c.known_value) for c in timeline] == [
        ("visa-revocation", "date", "2025-10-17", "2025-09-26")]
    assert "State Department" in timeline[0].known_source


def test_nearly_590_and_exceeding_400_million_are_the_same_fact_and_agree(db_url, tmp_path, seed_texts):
    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    first = run_seed(db_url, config, seed_texts, "001", "outlet0", runner)
    second = run_seed(db_url, config, seed_texts, "004", "outlet1", runner)
    with session_scope(db_url) as session:
        statements = session.scalars(select(FactStatement).where(FactStatement.fact == "us_aid_2024")
                                     .order_by(FactStatement.article_id)).all()
        contradictions = session.scalars(select(Contradiction).where(Contradiction.fact == "us_aid_2024")).all()
    assert [(s.article_id, s.value, s.unit, s.bound) for s in statements] == [
        (first, 590.0, "million USD", "about"), (second, 400.0, "million USD", "min")]
    assert contradictions == []


def test_625000_acres_and_253000_hectares_of_coca_agree(db_url, tmp_path, seed_texts):
    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    run_seed(db_url, config, seed_texts, "000", "outlet0", runner)
    run_seed(db_url, config, seed_texts, "003", "outlet1", runner)
    with session_scope(db_url) as session:
        statements = session.scalars(select(FactStatement).where(FactStatement.fact == "coca_hectares_2023")).all()
        contradictions = session.scalars(select(Contradiction)).all()
    assert sorted(s.value_text for s in statements) == ["253,000 hectares", "625,000 acres"]
    acres = next(s for s in statements if "acres" in s.value_text)
    assert acres.unit == "ha" and abs(acres.value - 252929) < 1
    assert [c for c in contradictions if c.fact == "coca_hectares_2023"] == []


def test_missing_recall_is_a_candidate_until_promoted_then_a_mention(db_url, tmp_path, seed_texts):
    config = make_config(tmp_path, NO_RECALL)
    article_id = run_seed(db_url, config, seed_texts, "003", "outlet0")
    with session_scope(db_url) as session:
        candidates = session.scalars(select(EventCandidate)).all()
        recall = [c for c in candidates if "recalled its top diplomat" in c.title]
        assert len(recall) == 1 and recall[0].date_start == date(2025, 7, 1)
        assert recall[0].date_precision == "month"
        candidate_id = recall[0].id
        # "the Trump administration considering decertifying Colombia" (July) is not the September
        # decertification having happened: no mention, so no first report either.
        assert session.scalars(select(EventMention.event_id).where(EventMention.article_id == article_id)).all() \
            == ["deportation-standoff"]

    from newsmon.eventscmd import promote_candidate

    entry = promote_candidate(config, db_url, candidate_id, title="US and Colombia recall ambassadors",
                              event_id="ambassador-recall")
    event_id = entry["id"]
    assert entry["date"] == "2025-07" and entry["terms"] == [["recall*", "diplomat"]]
    timeline_text = (tmp_path / "events.yaml").read_text()
    assert timeline_text.startswith(NO_RECALL.read_text())  # the rest of the file is intact
    assert read_timeline(tmp_path / "events.yaml").get(event_id).title == "US and Colombia recall ambassadors"
    with session_scope(db_url) as session:
        assert session.get(EventCandidate, candidate_id).status == "promoted"
        assert session.get(Event, event_id).date_start == date(2025, 7, 1)
        mentions = session.scalars(select(EventMention).where(EventMention.event_id == event_id)
                                   .order_by(EventMention.start_offset)).all()
        # The promoted terms (recall* + diplomat) read their inflections and near-synonyms too: the
        # article's second report of the recall ("Petro has recalled his country's ambassador") is found.
        assert {m.article_id for m in mentions} == {article_id} and len(mentions) == 2
        assert "recalled its top diplomat" in mentions[0].sentence and mentions[0].in_lead
        assert "recalled his country’s ambassador" in mentions[1].sentence
        assert all(m.first_report for m in mentions)
        open_recall = session.scalars(select(EventCandidate).where(
            EventCandidate.status == "open", EventCandidate.title.contains("top diplomat"))).all()
        assert open_recall == []

    # A later outlet reporting the recall now confirms the event instead of proposing it.
    later = "The United States recalled its top diplomat in Colombia for consultations, officials said."
    with session_scope(db_url) as session:
        article = add_article(session, "outlet3", later, datetime(2025, 7, 7))
        StageRunner(make_config(tmp_path, tmp_path / "events.yaml"), STAGE).process(session, article)
        assert session.scalars(select(EventMention.event_id).where(EventMention.article_id == article.id)).all() \
            == [event_id]


def test_mentions_and_contradictions_agree_and_first_reports_are_as_happened(db_url, tmp_path, newsmon):
    """A sentence that names an event at a wrong date is a flagged mention, so v_contradictions
    and v_event_mentions never disagree; first reports come only from reports of the event as
    happened: not from "considering decertifying" (July), not from a contradicted date."""
    from sqlalchemy import text as sql

    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    texts = [("outlet0", "Washington is considering decertifying Colombia, officials said.", datetime(2025, 7, 10)),
             ("outlet1", "On September 2, the White House decertified Colombia.", datetime(2025, 9, 3)),
             ("outlet2", "Washington decertified Colombia on Monday, citing record coca crops.", datetime(2025, 9, 16))]
    with session_scope(db_url) as session:
        ids = []
        for source, text, published in texts:
            article = add_article(session, source, text, published)
            runner.process(session, article)
            ids.append(article.id)
    with session_scope(db_url) as session:
        rows = session.execute(sql("SELECT article_id, date_flag, first_report, how FROM v_event_mentions "
                                   "WHERE event_id = 'decertification' ORDER BY article_id")).all()
        contradicted = session.execute(sql("SELECT article_id, event_id FROM v_contradictions WHERE kind = 'timeline'")).all()
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [(ids[1], "date-contradicted", False), (ids[2], None, True)]
    assert [tuple(r) for r in contradicted] == [(ids[1], "decertification")]
    assert "alias 'decertif*'" in rows[1][3]
    report = newsmon("--config", str(tmp_path / "newsmon.yaml"), "report", str(ids[1]), cwd=tmp_path,
                     env={"NEWSMON_DATABASE_URL": db_url})
    assert report.returncode == 0, report.stderr
    assert "date contradicted" in report.stdout and "read as: alias 'decertif*'; states 'September 2'" in report.stdout


def test_a_candidate_stores_its_score_and_explanation_and_the_report_shows_them(sqlite_url, tmp_path, newsmon):
    config = make_config(tmp_path, TIMELINE)
    with session_scope(sqlite_url) as session:
        article = add_article(session, "outlet0", "Colombia filed suit against the decertification at the WTO "
                                                  "on 3 November 2025.", datetime(2025, 11, 4))
        StageRunner(config, STAGE).process(session, article)
        article_id = article.id
        candidate = session.scalars(select(EventCandidate)).one()
        assert candidate.date_start == date(2025, 11, 3) and candidate.score == 1.0
        assert "action 'filed' (file" in candidate.explanation
    report = newsmon("--config", str(tmp_path / "newsmon.yaml"), "report", str(article_id), cwd=tmp_path,
                     env={"NEWSMON_DATABASE_URL": sqlite_url})
    assert report.returncode == 0, report.stderr
    assert "(score 1.00)" in report.stdout and "read as: actor Colombia" in report.stdout
    assert "follows up decertification" in report.stdout


def test_deportation_standoff_by_two_outlets_counts_a_copy_once(db_url, tmp_path, seed_texts):
    from crawler.stages.dedup import independent_outlets

    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    first = run_seed(db_url, config, seed_texts, "000", "outlet0", runner)
    second = run_seed(db_url, config, seed_texts, "001", "outlet1", runner)
    with session_scope(db_url) as session:
        mentions = session.scalars(select(EventMention).where(EventMention.event_id == "deportation-standoff")).all()
        assert {m.article_id for m in mentions} == {first, second}
        # 001 was published first (5 November): it is the first report, 000 is not.
        assert {m.article_id for m in mentions if m.first_report} == {second}
        assert independent_outlets(session, [first, second]) == 2
        session.get(Article, first).cluster_id = second  # 000 is found to be a copy of 001
        session.get(Article, second).cluster_id = second
        session.flush()
        assert independent_outlets(session, [first, second]) == 1


def test_article_without_dates_mentions_but_proposes_nothing(db_url, tmp_path):
    config = make_config(tmp_path, TIMELINE)
    text = ("Relations between Washington and Bogota remain tense.\n"
            "The US State Department revoked the visa of Gustavo Petro after his speech, and analysts expect "
            "further friction between the two governments over drug policy in the months ahead.")
    with session_scope(db_url) as session:
        article = add_article(session, "outlet0", text, datetime(2025, 10, 1))
        StageRunner(config, STAGE).process(session, article)
        assert session.scalars(select(EventMention.event_id)).all() == ["visa-revocation"]
        assert session.scalars(select(CandidateSource)).all() == []
        assert session.scalars(select(Contradiction)).all() == []


def test_spanish_article_dates_and_aliases(db_url, tmp_path):
    config = make_config(tmp_path, TIMELINE)
    text = ("Colombia y Estados Unidos, en crisis\n"
            "El 26 de enero, Petro rechazó los vuelos de deportados enviados por Washington y el Gobierno de "
            "Trump anunció aranceles del 25 por ciento a los productos colombianos.\n"
            "El 15 de septiembre, Washington anunció la descertificación de Colombia en la lucha antidrogas.")
    with session_scope(db_url) as session:
        article = add_article(session, "outlet0", text, datetime(2025, 11, 2), language="es")
        StageRunner(config, STAGE).process(session, article)
        mentions = session.scalars(select(EventMention.event_id).order_by(EventMention.start_offset)).all()
        assert mentions == ["deportation-standoff", "decertification"]
        statements = {(s.event_id, s.fact, s.value_text) for s in session.scalars(select(FactStatement))}
        assert ("deportation-standoff", "tariff_rate", "25 por ciento") in statements
        assert ("decertification", "date", "15 de septiembre") in statements
        dates = session.execute(select(FactStatement.event_id, FactStatement.value, FactStatement.unit)
                                .where(FactStatement.fact == "date").order_by(FactStatement.start_offset)).all()
        assert [tuple(row) for row in dates] == [("deportation-standoff", 20250126.0, "day"),
                                                 ("decertification", 20250915.0, "day")]
        assert session.scalars(select(Contradiction)).all() == []


def test_ambiguous_numeric_date_is_read_in_the_sources_order(db_url, tmp_path):
    sources = [{"name": "dmy", "feeds": ["http://127.0.0.1:9/a"], "date_order": "DMY"},
               {"name": "mdy", "feeds": ["http://127.0.0.1:9/b"], "date_order": "MDY"}]
    config = make_config(tmp_path, TIMELINE, sources)
    text = ("Bogota, 2025\n"
            "On 03/04/2025 the Colombian government of Gustavo Petro signed a new security agreement with the "
            "United States in Bogota, officials from both countries confirmed.")
    with session_scope(db_url) as session:
        runner = StageRunner(config, STAGE)
        for name in ("dmy", "mdy"):
            runner.process(session, add_article(session, name, text, datetime(2025, 5, 1)))
        by_source = dict(session.execute(
            select(Source.name, EventCandidate.date_start)
            .join(CandidateSource, CandidateSource.candidate_id == EventCandidate.id)
            .join(Article, Article.id == CandidateSource.article_id)
            .join(Source, Source.id == Article.source_id)).all())
    assert by_source == {"dmy": date(2025, 4, 3), "mdy": date(2025, 3, 4)}


def test_missing_publication_date_keeps_only_absolute_dates(db_url, tmp_path):
    config = make_config(tmp_path, TIMELINE)
    text = ("US and Colombia\n"
            "Last month Washington imposed new sanctions on Colombian officials close to Petro, officials said.\n"
            "On 24 October 2025 the US Treasury sanctioned Gustavo Petro and his family under OFAC rules.\n"
            "On 17 November 2025 the United States designated a Colombian cartel as a terrorist organisation.")
    with session_scope(db_url) as session:
        # Undated: the candidate window is counted from when it was first seen.
        article = add_article(session, "outlet0", text, None, first_seen=datetime(2025, 11, 20))
        StageRunner(config, STAGE).process(session, article)
        mentions = session.scalars(select(EventMention.event_id)).all()
        candidates = session.scalars(select(EventCandidate)).all()
    assert mentions == ["ofac-sanctions"]
    assert [(c.date_start, c.date_precision) for c in candidates] == [(date(2025, 11, 17), "day")]


def test_same_fact_stated_differently_by_two_articles(db_url, tmp_path):
    timeline = tmp_path / "t.yaml"
    timeline.write_text(yaml.safe_dump({"events": [{
        "id": "tariffs", "date": "2025-01-26", "title": "Tariff threat", "aliases": ["tariff threat"],
        "facts": {"tariff_rate": {"unit": "%", "keywords": ["tariff*"]}}}]}))
    config = make_config(tmp_path, timeline)
    runner = StageRunner(config, STAGE)
    with session_scope(db_url) as session:
        a = add_article(session, "outlet0", "Trump threatened tariffs of 25 percent on Colombian imports.",
                        datetime(2025, 1, 27))
        runner.process(session, a)
        b = add_article(session, "outlet1", "Trump threatened tariffs of 50 percent on Colombian imports.",
                        datetime(2025, 1, 28))
        runner.process(session, b)
        c = add_article(session, "outlet2", "Trump threatened tariffs of about 25% on Colombian goods.",
                        datetime(2025, 1, 28))
        runner.process(session, c)
        rows = session.scalars(select(Contradiction).order_by(Contradiction.id)).all()
        # 50 % disagrees with both 25 % reports; "about 25%" and "25 percent" agree (no timeline value exists).
        assert [(r.kind, r.article_id, r.other_article_id, r.stated_value, r.known_value) for r in rows] == [
            ("article", b.id, a.id, "50 percent", "25 percent"), ("article", c.id, b.id, "25%", "50 percent")]
        assert any(r.other_sentence.startswith("Trump threatened tariffs of 25 percent") for r in rows)
        # Re-running articles replaces their rows: no more, and no pair recorded twice.
        before = sorted((r.article_id, r.other_article_id) for r in rows)
        for article in (b, a, c):
            runner.process(session, article)
        after = sorted(tuple(sorted((r.article_id, r.other_article_id)))
                       for r in session.scalars(select(Contradiction)))
        assert after == sorted(tuple(sorted(pair)) for pair in before)


def test_a_range_is_stored_as_one_statement_and_compared_as_an_interval(db_url, tmp_path):
    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    with session_scope(db_url) as session:
        a = add_article(session, "outlet0", "In 2024 US aid to Colombia was between $550 million and $600 million.",
                        datetime(2025, 10, 20))
        runner.process(session, a)
        b = add_article(session, "outlet1", "Colombia received $560 million in US aid in 2024.", datetime(2025, 10, 21))
        runner.process(session, b)
        c = add_article(session, "outlet2", "Colombia received $700 million in US aid in 2024.", datetime(2025, 10, 22))
        runner.process(session, c)
        statements = session.scalars(select(FactStatement).order_by(FactStatement.id)).all()
        assert [(s.article_id, s.value, s.bound, s.value_text) for s in statements] == [
            (a.id, 575.0, "range", "between $550 million and $600 million"),
            (b.id, 560.0, "exact", "$560 million"), (c.id, 700.0, "exact", "$700 million")]
        rows = session.scalars(select(Contradiction).order_by(Contradiction.id)).all()
        # The range holds the timeline's 590: only the $560 and $700 figures disagree with it.
        assert [(r.kind, r.article_id, r.other_article_id) for r in rows] == [
            ("timeline", b.id, None), ("timeline", c.id, None), ("article", c.id, a.id)]


def test_irrelevant_article_gets_no_diff_and_loses_an_old_one(db_url, tmp_path, seed_texts):
    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    with session_scope(db_url) as session:
        article = add_article(session, "outlet0", seed_texts["002"], PUBLISHED["002"])
        runner.process(session, article)
        assert session.scalars(select(EventMention)).all()
        article.relevant = False
        runner.process(session, article)
        assert session.scalars(select(EventMention)).all() == []
        assert session.scalars(select(Contradiction)).all() == []
        assert event_summary(session)["mentions"] == 0


def test_reload_deletes_events_removed_from_the_file_with_their_mentions(db_url, tmp_path, seed_texts, newsmon):
    config = make_config(tmp_path, TIMELINE)
    run_seed(db_url, config, seed_texts, "003", "outlet0")
    with session_scope(db_url) as session:
        assert session.scalars(select(EventMention.event_id).where(
            EventMention.event_id == "ambassador-recall")).all()
    shutil.copy(NO_RECALL, tmp_path / "events.yaml")
    result = newsmon("--config", str(tmp_path / "newsmon.yaml"), "events", "reload", cwd=tmp_path,
                         env={"NEWSMON_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "1 removed" in result.stdout
    with session_scope(db_url) as session:
        assert session.get(Event, "ambassador-recall") is None
        assert session.scalars(select(EventMention).where(EventMention.event_id == "ambassador-recall")).all() == []
        assert session.get(Event, "decertification") is not None


def test_cli_lists_events_candidates_and_an_article_report(sqlite_url, tmp_path, seed_texts, newsmon):
    config = make_config(tmp_path, NO_RECALL)
    runner = StageRunner(config, STAGE)
    ids = {p: run_seed(sqlite_url, config, seed_texts, p, f"outlet{i}", runner) for i, p in enumerate(PUBLISHED)}
    env = {"NEWSMON_DATABASE_URL": sqlite_url}
    cfg = str(tmp_path / "newsmon.yaml")
    listed = newsmon("--config", cfg, "events", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if "deportation-standoff" in l)
    cells = [c.strip() for c in line.split("│") if c.strip()]
    # Six sentences in four of the five seeds (004 does not tell the story), first seen in 003 (6 July).
    assert cells[1] == "2025-01-26" and cells[3:7] == ["6", "4", "2025-07-06", "2025-11-20"]
    candidates = newsmon("--config", cfg, "events", "candidates", cwd=tmp_path, env=env)
    assert candidates.returncode == 0 and "recalled its top diplomat" in candidates.stdout
    report = newsmon("--config", cfg, "report", str(ids["002"]), cwd=tmp_path, env=env)
    assert report.returncode == 0, report.stderr
    assert "Confirmed" in report.stdout and "visa-revocation" in report.stdout
    assert "17 Octobr 2025" in report.stdout and "26 September 2025" in report.stdout
    missing = newsmon("--config", cfg, "report", "999", cwd=tmp_path, env=env)
    assert missing.returncode == 2 and "no article 999" in missing.stderr and "Traceback" not in missing.stderr


# --- the timeline file -------------------------------------------------------------------


def test_bad_timeline_names_file_event_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - id: ok\n    date: 2025-01-26\n    title: fine\n    aliases: [x]\n"
                   "  - id: broken\n    date: 2025-13\n    title: oops\n    aliases: [y]\n")
    with pytest.raises(ConfigError) as error:
        read_timeline(bad)
    message = str(error.value)
    assert str(bad) in message and "events[1] (broken)" in message and "date" in message
    with pytest.raises(ConfigError, match=r"events\[0\] \(x\)\.facts.*unknown unit"):
        parse_timeline({"events": [{"id": "x", "date": "2025", "title": "t", "aliases": ["a"],
                                    "facts": {"f": {"value": 1, "unit": "parsecs", "keywords": ["k"]}}}]}, "t.yaml")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_timeline([{"id": "x", "date": "2025", "title": "t", "aliases": ["a"], "colour": "red"}], "t.yaml")


def test_example_timeline_loads_with_short_and_long_fact_forms():
    timeline = read_timeline(EXAMPLE)
    assert timeline.get("visa-revocation").start == date(2025, 9, 26)
    assert timeline.get("boat-strikes").end is None
    short = parse_timeline([{"id": "t", "date": "2025-01", "title": "t", "aliases": ["a"],
                             "facts": {"us_aid_2024": "590 million USD", "coca_hectares": "253000 ha"}}], "x")
    facts = {f.name: f for f in short.events[0].facts}
    assert facts["us_aid_2024"].value == 590e6 and facts["us_aid_2024"].unit == "million USD"
    assert facts["coca_hectares"].family == "area"


# --- reading dates and figures ------------------------------------------------------


def _labels(text, published=None, order=None, language=None):
    return [d.label() for d in find_dates(text, published, order, language)]


def test_dates_absolute_relative_spanish_and_misspelled():
    pub = date(2025, 11, 5)
    assert _labels("The State Department said 17 Octobr 2025 it was revoking", pub) == ["2025-10-17"]
    assert _labels("On January 26, days after", pub) == ["2025-01-26"]
    assert _labels("In September, the United States", pub) == ["2025-09"]
    assert _labels("el 26 de enero de 2024 y el 3 de marzo", pub, language="es") == ["2024-01-26", "2025-03-03"]
    assert _labels("earlier this month, last month, on Tuesday and yesterday", pub) == [
        "2025-11", "2025-10", "2025-11-04", "2025-11-04"]
    assert _labels("It may happen; they will march to the border; bar 12 to a", pub) == []
    assert _labels("03/04/2025", pub, language="es") == ["2025-04-03"]
    assert _labels("03/04/2025", pub, language="en") == ["2025-03-04"]
    assert _labels("03/04/2025", pub, order="DMY", language="en") == ["2025-04-03"]


def test_without_publication_date_only_dates_with_a_year_count():
    assert _labels("On January 26 and last month, but also on 26 September 2025", None) == ["2025-09-26"]


def test_figures_units_and_bounds():
    def read(text):
        return [(round(q.value, 1), q.family, q.bound) for q in find_quantities(text)]

    assert read("nearly $590 million") == [(590e6, "money", "about")]
    assert read("exceeding $400 million in 2024") == [(400e6, "money", "min")]
    assert read("25 per cent, 25 percent, 25% and 25 por ciento") == [(25.0, "percent", "exact")] * 4
    assert read("625,000 acres") == [(252928.9, "area", "exact")]
    assert read("590 millones de dólares y más de 200.000 hectáreas") == [
        (590e6, "money", "exact"), (200000.0, "area", "min")]
    assert read("up by 2 percentage points, 40 minutes later, in 2024") == []


def test_ranges_are_intervals_and_round_figures_are_not_looser_than_about():
    def interval(text):
        return [tuple(round(v) for v in q.interval()) for q in find_quantities(text)]

    assert interval("between 240,000 and 260,000 hectares") == [(240000, 260000)]
    assert interval("entre 550 y 600 millones de dólares") == [(550_000_000, 600_000_000)]
    assert interval("between $550 million and $600 million") == [(550_000_000, 600_000_000)]
    # One significant digit would allow 250,000-350,000: an exact figure stays within ±10 %.
    assert interval("300,000 hectares") == [(270000, 330000)]


def _contradictions(text, published=date(2025, 10, 25), language="en"):
    timeline = read_timeline(TIMELINE)
    diff = diff_text(text, timeline, published, language, None, published)
    return sorted(f"{c.kind}:{c.event_id}:{c.fact}" for c in diff.contradictions)


def test_figures_that_are_not_the_fact_raise_no_contradiction():
    """Each sentence states a figure near the fact's keyword that is not the
    fact: a programme's share, a purpose, a part, another country's, a
    denied or conditional figure, a previous value, a range that agrees."""
    for text, language in [
        ("In 2024 Washington gave Colombia $70 million in aid for demining programmes.", "en"),
        ("Colombia got $120 million in counternarcotics assistance from the US in 2024.", "en"),
        ("US funding for Colombian judges amounted to $25 million in 2024.", "en"),
        ("In 2024, US aid to Colombia was about $590 million; of that, $150 million went to the army.", "en"),
        ("Honduras received $80 million in US aid in 2024, far less than Colombia.", "en"),
        ("Colombia's foreign minister denied that US aid in 2024 had reached $2 billion.", "en"),
        ("Trump said aid to Colombia would be $100 million in 2024 terms if Petro stayed.", "en"),
        ("En 2024 la ayuda militar de Estados Unidos a Colombia fue de 200 millones de dólares.", "es"),
        ("Bolivia's coca fields covered 31,000 hectares in 2023, against Colombia's record.", "en"),
        ("Coca in Colombia covered between 245,000 and 262,000 hectares in 2023, estimates said.", "en"),
        ("Coca cultivation reached 253,000 hectares in 2023, up from 180,000 hectares in the past.", "en"),
    ]:
        assert _contradictions(text, language=language) == [], text


def test_plainly_wrong_figures_and_dates_still_contradict():
    assert _contradictions("In 2024 US aid to Colombia totalled $210 million, the audit found.") == [
        "timeline:aid-cut:us_aid_2024"]
    assert _contradictions("Colombia had 300,000 hectares of coca in 2023, the police said.") == [
        "timeline:coca-survey-2023:coca_hectares_2023"]
    assert _contradictions("Washington decertified Colombia on 14 October 2025, a week after the deadline.",
                           published=date(2025, 10, 20)) == ["timeline:decertification:date"]


def test_denied_repeated_future_and_background_claims_are_not_candidates():
    timeline = read_timeline(TIMELINE)

    def candidates(text, published=date(2025, 11, 20), language="en"):
        diff = diff_text(text, timeline, published, language, None, published)
        return [c.date_start.isoformat() for c in diff.candidates]

    assert candidates("Bogota denied reports that Washington had sanctioned Colombia's army on 12 November 2025.") == []
    assert candidates("Petro could visit Washington on 1 December 2025, his office said.") == []
    assert candidates("Rubio viajará a Bogotá el 2 de diciembre, anunció la Cancillería.", language="es") == []
    assert candidates("The US had seized a Colombian ship in 1994, an incident Petro recalled on Monday.") == []
    # …while a claim of something done is still one.
    assert candidates("Colombia expelled two US contractors on 18 November 2025, Petro said.") == ["2025-11-18"]


# --- quality: regression floors on the tuning sets (every shipped set has been tuned on or read) ----


def _bench():
    import importlib.util

    spec = importlib.util.spec_from_file_location("event_quality", REPO / "bench" / "event_quality.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


# (set, {kind: (precision floor, recall floor)}): floors just under the measurement on sets the rules
# were TUNED on (docs/events.md). They catch a regression; they say nothing about new wording.
TUNING_FLOORS = [
    ("labelled.yaml", {"mentions": (0.95, 0.95), "candidates": (0.9, 0.95), "contradictions": (0.95, 0.95)}),
    ("heldout.yaml", {"mentions": (0.95, 0.95), "candidates": (0.95, 0.95), "contradictions": (0.95, 0.95)}),
    ("blind.yaml", {"mentions": (0.95, 0.9), "candidates": (0.85, 0.95), "contradictions": (0.95, 0.95)}),
    ("probe.yaml", {"mentions": (0.95, 0.95), "candidates": (0.95, 0.95), "contradictions": (0.95, 0.95)}),
    # blind3 was blind once (mentions 0.73 / 0.64, candidates 0.65 / 0.39, contradictions 0.72 / 0.51);
    # the second and third passes of issue 13 studied its errors, so it is a tuning set now.
    ("blind3.yaml", {"mentions": (0.89, 0.85), "candidates": (0.95, 0.68), "contradictions": (0.94, 0.87)}),
    # blind2 was never tuned on, but its errors were read (docs/events.md): a regression floor only.
    ("blind2.yaml", {"mentions": (0.93, 0.95), "candidates": (0.85, 0.85), "contradictions": (0.88, 0.93)}),
]


def assert_floors(result: dict, floors: dict) -> None:
    """Each kind's precision and recall at or above its (precision, recall) floor; the errors if not."""
    for kind, (precision, recall) in floors.items():
        measured = result["kinds"][kind]
        assert measured["precision"] >= precision and measured["recall"] >= recall, (kind, result["errors"])


@pytest.mark.parametrize("name, floors", TUNING_FLOORS, ids=[n for n, _ in TUNING_FLOORS])
def test_event_diff_regression_on_a_tuning_set(name, floors):
    """Contradictions must stay precise: a false one costs an analyst's trust."""
    result = _bench().measure(FIXTURES / name)
    assert result["items"] >= 30
    assert_floors(result, floors)


def test_event_diff_on_the_frozen_blind_set():
    """blind4.yaml (223 items, 127 Spanish) was written by a helper that read the timeline, issue 13
    and blind3's schema only — no rule, no code, no other set — and was measured ONCE, after issue 13's
    second pass: mentions 0.89 / 0.56, candidates 0.75 / 0.64, contradictions 0.84 / 0.47
    (docs/events.md). The third pass studied its errors (classes, not items), so it is a TUNING set
    now: mentions 0.99 / 0.77, candidates 0.92 / 0.72, contradictions 1.00 / 0.82. The floors sit just
    under those and catch a regression; the honest figure for new wording is the next blind set."""
    result = _bench().measure(FIXTURES / "blind4.yaml")
    assert result["items"] >= 220
    floors = {"mentions": (0.96, 0.74), "candidates": (0.88, 0.69), "contradictions": (0.96, 0.79)}
    assert_floors(result, floors)


def test_event_diff_on_the_fifth_blind_set():
    """blind5.yaml (239 items, 117 Spanish: transcripts, fact checks, corrections, chronologies, Andean and
    Rioplatense Spanish) was written by a helper that read the timeline, issue 13 and blind4's header and
    first items only, and measured ONCE on the code before and after issue 13's third pass: before
    mentions 0.87 / 0.61, candidates 0.53 / 0.62, contradictions 0.68 / 0.38; after 0.93 / 0.68,
    0.60 / 0.52, 0.73 / 0.54 (docs/events.md). Floors just under the after figures: a regression check,
    not a goal; no rule may be tuned on this set's items."""
    result = _bench().measure(FIXTURES / "blind5.yaml")
    assert result["items"] >= 235
    floors = {"mentions": (0.90, 0.65), "candidates": (0.55, 0.48), "contradictions": (0.70, 0.50)}
    assert_floors(result, floors)


def test_event_diff_on_the_sixth_blind_set():
    """blind6.yaml (242 items: wire ledes with datelines, newsletters, podcast notes, Q&A, court filings,
    Mexican, Peruvian and Colombian costeño and paisa Spanish, "se" passives, bare titles, ordinal dates,
    fact checks) was written by a helper that read the timeline, issue 13 and blind5's header and first
    items only, and measured ONCE on the code before the fourth pass: mentions 0.88 / 0.56, candidates
    0.60 / 0.48, contradictions 0.71 / 0.42. The fourth pass studied its errors by class, so it is a
    TUNING set now (after: 0.93 / 0.77, 0.81 / 0.68, 0.95 / 0.67; docs/events.md). Floors just under
    those: a regression check, not a goal; the honest figure for new wording is the next blind set."""
    result = _bench().measure(FIXTURES / "blind6.yaml")
    assert result["items"] >= 240
    floors = {"mentions": (0.90, 0.74), "candidates": (0.76, 0.64), "contradictions": (0.91, 0.63)}
    assert_floors(result, floors)


def test_event_diff_on_the_seventh_blind_set():
    """blind7.yaml (243 items, 119 Spanish: cables and communiqués, editorials, listicles, FAQs,
    parliamentary questions, sanctions orders, market commentary, travel notices, NGO reports, obituaries,
    Chilean, Ecuadorian, Spain and rolo Spanish, code-switching, reported speech) was written by a helper
    that read the timeline, issue 13 and blind6's header only, and measured ONCE, on the code after the
    fourth pass: mentions 0.90 / 0.86, candidates 0.63 / 0.69, contradictions 0.87 / 0.52. The fifth pass
    studied its errors (a tuning set since): 0.91 / 0.86, 0.65 / 0.69, 0.90 / 0.73; floors a little under."""
    result = _bench().measure(FIXTURES / "blind7.yaml")
    assert result["items"] >= 240
    floors = {"mentions": (0.88, 0.83), "candidates": (0.60, 0.64), "contradictions": (0.86, 0.68)}
    assert_floors(result, floors)


def test_event_diff_on_the_eighth_blind_set():
    """blind8.yaml (262 items, 132 Spanish) was written by a helper that read the timeline, issue 13 and
    blind7's header only, and measured once on each side of the fifth pass: mentions 0.94 / 0.77 → 0.94 /
    0.78, candidates 0.70 / 0.43 → 0.70 / 0.43, contradictions 0.84 / 0.67 → 0.84 / 0.67 (the blind figure
    of the fifth pass). The sixth pass studied its errors by class, so it is a TUNING set since: after it
    0.99 / 0.86, 0.93 / 0.73, 0.97 / 0.85 (docs/events.md). Floors a little under: a regression check."""
    result = _bench().measure(FIXTURES / "blind8.yaml")
    assert result["items"] >= 260
    floors = {"mentions": (0.96, 0.84), "candidates": (0.88, 0.70), "contradictions": (0.94, 0.80)}
    assert_floors(result, floors)


def test_event_diff_on_the_ninth_blind_set():
    """blind9.yaml (240 items, 119 Spanish) was written by a helper that read issue 13, the timeline and
    blind8's first 140 lines only, and measured once on each side of the sixth pass (never studied):
    mentions 0.82 / 0.74 → 0.84 / 0.78, candidates 0.69 / 0.60 → 0.76 / 0.65, contradictions 0.80 / 0.38 →
    0.81 / 0.41 — the blind figure of the sixth pass (docs/events.md). **A tuning set since the seventh
    pass**, which studied its errors by class: mentions 0.87 / 0.76, candidates 0.76 / 0.65, contradictions
    0.86 / 0.59 after it. Floors a little under those figures: a regression check, no longer a blind one."""
    result = _bench().measure(FIXTURES / "blind9.yaml")
    assert result["items"] >= 240
    floors = {"mentions": (0.85, 0.75), "candidates": (0.72, 0.61), "contradictions": (0.83, 0.56)}
    assert_floors(result, floors)


def test_event_diff_on_the_tenth_blind_set():
    """blind10.yaml (218 items, 105 Spanish) was written by another helper that read the same three things
    as blind9's writer only, and measured once on main after the sixth pass: mentions 0.83 / 0.77,
    candidates 0.76 / 0.62, contradictions 0.85 / 0.57, and once after the seventh: 0.84 / 0.77, 0.76 / 0.62,
    0.85 / 0.59 (docs/events.md). Never studied. Floors a little under."""
    result = _bench().measure(FIXTURES / "blind10.yaml")
    assert result["items"] >= 218
    floors = {"mentions": (0.81, 0.74), "candidates": (0.72, 0.58), "contradictions": (0.81, 0.53)}
    assert_floors(result, floors)


def test_unrelated_pages_invent_almost_no_candidates_without_the_topic_gate():
    """Other stories about watched actors ("Trump imposed tariffs on China") are not this timeline's
    news: the diff, run on every unrelated page, proposes at most 3 candidates per 100."""
    result = _bench().invented()
    assert result["pages"] >= 40 and result["per_100"] <= 3.0, result["found"]


def test_cli_promote_and_reload_report_user_errors_in_one_line(sqlite_url, tmp_path, seed_texts, newsmon):
    config = make_config(tmp_path, NO_RECALL)
    run_seed(sqlite_url, config, seed_texts, "003", "outlet0")
    env = {"NEWSMON_DATABASE_URL": sqlite_url}
    cfg = str(tmp_path / "newsmon.yaml")
    with session_scope(sqlite_url) as session:
        candidate_id = session.scalar(select(EventCandidate.id).where(EventCandidate.title.contains("top diplomat")))
    promoted = newsmon("--config", cfg, "events", "promote", str(candidate_id), "--id", "recall",
                           cwd=tmp_path, env=env)
    assert promoted.returncode == 0, promoted.stderr
    assert "promoted to event recall" in promoted.stdout and "recall* + diplomat" in promoted.stdout
    assert "id: recall" in (tmp_path / "events.yaml").read_text()
    again = newsmon("--config", cfg, "events", "promote", str(candidate_id), cwd=tmp_path, env=env)
    assert again.returncode == 2 and "already promoted" in again.stderr
    unknown = newsmon("--config", cfg, "events", "promote", "9999", cwd=tmp_path, env=env)
    assert unknown.returncode == 2 and "no candidate 9999" in unknown.stderr

    (tmp_path / "events.yaml").write_text("events:\n  - id: x\n    date: someday\n    title: t\n    aliases: [a]\n")
    broken = newsmon("--config", cfg, "events", "reload", cwd=tmp_path, env=env)
    assert broken.returncode == 2
    assert "events.yaml" in broken.stderr and "events[0] (x).date" in broken.stderr
    assert "Traceback" not in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
    with session_scope(sqlite_url) as session:  # nothing half-loaded
        assert session.get(Event, "recall") is not None


def test_same_claim_from_several_outlets_is_one_candidate_ranked_by_independent_outlets(db_url, tmp_path):
    from newsmon.eventscmd import ranked_candidates

    config = make_config(tmp_path, TIMELINE)
    runner = StageRunner(config, STAGE)
    reports = [
        ("outlet0", "On 17 November 2025 the United States designated the Cartel de los Soles as a terrorist "
                    "organisation, Rubio announced."),
        ("outlet1", "Washington designated Cartel de los Soles a foreign terrorist organization on Monday, "
                    "the State Department said."),
        ("outlet2", "On 17 November 2025 the United States designated the Cartel de los Soles as a terrorist "
                    "organisation, Rubio announced."),  # a copy of outlet0's story
        ("outlet3", "Petro met Pope Leo XIV at the Vatican on 16 November 2025."),
    ]
    with session_scope(db_url) as session:
        articles = []
        for source, text in reports:
            article = add_article(session, source, text, datetime(2025, 11, 18))
            articles.append(article)
        articles[2].cluster_id = articles[0].id
        articles[0].cluster_id = articles[0].id
        for article in articles:
            runner.process(session, article)
        ranked = ranked_candidates(session)
        summary = [(c["candidate"].date_start, c["reports"], c["outlets"]) for c in ranked]
        assert summary == [(date(2025, 11, 17), 3, 2), (date(2025, 11, 16), 1, 1)]
        assert "Cartel de los Soles" in ranked[0]["candidate"].title
        assert set(ranked[0]["candidate"].actors) >= {"United States", "Washington", "Rubio"}
        # Re-running an article does not duplicate its report; dropping the claim drops the source.
        runner.process(session, articles[1])
        assert ranked_candidates(session)[0]["reports"] == 3
        articles[3].text = "Petro stayed in Bogota."
        runner.process(session, articles[3])
        assert [c["candidate"].date_start for c in ranked_candidates(session)] == [date(2025, 11, 17)]


# --- rules from the first blind set's errors (sentences written for the test, not from the set) ---


def _mentions(text, published, language="en"):
    diff = diff_text(text, read_timeline(TIMELINE), published, language, None, published)
    return sorted({m.event_id for m in diff.mentions})


def test_shares_comparisons_other_directions_general_rates_and_present_figures_are_not_the_fact():
    """A recipient's or agency's share, the other side of a comparison, a
    tariff Colombia charges on US goods, a general rate, and a figure for
    'now' against a past year's fact raise no contradiction."""
    for text, language in [
        ("The State Department's share of the 2024 aid to Colombia was $300 million.", "en"),
        ("The Colombian army alone received $90 million of US aid in 2024.", "en"),
        ("Peru's coca covered about 90,000 hectares in 2023, compared with Colombia's 253,000.", "en"),
        ("After the deportation flights row, Colombia's tariff on US imports stayed at 5%.", "en"),
        ("Tras la crisis de los vuelos de deportados, las flores colombianas pagan el arancel básico del 10 %.", "es"),
        ("Colombia currently grows about 280,000 hectares of coca, the police say.", "en"),
    ]:
        assert _contradictions(text, language=language) == [], text


def test_upper_and_spanish_lower_bounds_are_read_as_bounds():
    assert _contradictions("US aid to Colombia in 2024 came to no more than $400 million, auditors said.") == [
        "timeline:aid-cut:us_aid_2024"]
    assert _contradictions("US aid to Colombia in 2024 was at most $300 million, auditors said.") == [
        "timeline:aid-cut:us_aid_2024"]
    assert _contradictions("La ayuda de Estados Unidos a Colombia superó los 700 millones de dólares en 2024.",
                           language="es") == ["timeline:aid-cut:us_aid_2024"]
    assert _contradictions("La ayuda de Estados Unidos a Colombia superó los 500 millones de dólares en 2024.",
                           language="es") == []


def test_event_named_with_synonyms_has_its_date_held_against_the_timeline():
    assert _contradictions("The State Department cancelled Petro's visa on 2 October, a week after his speech.",
                           published=date(2025, 10, 10)) == ["timeline:visa-revocation:date"]
    assert _contradictions("The Treasury blacklisted Petro on 30 October 2025, officials said.",
                           published=date(2025, 11, 2)) == ["timeline:ofac-sanctions:date"]
    assert _contradictions("The decertification of Colombia, dated 3 September 2025, angered Bogota.",
                           published=date(2025, 9, 20)) == ["timeline:decertification:date"]
    assert _mentions("Colombia's ambassador was called home on 3 July, officials said.",
                     date(2025, 7, 5)) == ["ambassador-recall"]


def test_a_date_of_another_action_is_not_the_events_date():
    """'met on Wednesday to debate the sanctions' dates the meeting; a
    stand-alone date clause before an event's words dates them."""
    published = date(2025, 11, 7)
    text = "Colombia's Congress met on Wednesday to debate the sanctions on Petro."
    assert _contradictions(text, published=published) == []
    assert _mentions(text, published) == ["ofac-sanctions"]
    late = "After weeks of tension, on 1 November, Colombia recalled its ambassador in Washington."
    assert "ambassador-recall" not in _mentions(late, published)
    diff = diff_text("Petro rejected claims that Washington had frozen his accounts on 12 November 2025.",
                     read_timeline(TIMELINE), date(2025, 11, 20), "en", None, date(2025, 11, 20))
    assert diff.candidates == []
