"""Regular expressions from the config (``url_allow``, ``url_deny``, section
``allow``/``deny``): compiled by the ``regex`` module and always run with a
time limit, so a catastrophic pattern such as ``(a|aa)+$`` costs at most
:data:`REGEX_TIMEOUT` once per run instead of hanging the crawl (the crawl
treats a pattern that ran out of time as undecided for the rest of the run)."""
from __future__ import annotations

import regex

REGEX_TIMEOUT = 0.25  # seconds one match may take
MAX_PATTERN_LENGTH = 2000


def config_regex(pattern: str) -> "regex.Pattern":
    """Compile a config pattern; raises ValueError worded for the user."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"regular expression longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"invalid regular expression {pattern[:200]!r}: {exc}") from None
