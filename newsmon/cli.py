"""The ``newsmon`` command line. Each command lives in a small module that
exposes ``register(subparsers)``; this file only assembles them and turns
user-facing errors into one line on stderr and exit status 2.

Command modules import heavy libraries (SQLAlchemy, rich, pydantic, Scrapy)
inside their handlers, not at the top: building the parser must stay cheap,
because every ``newsmon`` call and the long-lived ``newsmon run`` daemon pay
for whatever it imports."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from newsmon import __version__

# Modules that add commands, in the order `newsmon --help` lists them.
COMMAND_MODULES = (
    "newsmon.corecmd",
    "newsmon.crawlcmd",
    "newsmon.demo",
    "newsmon.explain",
    "newsmon.diffcmd",
    "newsmon.deskcmd",
    "newsmon.trycmd",
    "newsmon.eventscmd",
    "newsmon.servicecmd",
    "newsmon.workercmd",
)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and the exit status 2)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"newsmon: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> Parser:
    parser = Parser(
        prog="newsmon",
        formatter_class=_Formatter,
        description="newsmon: monitor news sources, archive what is new, tell people about it.",
        epilog="Example:\n  newsmon init && newsmon crawl && newsmon sql \"select title, source from v_articles\"\n\n"
               "Config: --config PATH, else $NEWSMON_CONFIG, else ./newsmon.yaml; "
               "$NEWSMON_DATABASE_URL overrides the database.",
    )
    parser.add_argument("--config", metavar="PATH", help="config file (default: $NEWSMON_CONFIG or ./newsmon.yaml)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command module not written yet
                continue
            raise
        module.register(subparsers)
    return parser


def add_command(subparsers, name: str, *, help: str, example: str, description: str | None = None):
    """A subcommand whose --help explains it and ends with an example."""
    return subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=f"Example:\n  {example}",
        formatter_class=_Formatter,
    )


def setup_logging(args: argparse.Namespace) -> None:
    for noisy in ("alembic", "scrapy.utils.log", "filelock", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from newsmon.logging_setup import configure
    except ModuleNotFoundError:
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    configure(fmt=args.log_format, verbose=args.verbose)


def main(argv: list[str] | None = None, config=None) -> int:
    """Run one command; ``config``: an already validated config to use instead
    of reading the file again (the service hands its crawls the version it runs)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if config is not None:
        args._config = config
    setup_logging(args)
    from newsmon.cli_support import USER_ERRORS, fail
    from storage.db import SchemaError

    try:
        return int(args.func(args) or 0)
    except (*USER_ERRORS, SchemaError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a database, network or internal failure: one line, the traceback with -v
        from sqlalchemy.exc import SQLAlchemyError

        if args.verbose:
            raise
        if isinstance(exc, SQLAlchemyError):
            return fail(f"database error: {getattr(exc, 'orig', None) or exc}".splitlines()[0], 1)
        logging.getLogger("newsmon").debug("unexpected error", exc_info=True)
        detail = (str(exc).strip().splitlines() or [""])[0]
        return fail(f"unexpected error: {type(exc).__name__}: {detail} (run with -v for the traceback)", 1)


def run() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    run()
