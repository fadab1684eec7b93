"""The package's data files, found with importlib.resources so an installed
newsmon (wheel, pipx) has them as well as a checkout: ``newsmon/data/`` holds
the example config and timeline, the bundled local news site and the seed
articles; the digest templates sit in ``newsmon/digests/templates/``; the
migrations are located by ``storage.db``.

newsmon is installed as files (not zipped), so each resource is a real path
(jinja2's loaders, Alembic and ``shutil.copyfile`` need one)."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

EXAMPLE_CONFIG_NAME = "newsmon.example.yaml"
EXAMPLE_EVENTS_NAME = "events.example.yaml"


def package_path(package: str, *parts: str) -> Path:
    """A data file or folder shipped inside ``package``, as a filesystem path."""
    resource = files(package).joinpath(*parts)
    path = Path(str(resource))
    if not path.exists():
        raise FileNotFoundError(f"newsmon's package data is missing: {package}/{'/'.join(parts)} "
                                "(reinstall newsmon)")
    return path


def data_path(*parts: str) -> Path:
    """``newsmon/data/…``."""
    return package_path("newsmon", "data", *parts)
