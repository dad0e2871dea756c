"""Fingerprints cost microseconds for strong secrets and stay stretched for guessable ones, decided from the secret
alone; fingerprints older nhiguard wrote (baselines, allow.fingerprints, inventories) are still honoured; previews
of guessable secrets reveal nothing."""

from __future__ import annotations

import hashlib
import json
import random
import string
import time
from pathlib import Path

import pytest

from nhiguard import baseline, fingerprint, redact, ruleset
from nhiguard.model import Finding, Location, Rule
from tests.support.cli import run_cli
from tests.support.tokens import github_classic

ALNUM = string.ascii_letters + string.digits
# guessable: words, years, keyboard rows, repeats, short strings (none of these is a real credential)
GUESSABLE = ["Summer" + "2024!", "Correct" + "HorseBatteryStaple", "Welcome1!" * 3, "Admin" * 3 + "12345678",
             "qwerty" + "uiopasdfghjkl1234567890", "ThisIsMyVery" + "SecretPassword123", "Xk9#mQ2vLp"]


def _old(rule: Rule, secret: str) -> str:
    """The fingerprint every earlier nhiguard computed (the documented `nhg1` scheme), written out independently."""
    stretch = rule.generic or len(secret) < 24
    salt = b"nhiguard/fingerprint/v1/" + rule.id.encode()
    return "nhg1:" + hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 50_000 if stretch else 1).hex()[:40]


@pytest.fixture(scope="module")
def rules() -> dict[str, Rule]:
    return {r.id: r for r in ruleset.load_builtin()}


def _strong(rng: random.Random, n: int = 40) -> str:
    while True:
        secret = "".join(rng.choice(ALNUM) for _ in range(n))
        if not fingerprint.guessable(secret):
            return secret


def test_strong_secrets_cost_microseconds(rules: dict[str, Rule]) -> None:
    rule = rules["generic-api-key"]
    rng = random.Random("strong")
    secrets = [_strong(rng) for _ in range(500)]
    started = time.perf_counter()
    prints = [fingerprint.fingerprint(rule, s) for s in secrets]
    elapsed = time.perf_counter() - started
    assert all(p.startswith("nhg2:") and len(p) == 45 for p in prints)
    assert elapsed < 0.5, f"{1e6 * elapsed / 500:.0f} us per fingerprint"  # before: 7-11 ms each, 3.5-5.5 s
    assert len(set(prints)) == 500
    assert [fingerprint.fingerprint(rule, s) for s in secrets[:5]] == prints[:5]  # stable


def test_random_tokens_are_strong_and_guessable_secrets_are_not() -> None:
    rng = random.Random("shapes")
    assert sum(not fingerprint.guessable("".join(rng.choice(ALNUM) for _ in range(40))) for _ in range(200)) >= 195
    assert sum(not fingerprint.guessable("".join(rng.choice("0123456789abcdef") for _ in range(40)))
               for _ in range(200)) >= 180
    for secret in GUESSABLE:
        assert fingerprint.guessable(secret), secret


def test_guessable_secrets_keep_their_stretched_fingerprint(rules: dict[str, Rule]) -> None:
    for secret in GUESSABLE:
        for rule_id in ("generic-password", "generic-api-key"):
            rule = rules[rule_id]
            assert fingerprint.fingerprint(rule, secret) == _old(rule, secret)


def test_provider_tokens_keep_their_fingerprint(rules: dict[str, Rule]) -> None:
    rule = rules["github-pat-classic"]
    for i in range(20):
        token = github_classic(f"fp-{i}")
        assert fingerprint.fingerprint(rule, token) == _old(rule, token)


def test_old_fingerprints_in_a_baseline_or_allow_list_are_honoured(rules: dict[str, Rule], tmp_path: Path) -> None:
    secret = _strong(random.Random("baseline"), 32)
    (tmp_path / "app.py").write_text(f'api_key = "{secret}"\n', encoding="utf-8")
    fresh = run_cli("scan", tmp_path, "-f", "json")
    assert fresh.returncode == 1, fresh.stderr
    [found] = json.loads(fresh.stdout)["findings"]
    rule = rules[found["rule_id"]]
    assert found["fingerprint"] == fingerprint.fingerprint(rule, secret) and found["fingerprint"].startswith("nhg2:")
    old = _old(rule, secret)
    assert fingerprint.legacy(rule, secret) == old
    doc = {"version": 1, "tool": "nhiguard",
           "findings": [{"fingerprint": old, "rule_id": rule.id, "preview": "x"}]}
    (tmp_path / "baseline.json").write_text(json.dumps(doc), encoding="utf-8")
    known = run_cli("scan", tmp_path, "--baseline", tmp_path / "baseline.json", "-f", "json")
    assert known.returncode == 0, known.stdout
    assert json.loads(known.stdout)["stats"]["baselined"] == 1
    (tmp_path / ".nhiguard.yml").write_text(f"allow:\n  fingerprints: [{old}]\n", encoding="utf-8")
    allowed = run_cli("scan", tmp_path)
    assert allowed.returncode == 0, allowed.stdout


