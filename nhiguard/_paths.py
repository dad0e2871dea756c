"""Where nhiguard keeps per-user files."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/nhiguard`, else `~/.cache/nhiguard`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nhiguard"


def build_cache_dir() -> Path:
    """Where compiled artefacts go (prefilter databases, validated rules): `NHIGUARD_BUILD_CACHE`, else the cache
    folder. They are content-addressed, so runs with different homes (a test suite) can share them safely."""
    override = os.environ.get("NHIGUARD_BUILD_CACHE")
    return Path(override) if override else cache_dir()


def data_dir() -> Path:
    """`$XDG_DATA_HOME/nhiguard`, else `~/.local/share/nhiguard`."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "nhiguard"
