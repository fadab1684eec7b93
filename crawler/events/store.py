"""The archive side of the event diff: the stage that stores each article's
diff (mentions, statements, candidates, contradictions), compares its
statements with other archived articles, and keeps first reports and the
``events`` table in step with the timeline file."""
from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, delete, func, or_, select, union_all, update

from crawler.events.diff import diff_text
from crawler.events.hits import CandidateHit, StatementHit, content_words, similarity, value_date
from crawler.events.timeline import Timeline, load_timeline
from crawler.facts import bound_interval, find_quantities, month_interval, parse_fact_value
from crawler.stages import Stage
from storage.upsert import get_state, set_state
from storage.models import (
    Article,
    CandidateSource,
    CandidateTerm,
    Contradiction,
    Event,
    EventCandidate,
    EventFact,
    EventMention,
    FactStatement,
    Source,
    utcnow,
)

log = logging.getLogger(__name__)

MAX_CANDIDATE_MATCHES = 10  # open candidates, most terms shared first, whose evidence is compared
_BACKFILL_BATCH = 1000


def sync_timeline(session, timeline: Timeline) -> dict[str, int]:
    """Upsert the timeline into ``events``/``event_facts``; events no longer in
    the file are deleted with their mentions (foreign keys cascade)."""
    ids = [e.id for e in timeline.events]
    existing = {e.id: e for e in session.scalars(select(Event))}
    added = updated = 0
    for known in timeline.events:
        row = existing.get(known.id)
        if row is None:
            row = Event(id=known.id)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.date_start, row.date_end, row.date_precision = known.start, known.end, known.precision
        row.title, row.actors, row.aliases, row.source = known.title, known.actors, known.aliases, known.source
        row.loaded_at = utcnow()
    session.flush()
    for known in timeline.events:
        facts = {f.name: f for f in session.scalars(select(EventFact).where(EventFact.event_id == known.id))}
        names = {f.name for f in known.facts}
        for name, row in facts.items():
            if name not in names:
                session.delete(row)
        for fact in known.facts:
            row = facts.get(fact.name) or EventFact(event_id=known.id, name=fact.name)
            row.value = fact.value / fact.scale if fact.value is not None else None
            row.unit, row.text, row.source = fact.unit, fact.text, fact.source
            session.add(row)
    removed = [i for i in existing if i not in ids]
    if removed:
        session.execute(delete(Event).where(Event.id.in_(removed)))
    session.flush()
    return {"added": added, "updated": updated, "removed": len(removed)}


def _article_dates(article: Article) -> tuple[date | None, date]:
    published = article.published_at.date() if article.published_at else None
    seen = article.first_seen.date() if article.first_seen else date.today()
    return published, published or seen


