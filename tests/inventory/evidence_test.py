"""OWASP NHI evidence, expiry sources and policy rules on stored identities; certificate ↔ key linking with and
without `cryptography`; `--inventory` alone records into the default inventory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nhiguard.config import Config
from nhiguard.inventory import govern, x509
from nhiguard.inventory.record import Where, identity_records
from nhiguard.inventory.store import Identity, Inventory, LocationRecord, RepoContext, VerdictRecord
from nhiguard.model import Finding, Location, Rule
from tests.inventory.kit import key_and_certificate
from tests.support.cli import run_cli
from tests.support.tokens import github_classic

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _identity(paths: list[tuple[str, str]], *, rule: str = "stripe-live-key", nhi: tuple[str, ...] = ("NHI2",),
              verdicts: tuple[VerdictRecord, ...] = (), expiry: str | None = None) -> Identity:
    ident = Identity("nhg1:x", rule, rule.replace("-", " "), "stripe", "critical", "sk_live_****", nhi,
                     "2024-12-01T00:00:00+00:00", "2024-12-01T00:00:00+00:00", expiry, "jwt exp" if expiry else None,
                     None, None, None, None, None)
    ident.locations = [LocationRecord(repo, path, 1, None, None, None, "2024-12-01T00:00:00+00:00", "file", "@t",
                                      "codeowners") for repo, path in paths]
    ident.verdicts = list(verdicts)
    return ident


def _ids(ident: Identity, policy: govern.Policy | None = None) -> dict[str, str]:
    a = govern.assess(ident, {}, policy or govern.Policy(), NOW)
    return {m.nhi: m.reason for m in a.owasp}


def test_environments_make_nhi8_and_nhi9() -> None:
    ids = _ids(_identity([("/r", "deploy/.env.dev"), ("/r", "deploy/.env.prod")]))
    assert ids["NHI8"] == "same secret in development, production environments"
    assert ids["NHI9"] == "same secret reused in 2 environments"


def test_production_key_in_a_test_path() -> None:
    ident = _identity([("/r", "tests/fixtures/payment.json")])
    policy = govern.Policy(no_production_key_in_test_paths=True)
    assert _ids(ident)["NHI8"] == "production credential in a test path: tests/fixtures/payment.json"
    assessed = govern.assess(ident, {}, policy, NOW)
    assert assessed.violations == ["no_production_key_in_test_paths: tests/fixtures/payment.json"]


@pytest.mark.parametrize(("path", "rule_nhi", "expected", "reason"), [
    (".vscode/settings.json", (), "NHI3", "in third-party tool configuration: .vscode/settings.json"),
    ("src/a.py", ("NHI3",), "NHI3", "stripe live key is a third-party application credential"),
    ("src/a.py", ("NHI4",), "NHI4", "stripe live key: static or weak authentication"),
    (".github/workflows/release.yml", (), "NHI6", "static credential in deployment configuration: "
                                                  ".github/workflows/release.yml"),
    ("infra/main.tf", (), "NHI6", "static credential in deployment configuration: infra/main.tf"),
    ("notebooks/explore.ipynb", (), "NHI10", "in a personal artefact: notebooks/explore.ipynb"),
    ("home/.zsh_history", (), "NHI10", "in a personal artefact: home/.zsh_history"),
])
def test_evidence_from_paths_and_rules(path: str, rule_nhi: tuple[str, ...], expected: str, reason: str) -> None:
    assert _ids(_identity([("/r", path)], nhi=("NHI2", *rule_nhi)))[expected] == reason


def test_legacy_formats_are_nhi4() -> None:
    assert "NHI4" in _ids(_identity([("/r", "a.py")], rule="github-token-legacy"))


def test_provider_expiry_and_privilege_from_verdicts() -> None:
    verdict = VerdictRecord("live", "arn:aws:iam::123456789012:root", (), "2025-02-01T00:00:00+00:00",
                            checked_at="2024-12-02T00:00:00+00:00")
    a = govern.assess(_identity([("/r", "a.py")], verdicts=(verdict,), expiry="2030-01-01T00:00:00+00:00"), {},
                      govern.Policy(), NOW)
    assert (a.expiry, a.expiry_source, a.long_lived, a.live, a.privileged) == (
        "2025-02-01T00:00:00+00:00", "provider", False, True, True)
    assert [m.nhi for m in a.owasp] == ["NHI2", "NHI5"]


def test_nhi1_needs_an_author_owner_gone_from_recent_committers() -> None:
    ident = _identity([("/r", "a.py")])
    ident.locations = [LocationRecord("/r", "a.py", 1, "c", "Old", "old@x", "2020-01-01T00:00:00+00:00", "history",
                                      "old@x", "author")]
    gone = {"/r": RepoContext("/r", "2024-12-01", ("new@x",), ("@team",))}
    stays = {"/r": RepoContext("/r", "2024-12-01", ("new@x", "old@x"), ())}
    listed = {"/r": RepoContext("/r", "2024-12-01", ("new@x",), ("old@x",))}
    assert "NHI1" in {m.nhi for m in govern.assess(ident, gone, govern.Policy(), NOW).owasp}
    assert "NHI1" not in {m.nhi for m in govern.assess(ident, stays, govern.Policy(), NOW).owasp}
    assert "NHI1" not in {m.nhi for m in govern.assess(ident, listed, govern.Policy(), NOW).owasp}


def test_policy_rules_for_expiry_and_copies() -> None:
    never = VerdictRecord("live", "acct", (), "never", checked_at="2024-12-02T00:00:00+00:00")
    ident = _identity([("/a", "x.env"), ("/b", "y.env"), ("/b", "z.env")], verdicts=(never,))
    a = govern.assess(ident, {}, govern.Policy(require_expiry=True, max_copies=2), NOW)
    assert a.violations == ["require_expiry: no expiry", "max_copies: 3 copies (limit 2)"]
    assert (a.expiry_state, a.long_lived) == ("none", True) and "NHI7" in a.nhi_ids


def test_an_unverified_credential_has_an_unknown_expiry_not_none() -> None:
    a = govern.assess(_identity([("/a", "x.env")]), {}, govern.Policy(require_expiry=True), NOW)
    assert (a.expiry_state, a.long_lived, a.violations) == ("unknown", False, [])
    assert "NHI7" not in a.nhi_ids


def test_test_mode_keys_never_outrank_production_ones_and_live_outranks_unknown_outranks_invalid() -> None:
    def one(rule: str, status: str | None, severity: str = "high") -> govern.Assessment:
        ident = _identity([("/r", "deploy/app.env")], rule=rule,
                          verdicts=(VerdictRecord(status, None, ("admin",) if status == "live" else (),
                                                  checked_at="2024-12-02T00:00:00+00:00"),) if status else ())
        ident.severity = severity
        return govern.assess(ident, {}, govern.Policy(), NOW)

    sandbox_live = one("stripe-test-key", "live", "critical")
    invalid = one("github-pat-classic", "invalid", "low")
    unknown = one("private-key-pem", None)
    live = one("slack-bot-token", "live", "low")
    assert sandbox_live.sandbox and sandbox_live.risk < invalid.risk < unknown.risk < live.risk
    assert unknown.risk_factors[0] == "unknown: 200" and "private key +15" in unknown.risk_factors
    assert sandbox_live.risk_factors[0].startswith("test-mode or sandbox credential")


# -- certificates beside keys ---------------------------------------------------------------------------------
def _key_finding(builtin_rules: list[Rule], secret: str) -> Finding:
    rule = next(r for r in builtin_rules if r.id == "private-key-pem")
    return Finding(rule=rule, fingerprint="nhg1:key", secret=secret, locations=[Location(path="tls/server.key",
                                                                                         line=1)])


def _where(root: Path) -> Where:
    return Where(str(root), root, "", root)


def test_certificate_linked_by_public_key_not_by_proximity(tmp_path: Path, builtin_rules: list[Rule]) -> None:
    key, _ = key_and_certificate("svc", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    _, other_cert = key_and_certificate("other", dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "server.key").write_text(key, encoding="utf-8")
    (tmp_path / "tls" / "other.crt").write_text(other_cert, encoding="utf-8")
    (record,) = identity_records([_key_finding(builtin_rules, key)], _where(tmp_path), Config(tmp_path))
    assert (record.expiry, record.linked) == (None, None)  # beside it, but not its certificate


def test_without_cryptography_proximity_links(tmp_path: Path, builtin_rules: list[Rule],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    key, cert = key_and_certificate("svc", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "server.key").write_text(key, encoding="utf-8")
    (tmp_path / "tls" / "server.pem").write_text(cert, encoding="utf-8")
    monkeypatch.setattr(x509, "AVAILABLE", False)
    (record,) = identity_records([_key_finding(builtin_rules, key)], _where(tmp_path), Config(tmp_path))
    assert (record.expiry, record.linked) == (None, "certificate tls/server.pem (beside the key)")
    monkeypatch.setattr(x509, "AVAILABLE", True)
    (record,) = identity_records([_key_finding(builtin_rules, key)], _where(tmp_path), Config(tmp_path))
    assert record.expiry == "2030-01-01T00:00:00+00:00" and record.expiry_source == "certificate notAfter"
    assert record.linked == "certificate tls/server.pem (CN=svc), same public key"
    assert "PRIVATE KEY" not in repr(record)


def test_inventory_flag_alone_uses_the_default_inventory(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    token = github_classic("default-inventory")
    (folder / "app.env").write_text(f"TOKEN={token}\n", encoding="utf-8")
    done = run_cli("scan", folder, "--inventory")
    assert done.returncode == 1, done.stderr
    default = Path(__import__("os").environ["XDG_DATA_HOME"]) / "nhiguard" / "inventory.sqlite"
    assert f"recorded in the inventory {default}" in done.stderr
    with Inventory(default) as store:
        (ident,) = store.identities()
    assert ident.rule_id == "github-pat-classic" and ident.locations[0].path == "app.env"
    assert token not in default.read_bytes().decode("latin-1")
    listed = run_cli("inventory", "list", "-f", "json")
    assert listed.returncode == 0 and '"owner": null' in listed.stdout
