"""Configuration: one YAML file validated by pydantic, overridden by environment.

Where the file is: ``--config PATH``, else ``$NEWSMON_CONFIG``, else
``newsmon.yaml`` in the working directory. Without a file, commands that need
no sources still work (``init``, ``sql``): the defaults apply.

Every validation problem becomes a :class:`ConfigError` whose message names
the file, the key path and what is wrong, so the CLI can print one line and
exit 2 instead of a traceback.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crawler.errors import ConfigError, format_validation_error, read_yaml_file
from crawler.rules import validate_topics
from crawler.schedules import parse_schedule

DEFAULT_CONFIG_NAME = "newsmon.yaml"
ENV_CONFIG = "NEWSMON_CONFIG"
ENV_DATABASE_URL = "NEWSMON_DATABASE_URL"
ENV_BROKER_URL = "NEWSMON_BROKER_URL"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


# Regexes from the config run on hostile input (URLs from any page): compiled by the
# `regex` module and always matched with a time limit (see NewsSpider.pattern_says).
REGEX_TIMEOUT = 0.25  # seconds one match may take
MAX_PATTERN_LENGTH = 2000


def config_regex(pattern: str):
    """Compile a config pattern (a ``regex.Pattern``); ValueError worded for the user."""
    import regex

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"regular expression longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"invalid regular expression {pattern[:200]!r}: {exc}") from None


class _Strict(BaseModel):
    # No inf/nan: every number has an upper bound, so a typo cannot hang or overflow a run.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


HttpUrl = Annotated[str, Field(min_length=1)]


def _check_http_url(value: str) -> str:
    try:
        AnyHttpUrl(value)
    except ValidationError:
        raise ValueError(f"{value!r} is not an http(s) URL") from None
    return value


class SectionPage(_Strict):
    """A homepage or section page whose matching links are followed one level deep."""

    url: str
    allow: list[str] = Field(default_factory=list, description="regexes a link must match")
    deny: list[str] = Field(default_factory=list, description="regexes a link must not match")

    _url = field_validator("url")(_check_http_url)

    @field_validator("allow", "deny")
    @classmethod
    def _regexes_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            config_regex(pattern)
        return patterns


def _plausible_date(value: object) -> date:
    """A YAML date (``2020-01-01``) or an ISO string ("2020-01-01"); not a
    time stamp, a number or words, and not in the future."""
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a date (write it as YYYY-MM-DD, e.g. 2020-01-01)") from None
    if not isinstance(value, date):
        raise ValueError(f"{value!r} is not a date (write it as YYYY-MM-DD, e.g. 2020-01-01)")
    if value > date.today():
        raise ValueError(f"{value.isoformat()} is in the future: every publication date would be rejected")
    return value


class UpdateCheck(_Strict):
    """When an archived article is fetched again to catch edits."""

    max_age_hours: float = Field(48, ge=0, le=24 * 366,
                                 description="re-check articles first seen less than this long ago")
    every_hours: float = Field(6, gt=0, le=24 * 366, description="at most this often")


class Source(_Strict):
    """A source is a declaration, not code: where its coverage is listed."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    sections: list[SectionPage] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    allowed_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=list, description="ports requests may use (default: 80, 443 and the entry points' ports)")
    allow_private_addresses: bool = Field(False, description="may connect to loopback/private addresses "
                                                             "(a local test site; never for outlets)")
    url_allow: list[str] = Field(default_factory=list, description="article URLs must match one of these regexes")
    url_deny: list[str] = Field(default_factory=list, description="article URLs matching any of these are skipped")
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    check_interval_minutes: float = Field(60, gt=0, le=60 * 24 * 31)
    horizon_days: float = Field(7, gt=0, le=36500, description="sitemap entries older than this are not fetched")
    max_articles_per_run: int = Field(200, gt=0, le=100_000)
    earliest_date: date = Field(date(2000, 1, 1), description="publication dates before this are implausible")
    date_order: Literal["DMY", "MDY", "YMD"] | None = Field(None, description="how to read 03/04/2025")
    update_check: UpdateCheck = Field(default_factory=UpdateCheck)
    enabled: bool = True

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            _check_http_url(url)
        return urls

    @field_validator("url_allow", "url_deny")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        return SectionPage._regexes_compile(patterns)

    _earliest = field_validator("earliest_date", mode="before")(_plausible_date)

    @model_validator(mode="after")
    def _has_entry_point(self) -> "Source":
        if not (self.feeds or self.sitemaps or self.sections):
            raise ValueError("a source needs at least one of feeds, sitemaps or sections")
        return self


class Crawl(_Strict):
    """Politeness and limits, shared by every source."""

    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon; news monitoring)"
    obey_robots_txt: bool = True
    download_delay: float = Field(0.5, ge=0, le=600)
    concurrent_requests: int = Field(16, gt=0, le=512)
    concurrent_requests_per_domain: int = Field(4, gt=0, le=64)
    autothrottle: bool = True
    download_timeout: float = Field(30, gt=0, le=600)
    max_response_bytes: int = Field(10 * 1024 * 1024, gt=0, le=1024 ** 3)
    retry_times: int = Field(2, ge=0, le=10)
    extraction_timeout: float = Field(10, gt=0, le=600, description="seconds per page before it is skipped")
    analysis_workers: int | None = Field(None, ge=0, le=64, description=(
        "worker processes for extraction and text analysis per crawl process; 0 = inline, unset = one per core"))
    feed_failure_limit: int = Field(3, gt=0, le=1000,
                                    description="consecutive failures before a feed is marked failing")
    feed_retry_hours: float = Field(6, gt=0, le=24 * 366,
                                    description="how long a failing feed rests before the next try")
    # RFC 9309 §2.4: a cached robots.txt should not be used for more than 24 hours.
    robots_txt_ttl_minutes: float = Field(60, ge=0, le=1440,
                                          description="how long later crawl processes reuse a host's robots.txt "
                                                      "from the archive (0: fetch it once per process)")
    pending_retry_limit: int = Field(5, ge=1, le=100,
                                     description="runs that try a page fetched but not filed before giving up")