class EventDiffStage(Stage):
    """Diffs every relevant article against the known-events timeline."""

    name = "events"

    def __init__(self, config, timeline: Timeline | None = None, **context) -> None:
        super().__init__(config, **context)
        self.timeline = timeline
        self._source_names: dict[int | None, str | None] = {}

    def open(self, session) -> None:
        if self.timeline is None:
            self.timeline = load_timeline(self.config)
        counts = sync_timeline(session, self.timeline)
        backfill(session)
        log.info("events: timeline loaded (%d events; %d added, %d removed)",
                 len(self.timeline.events), counts["added"], counts["removed"])

    def _reading(self, session, article: Article) -> tuple[str | None, str | None]:
        """(language, date order) for the article: the source's ``date_order``
        from the config, else the language's default."""
        if article.source_id not in self._source_names:  # a source row's name never changes
            self._source_names[article.source_id] = session.scalar(select(Source.name)
                                                                   .where(Source.id == article.source_id))
        source_name = self._source_names[article.source_id]
        source = next((s for s in self.config.sources if s.name == source_name), None)
        language = article.language or (source.language if source else None)
        return language, source.date_order if source else None

    def process(self, session, article: Article, analysis=None, new: bool = False) -> None:
        if self.timeline is None:
            self.open(session)
        # Most articles are analysed once, when first archived: nothing of theirs
        # to clear, and their first reports can be settled incrementally.
        fresh = new or not has_event_rows(session, article.id)
        touched = set() if fresh else clear_article(session, article.id)
        if article.relevant is False or not article.text or article.paywalled:
            log.debug("events: article %s skipped (%s)", article.id,
                      "not relevant" if article.relevant is False else "paywall teaser" if article.text else "no text")
            if not fresh:
                drop_stale_disputes(session, article.id)
                recompute_first_reports(session, touched)
            return
        published, reference = _article_dates(article)
        language, order = self._reading(session, article)
        if (analysis is not None and analysis.diff is not None and analysis.fits(article.text)
                and analysis.diff_inputs == (published, reference, language, order)):
            diff = analysis.diff  # computed in a worker process from this very text and dates
        else:
            diff = diff_text(article.text, self.timeline, published, language, order, reference)
        reported_at = article.published_at or article.first_seen
        # Multi-row inserts, one statement per table (nothing reads these rows back as objects).
        _insert(session, EventMention, [
            {"article_id": article.id, "event_id": m.event_id, "sentence": m.sentence, "start_offset": m.start,
             "end_offset": m.end, "confidence": m.confidence, "in_lead": m.in_lead, "how": m.how,
             "date_flag": m.flag, "reported_at": reported_at} for m in diff.mentions])
        statements = list(diff.statements)
        _insert(session, FactStatement, [
            {"article_id": article.id, "event_id": s.event_id, "fact": s.fact, "value": s.value, "unit": s.unit,
             "bound": s.bound, "value_text": s.value_text, "sentence": s.sentence, "start_offset": s.start,
             "end_offset": s.end, "interval_lo": s.interval[0], "interval_hi": s.interval[1]} for s in statements])
        _insert(session, Contradiction, [
            {"article_id": article.id, "event_id": c.event_id, "fact": c.fact, "kind": c.kind,
             "stated_value": c.stated_value, "known_value": c.known_value, "sentence": c.sentence,
             "other_sentence": c.other_sentence, "known_source": c.known_source} for c in diff.contradictions])
        session.flush()
        if not fresh:
            drop_stale_disputes(session, article.id)
        self._article_contradictions(session, article, statements, new)
        starts: set[int] = set()
        for hit in diff.candidates:  # a new article cites no candidate, but two hits may share a sentence
            store_candidate(session, article, hit, new and hit.start not in starts)
            starts.add(hit.start)
        mentioned = {m.event_id for m in diff.mentions if m.flag is None}  # as happened, at its date
        if fresh:
            mark_first_reports(session, article.id, mentioned)
        else:
            recompute_first_reports(session, touched | mentioned)
        for c in diff.contradictions:
            log.info("events: article %s contradicts %s (%s %s): states %s, %s %s", article.id, c.event_id, c.kind,
                     c.fact, c.stated_value, "timeline says" if c.kind == "timeline" else "also states",
                     c.known_value)
        log.debug("events: article %s: %d mentions, %d statements, %d candidates, %d contradictions", article.id,
                  len(diff.mentions), len(diff.statements), len(diff.candidates), len(diff.contradictions))

    def _article_contradictions(self, session, article: Article, statements: list[StatementHit],
                                new: bool = False) -> None:
        """The same fact stated incompatibly by another archived article
        (copies of this one excepted). One row per value stated, against one
        article that disagrees — of the closest disagreeing value below and
        the closest above, the earlier report: enough to show the dispute,
        and the table grows with the articles, not with their pairs.
        Disagreement is an indexed range test on the stored intervals, read
        in index order and stopped at the first hit, so the cost does not
        grow with the coverage of the fact."""
        own_cluster = article.cluster_id or article.id
        wanted: dict[tuple, StatementHit] = {}
        for s in statements:
            wanted.setdefault((s.event_id, s.fact, s.value_text), s)
        rows = []
        for s in wanted.values():
            slack = 1.0 if s.fact == "date" else 0.0  # a day of slack for time zones, as statements_agree
            found = session.execute(_dispute_query(s.event_id is not None), {
                "fact": s.fact, "event": s.event_id, "own": article.id, "cluster": own_cluster,
                "below": s.interval[0] - slack, "above": s.interval[1] + slack}).all()
            if not found:
                continue
            other = min(found, key=lambda row: (row.at, row.id))
            disputed = not new and session.scalar(select(Contradiction.id).where(  # the other article records it
                Contradiction.article_id == other.article_id, Contradiction.other_article_id == article.id,
                Contradiction.kind == "article", Contradiction.fact == s.fact,
                Contradiction.known_value == s.value_text).limit(1)) is not None
            if disputed:
                continue
            rows.append({"article_id": article.id, "event_id": s.event_id, "fact": s.fact, "kind": "article",
                         "stated_value": s.value_text, "known_value": other.value_text, "sentence": s.sentence,
                         "other_sentence": other.sentence, "other_article_id": other.article_id})
        _insert(session, Contradiction, rows)  # one multi-row statement (the unit of work sends one per row)


