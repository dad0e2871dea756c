"""Deadlines against a real server on 127.0.0.1 that drips one byte at a time (each byte well within the read
timeout): one exchange ends at its total deadline, a verification run at its own, whether the drip is in the
headers or the body; a ticket or revocation request (not repeatable, through the same client) too."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nhiguard.fingerprint import fingerprint
from nhiguard.http import HttpClient, HttpError, Policy, Request
from nhiguard.model import Finding, Location, Rule
from nhiguard.verify.phase import Verification
from tests.support.cli import run_cli
from tests.support.providers import Drip, ProviderServer
from tests.support.tokens import github_classic
from tests.verify import kit


@pytest.fixture(autouse=True)
def _warm_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One user cache for this module's CLI runs: each would otherwise validate the built-in rules again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "adversarial-cache"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path / "server")
    yield srv
    srv.close()


def _finding(rule: Rule, seed: str) -> Finding:
    secret = kit.rand(random.Random(seed), 40)
    return Finding(rule=rule, fingerprint=fingerprint(rule, secret), secret=secret, locations=[Location("x.env", 1)])


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_one_exchange_ends_at_its_total_deadline(server: ProviderServer, in_headers: bool) -> None:
    server.scenarios["drip"] = Drip(interval=0.3, headers=in_headers)
    client = HttpClient(replace(kit.FAST, read_timeout=2.0, total_timeout=1.5))
    policy = Policy(hosts=(f"127.0.0.1:{server.port}",), ca_bundle=str(server.ca_path))
    started = time.monotonic()
    with pytest.raises(HttpError, match=r"no complete answer within 1.5 s"):
        client.send(Request("GET", f"{server.url}/drip/user"), policy)
    assert time.monotonic() - started < 4  # before: as long as the server cares to drip (forever)
    # a ticket or revocation request goes through the same client: the same deadline, and never sent twice
    started = time.monotonic()
    with pytest.raises(HttpError):
        client.send(Request("POST", f"{server.url}/drip/issues", body=b"{}", repeatable=False), policy)
    assert time.monotonic() - started < 4
    assert len([s for s in server.requests_for("drip") if s.method == "POST"]) == 1
    client.close()


def test_the_verification_run_ends_at_its_deadline(server: ProviderServer, builtin_rules: list[Rule],
                                                  tmp_path: Path) -> None:
    rules = {r.id: r for r in builtin_rules}
    server.scenarios["github-pat-classic"] = Drip(interval=0.3)
    findings = [_finding(rules["github-pat-classic"], f"drip-{i}") for i in range(6)]
    settings = replace(kit.FAST, read_timeout=5.0, total_timeout=60.0, per_host=2)
    options = replace(kit.options(server, tmp_path, ["github-pat-classic"], settings=settings, workers=2),
                      deadline=2.0)
    with Verification(options) as run:
        run.spec_for(findings[0].rule)  # (loads the built-in rules first: seconds on a cold cache)
        started = time.monotonic()
        run.verify(findings)
    assert time.monotonic() - started < 6
    assert {f.verdict.status for f in findings} == {"unknown"}
    details = {f.verdict.detail for f in findings}
    assert any("verification deadline" in d for d in details), details


def test_the_cli_deadline_option(server: ProviderServer, tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = Drip(interval=0.3)
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={github_classic('cli-drip')}\n", encoding="utf-8")
    started = time.monotonic()
    done = run_cli("scan", tmp_path / "app.env", "-f", "json", "--verify", "--verify-deadline", "2",
                   "--verify-endpoint", f"github-pat-classic={server.endpoint('github-pat-classic')}",
                   "--verify-ca", server.ca_path, "--audit-log", tmp_path / "audit.jsonl", timeout=60)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 28  # (a loaded machine's start-up included) the exchange's own bound is 30 s
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["verdict"]["status"] == "unknown"
    assert "verification deadline" in finding["verdict"]["detail"], finding["verdict"]
    bad = run_cli("scan", tmp_path / "app.env", "--verify", env={"NHIGUARD_VERIFY_DEADLINE": "soon"})
    assert bad.returncode == 2 and "NHIGUARD_VERIFY_DEADLINE" in bad.stderr