def test_the_old_form_is_computed_only_when_a_baseline_may_hold_it(rules: dict[str, Rule],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rule = rules["generic-api-key"]
    secret = _strong(random.Random("lazy"))
    finding = Finding(rule=rule, fingerprint=fingerprint.fingerprint(rule, secret), secret=secret,
                      locations=[Location("a.py", 1)])
    calls: list[str] = []
    original = fingerprint.legacy
    monkeypatch.setattr(fingerprint, "legacy", lambda r, s: calls.append(s) or original(r, s))
    current_only = baseline.Baseline((baseline.Entry("nhg2:" + "0" * 40, rule.id, ""),
                                      baseline.Entry("nhg1:" + "0" * 40, "github-pat-classic", "")))
    assert baseline.split([finding], current_only) == ([finding], 0)
    assert calls == []  # no nhg1 entry of this rule: nothing stretched
    with_old = baseline.Baseline((baseline.Entry(_old(rule, secret), rule.id, ""),))
    assert baseline.split([finding], with_old) == ([], 1)
    assert calls == [secret]


def test_an_inventory_identity_keeps_its_old_fingerprint(rules: dict[str, Rule], tmp_path: Path) -> None:
    from nhiguard.config import Config
    from nhiguard.inventory.record import record
    from nhiguard.inventory.store import IdentityRecord, Inventory
    from nhiguard.model import Report

    rule = rules["generic-api-key"]
    secret = _strong(random.Random("inventory"))
    db = tmp_path / "inv.sqlite"
    with Inventory(db) as store:
        store.record(kind="scan", repo=str(tmp_path), target=str(tmp_path), tool_version="0.0",
                     identities=[IdentityRecord(_old(rule, secret), rule.id, rule.name, rule.provider,
                                                rule.severity, "old")])
    finding = Finding(rule=rule, fingerprint=fingerprint.fingerprint(rule, secret), secret=secret,
                      locations=[Location("a.py", 1)])
    record(db, Report(target=str(tmp_path), findings=[finding]), kind="scan", base=tmp_path,
           config=Config(root=tmp_path))
    with Inventory(db) as store:
        assert [i.fingerprint for i in store.identities()] == [_old(rule, secret)]


def test_previews_of_guessable_secrets_reveal_nothing() -> None:
    for secret in GUESSABLE:
        shown = redact.preview(secret)
        assert shown == "******** (hidden)", shown
        assert str(len(secret)) not in shown
    token = github_classic("preview")
    assert redact.preview(token).startswith("ghp_") and token not in redact.preview(token)


def test_a_sweep_keeps_an_identity_recorded_under_its_old_fingerprint(rules: dict[str, Rule], tmp_path: Path) -> None:
    from nhiguard.inventory.store import IdentityRecord, Inventory, LocationRecord
    from tests.support.gitrepo import ALICE, GitRepo

    secret = _strong(random.Random("sweep"), 32)
    repo = GitRepo(tmp_path / "repo")
    repo.write("app.py", f'api_key = "{secret}"\n')
    repo.commit("key", ALICE)
    first = run_cli("history", repo.path, "-f", "json")
    [found] = json.loads(first.stdout)["findings"]
    rule = rules[found["rule_id"]]
    label = str(repo.path.resolve())
    db = tmp_path / "inv.sqlite"
    with Inventory(db) as store:  # as an older nhiguard recorded it
        store.record(kind="scan", repo=label, target=label, tool_version="0.0",
                     identities=[IdentityRecord(_old(rule, secret), rule.id, rule.name, rule.provider, rule.severity,
                                                "old", locations=(LocationRecord(label, "app.py", 1, None, None,
                                                                                 None, None, "file"),))])
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{repo.path}\n", encoding="utf-8")
    done = run_cli("sweep", listing, "--inventory", db, "-j", "1")
    assert done.returncode == 0, done.stderr
    with Inventory(db) as store:
        assert [i.fingerprint for i in store.identities()] == [_old(rule, secret)]


def test_identifiers_are_never_stretched_and_old_prints_still_match(rules: dict[str, Rule]) -> None:
    """An AWS access key id names a key but is no secret (AWS shows it in logs and consoles): stretching its
    fingerprint protected nothing and cost 50,000 key ids in one file over 5 minutes."""
    rule = rules["aws-access-key-id"]
    assert rule.identifier and not rules["aws-secret-access-key"].identifier
    rng = random.Random("akia")
    ids = ["AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)) for _ in range(300)]
    started = time.perf_counter()
    prints = [fingerprint.fingerprint(rule, key_id) for key_id in ids]
    assert time.perf_counter() - started < 0.5
    assert all(p.startswith("nhg2:") for p in prints) and len(set(prints)) == 300
    assert fingerprint.legacy(rule, ids[0]) == _old(rule, ids[0])  # a baseline written before still matches