class Theme(_Strict):
    name: str
    rule: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0, le=1000)


class Topic(_Strict):
    name: str
    threshold: float = Field(1.0, ge=0, le=1e6, description="relevance below this flags the article not relevant")
    keep_irrelevant_text: bool = True
    require: str | None = Field(None, description="a rule the article must satisfy before its themes count")
    themes: list[Theme] = Field(default_factory=list)


class Dedup(_Strict):
    """Duplicate detection settings; docs/dedup.md shows the measurements behind the defaults."""

    shingle_size: int = Field(5, ge=1, le=50, description="words per shingle")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    copy_threshold: float = Field(0.9, gt=0, le=1, description="estimated Jaccard for a copy")
    near_duplicate_threshold: float = Field(0.6, gt=0, le=1, description="estimated Jaccard for a near-duplicate")
    related_threshold: float = Field(0.1, gt=0, le=1,
                                     description="share of the shorter text's sentences found in the other "
                                                 "(a rewrite of another outlet's story)")
    min_words: int = Field(30, ge=1, le=100_000, description="shorter texts (stubs, teasers) are never matched")
    boilerplate_articles: int = Field(2, ge=1, le=1_000_000,
                                      description="a sentence seen in this many earlier articles "
                                                  "of the same source is boilerplate, ignored")


class DigestFilter(_Strict):
    topics: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    min_relevance: float = Field(0.0, ge=0, le=1e6)
    sources: list[str] = Field(default_factory=list)
    include_candidates: bool = True
    include_contradictions: bool = True


class EmailChannel(_Strict):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    sender: str = "newsmon@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username_env: str = "NEWSMON_SMTP_USER"
    password_env: str = "NEWSMON_SMTP_PASSWORD"

    @model_validator(mode="after")
    def _no_login_in_cleartext(self) -> "EmailChannel":
        if self.security == "none" and os.environ.get(self.username_env):
            raise ValueError(f"security: 'none' with a login (${self.username_env} is set) would send the "
                             "password in cleartext: use starttls or ssl, or unset it")
        return self


class WebhookChannel(_Strict):
    type: Literal["webhook"]
    url: str
    secret_env: str = "NEWSMON_WEBHOOK_SECRET"
    retries: int = Field(3, ge=0, le=10)

    _url = field_validator("url")(_check_http_url)


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S")


