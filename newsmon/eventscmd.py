"""``newsmon events …`` and ``newsmon report ARTICLE_ID``: the timeline of
known events as the archive sees it, the candidates for new events, and one
article's event diff.

``events promote`` is how the timeline grows: the candidate becomes an entry
at the end of the timeline file (the rest of the file is left as it was), an
event in the archive, and the event diff is re-run over the articles that
reported it so they now mention the event instead of proposing it.
"""
from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from newsmon.cli import add_command
from newsmon.cli_support import UsageError, console, get_config, require_archive

if TYPE_CHECKING:
    from storage.models import Contradiction, Event

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = add_command(subparsers, "events", help="known events with their coverage; candidates; promote; reload",
                    example="newsmon events candidates && newsmon events promote 3 --title 'Ambassadors recalled'")
    p.set_defaults(func=cmd_events)
    sub = p.add_subparsers(dest="events_command", metavar="ACTION")
    q = add_command(sub, "list", help="known events with mentions, independent outlets, first/last seen",
                    example="newsmon events list")
    q.set_defaults(func=cmd_events)
    q = add_command(sub, "candidates", help="dated claims that match no known event, most reported first",
                    example="newsmon events candidates --all")
    q.add_argument("--all", action="store_true", help="include promoted and dismissed candidates")
    q.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    q.set_defaults(func=cmd_candidates)
    q = add_command(sub, "promote", help="add a candidate to the timeline file and re-run the diff on its articles",
                    example="newsmon events promote 3 --id ambassador-recall --title 'Ambassadors recalled'")
    q.add_argument("candidate_id", type=int, metavar="CANDIDATE_ID")
    q.add_argument("--title", help="the event's title (default: the candidate's)")
    q.add_argument("--id", dest="event_id", help="the event's id (default: date and key words)")
    q.set_defaults(func=cmd_promote)
    q = add_command(sub, "reload", help="load the timeline file into the archive (events removed from it are deleted)",
                    example="newsmon events reload")
    q.set_defaults(func=cmd_reload)

    p = add_command(subparsers, "report", help="one article's event diff: confirmed, new and contradicted",
                    example="newsmon report 42")
    p.add_argument("article_id", type=int, metavar="ARTICLE_ID")
    p.set_defaults(func=cmd_report)


def _timeline_path(config):
    if not config.events:
        raise UsageError("no events file configured: set 'events: PATH' in the config (see events.example.yaml)")
    return config.resolve(config.events)


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def cmd_events(args: argparse.Namespace) -> int:
    from rich.table import Table
    from sqlalchemy import func, select

    from crawler.stages.dedup import independent_outlets
    from crawler.events.promote import event_summary
    from storage.db import session_scope
    from storage.models import Article, Event, EventMention

    url = require_archive(args)
    with session_scope(url) as session:
        table = Table(title="Known events")
        for column in ("id", "date", "title", "mentions", "outlets", "first seen", "last seen"):
            table.add_column(column, overflow="fold")
        events = session.scalars(select(Event).order_by(Event.date_start, Event.id)).all()
        for event in events:
            rows = session.execute(
                select(EventMention.article_id, func.coalesce(Article.published_at, Article.first_seen))
                .join(Article, Article.id == EventMention.article_id)
                .where(EventMention.event_id == event.id)).all()
            articles = {article_id for article_id, _ in rows}
            seen = [at for _, at in rows if at]
            table.add_row(event.id, _event_date(event), event.title, str(len(rows)),
                          str(independent_outlets(session, articles)),
                          _day(min(seen)) if seen else "-", _day(max(seen)) if seen else "-")
        console().print(table)
        summary = event_summary(session)
    console().print(f"{summary['events']} events, {summary['mentions']} mentions, {summary['candidates']} open "
                    f"candidates, {summary['contradictions']} contradictions")
    return 0


def _event_date(event: Event) -> str:
    if event.date_precision == "range":
        return f"{_day(event.date_start)} – {_day(event.date_end) if event.date_end else 'ongoing'}"
    if event.date_precision == "month" and event.date_start:
        return event.date_start.strftime("%Y-%m")
    if event.date_precision == "year" and event.date_start:
        return str(event.date_start.year)
    return _day(event.date_start)


