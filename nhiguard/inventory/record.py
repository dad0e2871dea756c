"""Recording a run into the inventory: findings → identity records (owners, expiry facts read from the secrets
while they are in memory, certificate ↔ key links), plus the repository's context (recent committers,
CODEOWNERS). The secret itself never leaves this module: only its fingerprint, preview and facts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nhiguard import __version__, fingerprint, ruleset
from nhiguard._paths import data_dir
from nhiguard.config import Config
from nhiguard.config import load as config_load
from nhiguard.errors import NhiguardError
from nhiguard.inventory import codeowners, expiry, govern, x509
from nhiguard.inventory.store import Identity, IdentityRecord, Inventory, LocationRecord, RepoContext, VerdictRecord
from nhiguard.model import Finding, Report
from nhiguard.redact import preview
from nhiguard.sources import gitinfo

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".cert")


def default_path() -> Path:
    return Path(os.environ.get("NHIGUARD_INVENTORY") or data_dir() / "inventory.sqlite")


@dataclass(frozen=True, slots=True)
class Where:
    repo: str  # the repository's label in the inventory: its top-level folder
    root: Path  # where the report's relative paths start
    prefix: str  # from the repository's top to `root` ('' or 'sub/dir/')
    top: Path


def locate(base: Path) -> Where:
    base = base.resolve()
    top = gitinfo.toplevel(base) or (base if base.is_dir() else base.parent)
    top = top.resolve()
    root = base if base.is_dir() else base.parent
    rel = os.path.relpath(root, top).replace(os.sep, "/")
    prefix = "" if rel in (".", "") or rel.startswith("..") else rel + "/"
    return Where(str(top), root, prefix, top)


def _is_jwt(finding: Finding) -> bool:
    return finding.rule.id == "jwt" or finding.rule.provider == "jwt" or (
        finding.secret.startswith("eyJ") and finding.secret.count(".") == 2)


def _read(path: Path) -> bytes | None:
    try:
        if path.is_file() and path.stat().st_size <= 4 << 20:
            return path.read_bytes()
    except OSError:
        return None
    return None


def _certificate_for(finding: Finding, where: Where) -> tuple[str, str] | None:
    """(notAfter, description) of the certificate beside a private key: the same file, else the same folder.
    With `cryptography` the certificate must hold the key's public key; without it, proximity decides."""
    public = x509.private_key_public(finding.secret)
    for loc in finding.locations:
        file = where.root / loc.path
        candidates: list[tuple[str, x509.Certificate]] = []
        data = _read(file)
        if data is not None:
            candidates.extend((loc.path, c) for c in x509.certificates(data))
        near: list[tuple[str, x509.Certificate]] = []
        folder = file.parent
        try:
            siblings = sorted(p for p in folder.iterdir() if p != file and p.suffix.lower() in CERT_SUFFIXES)
        except OSError:
            siblings = []
        for sibling in siblings:
            raw = _read(sibling)
            if raw is not None:
                rel = os.path.relpath(sibling, where.root).replace(os.sep, "/")
                near.extend((rel, c) for c in x509.certificates(raw))
        if public is not None:
            for rel, cert in candidates + near:
                if cert.public_key == public and cert.not_after:
                    return cert.not_after, f"certificate {where.prefix}{rel} ({cert.subject}), same public key"
            continue
        pool = candidates or (near if len(near) == 1 else [])
        for rel, cert in pool:
            return cert.not_after or "", f"certificate {where.prefix}{rel} (beside the key)"
    return None


def identity_records(findings: Sequence[Finding], where: Where, config: Config) -> list[IdentityRecord]:
    owners_cfg = govern.owners_config(config.sections)
    entries = codeowners.load(where.top)
    out = []
    for finding in findings:
        rule = finding.rule
        locations = []
        for loc in finding.locations:
            path = where.prefix + loc.path if not loc.path.startswith("/") else loc.path
            owner, source = govern.resolve_owner(path, rule.provider, codeowners.owners_of(entries, path),
                                                 loc.author, loc.email, owners_cfg)
            locations.append(LocationRecord(where.repo, path, loc.line, loc.commit, loc.author, loc.email, loc.date,
                                            loc.kind, owner, source))
        exp: str | None = None
        exp_source: str | None = None
        linked: str | None = None
        if _is_jwt(finding):
            exp = expiry.jwt_expiry(finding.secret)
            exp_source = "jwt exp" if exp else None
        elif rule.id.startswith("private-key"):
            cert = _certificate_for(finding, where)
            if cert is not None:
                exp, linked = cert[0] or None, cert[1]
                exp_source = "certificate notAfter" if exp else None
        v = finding.verdict
        verdict = None if v.status == "not_checked" else VerdictRecord(v.status, v.identity, tuple(v.scopes),
                                                                       _expiry_said(finding), v.detail, v.checked_at)
        out.append(IdentityRecord(
            fingerprint=finding.fingerprint, rule_id=rule.id, rule_name=rule.name, provider=rule.provider,
            severity=rule.severity, preview=preview(finding.secret), nhi=tuple(rule.nhi),
            locations=tuple(locations), verdict=verdict, expiry=exp, expiry_source=exp_source, linked=linked))
    return out


