"""CODEOWNERS parsing (GitHub and GitLab syntax), owner resolution order, policy parsing, JWT expiry."""

from __future__ import annotations

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
