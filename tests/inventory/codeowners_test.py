"""CODEOWNERS parsing (GitHub and GitLab syntax), owner resolution order, policy parsing, JWT expiry."""

from __future__ import annotations

import random
import re
import time

import pytest

from nhiguard.errors import ConfigError
from nhiguard.inventory import codeowners, expiry, govern
from tests.inventory.kit import jwt

GITHUB = """
# default owners
*       @acme/everyone
*.js    @acme/frontend   # trailing comment
/build/logs/ @acme/ops
docs/*  docs@example.com
apps/   @acme/apps
/scripts/**/deploy.sh @acme/release
config/ @acme/config
/config/secrets.env
"""

GITLAB = """
[Backend] @acme/backend
*.rb
/lib/legacy/ @acme/legacy

^[Security][2] @acme/security
*.env

[Docs]
*.md @acme/writers
"""


@pytest.mark.parametrize(("path", "owners"), [
    ("README", ("@acme/everyone",)),
    ("web/app.js", ("@acme/frontend",)),
    ("build/logs/today.log", ("@acme/ops",)),
    ("sub/build/logs/x", ("@acme/everyone",)),  # anchored: only the root build/logs
    ("docs/getting-started.md", ("docs@example.com",)),
    ("docs/build-app/troubleshooting.md", ("@acme/everyone",)),  # docs/* does not reach nested folders
    ("apps/web/main.py", ("@acme/apps",)),
    ("x/apps/main.py", ("@acme/apps",)),  # unanchored folder matches anywhere
    ("scripts/a/b/deploy.sh", ("@acme/release",)),
    ("scripts/deploy.sh", ("@acme/release",)),
    ("config/db.yml", ("@acme/config",)),
    ("config/secrets.env", ()),  # last match wins, and it names nobody
])
def test_github_syntax_last_match_wins(path: str, owners: tuple[str, ...]) -> None:
    assert codeowners.owners_of(codeowners.parse(GITHUB), path) == owners


@pytest.mark.parametrize(("path", "owners"), [
    ("app/models/user.rb", ("@acme/backend",)),
    ("lib/legacy/old.rb", ("@acme/legacy",)),
    ("deploy/.env", ("@acme/security",)),
    ("lib/legacy/.env", ("@acme/legacy", "@acme/security")),  # one owner set per section, combined
    ("guide.md", ("@acme/writers",)),
    ("main.go", ()),
])
def test_gitlab_sections_with_default_owners(path: str, owners: tuple[str, ...]) -> None:
    assert codeowners.owners_of(codeowners.parse(GITLAB), path) == owners


def test_owner_resolution_order() -> None:
    cfg = govern.OwnersConfig(paths=(("deploy/*", "@paths"),), providers=(("aws", "@cloud"),))
    assert govern.resolve_owner("deploy/a.env", "aws", ("@co",), "A", "a@x", cfg) == ("@paths", "config:paths")
    assert govern.resolve_owner("src/a.env", "aws", ("@co",), "A", "a@x", cfg) == ("@co", "codeowners")
    assert govern.resolve_owner("src/a.env", "aws", (), "A", "a@x", cfg) == ("@cloud", "config:providers")
    assert govern.resolve_owner("src/a.env", "gcp", (), "A", "a@x", cfg) == ("a@x", "author")
    assert govern.resolve_owner("src/a.env", "gcp", (), None, None, cfg) == (None, None)


def test_policy_and_owner_sections_are_validated() -> None:
    policy = govern.policy_config({"policy": {"max_age_days": 90, "owner_required": True}})
    assert policy.max_age_days == 90 and policy.owner_required and not policy.require_expiry
    with pytest.raises(ConfigError, match="unknown key"):
        govern.policy_config({"policy": {"max_age": 90}})
    with pytest.raises(ConfigError, match="true or false"):
        govern.policy_config({"policy": {"owner_required": "yes"}})
    with pytest.raises(ConfigError, match="whole number"):
        govern.policy_config({"policy": {"max_age_days": -1}})
    with pytest.raises(ConfigError, match="unknown key"):
        govern.owners_config({"owners": {"teams": {}}})


def test_jwt_expiry_is_read_from_the_claims() -> None:
    assert expiry.jwt_expiry(jwt("x", 1725148800)) == "2024-09-01T00:00:00+00:00"
    assert expiry.jwt_expiry(jwt("x", None)) is None
    assert expiry.jwt_expiry("not.a.jwt") is None


@pytest.mark.parametrize(("path", "env"), [
    (".env.prod", "production"), ("config/.env.dev", "development"), ("values-staging.yaml", "staging"),
    ("src/app.py", None), ("settings.json", None),
])
def test_environment_names(path: str, env: str | None) -> None:
    assert govern.environment_of(path) == env


def _as_regex(pattern: str) -> re.Pattern[str]:
    """The same pattern as a backtracking regex (what the matcher replaced): a reference for short inputs."""
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    out, i = [], 0
    while i < len(core):
        for glob, regex in (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]")):
            if core.startswith(glob, i):
                out.append(regex)
                i += len(glob)
                break
        else:
            out.append(re.escape(core[i]))
            i += 1
    tail = "/.*$" if pattern.endswith("/") else "$" if core.endswith("/*") or (core == "*" and anchored) \
        else "(?:/.*)?$"
    return re.compile(("^" if anchored else "^(?:.*/)?") + "".join(out) + tail)


def test_patterns_match_as_a_regex_would() -> None:
    rng = random.Random(5)
    alphabet = ["a", "b", "/", "*", "**", "?", "**/", "."]
    paths = ["".join(rng.choice("ab/.") for _ in range(rng.randrange(1, 9))) for _ in range(300)]
    for _ in range(400):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 6)))
        glob, regex = codeowners._translate(pattern), _as_regex(pattern)
        for path in paths:
            assert glob.match(path) == bool(regex.match(path)), (pattern, path)


def test_a_pattern_of_many_stars_is_matched_in_linear_time() -> None:
    # from a repository's CODEOWNERS: as a backtracking regex this took 46 s against a 40-character name
    entries = codeowners.parse("*a*a*a*a*a*a*a*a*a*a*a*b @x\n**a**a**a**a**a**a**a**a**b @y\n")
    started = time.perf_counter()
    assert codeowners.owners_of(entries, "a" * 2000) == ()
    assert codeowners.owners_of(entries, "a" * 40 + "/b") == ("@y",)
    assert time.perf_counter() - started < 2
