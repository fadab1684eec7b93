"""The warm template of a worker's crawl children: importing this module is the warm-up.

A ``newsmon worker`` runs every poll and re-extraction chunk in a child
process of its own (Scrapy's reactor cannot restart). A child started from a
fresh interpreter pays, before its first page, ~2.5 CPU-seconds of imports
(Scrapy and the components its engine loads, trafilatura, SQLAlchemy,
datasketch with scipy) and opening simplemma's English and Spanish
dictionaries (milliseconds from the trie cache, crawler/events/dictionaries.py;
~1.3 s on a machine that has none yet) and py3langid's language model (~0.5 s)
— more CPU than a poll of a few pages spends on the pages
themselves (bench/README.md). The worker instead starts multiprocessing's
fork server with this module preloaded (newsmon/crawlproc.py
``start_warm_child``): everything below is done once per worker, and each
child is a ``fork()`` of that template, sharing its memory copy-on-write.

What must NOT happen here: installing a Twisted reactor or creating an
event loop (each child installs Scrapy's own after the fork), opening a
database connection, starting a thread, or configuring logging. A warm-up
step that fails is skipped: the child then imports it itself, as a cold one.
"""
from __future__ import annotations

WARMED: list[str] = []  # what the warm-up did (for the worker's log and the tests)


def _warm() -> None:
    import importlib

    try:
        from newsmon.cli import COMMAND_MODULES
    except Exception:  # noqa: BLE001
        COMMAND_MODULES = ()
    for module in (*COMMAND_MODULES, "newsmon.logging_setup", "rich.console", "rich.table", "rich.progress",
                   "crawler.runner", "crawler.pipelines", "crawler.stages",
                   "crawler.events.store", "crawler.events.diff", "crawler.extract", "crawler.workers",
                   "crawler.search", "storage.db", "storage.models", "sqlalchemy.dialects.sqlite",
                   "sqlalchemy.dialects.postgresql", "psycopg", "crawler.watchdog", "twisted.plugin", "xml.etree.ElementTree"):
        try:
            importlib.import_module(module)
            WARMED.append(module)
        except Exception:  # noqa: BLE001 - the child imports it itself
            pass
    try:  # the classes Scrapy's engine loads by name when a crawl starts
        from scrapy.settings import Settings
        from scrapy.utils.misc import load_object

        from crawler import settings as defaults

        settings = Settings()
        settings.setmodule(defaults, priority="project")
        paths = [settings.get(name) for name in ("SCHEDULER", "SCHEDULER_PRIORITY_QUEUE", "SCHEDULER_DISK_QUEUE",
                                                 "SCHEDULER_MEMORY_QUEUE", "DOWNLOADER", "STATS_CLASS",
                                                 "DUPEFILTER_CLASS", "TWISTED_DNS_RESOLVER",
                                                 "REQUEST_FINGERPRINTER_CLASS", "LOG_FORMATTER",
                                                 "DOWNLOADER_HTTPCLIENTFACTORY", "DOWNLOADER_CLIENTCONTEXTFACTORY",
                                                 "ADDONS_CLASS", "ITEM_PROCESSOR", "SPIDER_LOADER_CLASS")]
        for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES"):
            paths += [path for path, order in settings.getwithbase(name).items() if order is not None]
        paths += list(settings.getwithbase("DOWNLOAD_HANDLERS").values())  # scheme -> class path (or None)
        for path in paths:
            if isinstance(path, str):
                try:
                    load_object(path)
                except Exception:  # noqa: BLE001
                    pass
        WARMED.append("scrapy components")
    except Exception:  # noqa: BLE001
        pass
    try:  # simplemma's dictionaries, as the event diff reads every sentence (crawler/events/lemmas.py)
        from crawler.events.lemmas import lemmas_of

        lemmas_of.__wrapped__("warm")
        WARMED.append("simplemma dictionaries")
    except Exception:  # noqa: BLE001
        pass
    try:  # py3langid's model, which every extracted page's language detection reads
        from crawler.metadata import load_language_model

        load_language_model()
        WARMED.append("language model")
    except Exception:  # noqa: BLE001
        pass


_warm()
