"""What every command shares: the config, the database URL, the console,
and turning user-facing errors into one line and exit status 2.

Heavy libraries (pydantic via the config, rich) are imported inside the
functions that need them: every command module imports this one, and
``newsmon --help`` or the ``newsmon run`` daemon should not pay for them."""
from __future__ import annotations

import argparse
import sys
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from crawler.config import Config


class UsageError(Exception):
    """A wrong command line, worded for the user (exit status 2)."""


def get_config(args: argparse.Namespace) -> Config:
    """The run's config, read once per command."""
    cached = getattr(args, "_config", None)
    if cached is None:
        from crawler.config import load_config

        cached = load_config(getattr(args, "config", None))
        args._config = cached
    return cached


def get_db_url(args: argparse.Namespace) -> str:
    return get_config(args).effective_database_url()


def require_archive(args: argparse.Namespace) -> str:
    """The database URL, after checking the archive is at this code's schema."""
    from storage.db import check_schema

    url = get_db_url(args)
    check_schema(url)
    return url


@lru_cache(maxsize=1)
def console() -> Console:
    """Rich output on a terminal, plain text (no colour codes, wide lines) otherwise."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(color_system=None, width=200, soft_wrap=True, highlight=False)


@lru_cache(maxsize=1)
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, color_system=None if not sys.stderr.isatty() else "auto", highlight=False)


def fail(message: str, status: int = 2) -> int:
    """Print one readable line on stderr and return the exit status."""
    print(f"newsmon: {message}", file=sys.stderr)
    return status


def __getattr__(name: str):
    """``USER_ERRORS`` (the errors the CLI prints as one line, exit status 2) is
    built on first use, so importing this module does not import the config's pydantic models."""
    if name == "USER_ERRORS":
        from crawler.config import ConfigError

        global USER_ERRORS
        USER_ERRORS = (ConfigError, UsageError)
        return USER_ERRORS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
