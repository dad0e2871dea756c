"""Where secrets may go: pinned hosts, HTTPS only, no private destinations for secret-chosen URLs (checked again on
the connected peer), no redirects, intrusive checks opt-in, bounded retries, per-host limits, cache, never a crash."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nhiguard import ruleset
from nhiguard.fingerprint import fingerprint
from nhiguard.http import Blocked, HttpClient, HttpError, HttpSettings, Policy, Request, is_public
from nhiguard.model import Finding, Location, Rule, Verdict
from nhiguard.verify.phase import Verification, VerifyOptions, parse_override
from nhiguard.verify.plugins import Registry, Target, Transport
from tests.support.providers import ProviderServer, Reply, Seen, json_reply
from tests.verify import kit


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path)
    yield srv
    srv.close()


@pytest.fixture
def rules(builtin_rules: list[Rule]) -> dict[str, Rule]:
    return {r.id: r for r in builtin_rules}


def _finding(rule: Rule, secret: str, **parts: str) -> Finding:
    return Finding(rule=rule, fingerprint=fingerprint(rule, secret), secret=secret,
                   parts=tuple(sorted(parts.items())), locations=[Location("x.env", 1)])


def _rand(seed: str, n: int = 40) -> str:
    return kit.rand(random.Random(seed), n)


# -- the HTTP layer ------------------------------------------------------------------------------------------------
def test_a_host_outside_the_allowed_list_raises_before_any_connection(server: ProviderServer) -> None:
    client = HttpClient(kit.FAST)
    with pytest.raises(Blocked, match="not among the rule's hosts"):
        client.send(Request("GET", f"{server.url}/k/user"), Policy(hosts=("api.github.com",),
                                                                   ca_bundle=str(server.ca_path)))
    with pytest.raises(Blocked, match="only HTTPS"):
        client.send(Request("GET", f"http://127.0.0.1:{server.port}/k/user"),
                    Policy(hosts=(f"127.0.0.1:{server.port}",)))
    with pytest.raises(Blocked, match="credentials inside the URL"):
        client.send(Request("GET", f"https://u:p@127.0.0.1:{server.port}/k/"),
                    Policy(hosts=(f"127.0.0.1:{server.port}",)))
    time.sleep(0.05)
    assert server.total_connections == 0 and server.seen == []


def test_a_pinned_port_must_match(server: ProviderServer) -> None:
    client = HttpClient(kit.FAST)
    with pytest.raises(Blocked):
        client.send(Request("GET", f"{server.url}/k/"), Policy(hosts=("127.0.0.1",)))  # 443 only
    with pytest.raises(Blocked):
        client.send(Request("GET", f"{server.url}/k/"), Policy(hosts=("127.0.0.1:1",)))
    assert server.total_connections == 0


def test_certificates_are_checked(server: ProviderServer) -> None:
    server.scenarios["k"] = Reply(200)
    with pytest.raises(HttpError, match="TLS"):
        HttpClient(kit.FAST).send(Request("GET", f"{server.url}/k/"), Policy(hosts=(f"127.0.0.1:{server.port}",)))
    assert server.seen == []


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "192.168.0.10", "172.16.5.4",
                                     "::1", "fe80::1", "fd00::5", "::ffff:10.0.0.1", "100.64.0.1", "0.0.0.0"])
def test_secret_chosen_destinations_never_reach_private_addresses(rules: dict[str, Rule], tmp_path: Path,
                                                                  address: str) -> None:
    assert not is_public(address)
    resolved: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return [address]

    webhook = f"https://discord.com/api/webhooks/{kit.rand(random.Random(address), 18, '0123456789')}/{_rand(address)}"
    finding = _finding(rules["discord-webhook-url"], webhook)
    client = HttpClient(kit.FAST, resolver=resolver)
    with Verification(VerifyOptions(audit_log=tmp_path / "a.jsonl"), client=client) as run:
        run.verify([finding])
    assert resolved == ["discord.com"]
    assert finding.verdict.status == "not_checked"
    assert "private, loopback or link-local" in finding.verdict.detail
    assert client.counts() == {}


def test_the_connected_peer_is_checked_as_well_as_the_dns_answer(server: ProviderServer) -> None:
    """A name that resolved to a public address at check time but connects to a private one (DNS rebinding) is
    refused after connecting and before anything is sent."""
    server.scenarios["k"] = Reply(200)
    client = HttpClient(kit.FAST, resolver=lambda host, port: ["93.184.216.34"])
    policy = Policy(hosts=(f"localhost:{server.port}",), public_only=True, ca_bundle=str(server.ca_path))
    with pytest.raises(Blocked, match="private, loopback or link-local"):
        client.send(Request("GET", f"https://localhost:{server.port}/k/"), policy)
    assert server.seen == []


def test_a_webhook_pointing_outside_the_rules_hosts_is_not_sent(server: ProviderServer, rules: dict[str, Rule],
                                                                tmp_path: Path) -> None:
    server.scenarios["api"] = Reply(200)
    finding = _finding(rules["discord-webhook-url"], f"{server.url}/api/webhooks/1234567890123456789/{_rand('w')}")
    with Verification(VerifyOptions(audit_log=tmp_path / "a.jsonl", http=kit.FAST)) as run:
        run.verify([finding])
    assert finding.verdict.status == "not_checked" and "not among the rule's hosts" in finding.verdict.detail
    assert server.total_connections == 0


def test_redirects_are_never_followed(server: ProviderServer, rules: dict[str, Rule], tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = Reply(302, {"Location": f"{server.url}/elsewhere/user"})
    server.scenarios["elsewhere"] = json_reply(200, {"login": "x"})
    finding = _finding(rules["github-pat-classic"], _rand("redirect"))
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"])) as run:
        run.verify([finding])
    assert finding.verdict.status == "unknown" and "302" in finding.verdict.detail
    assert [s.key for s in server.seen] == ["github-pat-classic"]


# -- opt-ins, endpoints, registry -----------------------------------------------------------------------------------
def test_intrusive_checks_run_only_when_opted_in(server: ProviderServer, rules: dict[str, Rule],
                                                tmp_path: Path) -> None:
    server.scenarios["slack-webhook-url"] = Reply(400, {}, b"invalid_payload")
    url = f"https://hooks.slack.com/services/T0ACME001/B0ACME001/{_rand('hook', 24)}"
    off, on = _finding(rules["slack-webhook-url"], url), _finding(rules["slack-webhook-url"], url)
    with Verification(kit.options(server, tmp_path, ["slack-webhook-url"], intrusive=False)) as run:
        run.verify([off])
    assert off.verdict.status == "not_checked" and "--verify-intrusive" in off.verdict.detail
    assert server.seen == []
    with Verification(kit.options(server, tmp_path, ["slack-webhook-url"], intrusive=True)) as run:
        run.verify([on])
    assert on.verdict.status == "live"
    assert server.seen[0].method == "POST" and server.seen[0].path.startswith("/services/T0ACME001/")


def test_a_self_hosted_service_needs_an_explicit_endpoint(rules: dict[str, Rule], tmp_path: Path) -> None:
    finding = _finding(rules["hashicorp-vault-service-token"], "hvs." + _rand("vault", 24))
    with Verification(VerifyOptions(audit_log=tmp_path / "a.jsonl", http=kit.FAST)) as run:
        run.verify([finding])
    assert finding.verdict.status == "not_checked" and "--verify-endpoint" in finding.verdict.detail


def test_overrides_match_rule_id_then_provider_then_star(rules: dict[str, Rule]) -> None:
    from nhiguard.verify.phase import find_override, rule_names

    items = [parse_override("*=https://127.0.0.1:1"), parse_override("github=https://127.0.0.1:2/p"),
             parse_override("github-pat-classic=https://127.0.0.1:3")]
    assert find_override(items, *rule_names(rules["github-pat-classic"])) is items[2]
    assert find_override(items, *rule_names(rules["github-oauth-token"])) is items[1]
    assert find_override(items, *rule_names(rules["slack-bot-token"])) is items[0]
    assert items[1].apply("https://api.github.com/user?x=1") == "https://127.0.0.1:2/p/user?x=1"


@pytest.mark.parametrize("bad", ["github", "github=http://127.0.0.1:1", "=https://x", "github=https://u:p@x",
                                 "github=https://x/?q=1", "github=ftp://x"])
def test_bad_overrides_are_usage_errors(bad: str) -> None:
    from nhiguard.errors import ConfigError

    with pytest.raises(ConfigError):
        parse_override(bad)


def _plugin_rule(tmp_path: Path, plugin: str) -> Rule:
    source = tmp_path / "mine.yml"
    source.write_text("", encoding="utf-8")
    raw = {"id": "acme-internal-token", "name": "Acme token", "provider": "acme", "keywords": ["acme_"],
           "pattern": "(?P<secret>acme_[a-z0-9]{20})", "verify": {"plugin": plugin, "hosts": ["api.acme.test"]}}
    return ruleset.parse_rule(raw, source=str(source))


def test_plugins_come_from_the_registry_and_their_failures_are_unknown(tmp_path: Path) -> None:
    def boom(target: Target, transport: Transport) -> Verdict:
        raise RuntimeError("bug in a third-party plugin " + target.secret)

    def offline(target: Target, transport: Transport) -> Verdict:
        return Verdict(status="live", identity="acme-bot")

    registry = Registry(extra={"boom": boom, "offline": offline})
    assert {"http", "aws-sts", "gcp-service-account", "azure-storage-shared-key", "boom"} <= set(registry.names())
    (tmp_path / "a").mkdir()
    findings = [_finding(_plugin_rule(tmp_path / "a", p), _rand(p, 20)) for p in ("boom", "offline", "missing")]
    options = VerifyOptions(audit_log=tmp_path / "a.jsonl", trusted_rule_sources=(tmp_path / "a",))
    for finding in findings:
        with Verification(options, registry=registry) as run:
            run.verify([finding])
    boom_v, offline_v, missing_v = (f.verdict for f in findings)
    assert boom_v.status == "unknown" and "RuntimeError" in boom_v.detail and findings[0].secret not in boom_v.detail
    assert offline_v.status == "live" and offline_v.identity == "acme-bot"
    assert missing_v.status == "not_checked" and "no verifier named 'missing'" in missing_v.detail


def test_a_verify_block_from_an_untrusted_rule_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    finding = _finding(_plugin_rule(tmp_path / "a", "offline"), _rand("untrusted", 20))
    registry = Registry(extra={"offline": lambda target, transport: Verdict(status="live")})
    with Verification(VerifyOptions(audit_log=tmp_path / "a.jsonl"), registry=registry) as run:
        run.verify([finding])
    assert finding.verdict.status == "not_checked" and "--rules" in finding.verdict.detail


# -- retries, limits, cache -----------------------------------------------------------------------------------------
def test_429_with_retry_after_is_retried_then_answered(server: ProviderServer, rules: dict[str, Rule],
                                                       tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(seen: Seen) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            return Reply(429, {"Retry-After": "0"})
        return json_reply(200, {"login": "octo"})

    server.scenarios["github-pat-classic"] = flaky
    finding = _finding(rules["github-pat-classic"], _rand("retry"))
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"])) as run:
        run.verify([finding])
    assert finding.verdict.status == "live" and len(calls) == 2


def test_a_retry_after_beyond_the_cap_gives_up_at_once(server: ProviderServer, rules: dict[str, Rule],
                                                       tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = Reply(429, {"Retry-After": "3600"})
    finding = _finding(rules["github-pat-classic"], _rand("cap"))
    started = time.monotonic()
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"])) as run:
        run.verify([finding])
    assert finding.verdict.status == "unknown" and "429" in finding.verdict.detail
    assert len(server.seen) == 1 and time.monotonic() - started < 3


def test_5xx_is_retried_a_bounded_number_of_times(server: ProviderServer, rules: dict[str, Rule],
                                                 tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = Reply(503)
    finding = _finding(rules["github-pat-classic"], _rand("5xx"))
    settings = replace(kit.FAST, retries=2)
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"], settings=settings)) as run:
        run.verify([finding])
    assert finding.verdict.status == "unknown" and len(server.seen) == 3


def test_a_request_that_is_not_repeatable_is_sent_again_only_after_a_429(server: ProviderServer) -> None:
    client = HttpClient(replace(kit.FAST, retries=2, retry_after_cap=5.0))
    policy = Policy(hosts=(f"127.0.0.1:{server.port}",), ca_bundle=str(server.ca_path))
    server.scenarios["down"] = Reply(503)
    creates = Request("POST", f"{server.url}/down/issues", body=b"{}", repeatable=False)
    assert client.send(creates, policy).status == 503
    assert len(server.requests_for("down")) == 1  # it may have been filed: never twice
    assert client.send(replace(creates, repeatable=True), policy).status == 503
    assert len(server.requests_for("down")) == 4
    answers = iter([Reply(429, {"Retry-After": "0"}), Reply(201)])
    server.scenarios["busy"] = lambda seen: next(answers)
    assert client.send(replace(creates, url=f"{server.url}/busy/issues"), policy).status == 201


def test_verdicts_are_cached_by_fingerprint_for_the_run(server: ProviderServer, rules: dict[str, Rule],
                                                       tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = json_reply(200, {"login": "octo"})
    secret = _rand("cache")
    twins = [_finding(rules["github-pat-classic"], secret) for _ in range(5)]
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"])) as run:
        stats = run.verify(twins)
    assert {f.verdict.status for f in twins} == {"live"}
    assert len(server.seen) == 1 and stats.verified == 1 and stats.cached == 4


def test_requests_in_flight_per_host_stay_within_the_limit(server: ProviderServer, rules: dict[str, Rule],
                                                           tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = Reply(200, {"Content-Type": "application/json"}, b'{"login": "x"}',
                                                   delay=0.03)
    findings = [_finding(rules["github-pat-classic"], _rand(f"limit-{i}")) for i in range(40)]
    settings = replace(kit.FAST, per_host=3)
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"], settings=settings, workers=16)) as run:
        stats = run.verify(findings)
    assert {f.verdict.status for f in findings} == {"live"}
    assert 1 <= server.peak_active <= 3 and server.peak_connections <= 3
    assert max(stats.peak_per_host.values()) <= 3


def test_the_request_rate_per_host_is_limited(server: ProviderServer, rules: dict[str, Rule], tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = json_reply(200, {"login": "x"})
    findings = [_finding(rules["github-pat-classic"], _rand(f"rate-{i}")) for i in range(6)]
    settings = replace(kit.FAST, rate_per_host=10.0)
    started = time.monotonic()
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"], settings=settings)) as run:
        run.verify(findings)
    assert time.monotonic() - started >= 0.45  # six starts at most ten a second: five intervals of 0.1 s


def test_verification_is_thread_safe_under_concurrent_callers(server: ProviderServer, rules: dict[str, Rule],
                                                              tmp_path: Path) -> None:
    server.scenarios["github-pat-classic"] = json_reply(200, {"login": "x"})
    secret = _rand("threads")
    with Verification(kit.options(server, tmp_path, ["github-pat-classic"])) as run:
        batches = [[_finding(rules["github-pat-classic"], secret)] for _ in range(8)]
        threads = [threading.Thread(target=run.verify, args=(b,)) for b in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(server.seen) == 1
    assert {b[0].verdict.status for b in batches} == {"live"}


def test_settings_defaults_are_safe() -> None:
    settings = HttpSettings()
    assert settings.connect_timeout > 0 and settings.read_timeout > 0
    assert 0 < settings.per_host <= 8 and settings.retries <= 3 and settings.retry_after_cap <= 30


def test_the_endpoint_override_is_the_only_way_to_reach_another_host(server: ProviderServer, tmp_path: Path) -> None:
    """A verifier that asks its transport for any host but the rule's is refused before connecting; the same call
    reaches the local server only once the user names it with an override."""
    server.scenarios["acme-internal-token"] = json_reply(200, {"ok": True})

    def sneaky(target: Target, transport: Transport) -> Verdict:
        response = transport.send(Request("GET", f"{server.url}/acme-internal-token/me"))
        return Verdict(status="live" if response.status == 200 else "unknown")

    (tmp_path / "a").mkdir()
    registry = Registry(extra={"sneaky": sneaky})
    trusted = (tmp_path / "a",)
    first = _finding(_plugin_rule(tmp_path / "a", "sneaky"), _rand("sneaky-1", 20))
    with Verification(VerifyOptions(audit_log=tmp_path / "a.jsonl", trusted_rule_sources=trusted, http=kit.FAST),
                      registry=registry) as run:
        run.verify([first])
    assert first.verdict.status == "not_checked" and "not among the rule's hosts" in first.verdict.detail
    assert server.total_connections == 0
    second = _finding(_plugin_rule(tmp_path / "a", "sneaky"), _rand("sneaky-2", 20))
    options = replace(kit.options(server, tmp_path, ["acme-internal-token"]), trusted_rule_sources=trusted)
    with Verification(options, registry=registry) as run:
        run.verify([second])
    assert second.verdict.status == "live"
    assert [s.path for s in server.seen] == ["/acme-internal-token/me"]  # the override origin + the original path
