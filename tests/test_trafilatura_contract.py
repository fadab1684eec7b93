"""The trafilatura internals newsmon relies on, checked against the pinned range.

``crawler.metadata.page_metadata`` runs trafilatura's metadata steps one by one
(``trafilatura.metadata``: ``examine_meta``, ``extract_meta_json``'s loop
with ``JSON_MINIFY`` and ``trafilatura.json_metadata``'s ``normalize_json``,
``extract_json``, ``extract_json_parse_error``, then ``extract_title``,
``extract_author``, ``extract_url``, ``extract_sitename``,
``extract_catstags``, ``META_URL``; ``Document.clean_and_trim``) instead of
``extract_metadata``, to skip work whose result it throws away. These are not
trafilatura's public API: pyproject.toml pins the range they were checked on,
and this file fails when an upgrade changes their names, signatures or results,
so that the upgrade is a decision and not a surprise.
"""
from __future__ import annotations

import inspect
from datetime import datetime

import trafilatura
from trafilatura import json_metadata as jm
from trafilatura import metadata as tm
from trafilatura.settings import Document
from trafilatura.utils import load_html

from crawler.metadata import page_metadata, read_signals

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Colombia recalls its ambassador - The Daily Meridian</title>
<meta property="og:title" content="Colombia recalls its ambassador">
<meta property="og:site_name" content="The Daily Meridian">
<meta property="og:url" content="https://meridian.example/world/colombia-recalls-ambassador">
<meta name="author" content="Ana Gómez">
<meta name="description" content="Bogotá answers Washington's visa decision.">
</head><body><article><h1>Colombia recalls its ambassador</h1>
<p>Colombia recalled its ambassador to the United States on Monday after Washington revoked the visa of the
president, the foreign ministry said in a statement read on national television.</p>
<a rel="tag" href="/tag/diplomacy">Diplomacy</a></article></body></html>"""


def test_trafilatura_is_in_the_range_the_internals_were_checked_on():
    major, minor, *_ = (int(part) for part in trafilatura.__version__.split(".")[:3])
    assert (major, minor) == (2, 3), "re-check crawler.metadata.page_metadata against the new trafilatura"


def test_the_internal_metadata_steps_keep_their_signatures():
    def params(fn):
        return list(inspect.signature(fn).parameters)

    assert params(tm.examine_meta) == ["tree"]
    assert params(tm.extract_meta_json) == ["tree", "metadata"]
    assert params(tm.extract_title) == ["tree"]
    assert params(tm.extract_author) == ["tree"]
    assert params(tm.extract_url) == ["tree", "default_url"]
    assert params(tm.extract_sitename) == ["tree"]
    assert params(tm.extract_catstags) == ["metatype", "tree"]
    assert tm.META_URL.match("https://www.meridian.example/a")[1] == "meridian.example"
    assert callable(Document.clean_and_trim)
    assert params(jm.normalize_json) == ["string"]
    assert params(jm.extract_json) == ["schema", "metadata"]
    assert params(jm.extract_json_parse_error) == ["elem", "metadata"]
    assert tm.JSON_MINIFY.sub(r"\1", '{ "a" : "b c" }') == '{"a":"b c"}'


def test_our_step_by_step_pass_gives_what_trafilatura_extract_metadata_gives():
    ours = page_metadata(load_html(PAGE), "https://meridian.example/world/colombia-recalls-ambassador",
                         read_signals(load_html(PAGE)))
    theirs = tm.extract_metadata(load_html(PAGE), default_url="https://meridian.example/world/x",
                                 date_config={"max_date": datetime(2030, 1, 1).strftime("%Y-%m-%d")})
    for name in ("title", "author", "url", "sitename", "description", "categories", "tags"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert (ours.title, ours.author, ours.sitename) == ("Colombia recalls its ambassador", "Ana Gómez",
                                                        "The Daily Meridian")


BROKEN_JSON_LD = """<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Colombia recalls its
ambassador", "author": {"@type": "Person", "name": "Ana Gómez"}, "publisher": {"name": "The Daily Meridian"},
"articleBody": "unterminated </script>"""


def test_a_broken_json_ld_block_is_read_as_trafilatura_reads_it_when_the_page_gives_no_author():
    # the block is not valid JSON: trafilatura's regex scan finds the author; ours runs it too (no <meta> author here)
    page = PAGE.replace('<meta name="author" content="Ana Gómez">', "").replace("</head>", BROKEN_JSON_LD + "</head>")
    ours = page_metadata(load_html(page), "https://meridian.example/world/colombia-recalls-ambassador",
                         read_signals(load_html(page)))
    theirs = tm.extract_metadata(load_html(page), default_url="https://meridian.example/world/x",
                                 date_config={"max_date": datetime(2030, 1, 1).strftime("%Y-%m-%d")})
    assert ours.author == theirs.author == "Ana Gómez"
    for name in ("title", "url", "sitename"):
        assert getattr(ours, name) == getattr(theirs, name), name
