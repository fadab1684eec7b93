"""`--log-format json`: one JSON object per stderr line, with the crawl's
structured fields — each page's source, url and outcome as its fetch row says,
and the run's counts on its last line as its ``crawl_runs`` row has them."""
from __future__ import annotations

import json

from sqlalchemy import select

from cli_helpers import run_newsmon
from conftest import SEEDS, StaticSite, rss, write_config
from storage.db import session_scope
from storage.models import Article, CrawlRun, Fetch, Source
from crawler.runlog import COUNT_NAMES


def story(seed: str, title: str | None = None) -> bytes:
    text = sorted(SEEDS.glob(f"{seed}_*.txt"))[0].read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    title = title or first
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    return (f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
            f"</article></body></html>").encode()


def test_json_log_lines_carry_each_pages_outcome_and_the_runs_counts(sqlite_url, tmp_path):
    html = "text/html; charset=utf-8"
    with StaticSite() as site:
        site.routes.update({
            "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private/\n"),
            "/a.html": (200, html, story("001")),
            "/b.html": (200, html, story("002")),
            "/copy.html": (200, html, story("001")),  # the same story under another address
            "/contact.html": (200, html, b"<html><head><title>Contact</title></head><body><p>Write to us.</p>"
                                         b"</body></html>"),
            "/private/x.html": (200, html, story("003")),
        })
        site.routes["/feed.xml"] = (200, "application/rss+xml", rss(site.base_url, [
            ("A", "/a.html"), ("B", "/b.html"), ("Copy", "/copy.html"), ("Contact", "/contact.html"),
            ("Gone", "/gone.html"), ("Private", "/private/x.html")]))
        config = write_config(tmp_path, sqlite_url, [{"name": "outlet", "feeds": [f"{site.base_url}/feed.xml"],
                                                       "allow_private_addresses": True}],
                              crawl={"analysis_workers": 0})
        result = run_newsmon("--log-format", "json", "--config", config, "crawl",
                             "--set", "NEWSMON_RETRY_BACKOFF=0.1", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]  # every line is JSON
    assert lines and all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    pages = [line for line in lines if line.get("event") == "page" and line.get("kind") == "article"]
    ends = [line for line in lines if line.get("event") == "run_end"]

    with session_scope(sqlite_url) as session:
        run = session.scalars(select(CrawlRun)).one()
        rows = session.execute(select(Fetch.url, Fetch.outcome).where(Fetch.crawl_run_id == run.id,
                                                                       Fetch.kind == "article")).all()
        articles = {a.url: a for a in session.scalars(select(Article))}
        source_name = session.scalar(select(Source.name).where(Source.id == run.source_id))

    # Each article page's line says what its fetch row says.
    assert sorted((p["url"], p["outcome"]) for p in pages) == sorted(rows)
    outcomes = {p["url"].removeprefix(site.base_url): p["outcome"] for p in pages}
    assert outcomes["/a.html"] == outcomes["/b.html"] == "new"
    assert outcomes["/contact.html"] == "not_article" and outcomes["/gone.html"] == "error"
    assert outcomes["/private/x.html"] == "skipped"
    assert {p["source"] for p in pages} == {source_name} == {"outlet"}
    gone = next(p for p in pages if p["url"].endswith("/gone.html"))
    assert gone["status"] == 404 and gone["level"] == "WARNING"
    new = [p for p in pages if p["outcome"] == "new"]
    assert {p["article_id"] for p in new} == {a.id for a in articles.values()}
    assert {p["article_id"]: p["title"] for p in new} == {a.id: a.title for a in articles.values()}
    copy = articles[f"{site.base_url}/copy.html"]
    original = articles[f"{site.base_url}/a.html"]
    copies = {p["url"]: p.get("copy_of") for p in new}
    # Exactly one of the two identical pages is the copy of the other (whichever was filed second).
    assert sorted(filter(None, [copies[copy.url], copies[original.url]])) in ([copy.id], [original.id])

    # The run's last line carries its counts as fields, equal to its crawl_runs row.
    assert len(ends) == 1
    end = ends[0]
    assert end["source"] == "outlet" and end["run_id"] == run.id and end["status"] == run.status
    assert end["counts"] == {name: getattr(run, name) for name in COUNT_NAMES}
    assert end["counts"]["new_articles"] == 3 and end["counts"]["not_articles"] == 1


def test_text_logs_leave_the_fields_to_the_message(sqlite_url, tmp_path):
    with StaticSite() as site:
        site.routes["/a.html"] = (200, "text/html; charset=utf-8", story("001"))
        site.routes["/feed.xml"] = (200, "application/rss+xml", rss(site.base_url, [("A", "/a.html")]))
        config = write_config(tmp_path, sqlite_url, [{"name": "outlet", "feeds": [f"{site.base_url}/feed.xml"],
                                                       "allow_private_addresses": True}],
                              crawl={"analysis_workers": 0, "obey_robots_txt": False})
        result = run_newsmon("--config", config, "crawl", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    new_line = next(line for line in result.stderr.splitlines() if f"new {site.base_url}/a.html" in line)
    assert "outcome=" not in new_line and "{" not in new_line
    end = next(line for line in result.stderr.splitlines() if "outlet: run ok:" in line)
    assert "1 new" in end and "counts=" not in end
