"""simplemma's dictionaries as tries cached on disk (crawler/events/dictionaries.py):
the same lemmas as simplemma's defaults, built once, safe when many processes
start at once, and a clear fallback when the cache cannot be written."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import simplemma

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["struck", "went", "revoked", "ambassadors", "embarcaciones", "revocó", "suspendió", "fueron",
         "cancelled", "visas", "bombardeos", "embajadores", "deportation", "tariffs", "aranceles", "said"]

CHILD = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from crawler.events.dictionaries import lemmatizer
lem = lemmatizer()
print(json.dumps({w: [lem.lemmatize(w, lang="en"), lem.lemmatize(w, lang="es")] for w in WORDS}))
"""


def _child(cache: Path) -> subprocess.Popen:
    env = {**os.environ, "NEWSMON_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", f"WORDS = {WORDS!r}\n{CHILD}"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(cache: Path) -> tuple[dict, str]:
    proc = _child(cache)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out), err


def _expected() -> dict:
    return {w: [simplemma.lemmatize(w, lang="en"), simplemma.lemmatize(w, lang="es")] for w in WORDS}


def test_cached_tries_give_simplemmas_own_lemmas_and_are_built_once(tmp_path):
    cache = tmp_path / "cache"
    first, log = _run(cache)
    assert first == _expected()
    assert "saved simplemma's en/es dictionaries as tries" in log
    folder = next(cache.iterdir())
    tries = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert set(tries) == {"en.dic", "es.dic"}  # no build folder left behind

    second, log = _run(cache)
    assert second == first
    assert "saved" not in log and "no dictionary cache" not in log
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == tries  # loaded, not rebuilt


def test_processes_starting_at_once_on_an_empty_cache_all_read_whole_tries(tmp_path):
    cache = tmp_path / "cache"
    procs = [_child(cache) for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "Corrupt" not in err and "no dictionary cache" not in err, err
        results.append(json.loads(out))
    assert all(result == _expected() for result in results)
    folder = next(cache.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == ["en.dic", "es.dic"]


def test_an_unwritable_cache_falls_back_to_simplemmas_dictionaries_and_says_why(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    lemmas, log = _run(blocker)
    assert lemmas == _expected()
    assert "no dictionary cache" in log and "loading simplemma's dictionaries into memory" in log
