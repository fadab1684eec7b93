"""Errors about user-edited files (the config, the events timeline), worded for the user.

The bottom floor: imports nothing of ours. Every problem in a file a user
wrote becomes one :class:`ConfigError` whose message names the file, the key
path and what is wrong, so the CLI prints one line and exits 2.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import yaml
from pydantic import ValidationError


class ConfigError(Exception):
    """A configuration problem, worded for the user (exit status 2)."""


def location(loc: tuple) -> str:
    """A pydantic error location as a user writes it: ``sources[2].feeds``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError, origin: str, *,
                            drop: Callable[[object, tuple], bool] = lambda part, loc: False,
                            noise: Iterable[str] = (),
                            describe: Callable[[tuple], str] = location) -> str:
    """One line for all problems of a validation: ``origin: where: what; …``.

    ``drop(part, loc_so_far)`` removes parts of a location that mean nothing
    to a user (union branch and discriminator tags); errors whose type is in
    ``noise`` are left out when others remain (a union reports every branch);
    ``describe`` words a location (e.g. adding an event's id)."""
    errors = exc.errors()
    noise = set(noise)
    informative = [e for e in errors if e["type"] not in noise] or errors
    problems = []
    for error in informative:
        loc: tuple = ()
        for part in error["loc"]:
            if not drop(part, loc):
                loc += (part,)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{describe(loc)}: {message}" if loc else message)
    return f"{origin}: " + "; ".join(dict.fromkeys(problems))


def read_yaml_file(path: Path, what: str = "config file") -> object:
    """Parsed YAML of a user-edited file; every failure is a ConfigError
    naming the file (and the line, for a syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: {what} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from None
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: Path | str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
