"""`nhiguard scan --verify`, `--only-live`, `nhiguard verify REPORT.json` through the real CLI in subprocesses.

Every command here routes verification to the local HTTPS server with `--verify-endpoint` (and a catch-all `*`),
so no test ever talks to a real provider."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.providers import ProviderServer, Reply, Seen, json_reply
from tests.support.tokens import github_classic
from tests.verify import kit

LIVE = github_classic("cli-live")
DEAD = github_classic("cli-dead")


def _github(seen: Seen) -> Reply:
    if seen.path != "/user":
        return json_reply(404, {"message": "Not Found"})
    if seen.headers.get("Authorization") == f"token {LIVE}":
        return json_reply(200, {"login": "release-bot"}, {"X-OAuth-Scopes": "repo, workflow"})
    return json_reply(401, {"message": "Bad credentials"})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path)
    srv.scenarios["gh"] = _github
    srv.scenarios["all"] = json_reply(418, {"message": "no such provider here"})
    yield srv
    srv.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "deploy.env").write_text(f"GITHUB_TOKEN={LIVE}\n", encoding="utf-8")
    (root / "old.env").write_text(f"GH_TOKEN={DEAD}\n", encoding="utf-8")
    return root


def _flags(server: ProviderServer, tmp_path: Path) -> list[str]:
    return ["--verify-endpoint", f"github={server.endpoint('gh')}", "--verify-endpoint", f"*={server.endpoint('all')}",
            "--verify-ca", str(server.ca_path), "--audit-log", str(tmp_path / "audit.jsonl")]


def test_scan_verify_puts_verdicts_in_json_and_announces_the_override(server: ProviderServer, project: Path,
                                                                      tmp_path: Path) -> None:
    result = run_cli("scan", project, "--verify", "-f", "json", *_flags(server, tmp_path))
    assert result.returncode == 1, result.stderr
    assert "verification endpoint override" in result.stderr and server.endpoint("gh") in result.stderr
    verdicts = {f["locations"][0]["path"]: f["verdict"] for f in json.loads(result.stdout)["findings"]}
    assert verdicts["deploy.env"]["status"] == "live"
    assert verdicts["deploy.env"]["identity"] == "release-bot"
    assert verdicts["deploy.env"]["scopes"] == ["repo", "workflow"]
    assert verdicts["deploy.env"]["checked_at"]
    assert verdicts["old.env"]["status"] == "invalid"
    assert LIVE not in result.stdout and LIVE not in result.stderr
    audit = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert len(audit.splitlines()) == 2 and LIVE not in audit and DEAD not in audit


def test_verdicts_show_in_text_and_sarif(server: ProviderServer, project: Path, tmp_path: Path) -> None:
    text = run_cli("scan", project, "--verify", *_flags(server, tmp_path))
    assert "verdict" in text.stdout and "live; identity release-bot; scopes repo, workflow" in text.stdout
    sarif = run_cli("scan", project, "--verify", "-f", "sarif", *_flags(server, tmp_path))
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    props = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"] for r in results}
    assert props["deploy.env"]["verdict"] == "live" and props["deploy.env"]["scopes"] == ["repo", "workflow"]
    assert props["old.env"]["verdict"] == "invalid"


def test_only_live_reports_live_findings_and_sets_the_exit_code(server: ProviderServer, project: Path,
                                                                tmp_path: Path) -> None:
    both = run_cli("scan", project, "--only-live", "-f", "json", *_flags(server, tmp_path))
    assert both.returncode == 1
    assert [f["verdict"]["status"] for f in json.loads(both.stdout)["findings"]] == ["live"]
    (project / "deploy.env").unlink()
    dead_only = run_cli("scan", project, "--only-live", *_flags(server, tmp_path))
    assert dead_only.returncode == 0, dead_only.stdout
    assert "verified 1 finding(s): 1 invalid" in dead_only.stderr


def test_the_override_may_come_from_the_environment_and_is_announced(server: ProviderServer, project: Path,
                                                                     tmp_path: Path) -> None:
    env = {"NHIGUARD_VERIFY_ENDPOINT": f"github={server.endpoint('gh')},*={server.endpoint('all')}",
           "NHIGUARD_VERIFY_CA": str(server.ca_path)}
    result = run_cli("scan", project, "--verify", "-f", "json", env=env)
    assert "verification endpoint override" in result.stderr
    assert {f["verdict"]["status"] for f in json.loads(result.stdout)["findings"]} == {"live", "invalid"}
    default_audit = Path(env.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share"))) / "nhiguard" / "audit.jsonl"
    assert default_audit.exists()


def test_a_repository_config_cannot_widen_a_rules_hosts(server: ProviderServer, project: Path, tmp_path: Path) -> None:
    """The repository under scan redefines github-pat-classic with its own host and adds verify settings of its own;
    the secret still goes only where the built-in rule (via the explicit override) sends it."""
    evil = ProviderServer(tmp_path / "evil")
    try:
        evil.scenarios["steal"] = json_reply(200, {"login": "attacker"})
        original = (Path(__file__).resolve().parents[2] / "rules" / "github.yml").read_text(encoding="utf-8")
        from nhiguard import _yaml

        record = next(r for r in _yaml.load(original.encode())["rules"] if r["id"] == "github-pat-classic")
        record["verify"] = {
            "hosts": [f"127.0.0.1:{evil.port}"],
            "request": {"url": f"https://127.0.0.1:{evil.port}/steal/user",
                        "headers": {"Authorization": "token {{secret}}"}},
            "live": {"status": 200}, "invalid": {"status": 401},
        }
        (project / "evil.yml").write_text(json.dumps({"provider": "github", "rules": [record]}), encoding="utf-8")
        (project / ".nhiguard.yml").write_text(
            "rules: [evil.yml]\n"
            f"verify:\n  endpoints: {{github: 'https://127.0.0.1:{evil.port}/steal'}}\n"
            f"  hosts: ['127.0.0.1:{evil.port}']\n",
            encoding="utf-8",
        )
        flags = ["--verify-endpoint", f"github-pat-classic={server.endpoint('gh')}",
                 "--verify-endpoint", f"*={server.endpoint('all')}", "--verify-ca", str(server.ca_path)]
        result = run_cli("scan", project, "--verify", "-f", "json", *flags)
        assert result.returncode == 1, result.stderr
        statuses = {f["locations"][0]["path"]: f["verdict"]["status"] for f in json.loads(result.stdout)["findings"]}
        assert statuses["deploy.env"] == "live"
        assert evil.seen == [] and evil.total_connections == 0
        assert {s.path for s in server.requests_for("gh")} == {"/user"}
        # without an override the repository's host is still never used: the built-in host is pinned
        from nhiguard import config, ruleset
        from nhiguard.scan import ScanSettings, load_rules
        from nhiguard.verify.phase import Verification, VerifyOptions

        loaded = {r.id: r for r in load_rules(config.load(None, project), ScanSettings())}
        assert f"127.0.0.1:{evil.port}" in json.dumps(loaded["github-pat-classic"].verify)
        with Verification(VerifyOptions(audit_log=tmp_path / "a.jsonl")) as run:
            spec, _ = run.spec_for(loaded["github-pat-classic"])
        assert spec is not None and spec.hosts == ("api.github.com",)
        assert spec == ruleset.verify_spec(next(r for r in ruleset.load_builtin() if r.id == "github-pat-classic"))
    finally:
        evil.close()


def test_verify_rechecks_a_saved_report_and_says_when_a_location_is_gone(server: ProviderServer, project: Path,
                                                                         tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    saved = run_cli("scan", project, "-f", "json", "-o", report)
    assert saved.returncode == 1 and LIVE not in report.read_text(encoding="utf-8")
    again = run_cli("verify", report, "-f", "json", *_flags(server, tmp_path))
    assert again.returncode == 1, again.stderr
    statuses = {f["locations"][0]["path"]: f["verdict"]["status"] for f in json.loads(again.stdout)["findings"]}
    assert statuses == {"deploy.env": "live", "old.env": "invalid"}
    (project / "old.env").write_text("GH_TOKEN=rotated\n", encoding="utf-8")
    (project / "deploy.env").unlink()
    gone = run_cli("verify", report, "-f", "json", *_flags(server, tmp_path))
    assert "location gone" in gone.stderr
    assert "deploy.env:1: the file is gone" in gone.stderr and "old.env:1: the secret is no longer there" in gone.stderr
    findings = json.loads(gone.stdout)["findings"]
    assert {f["verdict"]["status"] for f in findings} == {"not_checked"}
    assert all(f["verdict"]["detail"].startswith("location gone") for f in findings)
    only_live = run_cli("verify", report, "--only-live", *_flags(server, tmp_path))
    assert only_live.returncode == 0


def test_verify_rejects_what_is_not_a_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    result = run_cli("verify", bad)
    assert result.returncode == 2 and "not an nhiguard JSON report" in result.stderr


def test_context_values_are_read_near_the_secret(server: ProviderServer, tmp_path: Path) -> None:
    rng = random.Random("shopify")
    token = "shpat_" + kit.rand(rng, 32, "0123456789abcdef")
    other = "shpat_" + kit.rand(rng, 32, "0123456789abcdef")
    root = tmp_path / "shop"
    root.mkdir()
    (root / "store.env").write_text(f"SHOPIFY_STORE=acme-shop.myshopify.com\nSHOPIFY_TOKEN={token}\n", encoding="utf-8")
    (root / "lonely.env").write_text(f"SHOPIFY_TOKEN={other}\n", encoding="utf-8")
    server.scenarios["shop"] = json_reply(200, {"access_scopes": [{"handle": "read_orders"}]})
    flags = ["--verify-endpoint", f"shopify={server.endpoint('shop')}", "--verify-endpoint",
             f"*={server.endpoint('all')}", "--verify-ca", str(server.ca_path)]
    result = run_cli("scan", root, "--verify", "-f", "json", *flags)
    verdicts = {f["locations"][0]["path"]: f["verdict"] for f in json.loads(result.stdout)["findings"]}
    assert verdicts["store.env"]["status"] == "live" and verdicts["store.env"]["scopes"] == ["read_orders"]
    assert verdicts["lonely.env"]["status"] == "not_checked" and "'shop'" in verdicts["lonely.env"]["detail"]
    assert [s.path for s in server.requests_for("shop")] == ["/admin/oauth/access_scopes.json"]


@pytest.mark.parametrize("command", ["scan", "git", "history", "ci"])
def test_every_scanning_command_takes_the_verification_options(command: str) -> None:
    result = run_cli(command, "--help")
    for option in ("--verify", "--only-live", "--verify-endpoint", "--verify-intrusive", "--audit-log"):
        assert option in result.stdout, (command, option)
    assert run_cli("verify", "--help").returncode == 0


def test_verify_reads_a_history_finding_from_its_commit(server: ProviderServer, tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "hist"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=Dev", "-c", "user.email=dev@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "deploy.env").write_text(f"GITHUB_TOKEN={LIVE}\n", encoding="utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "add"], check=True)
    (repo / "deploy.env").write_text("GITHUB_TOKEN=${GITHUB_TOKEN}\n", encoding="utf-8")
    subprocess.run([*git, "commit", "-qam", "remove"], check=True)
    saved = tmp_path / "history.json"
    swept = run_cli("history", repo, "-f", "json", "-o", saved)
    assert swept.returncode == 1, swept.stderr
    result = run_cli("verify", saved, "-f", "json", *_flags(server, tmp_path))
    assert "location gone" not in result.stderr + result.stdout
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["verdict"]["status"] == "live" and finding["verdict"]["identity"] == "release-bot"
    assert LIVE not in result.stdout and LIVE not in result.stderr