def _expiry_said(finding: Finding) -> str | None:
    """The expiry a provider gave; "never" when a live check whose answer carries the expiry (the rule's verify
    block reads one) gave none: the provider said there is none. Otherwise unknown (None)."""
    v = finding.verdict
    if v.expiry or v.status != "live":
        return v.expiry
    spec = ruleset.verify_spec(finding.rule)
    return "never" if spec is not None and spec.reveal.expiry else None


def repo_context(where: Where, config: Config) -> RepoContext:
    policy = govern.policy_config(config.sections)
    found = gitinfo.facts(where.top, policy.recent_committer_days)
    return RepoContext(where.repo, found.head_date, found.recent_emails,
                       codeowners.everyone(codeowners.load(where.top)), gitinfo.remote_url(where.top))


def keep_recorded_identities(records: list[IdentityRecord], findings: Sequence[Finding],
                             recorded: Callable[[Iterable[str]], set[str]]) -> list[IdentityRecord]:
    """A secret an older nhiguard recorded under its `nhg1` fingerprint stays that identity (its history, ticket
    and revocation state), though today's fingerprint for it is `nhg2`. `recorded(rule ids)` gives the `nhg1`
    fingerprints the inventory holds (for those rules)."""
    newer = [f for f in findings if f.fingerprint.startswith(fingerprint.PREFIX_V2)]
    old = recorded({f.rule.id for f in newer}) if newer else set()
    renamed = {}
    for finding in newer:
        before = fingerprint.legacy(finding.rule, finding.secret) if old else None
        if before is not None and before in old:
            renamed[finding.fingerprint] = before
    if not renamed:
        return records
    return [replace(r, fingerprint=renamed.get(r.fingerprint, r.fingerprint)) for r in records]


def record(path: Path, report: Report, *, kind: str, base: Path, config: Config, repo: str | None = None) -> int:
    """Record one run's findings into the inventory at `path`; returns the run id. `repo` labels what was
    scanned when it is not a repository on disk (a container image: `image:NAME`)."""
    where = locate(base) if repo is None else Where(repo, base, "", base)
    records = identity_records(report.findings, where, config)
    with Inventory(path) as store:
        records = keep_recorded_identities(records, report.findings,
                                           lambda rule_ids: store.fingerprints_of(rule_ids, fingerprint.PREFIX))
        return store.record(kind=kind, repo=where.repo, target=report.target or str(base), tool_version=__version__,
                            identities=records, context=repo_context(where, config))


def reresolve_owners(identities: Sequence[Identity], config: Config) -> None:
    """Owners as the current config and CODEOWNERS say, not as they were when a run was recorded: each location's
    owner is resolved again (teams and handles first, the commit author's address last) for repositories whose
    folder is on this machine; elsewhere the recorded owner stays. The `owners:` of `config` (the operator's)
    apply to every repository when it has them, else each repository's own configuration."""
    central = govern.owners_config(config.sections) if "owners" in config.sections else None
    known: dict[str, tuple[list[codeowners.Entry], govern.OwnersConfig] | None] = {}
    for ident in identities:
        fresh = []
        for loc in ident.locations:
            if loc.repo not in known:
                known[loc.repo] = _repo_owners(Path(loc.repo), central)
            found = known[loc.repo]
            if found is None:
                fresh.append(loc)
                continue
            entries, owners_cfg = found
            owner, source = govern.resolve_owner(loc.path, ident.provider, codeowners.owners_of(entries, loc.path),
                                                 loc.author, loc.email, owners_cfg)
            fresh.append(replace(loc, owner=owner, owner_source=source))
        ident.locations = fresh


def _repo_owners(top: Path, central: govern.OwnersConfig | None
                 ) -> tuple[list[codeowners.Entry], govern.OwnersConfig] | None:
    if not top.is_dir():
        return None
    try:
        own = central or govern.owners_config(config_load(None, top).sections)
    except NhiguardError:
        return None  # a repository whose config no longer parses keeps its recorded owners
    return codeowners.load(top), own


def rotation_guides() -> dict[str, str]:
    return {r.id: r.rotation_guide for r in ruleset.load_builtin() if r.rotation_guide}
