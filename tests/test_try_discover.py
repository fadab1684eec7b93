"""`newsmon try`, `discover` and `sources import` against the local news site on 127.0.0.1."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from cli_helpers import REPO, run_newsmon
from newsmon.localsite import LocalNewsSite
from storage.db import session_scope
from storage.models import Article, ArticleTopic, Source

EXAMPLE = yaml.safe_load((REPO / "newsmon" / "data" / "newsmon.example.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def site():
    with LocalNewsSite() as running:
        yield running


def _config(tmp_path, url: str, site, **extra) -> str:
    path = tmp_path / "newsmon.yaml"
    data = {"database_url": url, "sources": site.sources(), "topics": EXAMPLE["topics"],
            "events": str(REPO / "newsmon" / "data" / "events.example.yaml"), **extra}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_try_prints_what_the_crawl_would_store_and_archives_nothing(site, sqlite_url, tmp_path):
    config = _config(tmp_path, sqlite_url, site)
    page = f"{site.base_url}/andean-post/2025/11/19/us-halts-aid-payments-to-colombia?utm_source=x"

    result = run_newsmon("--config", config, "try", page, "--source", "andean-post")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "title: US halts aid payments to Colombia" in out
    assert "language: en" in out and "published: 2025-11-19" in out
    assert "topic: us-colombia" in out and "relevant" in out and "us-aid" in out
    assert "confirms:" in out and "nothing was archived" in out
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count(Article.id))) == 0
        assert session.scalar(select(func.count(ArticleTopic.id))) == 0
        assert session.scalar(select(func.count(Source.id))) == 0


def test_try_explains_a_refusal_and_robots_txt(site, sqlite_url, tmp_path):
    config = _config(tmp_path, sqlite_url, site)
    result = run_newsmon("--config", config, "try", f"{site.base_url}/bad/pdf/2025/11/annual-security-report")
    assert result.returncode == 0, result.stderr
    assert "would not archive: not an article:" in result.stdout and "pdf" in result.stdout.lower(), result.stdout
    result = run_newsmon("--config", config, "try", f"{site.base_url}/andean-post/no-such-story")
    assert result.returncode == 0 and "would not archive: HTTP 404" in result.stdout
    result = run_newsmon("--config", config, "try", f"{site.base_url}/capital-wire/private/memo")
    assert result.returncode == 2 and "robots.txt disallows it" in result.stderr
    result = run_newsmon("--config", config, "try", "not-a-url")
    assert result.returncode == 2 and "not an http(s) URL" in result.stderr


def test_discover_finds_feeds_and_sitemaps_and_prints_a_declaration(site, tmp_path):
    fast = tmp_path / "fast.yaml"
    fast.write_text("crawl: {download_delay: 0}\n", encoding="utf-8")
    result = run_newsmon("--config", str(fast), "discover", f"{site.base_url}/andean-post/", "--name", "andean")
    assert result.returncode == 0, result.stderr
    [source] = yaml.safe_load(result.stdout)
    assert source["name"] == "andean"
    assert f"{site.base_url}/andean-post/feed.xml" in source["feeds"]
    assert f"{site.base_url}/capital-wire/sitemap-index.xml" in source["sitemaps"]  # robots.txt's Sitemap: line
    # The printed declaration is a valid source.
    path = tmp_path / "discovered.yaml"
    path.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
    assert run_newsmon("--config", str(path), "sources", "--help").returncode == 0


def test_sources_import_reads_opml(tmp_path):
    opml = tmp_path / "feeds.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>
      <outline text="Colombia"><outline text="El Tiempo" type="rss" xmlUrl="https://www.eltiempo.com/rss/colombia.xml"/>
      <outline title="El Tiempo" text="x" xmlUrl="https://www.eltiempo.com/rss/mundo.xml"/></outline>
      <outline text="Reuters LatAm" xmlUrl="https://reuters.example/latam.rss"/></body></opml>""", encoding="utf-8")
    result = run_newsmon("sources", "import", str(opml), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sources = yaml.safe_load(result.stdout)
    assert [s["name"] for s in sources] == ["el-tiempo", "el-tiempo-2", "reuters-latam"]
    assert sources[2]["feeds"] == ["https://reuters.example/latam.rss"]
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline", encoding="utf-8")
    result = run_newsmon("sources", "import", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "not valid OPML" in result.stderr
