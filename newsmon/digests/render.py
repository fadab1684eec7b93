"""Turning a :class:`DigestContent` into text: plain, Markdown, HTML (jinja2
templates under ``templates/``) and JSON for webhooks.

HTML is rendered with autoescape on, so an article title containing
``<script>`` arrives as text; Markdown escapes its own syntax and raw HTML.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from newsmon.digests.content import DigestContent

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def markdown_escape(text: object) -> str:
    """Text safe inside Markdown: its syntax characters and raw HTML are backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text if text is not None else ""))


@lru_cache(maxsize=2)
def _environment(autoescape: bool) -> Environment:
    env = Environment(loader=PackageLoader("newsmon.digests", "templates"), autoescape=autoescape,
                      undefined=StrictUndefined, keep_trailing_newline=True,
                      # HTML ignores whitespace: drop the lines block tags leave behind.
                      trim_blocks=autoescape, lstrip_blocks=autoescape)
    env.filters["md"] = markdown_escape
    return env


def render_html(content: DigestContent) -> str:
    return _environment(True).get_template("digest.html.j2").render(c=content)


def render_atom_entry(content: DigestContent, entry, edit=None, contradictions=()) -> str:
    """The HTML body of one story's Atom entry."""
    return _environment(True).get_template("atom_entry.html.j2").render(
        c=content, e=entry, edit=edit, contradictions=list(contradictions))


def render_markdown(content: DigestContent) -> str:
    return _environment(False).get_template("digest.md.j2").render(c=content)


def render_text(content: DigestContent) -> str:
    return _environment(False).get_template("digest.txt.j2").render(c=content)


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def to_dict(content: DigestContent) -> dict:
    """The webhook payload: the digest as plain JSON-able data."""
    def convert(obj):
        if dataclasses.is_dataclass(obj):
            return {f.name: convert(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, (list, tuple)):
            return [convert(v) for v in obj]
        return _jsonable(obj)

    data = convert(content)
    data["title"] = content.title
    data["delivery_id"] = content.delivery_key
    return data
