"""robots.txt is fetched once per host per crawl process, however many
sources live there, and not at all by a later process while the archive's
copy is younger than ``crawl.robots_txt_ttl_minutes`` — and its rules still
apply when they come from the archive. The Scrapy internals the middleware
relies on are checked, so a Scrapy release that changes them is noticed."""
from __future__ import annotations

import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from conftest import crawl, write_config
from crawler.config import ConfigError, parse_config
from newsmon.localsite import LocalNewsSite
from storage.db import session_scope
from storage.models import FeedState, Fetch, RobotsCache, Source, utcnow

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def site():
    with LocalNewsSite(slow_seconds=1) as running:
        yield running


def robots_skips(session) -> list[str]:
    return list(session.scalars(select(Fetch.url).where(Fetch.reason == "robots.txt").order_by(Fetch.id)))


def test_one_robots_txt_fetch_per_host_per_crawl_and_none_within_the_ttl(site, db_url, tmp_path):
    bad = {s["name"]: s for s in site.bad_sources()}
    sources = site.sources() + [bad["bad-empty"], bad["bad-entities"]]  # five sources, one host
    assert len({s["name"] for s in sources}) == 5
    config = write_config(tmp_path, db_url, sources)

    crawl(config)
    assert site.count("/robots.txt") == 1
    assert site.count("/capital-wire/private/") == 0
    with session_scope(db_url) as session:
        (private,) = robots_skips(session)
        assert "/capital-wire/private/" in private
        (cached,) = session.scalars(select(RobotsCache))
        assert cached.origin == f"http://127.0.0.1:{site.port}" and b"Disallow: /capital-wire/private/" in cached.body
        # Make Capital Wire read its sitemaps afresh: the private memo is listed to the next crawl again.
        wire = session.scalar(select(Source.id).where(Source.name == "capital-wire"))
        session.execute(delete(FeedState).where(FeedState.source_id == wire))

    site.reset_log()
    crawl(config)
    assert site.count("/robots.txt") == 0  # a second process within the TTL: the archive's copy
    assert site.count("/capital-wire/sitemap-news.xml") == 1
    assert site.count("/capital-wire/private/") == 0  # … whose rules still apply
    with session_scope(db_url) as session:
        assert len(robots_skips(session)) == 2
        # An hour and more later the copy is stale: the next process fetches robots.txt again, once.
        session.execute(update(RobotsCache).values(fetched_at=utcnow() - timedelta(minutes=61)))

    site.reset_log()
    crawl(config, "bad-empty", "bad-entities")
    assert site.count("/robots.txt") == 1


def test_the_ttl_is_a_bounded_config_key():
    assert parse_config({"crawl": {"robots_txt_ttl_minutes": 0}}).crawl.robots_txt_ttl_minutes == 0
    with pytest.raises(ConfigError, match="robots_txt_ttl_minutes"):
        parse_config({"crawl": {"robots_txt_ttl_minutes": 1441}})  # RFC 9309: at most a day


def test_the_scrapy_internals_the_robots_middleware_relies_on_are_there():
    """crawler/robots.py overrides RobotsTxtMiddleware.robot_parser and uses
    _parserimpl, _stats, DOWNLOAD_PRIORITY and engine.download_async: if a
    Scrapy release changes any of them this fails, and pyproject.toml's pin
    says which releases were checked."""
    import scrapy
    from packaging.specifiers import SpecifierSet
    from scrapy.core.engine import ExecutionEngine
    from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
    from scrapy.utils.test import get_crawler

    from crawler.robots import ArchiveRobotsTxtMiddleware

    pinned = re.search(r'"scrapy([^"]*)"', (REPO / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    assert scrapy.__version__ in SpecifierSet(pinned), f"scrapy {scrapy.__version__} is outside the pin {pinned}"
    assert inspect.iscoroutinefunction(RobotsTxtMiddleware.robot_parser)
    assert list(inspect.signature(RobotsTxtMiddleware.robot_parser).parameters) == ["self", "request"]
    assert "await self.robot_parser(request)" in inspect.getsource(RobotsTxtMiddleware.process_request)
    assert inspect.iscoroutinefunction(ExecutionEngine.download_async)
    assert isinstance(RobotsTxtMiddleware.DOWNLOAD_PRIORITY, int)
    middleware = ArchiveRobotsTxtMiddleware(get_crawler(settings_dict={"ROBOTSTXT_OBEY": True}))
    assert middleware._parserimpl is not None and middleware._stats is not None