def ranked_candidates(session, include_closed: bool = False, limit: int = 50) -> list[dict]:
    """Candidates with their reports, most independent outlets first."""
    from sqlalchemy import select

    from crawler.stages.dedup import independent_outlets
    from storage.models import Article, CandidateSource, EventCandidate, Source

    query = select(EventCandidate)
    if not include_closed:
        query = query.where(EventCandidate.status == "open")
    out = []
    for candidate in session.scalars(query):
        sources = session.execute(
            select(CandidateSource, Article.url, Source.name)
            .join(Article, Article.id == CandidateSource.article_id)
            .join(Source, Source.id == Article.source_id)
            .where(CandidateSource.candidate_id == candidate.id)
            .order_by(CandidateSource.id)).all()
        articles = {cs.article_id for cs, _url, _name in sources}
        out.append({
            "candidate": candidate,
            "outlets": independent_outlets(session, articles),
            "reports": len(sources),
            "sources": [(name, url, cs.sentence, cs.article_id) for cs, url, name in sources],
        })
    out.sort(key=lambda c: (-c["outlets"], -c["reports"], c["candidate"].date_start or c["candidate"].first_seen.date(),
                            c["candidate"].id))
    return out[:limit]


def cmd_candidates(args: argparse.Namespace) -> int:
    from rich.table import Table

    from storage.db import session_scope

    url = require_archive(args)
    with session_scope(url) as session:
        ranked = ranked_candidates(session, args.all, args.limit)
        table = Table(title="Candidate events (dated claims matching no known event)")
        for column in ("id", "date", "outlets", "title", "actors", "sources", "status"):
            table.add_column(column, overflow="fold")
        for item in ranked:
            c = item["candidate"]
            date_text = c.date_start.strftime("%Y-%m") if c.date_precision == "month" else _day(c.date_start)
            sources = "; ".join(f"{name} (article {article_id})" for name, _u, _s, article_id in item["sources"])
            table.add_row(str(c.id), date_text, str(item["outlets"]), c.title, ", ".join(c.actors or []), sources,
                          c.status)
        console().print(table)
    if not ranked:
        console().print("no candidates")
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    from crawler.events.store import sync_timeline
    from crawler.events.timeline import load_timeline
    from storage.db import session_scope

    config = get_config(args)
    url = require_archive(args)
    timeline = load_timeline(config)
    _timeline_path(config)
    with session_scope(url) as session:
        counts = sync_timeline(session, timeline)
    console().print(f"timeline {_timeline_path(config)}: {len(timeline.events)} events "
                    f"({counts['added']} added, {counts['updated']} updated, {counts['removed']} removed)")
    return 0


def promote_candidate(config, url: str, candidate_id: int, title: str | None = None,
                      event_id: str | None = None) -> dict:
    """Turn a candidate into a known event: appended to the timeline file,
    loaded into the archive, the candidate marked promoted, and the event diff
    re-run over its articles. Returns the timeline entry written."""
    from sqlalchemy import select

    from crawler.events.promote import append_event, promoted_event_entry
    from crawler.events.store import EventDiffStage
    from crawler.events.timeline import parse_timeline_text
    from storage.db import session_scope
    from storage.models import Article, CandidateSource, EventCandidate

    path = _timeline_path(config)
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    with session_scope(url) as session:
        candidate = session.get(EventCandidate, candidate_id)
        if candidate is None:
            raise UsageError(f"no candidate {candidate_id} (see 'newsmon events candidates')")
        if candidate.status != "open":
            raise UsageError(f"candidate {candidate_id} is already {candidate.status}")
        reports = session.execute(select(CandidateSource.article_id, CandidateSource.sentence)
                                  .where(CandidateSource.candidate_id == candidate.id)
                                  .order_by(CandidateSource.id)).all()
        entry = promoted_event_entry(candidate, [s for _a, s in reports], title, event_id)
        timeline = parse_timeline_text(original, path) if original.strip() else None
        if timeline and timeline.get(entry["id"]):
            raise UsageError(f"the timeline already has an event {entry['id']!r}: choose another with --id")
        new_text = append_event(original, entry)
        timeline = parse_timeline_text(new_text, path)  # the file as it will be, validated
        candidate.status = "promoted"
        stage = EventDiffStage(config, timeline)
        stage.open(session)
        candidate.promoted_event_id = entry["id"]
        session.flush()
        for article_id in dict.fromkeys(a for a, _s in reports):
            article = session.get(Article, article_id)
            if article is not None:
                stage.process(session, article)
        path.write_text(new_text, encoding="utf-8")  # last: a failure here rolls the archive back
    log.info("promoted candidate %d to event %s", candidate_id, entry["id"])
    return entry


def cmd_promote(args: argparse.Namespace) -> int:
    config = get_config(args)
    url = require_archive(args)
    entry = promote_candidate(config, url, args.candidate_id, args.title, args.event_id)
    console().print(f"candidate {args.candidate_id} promoted to event {entry['id']} "
                    f"(appended to {_timeline_path(config)})")
    if entry.get("terms"):
        groups = "; ".join(" + ".join(group) for group in entry["terms"])
        console().print(f"it matches sentences with {groups} and one of its actors; add aliases in the file "
                        f"for other wordings")
    else:
        console().print("no key words could be taken from its reports: add aliases in the file, then "
                        "'newsmon events reload'")
    return 0