# When an article reported what it says: its publication date, else when it was first seen.
_REPORTED_AT = func.coalesce(Article.published_at, Article.first_seen)


@lru_cache(maxsize=32)
def _earliest_reports(events: int):
    """One statement: an article's own date, and for each of ``events``
    events (``:e0``…) the earliest other undisputed mention, each an indexed
    MIN on (event_id, reported_at). Built once per number of events."""
    return select(
        select(_REPORTED_AT).where(Article.id == bindparam("article")).scalar_subquery(),
        *(select(func.min(EventMention.reported_at)).where(
            EventMention.event_id == bindparam(f"e{n}"), EventMention.article_id != bindparam("article"),
            EventMention.date_flag.is_(None)).scalar_subquery() for n in range(events)))


@lru_cache(maxsize=2)
def _dispute_query(with_event: bool):
    """The closest statement of the same fact below and above a stated
    interval, by an article outside the stater's cluster: two indexed range
    reads ((fact, event_id, interval_hi/lo)), stopped at the first hit. Built
    once: constructing it per value cost ~15x what running it does."""
    base = (select(FactStatement.id, _REPORTED_AT.label("at"), FactStatement.article_id, FactStatement.value_text,
                   FactStatement.sentence)
            .join(Article, Article.id == FactStatement.article_id)
            .where(FactStatement.fact == bindparam("fact"),
                   FactStatement.event_id == bindparam("event") if with_event else FactStatement.event_id.is_(None),
                   FactStatement.article_id != bindparam("own"),
                   func.coalesce(Article.cluster_id, Article.id) != bindparam("cluster")))
    below = (base.where(FactStatement.interval_hi < bindparam("below"))
             .order_by(FactStatement.interval_hi.desc()).limit(1))
    above = (base.where(FactStatement.interval_lo > bindparam("above"))
             .order_by(FactStatement.interval_lo).limit(1))
    return union_all(select(below.subquery()), select(above.subquery()))


def backfill(session) -> None:
    """Fill what rows stored before bounded queries existed lack: statement
    intervals and open candidates' terms (once per archive: a marker in
    ``archive_state`` says it was done)."""
    if get_state(session, "events.backfilled") == "1":
        return
    done = 0
    while True:
        rows = session.scalars(select(FactStatement).where(FactStatement.interval_lo.is_(None))
                               .limit(_BACKFILL_BATCH)).all()
        if not rows:
            break
        for row in rows:
            row.interval_lo, row.interval_hi = _stored_statement(row).interval
        session.flush()
        done += len(rows)
    lacking = (select(EventCandidate.id).where(EventCandidate.status == "open",
                                               ~select(CandidateTerm.term)
                                               .where(CandidateTerm.candidate_id == EventCandidate.id).exists()))
    candidates = list(session.scalars(lacking))
    for candidate_id in candidates:
        sentences = session.scalars(select(CandidateSource.sentence)
                                    .where(CandidateSource.candidate_id == candidate_id)).all()
        day = session.scalar(select(EventCandidate.date_start).where(EventCandidate.id == candidate_id))
        _add_terms(session, candidate_id, set().union(*(content_words(t) for t in sentences)), day)
    set_state(session, "events.backfilled", "1")
    if done or candidates:
        session.flush()
        log.info("events: filled in %d statement intervals and the terms of %d candidates", done, len(candidates))


