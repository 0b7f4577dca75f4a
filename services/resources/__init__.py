"""Data shipped inside the package: city configuration and database migrations.

Found with :mod:`importlib.resources`, so the same code finds them in an editable checkout and
in an installed wheel (``pip install .``, the Docker image).  In the repository ``cities`` and
``migrations`` are links to ``config/cities`` and ``deploy/migrations``, where they are edited;
building the wheel copies their contents in (``tool.setuptools.package-data``).

The settings name the folders actually used (``COMPLAINTS_CONFIG_ROOT``); these are the defaults.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(name: str) -> Path:
    found = files(__name__) / name
    if not isinstance(found, Path) or not found.is_dir():
        raise FileNotFoundError(f"packaged data {name!r} not found in {__name__} ({found})")
    return found


def cities_root() -> Path:
    """The folder of the packaged city configurations (one sub-folder per city)."""
    return _folder("cities")


def migrations_dir() -> Path:
    """The Alembic script folder (``env.py``, ``versions/``)."""
    return _folder("migrations")


def demo_complaints() -> Path:
    """The development complaints (``data/dev/complaints_dev.jsonl``) that ``complaints demo`` feeds in."""
    found = files(__name__) / "demo_complaints.jsonl"
    if not isinstance(found, Path) or not found.is_file():
        raise FileNotFoundError(f"packaged data 'demo_complaints.jsonl' not found in {__name__} ({found})")
    return found