class AppriseChannel(_Strict):
    """Any notification service Apprise knows (Slack, Teams, Telegram, Matrix,
    Discord, ntfy, …), by Apprise URL; URLs holding tokens belong in the
    environment variable ``urls_env`` (whitespace-separated), not the file."""

    type: Literal["apprise"]
    urls: list[str] = Field(default_factory=list, description="Apprise URLs, e.g. ntfy://ntfy.sh/topic")
    urls_env: str = "NEWSMON_APPRISE_URLS"
    format: Literal["markdown", "text"] = "markdown"
    retries: int = Field(2, ge=0, le=10)

    @field_validator("urls")
    @classmethod
    def _look_like_urls(cls, urls: list[str]) -> list[str]:
        for n, url in enumerate(urls, 1):
            if not _URL_SCHEME.match(url.strip()):  # the value is not echoed: it may hold a token
                raise ValueError(f"URL {n} is not an Apprise URL (expected SERVICE://…, e.g. ntfy://ntfy.sh/topic)")
        return [url.strip() for url in urls]

    @model_validator(mode="after")
    def _some_url(self) -> "AppriseChannel":
        if not self.urls and not os.environ.get(self.urls_env, "").split():
            raise ValueError(f"no URLs: give urls: [...] or set ${self.urls_env}")
        return self

    def all_urls(self) -> list[str]:
        """The URLs of the file, then those of ``$urls_env``."""
        return self.urls + os.environ.get(self.urls_env, "").split()


class FileChannel(_Strict):
    type: Literal["atom", "markdown", "html"]
    path: str


Channel = Annotated[EmailChannel | WebhookChannel | AppriseChannel | FileChannel, Field(discriminator="type")]


