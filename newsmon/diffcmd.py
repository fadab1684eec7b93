"""``newsmon diff ARTICLE_ID``: what changed between two fetched versions of an
article (silent edits, corrections, a live page's new entries).

The archive writer stores a new ``article_versions`` row only when the
extracted text changed, so consecutive versions always differ.
"""
from __future__ import annotations

import argparse
import difflib
import sys

from newsmon.cli import add_command
from newsmon.cli_support import UsageError, require_archive


def register(subparsers) -> None:
    p = add_command(subparsers, "diff", help="show how an article's text changed between versions",
                    description="Unified diff of an article's extracted text between two fetched versions "
                                "(default: the last two). Article ids are in v_articles.",
                    example="newsmon diff 42 --from 1 --to 3")
    p.add_argument("article_id", type=int, metavar="ARTICLE_ID", help="the article's id")
    p.add_argument("--from", dest="from_version", type=int, metavar="N", help="older version number")
    p.add_argument("--to", dest="to_version", type=int, metavar="M", help="newer version number")
    p.add_argument("--context", type=int, default=3, metavar="LINES", help="unchanged lines around changes (3)")
    p.set_defaults(func=cmd_diff)


def _label(version) -> str:
    return f"version {version.version} (fetched {version.fetched_at:%Y-%m-%d %H:%M} UTC)"


def version_diff(older, newer, context: int = 3) -> list[str]:
    """Unified diff lines (no trailing newlines) between two ArticleVersion rows."""
    return list(difflib.unified_diff(
        (older.text or "").splitlines(), (newer.text or "").splitlines(),
        fromfile=_label(older), tofile=_label(newer), n=context, lineterm="",
    ))


def cmd_diff(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from storage.db import session_scope
    from storage.models import Article, ArticleVersion

    url = require_archive(args)
    with session_scope(url) as session:
        article = session.get(Article, args.article_id)
        if article is None:
            raise UsageError(f"no article {args.article_id} in the archive (ids are in v_articles)")
        versions = {v.version: v for v in session.scalars(
            select(ArticleVersion).where(ArticleVersion.article_id == article.id).order_by(ArticleVersion.version))}
        numbers = sorted(versions)
        if len(numbers) < 2 and args.from_version is None and args.to_version is None:
            if numbers:
                print(f"article {article.id} ({article.url}) has only one version, "
                      f"{_label(versions[numbers[0]])}: nothing to compare")
            else:
                print(f"article {article.id} ({article.url}) has no stored versions: nothing to compare")
            return 0
        newer = args.to_version if args.to_version is not None else numbers[-1]
        older = args.from_version if args.from_version is not None else \
            max((n for n in numbers if n < newer), default=None)
        if older is None:
            raise UsageError(f"version {newer} is article {article.id}'s first: nothing older to compare")
        for wanted in (older, newer):
            if wanted not in versions:
                have = ", ".join(map(str, numbers)) or "none"
                raise UsageError(f"article {article.id} has no version {wanted} (versions: {have})")
        lines = version_diff(versions[older], versions[newer], args.context)
    if not lines:
        print(f"versions {older} and {newer} of article {args.article_id} have the same text")
        return 0
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