def _stored_statement(row: FactStatement) -> StatementHit:
    """A stored statement with its interval rebuilt (rounding from the text as written)."""
    if row.fact == "date":
        start = value_date(row.value)
        end = {"day": start, "month": month_interval(start.year, start.month)[1],
               "year": date(start.year, 12, 31)}.get(row.unit or "day", start)
        interval = (float(start.toordinal()), float(end.toordinal()))
    else:
        quantities = find_quantities(row.value_text)
        rel_tol = quantities[0].rel_tol if quantities else 0.005
        scale = (parse_fact_value(f"1 {row.unit}") or (1.0,))[0]
        interval = bound_interval((row.value or 0.0) * scale, row.bound, rel_tol)
    return StatementHit(row.event_id, row.fact, row.value, row.unit, row.bound, row.value_text, row.sentence,
                        row.start_offset, row.end_offset, interval)


def _insert(session, model, rows: list[dict]) -> None:
    """One multi-row INSERT through Core (the ORM's bulk path costs ~2x more per statement here)."""
    if rows:
        session.execute(model.__table__.insert(), rows)


def has_event_rows(session, article_id: int) -> bool:
    """Whether a previous run left rows for this article (mentions,
    statements, contradictions either way, candidate sources). One query: a
    brand-new article has none, and then clearing it — six statements — and
    checking others' disputes with it can be skipped."""
    checks = (
        select(EventMention.id).where(EventMention.article_id == article_id),
        select(FactStatement.id).where(FactStatement.article_id == article_id),
        select(Contradiction.id).where(or_(Contradiction.article_id == article_id,
                                           Contradiction.other_article_id == article_id)),
        select(CandidateSource.id).where(CandidateSource.article_id == article_id),
    )
    return bool(session.scalar(select(or_(*(check.exists() for check in checks)))))


def clear_article(session, article_id: int) -> set[str]:
    """Remove what a previous run derived from this article (idempotence);
    returns the events it had mentioned. Promoted candidates keep their
    sources: they are the record of where the event came from. Other
    articles' disputes with this one are checked once its new statements are
    in (:func:`drop_stale_disputes`)."""
    touched = set(session.scalars(select(EventMention.event_id).where(EventMention.article_id == article_id)))
    session.execute(delete(EventMention).where(EventMention.article_id == article_id))
    session.execute(delete(FactStatement).where(FactStatement.article_id == article_id))
    session.execute(delete(Contradiction).where(Contradiction.article_id == article_id))
    open_ids = select(EventCandidate.id).where(EventCandidate.status == "open")
    mine = list(session.scalars(select(CandidateSource.candidate_id).where(
        CandidateSource.article_id == article_id, CandidateSource.candidate_id.in_(open_ids))))
    if mine:
        session.execute(delete(CandidateSource).where(CandidateSource.article_id == article_id,
                                                      CandidateSource.candidate_id.in_(mine)))
        orphans = select(EventCandidate.id).where(
            EventCandidate.id.in_(mine),
            ~select(CandidateSource.id).where(CandidateSource.candidate_id == EventCandidate.id).exists())
        session.execute(delete(EventCandidate).where(EventCandidate.id.in_(orphans)))
    session.flush()
    return touched


