"""Text the crawl path used to drop where trafilatura's defaults keep it, on
synthetic pages built like the real ones that showed it (bench/README.md,
extract_quality, third pass): a fast pass that stops where a block "hidden
until consent" begins, an article split into several containers around ads
(the page declares the whole body in JSON-LD), and a live blog whose entry
headings a sidebar also links."""
from __future__ import annotations

import json
from datetime import datetime

import trafilatura

from crawler.extract import extract_article

FETCHED = datetime(2025, 11, 1)
URL = "https://vallehoy.example/ciudad/planta-agua"
TITLE = "Cali's water plant is two years late"
SUBJECTS = ["The water authority", "The city council", "The comptroller's office", "The consortium",
            "Residents of Siloé", "The mayor's office", "Engineers at the plant", "The regional governor",
            "A group of neighbours", "The national ministry"]
VERBS = ["said on Monday", "told reporters on Tuesday", "wrote in a statement on Wednesday", "argued on Thursday",
         "warned on Friday", "insisted at the weekend"]


def paragraph(i: int) -> str:
    return (f"{SUBJECTS[i % len(SUBJECTS)]} {VERBS[i % len(VERBS)]} that stage {i + 1} of the works on the Cauca "
            f"river intake would need {i + 3} more weeks, because the soil under pillar {i * 7 + 2} was softer "
            f"than the surveys of 2019 had shown, and that the cost of the delay, about {i + 12} billion pesos, "
            f"would fall on the contractor.")


def page(body: str, head: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>'
            f'<meta property="og:type" content="article"><meta property="og:title" content="{TITLE}">'
            f'<meta property="article:published_time" content="2025-10-20T09:00:00Z">{head}</head><body>'
            '<header><nav><a href="/">Valle Hoy</a> <a href="/ciudad">Ciudad</a></nav></header>'
            f"<main><h1>{TITLE}</h1>{body}</main><footer><p>Valle Hoy</p></footer></body></html>")


def test_a_fast_pass_that_stops_at_a_hidden_block_is_retried_with_the_fallbacks():
    paragraphs = [paragraph(i) for i in range(52)]
    html = page('<div class="post-text">' + "".join(f"<p>{p}</p>" for p in paragraphs[:12])
                + '<div id="post-text-hidden" class="reveal">' + "".join(f"<p>{p}</p>" for p in paragraphs[12:])
                + "</div></div>")
    fast = trafilatura.extract(html, fast=True) or ""
    assert paragraphs[11] in fast and paragraphs[12] not in fast  # what the first pass alone keeps
    result = extract_article(html, URL, fetched_at=FETCHED)
    assert result.text.split("\n\n") == paragraphs
    assert result.origins["text"].startswith("fallback extractors (fast pass: ")
    assert "in paragraphs" in result.origins["text"]


def test_an_article_split_into_containers_is_taken_from_the_body_the_page_declares():
    paragraphs = [paragraph(i) for i in range(20)]
    # The CMS's declared body: markup lines and markdown links around the same paragraphs.
    linked = "[Cauca river](https://vallehoy.example/tag/cauca)"
    lines = ["+++dropcap", *paragraphs[:5], "+++", "[#image: /photos/intake]",
             *(p.replace("Cauca river", linked, 1) for p in paragraphs[5:])]
    declared = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
                           "articleBody": "\n\n".join(lines)})
    chunks = "".join('<div class="chunk"><div itemprop="articleBody">'
                     + "".join(f"<p>{p}</p>" for p in paragraphs[c * 5:(c + 1) * 5])
                     + '</div></div><div class="ad"><p>Advertisement</p></div>' for c in range(4))
    html = page(chunks, f'<script type="application/ld+json">{declared}</script>')
    assert paragraphs[5] not in (trafilatura.extract(html) or "")  # trafilatura takes the first container
    result = extract_article(html, URL, fetched_at=FETCHED)
    assert result.text.split("\n\n") == paragraphs
    assert result.origins["text"].startswith("declared articleBody (fast pass: ")

    # A page that declares itself not free keeps what it shows: its declared body is the text behind the paywall.
    closed = declared.replace('"@type": "NewsArticle"', '"@type": "NewsArticle", "isAccessibleForFree": "False"')
    result = extract_article(page(chunks, f'<script type="application/ld+json">{closed}</script>'), URL,
                             fetched_at=FETCHED)
    assert paragraphs[0] in result.text and paragraphs[-1] not in result.text

    # A declared body that is another text (a video player's script) is not taken.
    other = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
                        "articleBody": " ".join(f"To view this video please enable JavaScript, step {i}, and "
                                                f"consider upgrading to a browser that supports video."
                                                for i in range(120))})
    result = extract_article(page(chunks, f'<script type="application/ld+json">{other}</script>'), URL,
                             fetched_at=FETCHED)
    assert "enable JavaScript" not in result.text and paragraphs[0] in result.text


def test_a_live_blogs_entry_headings_stay_when_a_sidebar_links_the_same_stories():
    entries = ["Council summons the water authority again", "Consortium asks for six more months",
               "Residents block the road to the intake"]
    blog = "".join(f'<div class="live-update"><time>0{i + 8}:00</time><h3>{title}</h3><p>{paragraph(i)}</p>'
                   f"<p>{paragraph(i + 10)}</p></div>" for i, title in enumerate(entries))
    pointer = '<p>Read more: <a href="/ciudad/otra">Cali opens two new bus lines to the south of the city</a></p>'
    sidebar = ('<aside class="rail">'
               + "".join(f'<a href="/ciudad/{i}">{title}</a>' for i, title in enumerate(entries))
               + '<a href="/ciudad/otra">Cali opens two new bus lines to the south of the city</a></aside>')
    html = page(f'<article class="live-blog">{blog}{pointer}</article>{sidebar}')
    result = extract_article(html, URL, fetched_at=FETCHED)
    for title in entries:
        assert title in result.text.split("\n\n")
    assert "bus lines" not in result.text  # a line that only points elsewhere still goes
