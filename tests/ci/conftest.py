from __future__ import annotations

import os

import pytest

# Whatever CI runs these tests must not leak its own context into the simulated one.
_CI_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "BITBUCKET_", "SYSTEM_PULLREQUEST_", "BUILD_", "RUNNER_")
_CI_NAMES = ("TF_BUILD", "CI", "NHIGUARD_VERIFY_ENDPOINT", "NHIGUARD_VERIFY_CA")


@pytest.fixture(autouse=True)
def _no_ci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_CI_PREFIXES) or name in _CI_NAMES:
            monkeypatch.delenv(name)