def drop_stale_disputes(session, article_id: int) -> None:
    """Delete other articles' ``article`` contradictions that cite a value this
    article no longer states (its text changed, or it is now irrelevant)."""
    stated = set(session.execute(select(FactStatement.event_id, FactStatement.fact, FactStatement.value_text)
                                 .where(FactStatement.article_id == article_id)).all())
    for row in session.scalars(select(Contradiction).where(Contradiction.other_article_id == article_id,
                                                          Contradiction.kind == "article")):
        if (row.event_id, row.fact, row.known_value) not in stated:
            session.delete(row)
    session.flush()


def recompute_first_reports(session, event_ids) -> None:
    """first_report = no earlier-published archived article mentions the
    event (articles without a date are placed at their first sighting).
    Only mentions of the event as happened at its date count: a flagged
    (date-contradicted) mention is never a first report, and a sentence
    that only considers, threatens or denies the event is no mention.
    Done in SQL so the cost stays flat as coverage of an event grows."""
    session.flush()
    for event_id in event_ids:
        earliest = session.scalar(select(func.min(EventMention.reported_at))
                                  .where(EventMention.event_id == event_id, EventMention.date_flag.is_(None)))
        first_articles = select(EventMention.article_id).where(
            EventMention.event_id == event_id, EventMention.reported_at == earliest, EventMention.date_flag.is_(None))
        if earliest is None:  # only flagged mentions left: none is a first report
            first_articles = select(Article.id).where(Article.id.is_(None))
        session.execute(update(EventMention)
                        .where(EventMention.event_id == event_id, EventMention.first_report.is_(True),
                               EventMention.article_id.not_in(first_articles))
                        .values(first_report=False).execution_options(synchronize_session=False))
        session.execute(update(EventMention)
                        .where(EventMention.event_id == event_id, EventMention.first_report.is_not(True),
                               EventMention.date_flag.is_(None), EventMention.article_id.in_(first_articles))
                        .values(first_report=True).execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):  # loaded mentions must re-read the flag
        if isinstance(obj, EventMention):
            session.expire(obj, ["first_report"])


def mark_first_reports(session, article_id: int, event_ids) -> None:
    """first_report for the mentions of a newly analysed article, given that
    every other mention's flag is already right: the article is a first
    report of an event unless another mentioning article is earlier, and
    when it is strictly the earliest, the previous first reports no longer
    are. Same result as :func:`recompute_first_reports`, with one grouped
    query for all the events instead of three statements per event."""
    if not event_ids:
        return
    events = sorted(event_ids)
    own, *earliest = session.execute(_earliest_reports(len(events)),  # autoflush writes the new mentions
                                     {"article": article_id, **{f"e{n}": e for n, e in enumerate(events)}}).one()
    if own is None:
        return
    beaten, dethroned = set(), []
    for event_id, earliest_other in zip(events, earliest):
        if earliest_other is None:
            continue
        if earliest_other < own:
            beaten.add(event_id)
        elif earliest_other > own:
            dethroned.append(event_id)
    firsts = sorted(set(event_ids) - beaten)
    if firsts:
        session.execute(update(EventMention)
                        .where(EventMention.article_id == article_id, EventMention.event_id.in_(firsts),
                               EventMention.date_flag.is_(None))
                        .values(first_report=True).execution_options(synchronize_session=False))
    if dethroned:
        session.execute(update(EventMention)
                        .where(EventMention.event_id.in_(dethroned), EventMention.first_report.is_(True),
                               EventMention.article_id != article_id)
                        .values(first_report=False).execution_options(synchronize_session=False))
    if firsts or dethroned:
        for obj in list(session.identity_map.values()):  # loaded mentions must re-read the flag
            if isinstance(obj, EventMention):
                session.expire(obj, ["first_report"])


def week_of(day: date) -> int:
    """The date bucket candidates are indexed by (weeks since year 1)."""
    return day.toordinal() // 7


def _add_terms(session, candidate_id: int, terms: set[str], day: date, created: bool = False) -> None:
    """Index a candidate under the terms it does not have yet (``created``: the row is new, it has none)."""
    have = set() if created else set(session.scalars(select(CandidateTerm.term)
                                                     .where(CandidateTerm.candidate_id == candidate_id)))
    for term in sorted(terms - have):
        session.add(CandidateTerm(term=term, week=week_of(day), candidate_id=candidate_id))


