"""Logging: one line per event, whatever reads it.

``--log-format text`` (the default) writes ``time level logger: message``;
``--log-format json`` writes one JSON object per line (``ts``, ``level``,
``logger``, ``msg``, plus any ``extra=`` fields), for journald/Loki/jq.

Structured fields a line's message already says in words go in
``extra={"data": {...}}`` (:data:`DATA`): JSON lines carry them as top-level
keys (nested values stay JSON, e.g. a run's ``counts``), text lines leave them
out. The crawl's fields (``event``: ``page`` or ``run_end``, ``source``,
``kind``, ``url``, ``outcome``, ``counts`` …) are listed in docs/deploy.md.
A traceback never spreads over many lines: it is folded into the event's line
(in full in JSON and with ``-v``; as ``Type: message`` otherwise).
"""
from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import datetime, timezone

# Attributes every LogRecord has; anything else came from ``extra=`` and is worth printing.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
DATA = "data"  # the extra= key of structured fields (shown in JSON only)
_QUIET_LOGGERS = ("apscheduler.executors.default", "apscheduler.scheduler", "urllib3", "asyncio")


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_") and k != DATA}


def _jsonable(value):
    """A value as JSON keeps it: scalars, lists and dicts of them; anything else as its text."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


class TextFormatter(logging.Formatter):
    """``2026-01-05T07:00:01Z INFO newsmon.service: message key=value`` on one line."""

    def __init__(self, verbose: bool = False, tty: bool = False) -> None:
        super().__init__()
        self.verbose = verbose
        self.tty = tty

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc)
        stamp = when.strftime("%H:%M:%S") if self.tty else when.strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            if self.verbose:
                line += " | " + " | ".join(
                    part.rstrip().replace("\n", " | ") for part in traceback.format_exception(exc_type, exc, tb))
            else:
                line += f" ({exc_type.__name__}: {exc})"
        return line.replace("\n", " ")


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        event.update({k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
                      for k, v in _extras(record).items()})
        data = getattr(record, DATA, None)
        if isinstance(data, dict):  # never over the line's own keys
            event.update({k: _jsonable(v) for k, v in data.items() if k not in event})
        if record.exc_info and record.exc_info[0] is not None:
            event["exc_type"] = record.exc_info[0].__name__
            event["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(event, ensure_ascii=False)


class _DropBusySkips(logging.Filter):
    """APScheduler warns on every tick a job is skipped because its previous run
    is still going (a crawl longer than its interval): expected, and one line
    per second would drown the log. Kept with -v."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when
    the handler was made: a caller that swaps stderr (a test harness, a daemon
    redirecting its output) must not leave threads logging into a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(fmt: str = "text", verbose: bool = False, stream=None) -> None:
    """Install one handler on the root logger (replacing any earlier one),
    writing to stderr so command output on stdout stays clean."""
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    stream = stream or sys.stderr
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(verbose=verbose, tty=getattr(stream, "isatty", lambda: False)()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        handler.addFilter(_DropBusySkips())
