"""Governance over the stored identities: owners, age, expiry, policy violations, risk and the OWASP Non-Human
Identities Top 10 (2025) ids each identity evidences, each with its reason. Pure: no I/O."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from nhiguard.errors import ConfigError
from nhiguard.inventory.links import file_link
from nhiguard.inventory.store import Identity, LocationRecord, RepoContext

OWASP_TITLES = {
    "NHI1": "Improper Offboarding",
    "NHI2": "Secret Leakage",
    "NHI3": "Vulnerable Third-Party NHI",
    "NHI4": "Insecure Authentication",
    "NHI5": "Overprivileged NHI",
    "NHI6": "Insecure Cloud Deployment Configurations",
    "NHI7": "Long-Lived Secrets",
    "NHI8": "Environment Isolation",
    "NHI9": "NHI Reuse",
    "NHI10": "Human Use of NHI",
}
OWASP_ORDER = tuple(OWASP_TITLES)
SEVERITY_POINTS = {"critical": 8, "high": 6, "medium": 4, "low": 2}
PRIVILEGED_SCOPES = re.compile(
    r"(?i)^(?:admin.*|.*:admin|.*admin:.*|delete_repo|repo|write:org|api|sudo|owner|roles/owner|roles/editor|"
    r"full[_ -]?access|\*|.*:\*|all)$")
_ENV_WORDS = {"prod": "production", "production": "production", "prd": "production", "live": "production",
              "staging": "staging", "stage": "staging", "stg": "staging", "dev": "development",
              "development": "development", "test": "test", "testing": "test", "qa": "qa", "uat": "uat"}
_ENV_TOKEN = re.compile(r"[A-Za-z]+")
_CI_PATHS = (".github/workflows/*", ".gitlab-ci.yml", "*/.gitlab-ci.yml", "Jenkinsfile", "*/Jenkinsfile",
             ".circleci/*", "azure-pipelines.yml", "bitbucket-pipelines.yml", ".travis.yml", ".buildkite/*",
             "*.tf", "*.tfvars", "*values*.yaml", "*values*.yml", ".drone.yml")
_PERSONAL = (".bash_history", ".zsh_history", ".history", ".bashrc", ".zshrc", ".profile", ".bash_profile",
             ".netrc", ".pgpass", ".psql_history", ".mysql_history", ".python_history")
_PERSONAL_SUFFIX = (".ipynb",)
_THIRD_PARTY_DIRS = (".vscode/", ".idea/", ".cursor/", ".continue/")
_THIRD_PARTY_FILES = ("mcp.json", ".mcp.json", "claude_desktop_config.json")
_TEST_PARTS = {"test", "tests", "testing", "spec", "specs", "fixtures", "__tests__", "testdata"}
_PROD_RULE = re.compile(r"(?i)(live|prod)")
# test-mode and sandbox credentials (a payment provider's test key, TestPyPI): they reach no production data
_SANDBOX_RULE = re.compile(r"(?i)(?:^|[-_ ])(?:test|testing|sandbox|demo)(?:[-_ ]|$)|test-?mode|testpypi")
# who decides ownership, most trusted first: teams and handles before a commit author's address
OWNER_SOURCES = ("config:paths", "codeowners", "config:providers", "author")
# risk bands: a sandbox credential never outranks a production one; live outranks unknown outranks invalid
_BANDS = {"live": 300, "unknown": 200, "invalid": 100}


# -- configuration ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OwnersConfig:
    paths: tuple[tuple[str, str], ...] = ()
    providers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    max_age_days: int | None = None
    owner_required: bool = False
    no_live_secret_in_history: bool = False
    no_production_key_in_test_paths: bool = False
    require_expiry: bool = False
    max_lifetime_days: int = 365
    max_copies: int | None = None
    recent_committer_days: int = 180


def _pairs(label: str, raw: object) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigError(f"{label} must map strings to owner names")
    return tuple((str(k), str(v)) for k, v in raw.items())


def owners_config(sections: Mapping[str, Any]) -> OwnersConfig:
    raw = sections.get("owners") or {}
    unknown = set(raw) - {"paths", "providers"}
    if unknown:
        raise ConfigError(f"owners: unknown key(s) {sorted(unknown)} (use paths: and providers:)")
    return OwnersConfig(_pairs("owners.paths", raw.get("paths")), _pairs("owners.providers", raw.get("providers")))


def policy_config(sections: Mapping[str, Any]) -> Policy:
    raw = dict(sections.get("policy") or {})
    known = set(Policy.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"policy: unknown key(s) {sorted(unknown)} (known: {sorted(known)})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        default = Policy.__dataclass_fields__[key].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"policy.{key} must be true or false")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"policy.{key} must be a whole number of days/copies")
        values[key] = value
    return Policy(**values)


# -- ownership -----------------------------------------------------------------------------------------------------
def resolve_owner(path: str, provider: str, codeowners: Sequence[str], author: str | None, email: str | None,
                  config: OwnersConfig) -> tuple[str | None, str | None]:
    """(owner, source): a config path glob, then CODEOWNERS, then a config provider mapping, then the author of
    the introducing commit. (None, None) when nothing names an owner."""
    for glob, owner in reversed(config.paths):  # last match wins, as in CODEOWNERS
        if fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path, glob.rstrip("/") + "/*"):
            return owner, "config:paths"
    if codeowners:
        return " ".join(codeowners), "codeowners"
    for name, owner in config.providers:
        if name == provider:
            return owner, "config:providers"
    if email or author:
        return (email or author), "author"
    return None, None


# -- analysis ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NhiMapping:
    nhi: str
    reason: str


@dataclass(slots=True)
class Assessment:
    identity: Identity
    owner: str | None
    owner_source: str | None
    introduced: str | None  # the first commit date, else the first time seen
    age_days: int
    expiry: str | None
    expiry_source: str | None
    long_lived: bool
    live: bool
    status: str
    privileged: bool
    repos: int
    copies: int
    environments: tuple[str, ...]
    risk: int
    owasp: list[NhiMapping] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    expiry_state: str = "unknown"  # "date" (a provider, JWT exp or certificate said when), "none", "unknown"
    sandbox: bool = False
    risk_factors: list[str] = field(default_factory=list)  # what made the score, e.g. "live +300"
    places: list[tuple[LocationRecord, str | None]] = field(default_factory=list)  # deduplicated, with links
    rotation_guide: str = ""

    @property
    def nhi_ids(self) -> list[str]:
        return [m.nhi for m in self.owasp]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def environment_of(path: str) -> str | None:
    name = PurePosixPath(path).name.lower()
    words = _ENV_TOKEN.findall(name.replace("values", " "))
    found = {_ENV_WORDS[w] for w in words if w in _ENV_WORDS}
    if len(found) == 1 and (name.startswith(".env") or "values" in name or name.endswith((".env", ".yaml", ".yml",
                                                                                          ".json", ".tfvars"))):
        return found.pop()
    return None


def _is_test_path(path: str) -> bool:
    parts = {p.lower() for p in PurePosixPath(path).parts[:-1]}
    name = PurePosixPath(path).name.lower()
    return bool(parts & _TEST_PARTS) or name.startswith("test_") or "_test." in name or ".test." in name


def _matches(path: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, g) for g in globs)


def _introducing(locations: Sequence[LocationRecord]) -> LocationRecord | None:
    dated = [loc for loc in locations if parse_time(loc.date)]
    if dated:
        return min(dated, key=lambda loc: (parse_time(loc.date), loc.repo, loc.path, loc.line))
    return min(locations, key=lambda loc: (loc.repo, loc.path, loc.line)) if locations else None


def _owner_location(locs: Sequence[LocationRecord], first: LocationRecord | None) -> LocationRecord | None:
    """The location whose owner is most trusted (config paths, CODEOWNERS, config providers, then the author);
    among equals, the introducing one."""
    owned = [loc for loc in locs if loc.owner]
    if not owned:
        return None

    def rank(loc: LocationRecord) -> tuple[int, int]:
        source = loc.owner_source or "author"
        order = OWNER_SOURCES.index(source) if source in OWNER_SOURCES else len(OWNER_SOURCES)
        return order, 0 if loc is first else 1

    return min(owned, key=rank)


def is_sandbox(identity: Identity) -> bool:
    return bool(_SANDBOX_RULE.search(identity.rule_id) or _SANDBOX_RULE.search(identity.rule_name))


def places(identity: Identity, contexts: Mapping[str, RepoContext]) -> list[tuple[LocationRecord, str | None]]:
    """Each place once (repository, path, line, commit), with a link to the file at that commit."""
    seen: dict[tuple[str, str, int, str], LocationRecord] = {}
    for loc in identity.locations:
        seen.setdefault((loc.repo, loc.path, loc.line, loc.commit or ""), loc)
    out = []
    for key in sorted(seen):
        loc = seen[key]
        ctx = contexts.get(loc.repo)
        out.append((loc, file_link(ctx.remote if ctx else None, loc.commit, loc.path, loc.line)))
    return out


def assess(identity: Identity, contexts: Mapping[str, RepoContext], policy: Policy, now: datetime) -> Assessment:
    locs = identity.locations
    first = _introducing(locs)
    owner_loc = _owner_location(locs, first)
    owner = owner_loc.owner if owner_loc else None
    owner_source = owner_loc.owner_source if owner_loc else None
    introduced_dt = parse_time(first.date) if first is not None else None
    introduced_dt = introduced_dt or parse_time(identity.first_seen)
    introduced = introduced_dt.isoformat() if introduced_dt else None
    age_days = max(0, (now - introduced_dt).days) if introduced_dt else 0

    verdict = identity.latest_verdict
    status = verdict.status if verdict else "not_checked"
    live = status == "live"
    scopes = tuple(verdict.scopes) if verdict else ()
    expiry, expiry_source = identity.expiry, identity.expiry_source
    provider_expiry = next((v.expiry for v in reversed(identity.verdicts) if parse_time(v.expiry)), None)
    if provider_expiry:
        expiry, expiry_source = provider_expiry, "provider"
    expiry_dt = parse_time(expiry)
    # only a provider, a JWT exp or a certificate can say when (or that) a credential expires
    never = not expiry_dt and any((v.expiry or "").lower() in ("never", "none") for v in identity.verdicts)
    if never:
        expiry, expiry_source = None, "provider"
    expiry_state = "date" if expiry_dt else "none" if never else "unknown"
    lifetime_limit = timedelta(days=policy.max_lifetime_days)
    long_lived = never or (expiry_dt is not None and introduced_dt is not None
                           and expiry_dt - introduced_dt > lifetime_limit)
    privileged_scopes = [s for s in scopes if PRIVILEGED_SCOPES.match(s)]
    root_identity = bool(verdict and verdict.identity and verdict.identity.endswith(":root"))
    privileged = bool(privileged_scopes) or root_identity
    repos = len({loc.repo for loc in locs})
    copies = len({(loc.repo, loc.path) for loc in locs})
    envs = tuple(sorted({e for e in (environment_of(loc.path) for loc in locs) if e}))
    paths = sorted({loc.path for loc in locs})

    owasp: list[NhiMapping] = []
    owasp.append(NhiMapping("NHI2", f"secret committed in {copies} file(s) across {repos} repositor"
                                  f"{'y' if repos == 1 else 'ies'}"))
    # NHI1: the owning author no longer commits to the repository and is not in its CODEOWNERS
    if owner_source == "author" and first is not None:
        ctx = contexts.get(first.repo)
        if ctx is not None and ctx.recent_emails:
            who = (first.email or first.author or "").lower()
            recent = {e.lower() for e in ctx.recent_emails}
            in_codeowners = any(who and who in o.lower() for o in ctx.codeowners)
            if who and who not in recent and not in_codeowners:
                owasp.append(NhiMapping("NHI1", f"owner {who} has not committed to {first.repo} in the last "
                                              f"{policy.recent_committer_days} days and is not in CODEOWNERS"))
    third = [p for p in paths if any(d in p for d in _THIRD_PARTY_DIRS)
             or PurePosixPath(p).name in _THIRD_PARTY_FILES]
    if "NHI3" in identity.nhi:
        owasp.append(NhiMapping("NHI3", f"{identity.rule_name} is a third-party application credential"))
    elif third:
        owasp.append(NhiMapping("NHI3", f"in third-party tool configuration: {third[0]}"))
    legacy = "legacy" in identity.rule_id or "legacy" in identity.rule_name.lower()
    if "NHI4" in identity.nhi:
        owasp.append(NhiMapping("NHI4", f"{identity.rule_name}: static or weak authentication"))
    elif legacy:
        owasp.append(NhiMapping("NHI4", f"{identity.rule_name} is a legacy token format"))
    if privileged:
        what = ", ".join(privileged_scopes) or (verdict.identity if verdict else "") or ""
        owasp.append(NhiMapping("NHI5", f"provider reports privileged access: {what}"))
    ci = [p for p in paths if _matches(p, _CI_PATHS)]
    if ci:
        owasp.append(NhiMapping("NHI6", f"static credential in deployment configuration: {ci[0]}"))
    elif "NHI6" in identity.nhi:
        owasp.append(NhiMapping("NHI6", f"{identity.rule_name} is a CI/CD credential"))
    if long_lived:
        if expiry_dt is None:
            owasp.append(NhiMapping("NHI7", "the provider reports no expiry"))
        else:
            owasp.append(NhiMapping("NHI7", f"valid until {expiry_dt.date().isoformat()}, more than "
                                          f"{policy.max_lifetime_days} days after it was introduced"))
    prod_in_test = [p for p in paths if _is_test_path(p) and _PROD_RULE.search(identity.rule_id)]
    if len(envs) > 1:
        owasp.append(NhiMapping("NHI8", f"same secret in {', '.join(envs)} environments"))
    elif prod_in_test:
        owasp.append(NhiMapping("NHI8", f"production credential in a test path: {prod_in_test[0]}"))
    if repos > 1 or len(envs) > 1:
        where = f"{repos} repositories" if repos > 1 else f"{len(envs)} environments"
        owasp.append(NhiMapping("NHI9", f"same secret reused in {where}"))
    personal = [p for p in paths if PurePosixPath(p).name in _PERSONAL or p.endswith(_PERSONAL_SUFFIX)]
    if personal:
        owasp.append(NhiMapping("NHI10", f"in a personal artefact: {personal[0]}"))
    owasp.sort(key=lambda m: OWASP_ORDER.index(m.nhi))

    violations = []
    if policy.max_age_days is not None and age_days > policy.max_age_days:
        violations.append(f"max_age_days: exposed {age_days} days (limit {policy.max_age_days})")
    if policy.owner_required and owner is None:
        violations.append("owner_required: no owner")
    if policy.no_live_secret_in_history and live and any(loc.commit for loc in locs):
        violations.append("no_live_secret_in_history: live secret in git history")
    if policy.no_production_key_in_test_paths and prod_in_test:
        violations.append(f"no_production_key_in_test_paths: {prod_in_test[0]}")
    if policy.require_expiry and never:
        violations.append("require_expiry: no expiry")
    if policy.max_copies is not None and copies > policy.max_copies:
        violations.append(f"max_copies: {copies} copies (limit {policy.max_copies})")
    revoked = identity.revocation_state == "revoked" or status == "invalid"
    expired = expiry_dt is not None and expiry_dt < now
    sandbox = is_sandbox(identity)
    risk, factors = _risk(identity, sandbox=sandbox, live=live and not revoked, dead=revoked or expired,
                          privileged=privileged, long_lived=long_lived, repos=repos, copies=copies,
                          unowned=owner is None, violations=len(violations), old=age_days > 365)
    return Assessment(identity, owner, owner_source, introduced, age_days, expiry, expiry_source, long_lived, live,
                      status, privileged, repos, copies, envs, risk, owasp, violations, expiry_state, sandbox,
                      factors, places(identity, contexts))


def _risk(identity: Identity, *, sandbox: bool, live: bool, dead: bool, privileged: bool, long_lived: bool,
          repos: int, copies: int, unowned: bool, violations: int, old: bool) -> tuple[int, list[str]]:
    """A score a security lead can read: a band (sandbox < invalid < unknown < live) plus up to 99 points inside
    it, each with its reason."""
    state = "live" if live else "invalid" if dead else "unknown"
    band = 0 if sandbox else _BANDS[state]
    factors = [f"test-mode or sandbox credential: {band}" if sandbox else f"{state}: {band}"]
    points: list[tuple[int, str]] = [
        (20 * privileged, "privileged access"),
        (15 if identity.rule_id.startswith("private-key") else 0, "private key"),
        (SEVERITY_POINTS.get(identity.severity, 0), f"{identity.severity} severity"),
        (12 * long_lived, "long-lived"),
        (10 * min(repos - 1, 3), f"in {repos} repositories"),
        (2 * min(copies - 1, 5), f"{copies} copies"),
        (5 * unowned, "no owner"),
        (3 * min(violations, 5), f"{violations} policy violation(s)"),
        (2 * old, "exposed over a year"),
        (8 * (sandbox and live), "live"),
    ]
    inside = 0
    for value, why in points:
        if value:
            inside += value
            factors.append(f"{why} +{value}")
    return band + min(inside, 99), factors


def assess_all(identities: Sequence[Identity], contexts: Mapping[str, RepoContext], policy: Policy,
               now: datetime | None = None, guides: Mapping[str, str] | None = None) -> list[Assessment]:
    """Every identity assessed, riskiest first (ties: most repositories, oldest, fingerprint). `guides` maps a
    rule id to its rotation guide."""
    when = now or datetime.now(UTC)
    out = [assess(i, contexts, policy, when) for i in identities]
    for a in out:
        a.rotation_guide = (guides or {}).get(a.identity.rule_id, "")
    out.sort(key=lambda a: (-a.risk, -a.repos, -a.age_days, a.identity.fingerprint))  # (bands make risk the order)
    return out
