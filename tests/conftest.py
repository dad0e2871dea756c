from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from nhiguard import ruleset
from nhiguard.engine import Engine
from nhiguard.model import Rule


@pytest.fixture(scope="session")
def _build_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache of compiled prefilter databases for the whole session: compiling the built-in rules' database
    takes seconds, and every CLI run in a test has a home of its own."""
    return str(tmp_path_factory.mktemp("build-cache"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                   _build_cache: str) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("NHIGUARD_BUILD_CACHE", _build_cache)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    yield


@pytest.fixture(scope="session")
def builtin_rules() -> list[Rule]:
    return ruleset.load_builtin()


@pytest.fixture(scope="session")
def engine(builtin_rules: list[Rule]) -> Engine:
    return Engine(builtin_rules)


def pytest_report_header() -> str:
    return f"nhiguard prefilter: {os.environ.get('NHIGUARD_PREFILTER', 'auto')}"