def article_report(session, article_id: int) -> dict | None:
    """One article's event diff as plain data: confirmed (mentions), new
    (candidate reports), contradicted."""
    from sqlalchemy import select

    from storage.models import Article, CandidateSource, Contradiction, Event, EventCandidate, EventMention

    article = session.get(Article, article_id)
    if article is None:
        return None
    mentions = session.execute(
        select(EventMention, Event.title).join(Event, Event.id == EventMention.event_id)
        .where(EventMention.article_id == article_id).order_by(EventMention.start_offset)).all()
    candidates = session.execute(
        select(CandidateSource, EventCandidate).join(EventCandidate, EventCandidate.id == CandidateSource.candidate_id)
        .where(CandidateSource.article_id == article_id).order_by(CandidateSource.start_offset)).all()
    contradictions = session.scalars(select(Contradiction).where(
        (Contradiction.article_id == article_id) | (Contradiction.other_article_id == article_id))
        .order_by(Contradiction.id)).all()
    return {
        "article": article,
        "confirmed": [{"event": m.event_id, "title": title, "sentence": m.sentence, "confidence": m.confidence,
                       "in_lead": m.in_lead, "first_report": m.first_report, "how": m.how,
                       "date_flag": m.date_flag} for m, title in mentions],
        "new": [{"candidate": c.id, "date": c.date_start, "precision": c.date_precision, "status": c.status,
                 "sentence": cs.sentence, "score": c.score, "explanation": c.explanation} for cs, c in candidates],
        "contradicted": [_as_seen_from(c, article_id) for c in contradictions],
    }


def _as_seen_from(c: Contradiction, article_id: int) -> dict:
    """A contradiction worded from this article's side: a disagreement stored
    on the other article has its two values and sentences swapped back."""
    mine = c.article_id == article_id
    return {"kind": c.kind, "event": c.event_id, "fact": c.fact,
            "stated": c.stated_value if mine else c.known_value,
            "known": c.known_value if mine else c.stated_value,
            "sentence": c.sentence if mine else c.other_sentence,
            "other_sentence": c.other_sentence if mine else c.sentence,
            "other_article": c.other_article_id if mine else c.article_id,
            "known_source": c.known_source}


def cmd_report(args: argparse.Namespace) -> int:
    from storage.db import session_scope

    url = require_archive(args)
    out = console()
    with session_scope(url) as session:
        report = article_report(session, args.article_id)
        if report is None:
            raise UsageError(f"no article {args.article_id}")
        article = report["article"]
        out.print(f"[bold]Article {article.id}[/bold]: {article.title or '(no title)'}")
        out.print(f"{article.url}  published {_day(article.published_at)}")
        if article.relevant is False:
            out.print("not relevant to any topic: no event diff")
        out.print(f"\n[bold]Confirmed[/bold] ({len(report['confirmed'])} mentions of known events)")
        for m in report["confirmed"]:
            flags = ", ".join(x for x, on in (("lead", m["in_lead"]), ("first report", m["first_report"]),
                                              ("date contradicted", m["date_flag"] == "date-contradicted")) if on)
            out.print(f"  {m['event']} (score {m['confidence']:.2f}{', ' + flags if flags else ''}): {m['sentence']}",
                      markup=False, highlight=False)
            if m["how"]:
                out.print(f"    read as: {m['how']}", markup=False, highlight=False)
        out.print(f"\n[bold]New[/bold] ({len(report['new'])} dated claims matching no known event)")
        for c in report["new"]:
            score = f" (score {c['score']:.2f})" if c["score"] is not None else ""
            out.print(f"  candidate {c['candidate']} [{c['status']}] {_day(c['date'])}{score}: {c['sentence']}",
                      markup=False, highlight=False)
            if c["explanation"]:
                out.print(f"    read as: {c['explanation']}", markup=False, highlight=False)
        out.print(f"\n[bold]Contradicted[/bold] ({len(report['contradicted'])})")
        for c in report["contradicted"]:
            what = f"{c['event'] + ' ' if c['event'] else ''}{c['fact']}"
            if c["kind"] == "timeline":
                out.print(f"  {what}: states {c['stated']}, timeline says {c['known']}"
                          f"{' (' + c['known_source'] + ')' if c['known_source'] else ''}\n    “{c['sentence']}”")
            elif c["kind"] == "internal":
                out.print(f"  {what}: states both {c['stated']} and {c['known']}\n    “{c['sentence']}”\n"
                          f"    “{c['other_sentence']}”")
            else:
                out.print(f"  {what}: {c['stated']} here, {c['known']} in article {c['other_article']}\n"
                          f"    “{c['sentence']}”\n    “{c['other_sentence']}”")
    return 0
