"""Digest schedules: the three spellings users write, turned into APScheduler triggers.

Kept apart from the service so the config can validate a schedule (and name
the digest in the error) without starting anything.
"""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_DAILY = re.compile(r"daily\s+at\s+(\d{1,2}):(\d{2})", re.IGNORECASE)
_EVERY = re.compile(r"every\s+(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone such as 'Europe/Madrid'; ValueError names the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'UTC' or 'America/Bogota')") from None


def parse_schedule(schedule: str, timezone: str = "UTC") -> CronTrigger | IntervalTrigger:
    """'hourly', 'daily at HH:MM', a 5-field cron expression, or 'every 30m'
    (an interval, for tests and busy desks) → a trigger in ``timezone``.

    Raises ValueError with a message a user can act on.
    """
    tz = parse_timezone(timezone)
    text = (schedule or "").strip()
    if text.lower() == "hourly":
        return CronTrigger(minute=0, timezone=tz)
    match = _DAILY.fullmatch(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"invalid time in schedule {schedule!r}: hours 0-23, minutes 0-59")
        return CronTrigger(hour=hour, minute=minute, timezone=tz)
    match = _EVERY.fullmatch(text)
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        if seconds < 1:
            raise ValueError(f"schedule {schedule!r} is shorter than one second")
        return IntervalTrigger(seconds=seconds, timezone=tz)
    if len(text.split()) == 5:
        try:
            return CronTrigger.from_crontab(text, timezone=tz)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {schedule!r}: {exc}") from None
    raise ValueError(
        f"invalid schedule {schedule!r}: expected 'hourly', 'daily at HH:MM', "
        "a 5-field cron expression such as '0 7 * * 1-5', or 'every 30m'"
    )