# Built once (constructing a statement cost more than running it): the open
# candidates sharing terms with a claim in its date window, through the
# (term, week) index, most terms shared first; and their evidence.
_OPEN_CANDIDATES = (
    select(EventCandidate.id, EventCandidate.date_start, EventCandidate.date_precision)
    .join(CandidateTerm, CandidateTerm.candidate_id == EventCandidate.id)
    .where(CandidateTerm.term.in_(bindparam("terms", expanding=True)),
           CandidateTerm.week.between(bindparam("first_week"), bindparam("last_week")),
           EventCandidate.status == "open",
           EventCandidate.date_start >= bindparam("first"), EventCandidate.date_start <= bindparam("last"))
    .group_by(EventCandidate.id, EventCandidate.date_start, EventCandidate.date_precision)
    .order_by(func.count(CandidateTerm.term).desc(), EventCandidate.id).limit(MAX_CANDIDATE_MATCHES))
_CANDIDATE_SENTENCES = (select(CandidateSource.candidate_id, CandidateSource.sentence)
                        .where(CandidateSource.candidate_id.in_(bindparam("ids", expanding=True))))


def store_candidate(session, article: Article, hit: CandidateHit, new: bool = False) -> EventCandidate:
    """Attach a dated claim to the open candidate it repeats (dates within a
    week and similar wording), or open a new candidate (``new``: the article
    was inserted in this transaction, so no candidate cites it yet). The open candidates
    compared are found through the indexed date window and the terms they
    share with the claim (wording with no term in common cannot be similar),
    the ``MAX_CANDIDATE_MATCHES`` sharing most first."""
    slack = timedelta(days=7)
    end = month_interval(hit.date_start.year, hit.date_start.month)[1] if hit.precision == "month" else hit.date_start
    terms = content_words(hit.sentence)
    best, best_score = None, 0.0
    if terms:
        first, last = hit.date_start - timedelta(days=40), end + slack
        ranked = session.execute(_OPEN_CANDIDATES, {"terms": sorted(terms), "first_week": week_of(first),
                                                    "last_week": week_of(last), "first": first, "last": last}).all()
        ids = []
        for candidate_id, start, precision in ranked:
            c_end = month_interval(start.year, start.month)[1] if precision == "month" else start
            if start - slack <= end and hit.date_start - slack <= c_end:
                ids.append(candidate_id)
        sentences: dict[int, list[str]] = {}
        for candidate_id, sentence in session.execute(_CANDIDATE_SENTENCES, {"ids": ids}):
            sentences.setdefault(candidate_id, []).append(sentence)
        for candidate_id in ids:
            score = max((similarity(hit.sentence, t) for t in sentences.get(candidate_id, [])), default=0.0)
            if score > best_score:
                best, best_score = candidate_id, score
    created = best is None or best_score < 0.2
    if created:
        row = EventCandidate(date_start=hit.date_start, date_precision=hit.precision, title=hit.title,
                             actors=hit.actors, score=hit.score, explanation=hit.explanation)
        session.add(row)
        session.flush()
    else:
        row = session.get(EventCandidate, best)
        row.actors = list(dict.fromkeys([*(row.actors or []), *hit.actors]))
        row.last_seen = utcnow()
        if hit.score > (row.score or 0.0):
            row.score, row.explanation = hit.score, hit.explanation
    _add_terms(session, row.id, terms, row.date_start, created)
    exists = None if new or created else session.scalar(select(CandidateSource.id).where(
        CandidateSource.candidate_id == row.id, CandidateSource.article_id == article.id,
        CandidateSource.start_offset == hit.start))
    if exists is None:
        session.add(CandidateSource(candidate_id=row.id, article_id=article.id, sentence=hit.sentence,
                                    start_offset=hit.start, end_offset=hit.end))
    session.flush()
    return row
