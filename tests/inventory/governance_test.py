"""End to end over real repositories: `nhiguard history --inventory` (with verification against the local
provider server) and `nhiguard scan --inventory` record into one inventory; `nhiguard inventory export` then gives
owners, ages, expiries, OWASP NHI ids and the risk order, asserted exactly."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.inventory.kit import DAVE, iso, jwt, key_and_certificate
from tests.support.cli import run_cli
from tests.support.gitrepo import ALICE, BOB, CAROL, GitRepo
from tests.support.providers import ProviderServer, Reply, Seen, json_reply
from tests.support.tokens import github_classic

SHARED = github_classic("inventory-shared")  # live, privileged, in two repositories
DEAD = github_classic("inventory-dead")  # revoked long ago, left by someone who left
LOOSE = github_classic("inventory-loose")  # in a folder outside git: nobody owns it
JWT_EXP = 1725148800  # 2024-09-01T00:00:00Z
AS_OF = "2025-01-01T12:00:00+00:00"


def _github(seen: Seen) -> Reply:
    if seen.headers.get("Authorization") == f"token {SHARED}":
        return json_reply(200, {"login": "deploy-bot"}, {"X-OAuth-Scopes": "repo, admin:org"})
    return json_reply(401, {"message": "Bad credentials"})


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("estate")
    server = ProviderServer(tmp / "server")
    server.scenarios["gh"] = _github
    server.scenarios["all"] = json_reply(418, {})
    verify = ["--verify", "--verify-endpoint", f"github={server.endpoint('gh')}", "--verify-endpoint",
              f"*={server.endpoint('all')}", "--verify-ca", str(server.ca_path), "--audit-log", str(tmp / "audit")]
    db = tmp / "inventory.sqlite"
    key_pem, cert_pem = key_and_certificate("api.internal.example.com", dt.datetime(2034, 1, 1, tzinfo=dt.UTC))

    alpha = GitRepo(tmp / "alpha")
    alpha.write(".github/CODEOWNERS", "# GitHub syntax: the last matching pattern wins\n*.env @acme/app-team\n"
                                      "/deploy/ @acme/platform\n")
    alpha.write(".nhiguard.yml", "owners:\n  providers:\n    jwt: '@acme/identity'\n")
    alpha.commit("codeowners", ALICE, date=iso("2022-01-01"))
    alpha.write("scripts/.bash_history", f"curl -H 'Authorization: token {DEAD}' https://api.github.com/user\n")
    alpha.commit("ops notes", DAVE, date=iso("2022-05-01"))
    alpha.write("deploy/prod.env", f"GITHUB_TOKEN={SHARED}\n")
    alpha.commit("deploy config", ALICE, date=iso("2023-01-10"))
    alpha.write("src/auth.py", f'SERVICE_TOKEN = "{jwt("billing", JWT_EXP)}"\n')
    alpha.commit("service token", BOB, date=iso("2024-06-01"))
    alpha.write("certs/server.key", key_pem)
    alpha.write("certs/server.crt", cert_pem)
    alpha.commit("tls", CAROL, date=iso("2024-12-01"))

    beta = GitRepo(tmp / "beta")
    beta.write(".gitlab/CODEOWNERS", "[Backend] @acme/backend\n*.yml\n\n^[Ops][2]\n/ci/ @acme/ops\n")
    beta.commit("codeowners", BOB, date=iso("2024-01-15"))
    beta.write("ci/.gitlab-ci.yml", f"deploy:\n  variables:\n    GITHUB_TOKEN: {SHARED}\n")
    beta.commit("pipeline", BOB, date=iso("2024-02-01"))

    loose = tmp / "loose"
    (loose / "tests" / "fixtures").mkdir(parents=True)
    (loose / "tests" / "fixtures" / "settings.json").write_text(json.dumps({"github_token": LOOSE}), encoding="utf-8")

    alpha.git("remote", "add", "origin", "git@github.com:acme/alpha.git")
    beta.git("remote", "add", "origin", "https://ci-bot:glpat-not-a-real-token@gitlab.example.com/acme/beta.git")
    runs = [
        run_cli("history", alpha.path, "--inventory", db, "--no-progress", "-f", "json", *verify),
        run_cli("history", beta.path, "--inventory", db, "--no-progress", "-f", "json", *verify),
        run_cli("scan", loose, "--inventory", db, "-f", "json"),
    ]
    for done in runs:
        assert done.returncode == 1, done.stderr
        assert "recorded in the inventory" in done.stderr
    policy = tmp / "policy.yml"
    policy.write_text("policy:\n  max_age_days: 365\n  owner_required: true\n  no_live_secret_in_history: true\n"
                      "  no_production_key_in_test_paths: false\n", encoding="utf-8")
    yield {"db": db, "alpha": alpha, "beta": beta, "loose": loose, "policy": policy, "tmp": tmp}
    server.close()


def _export(estate: dict[str, Any]) -> list[dict[str, Any]]:
    done = run_cli("inventory", "export", "--inventory", estate["db"], "-c", estate["policy"], "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout)["identities"])


def _by_rule_and_path(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['rule']}:{r['locations'][0]['path']}": r for r in rows}


def test_risk_order_owners_ages_and_expiries(estate: dict[str, Any]) -> None:
    rows = _export(estate)
    summary = [(r["rule"], r["locations"][0]["path"], r["status"], r["owner"], r["owner_source"], r["age_days"],
                r["expiry"], r["expiry_source"], r["long_lived"], r["repos"]) for r in rows]
    # the live token: GitHub answers with its expiry when it has one, so none means none (long-lived); the unverified
    # fixture's expiry is unknown, not none; the invalid one's too
    assert summary == [
        ("github-pat-classic", "deploy/prod.env", "live", "@acme/platform", "codeowners", 722, None, "provider", True,
         2),
        ("private-key-pem", "certs/server.key", "not_checked", "carol@example.net", "author", 31,
         "2034-01-01T00:00:00+00:00", "certificate notAfter", True, 1),
        ("github-pat-classic", "tests/fixtures/settings.json", "not_checked", None, None, 0, None, None, False, 1),
        ("github-pat-classic", "scripts/.bash_history", "invalid", "dave@example.com", "author", 976, None, None,
         False, 1),
        ("jwt", "src/auth.py", "not_checked", "@acme/identity", "config:providers", 214,
         "2024-09-01T00:00:00+00:00", "jwt exp", False, 1),
    ]
    assert [r["expiry_state"] for r in rows] == ["none", "date", "unknown", "unknown", "date"]
    # bands: live 300, unknown 200, invalid (or expired: the JWT) 100; inside, what the factors say: live +
    # privileged 20 + critical 8 + long-lived 12 + 2nd repository 10 + 2nd copy 2 + 2 violations 6 + over a year 2
    assert [r["risk"] for r in rows] == [360, 235, 216, 113, 104]
    assert rows[0]["risk_factors"] == ["live: 300", "privileged access +20", "critical severity +8", "long-lived +12",
                                       "in 2 repositories +10", "2 copies +2", "2 policy violation(s) +6",
                                       "exposed over a year +2"]


def test_owasp_ids_with_reasons(estate: dict[str, Any]) -> None:
    rows = _by_rule_and_path(_export(estate))
    ids = {key: [m["id"] for m in r["owasp"]] for key, r in rows.items()}
    assert ids == {
        "github-pat-classic:deploy/prod.env": ["NHI2", "NHI5", "NHI6", "NHI7", "NHI9"],
        "private-key-pem:certs/server.key": ["NHI2", "NHI7"],
        "github-pat-classic:tests/fixtures/settings.json": ["NHI2"],  # expiry unknown: not evidence of NHI7
        "github-pat-classic:scripts/.bash_history": ["NHI1", "NHI2", "NHI10"],
        "jwt:src/auth.py": ["NHI2"],
    }
    reasons = {m["id"]: m["reason"] for m in rows["github-pat-classic:deploy/prod.env"]["owasp"]}
    assert reasons["NHI5"] == "provider reports privileged access: admin:org, repo"
    assert reasons["NHI6"] == "static credential in deployment configuration: ci/.gitlab-ci.yml"
    assert reasons["NHI9"] == "same secret reused in 2 repositories"
    assert reasons["NHI2"] == "secret committed in 2 file(s) across 2 repositories"
    dead = {m["id"]: m["reason"] for m in rows["github-pat-classic:scripts/.bash_history"]["owasp"]}
    assert dead["NHI1"].startswith("owner dave@example.com has not committed to ")
    assert dead["NHI10"] == "in a personal artefact: scripts/.bash_history"
    key = {m["id"]: m["reason"] for m in rows["private-key-pem:certs/server.key"]["owasp"]}
    assert key["NHI7"] == "valid until 2034-01-01, more than 365 days after it was introduced"


def test_shared_secret_locations_span_both_repositories(estate: dict[str, Any]) -> None:
    shared = _by_rule_and_path(_export(estate))["github-pat-classic:deploy/prod.env"]
    places = sorted({(Path(loc["repo"]).name, loc["path"], loc["author"]) for loc in shared["locations"]
                     if loc["kind"] == "history"})
    assert places == [("alpha", "deploy/prod.env", ALICE.name), ("beta", "ci/.gitlab-ci.yml", BOB.name)]
    owners = {loc["path"]: loc["owner"] for loc in shared["locations"]}
    assert owners == {"deploy/prod.env": "@acme/platform", "ci/.gitlab-ci.yml": "@acme/backend @acme/ops"}
    assert [(v["status"], v["identity"], v["scopes"]) for v in shared["verdicts"]] == [
        ("live", "deploy-bot", ["admin:org", "repo"]), ("live", "deploy-bot", ["admin:org", "repo"])]
    assert SHARED not in estate["db"].read_bytes().decode("latin-1")


def test_certificate_is_linked_to_its_key(estate: dict[str, Any]) -> None:
    key = _by_rule_and_path(_export(estate))["private-key-pem:certs/server.key"]
    assert key["linked"] == "certificate certs/server.crt (CN=api.internal.example.com), same public key"


def test_policy_violations(estate: dict[str, Any]) -> None:
    rows = _by_rule_and_path(_export(estate))
    assert {k: r["violations"] for k, r in rows.items()} == {
        "github-pat-classic:deploy/prod.env": ["max_age_days: exposed 722 days (limit 365)",
                                               "no_live_secret_in_history: live secret in git history"],
        "private-key-pem:certs/server.key": [],
        "github-pat-classic:tests/fixtures/settings.json": ["owner_required: no owner"],
        "github-pat-classic:scripts/.bash_history": ["max_age_days: exposed 976 days (limit 365)"],
        "jwt:src/auth.py": [],
    }


def test_list_show_stats_and_csv(estate: dict[str, Any]) -> None:
    common = ["--inventory", estate["db"], "-c", estate["policy"], "--as-of", AS_OF]
    table = run_cli("inventory", "list", *common)
    assert table.returncode == 0 and table.stdout.splitlines()[0].split()[:3] == ["RISK", "FINGERPRINT", "RULE"]
    assert "5 identities" in table.stdout
    unowned = run_cli("inventory", "list", *common, "-f", "json", "--owner", "(unowned)")
    assert [r["rule"] for r in json.loads(unowned.stdout)["identities"]] == ["github-pat-classic"]
    nhi9 = run_cli("inventory", "list", *common, "-f", "csv", "--nhi", "NHI9")
    lines = nhi9.stdout.splitlines()
    assert lines[0].startswith("fingerprint,risk,rule") and len(lines) == 2 and "NHI9" in lines[1]
    stats = json.loads(run_cli("inventory", "stats", *common, "-f", "json").stdout)
    assert stats["identities"] == 5 and stats["live"] == 1 and stats["unowned"] == 1 and stats["long_lived"] == 2
    assert stats["expiry_unknown"] == 2 and stats["by_verdict"] == {"live": 1, "unknown": 3, "invalid": 1}
    assert stats["by_provider"] == {"github": 3, "jwt": 1, "private-key": 1} or stats["by_provider"]["github"] == 3
    assert stats["owasp"] == {"NHI1": 1, "NHI2": 5, "NHI3": 0, "NHI4": 0, "NHI5": 1, "NHI6": 1, "NHI7": 2,
                              "NHI8": 0, "NHI9": 1, "NHI10": 1}
    fingerprint = json.loads(unowned.stdout)["identities"][0]["fingerprint"]
    shown = run_cli("inventory", "show", fingerprint[:14], *common)
    assert shown.returncode == 0 and "owner_required: no owner" in shown.stdout and LOOSE not in shown.stdout
    assert "None" not in shown.stdout and "expiry unknown" in shown.stdout


def test_locations_carry_commit_and_a_link_built_from_the_remote(estate: dict[str, Any]) -> None:
    common = ["--inventory", estate["db"], "-c", estate["policy"], "--as-of", AS_OF]
    rows = _by_rule_and_path(_export(estate))
    shared = rows["github-pat-classic:deploy/prod.env"]["locations"]
    expected = {
        "deploy/prod.env": "https://github.com/acme/alpha/blob/{}/deploy/prod.env#L1",
        "ci/.gitlab-ci.yml": "https://gitlab.example.com/acme/beta/-/blob/{}/ci/.gitlab-ci.yml#L3",
    }
    assert {loc["path"] for loc in shared} == set(expected)
    assert all(loc["commit"] and loc["link"] == expected[loc["path"]].format(loc["commit"]) for loc in shared)
    assert len(shared) == len({(loc["repo"], loc["path"], loc["line"], loc["commit"]) for loc in shared})
    csv_text = run_cli("inventory", "list", *common, "-f", "csv").stdout
    header, *lines = csv_text.splitlines()
    assert header.endswith("locations,links,remediation,rotation_guide")
    assert any("deploy/prod.env:1 @" in line and "https://github.com/acme/alpha/blob/" in line for line in lines)
    assert "None" not in csv_text and "glpat-not-a-real-token" not in csv_text
    for key, r in rows.items():
        shown = run_cli("inventory", "show", r["fingerprint"][:17], *common).stdout
        assert "None" not in shown
        if key.startswith("github-"):
            assert "  rotate https://docs.github.com/" in shown


def test_owners_follow_the_current_configuration(estate: dict[str, Any]) -> None:
    config = estate["alpha"].path / ".nhiguard.yml"
    before = config.read_text(encoding="utf-8")
    try:
        config.write_text("owners:\n  providers:\n    jwt: '@acme/identity-platform'\n", encoding="utf-8")
        rows = _by_rule_and_path(_export(estate))
        assert (rows["jwt:src/auth.py"]["owner"], rows["jwt:src/auth.py"]["owner_source"]) == (
            "@acme/identity-platform", "config:providers")
        # a CODEOWNERS team wins over the commit author, wherever the secret was introduced
        assert rows["github-pat-classic:deploy/prod.env"]["owner_source"] == "codeowners"
    finally:
        config.write_text(before, encoding="utf-8")
