"""simplemma's English and Spanish dictionaries, loaded in milliseconds.

simplemma's default factory decompresses and unpickles a language's whole
dictionary into a ``dict`` on first use: about 1 s of CPU for English and
Spanish together on this project's machine, paid by every crawl process (and
2–5 s under load) — most of a crawl's start-up. simplemma's own
``TrieDictionaryFactory`` (the ``marisa-trie`` extra) keeps each dictionary
as a MARISA trie saved on disk once, which a process then loads in a few
milliseconds; lookups stay fast enough behind ``lemmas_of``'s cache.

The cache lives in ``$NEWSMON_CACHE_DIR`` (default: the user's cache
directory, ``~/.cache/newsmon``), one folder per simplemma version. Many
processes may start at once on a fresh machine, so a missing trie is built
in a private temporary folder and moved into place with one atomic rename:
a reader sees a whole file or none. When the cache cannot be written (a
read-only home) or the trie backend is missing, the reason is logged once and
the default in-memory dictionaries are used: slower to start, same lemmas.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from importlib.metadata import version

import simplemma
from simplemma.strategies import DefaultStrategy

log = logging.getLogger(__name__)

LANGUAGES = ("en", "es")
SIMPLEMMA_VERSION = version("simplemma")


def cache_dir() -> Path:
    """Where this simplemma version's tries are kept."""
    base = os.environ.get("NEWSMON_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("newsmon")
    return Path(base) / f"simplemma-{SIMPLEMMA_VERSION}-marisa"


def _ensure_tries(folder: Path) -> None:
    """Build every missing trie, each published by one atomic rename."""
    from simplemma.strategies.dictionaries.trie_dictionary_factory import TrieDictionaryFactory

    missing = [lang for lang in LANGUAGES if not (folder / f"{lang}.dic").is_file()]
    if not missing:
        return
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=folder))
    try:
        builder = TrieDictionaryFactory(disk_cache_dir=str(work))
        for lang in missing:
            builder.get_dictionary(lang)  # builds the trie and saves it as work/<lang>.dic
            built = work / f"{lang}.dic"
            if not built.is_file():
                raise OSError(f"simplemma did not save {built.name}")
            os.replace(built, folder / built.name)
        log.info("lemmas: saved simplemma's %s dictionaries as tries in %s", "/".join(missing), folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@lru_cache(maxsize=1)
def lemmatizer() -> simplemma.Lemmatizer:
    """The process's lemmatizer: trie dictionaries from the disk cache, or
    simplemma's defaults when the cache cannot be used (logged once)."""
    try:
        from simplemma.strategies.dictionaries.trie_dictionary_factory import TrieDictionaryFactory

        folder = cache_dir()
        _ensure_tries(folder)
        factory = TrieDictionaryFactory(disk_cache_dir=str(folder))
        return simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=factory))
    except (ImportError, OSError) as exc:
        log.warning("lemmas: no dictionary cache (%s): loading simplemma's dictionaries into memory", exc)
        return simplemma.Lemmatizer()