class Digest(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    filter: DigestFilter = Field(default_factory=DigestFilter)
    schedule: str = Field("daily at 07:00", description="cron expression, 'hourly' or 'daily at HH:MM'")
    timezone: str = "UTC"
    channels: list[Channel] = Field(min_length=1)
    send_empty: bool = False

    @model_validator(mode="after")
    def _schedule_parses(self) -> "Digest":
        # Checked at load time so a typo fails `newsmon run` at once, naming the digest.
        try:
            parse_schedule(self.schedule, self.timezone)
        except ValueError as exc:
            raise ValueError(f"digest {self.name!r}: {exc}") from None
        return self


class ServiceSettings(_Strict):
    """Scale-out (docs/scale.md): with a broker, the service enqueues due work
    for ``newsmon worker`` processes instead of crawling itself."""

    broker_url: str | None = Field(None, description="redis://HOST:PORT/DB (Celery's broker); unset: no workers")
    queue_prefix: str = Field("newsmon", pattern=r"^[A-Za-z0-9_.-]+$",
                              description="queues are PREFIX.poll, PREFIX.analysis and PREFIX.digest")
    visibility_timeout_seconds: float = Field(3600, ge=5, description=(
        "a task taken by a worker that died is handed to another one after this long"))
    crawls_per_host: int = Field(2, ge=1, le=64, description=(
        "crawls of sources on one host at a time, across all workers"))
    reextract_chunk: int = Field(500, ge=1, description="article ids per task of 'reextract --distributed'")

    @field_validator("broker_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"{value!r}: expected a Redis URL (redis://HOST:PORT/DB)")
        return value


class Config(_Strict):
    database_url: str | None = None
    sources: list[Source] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    events: str | None = Field(None, description="path to the known-events timeline (YAML)")
    dedup: Dedup = Field(default_factory=Dedup)
    digests: list[Digest] = Field(default_factory=list)
    crawl: Crawl = Field(default_factory=Crawl)
    service: ServiceSettings = Field(default_factory=ServiceSettings)

    # Not part of the file: where it was read from, for resolving relative paths.
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> "Config":
        for label, items in (("sources", self.sources), ("topics", self.topics), ("digests", self.digests)):
            seen: set[str] = set()
            for index, item in enumerate(items):
                if item.name in seen:
                    raise ValueError(f"{label}[{index}].name: duplicate name {item.name!r}")
                seen.add(item.name)
        for t_index, topic in enumerate(self.topics):  # a theme's rows are keyed by (topic, theme name)
            names: set[str] = set()
            for index, theme in enumerate(topic.themes):
                if theme.name in names:
                    raise ValueError(f"topics[{t_index}].themes[{index}].name: duplicate name {theme.name!r}")
                names.add(theme.name)
        return self

    @model_validator(mode="after")
    def _digest_filters_name_what_exists(self) -> "Config":
        """A digest filter naming a topic, theme or source that is not configured would match nothing, silently."""
        known = {"topics": [t.name for t in self.topics],
                 "themes": list(dict.fromkeys(th.name for t in self.topics for th in t.themes)),
                 "sources": [s.name for s in self.sources]}
        for index, digest in enumerate(self.digests):
            for key, names in known.items():
                for name in getattr(digest.filter, key):
                    if name not in names:
                        raise ValueError(f"digests[{index}].filter.{key}: unknown {key[:-1]} {name!r} "
                                         f"(configured: {', '.join(names) or 'none'})")
        return self

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        """A path from the config, taken relative to the config file."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (known: {known})")

    def _beside_config(self, url: str) -> str:
        """A SQLite URL with a relative path is relative to the config file's folder
        (like ``events`` and digest files), not to the working directory."""
        from sqlalchemy.engine import make_url  # the URL grammar, not a hand-written one

        try:
            parsed = make_url(url)
        except Exception:
            return url  # an unparsable URL fails, with its own message, where it is used
        database = parsed.database
        if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
                or database.startswith("file:") or Path(database).expanduser().is_absolute():
            return url
        return parsed.set(database=str(self.resolve(database).resolve())).render_as_string(hide_password=False)

    def effective_database_url(self) -> str:
        """``$NEWSMON_DATABASE_URL``, else the file's ``database_url``, else
        a SQLite file ``newsmon.db`` beside the config."""
        env = os.environ.get(ENV_DATABASE_URL)
        if env:
            return env
        if self.database_url:
            return self._beside_config(self.database_url)
        return f"sqlite:///{(self.base_dir / 'newsmon.db').resolve()}"

    def effective_broker_url(self) -> str | None:
        """``$NEWSMON_BROKER_URL``, else ``service.broker_url``; None: no workers."""
        env = os.environ.get(ENV_BROKER_URL)
        if env:
            if not env.startswith(REDIS_SCHEMES):
                raise ConfigError(f"${ENV_BROKER_URL}: {env!r}: expected a Redis URL (redis://HOST:PORT/DB)")
            return env
        return self.service.broker_url


_CHANNEL_TAGS = ("email", "webhook", "apprise", "atom", "markdown", "html")


def parse_config(data: object, origin: str = "<config>", path: Path | None = None) -> Config:
    """Validate already-parsed YAML data."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys, not {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        # Discriminated unions add the tag to the path: drop it for readability.
        raise ConfigError(format_validation_error(exc, origin, drop=lambda part, loc: part in _CHANNEL_TAGS)) from None
    config.path = path
    if config.events:
        _check_events_file(config, origin)
    if config.topics:
        try:
            validate_topics(config.topics)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: topics: {exc}") from None
    return config


def _check_events_file(config: Config, origin: str) -> None:
    """The timeline exists and is a YAML list of events (its events are
    validated in full when a crawl or an events command loads it)."""
    path = config.resolve(config.events)
    if not path.is_file():
        raise ConfigError(f"{origin}: events: {path} " + ("is a directory, not a timeline file" if path.is_dir()
                                                           else "does not exist"))
    data = read_yaml_file(path, "events file")
    events = data.get("events") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise ConfigError(f"{origin}: events: {path}: expected a list of events (or a mapping with 'events:')")


def read_config(path: Path) -> Config:
    """Read and validate one config file."""
    return parse_config(read_yaml_file(path), str(path), path.resolve())


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """The config for this run: explicit path, ``$NEWSMON_CONFIG``, or
    ``./newsmon.yaml``; defaults when none of them names an existing file
    (an explicitly named file that does not exist is an error)."""
    named = explicit or os.environ.get(ENV_CONFIG)
    if named:
        return read_config(Path(named))
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    if default.exists():
        return read_config(default)
    return parse_config({}, "<defaults>")


def parse_interval(text: str) -> timedelta:
    """'90m', '6h', '2d' → timedelta (used by schedule-ish settings)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30m, 6h, 2d)")
    value, unit = float(match.group(1)), match.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: value})
