"""The fix loop of a blocked developer: the fingerprint a report prints silences exactly that finding when pasted
into `allow.fingerprints` or given to `nhiguard ignore`; a decision is recorded with reason, who and when; an entry
that can never match, or matches nothing, is pointed out."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.tokens import github_classic


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "config", "user.email", "dev@example.org"], check=True)
    first, second = github_classic("triage-a"), github_classic("triage-b")
    (root / "a.py").write_text(f'TOKEN = "{first}"\n')
    (root / "b.py").write_text(f'OTHER = "{second}"\n')
    return root, first, second


def _printed(out: str) -> dict[str, str]:
    """path -> the fingerprint the text report printed for the finding there."""
    found: dict[str, str] = {}
    for block in out.split("\n\n"):
        fp = re.search(r"fingerprint\s+(nhg1:[0-9a-f]+)", block)
        where = re.search(r"location\s+(\S+?):\d+:\d+", block)
        if fp and where:
            found[where.group(1)] = fp.group(1)
    return found


def test_the_printed_fingerprint_pasted_into_the_config_silences_exactly_that_finding(tmp_path: Path) -> None:
    root, _, _ = _repo(tmp_path)
    first = run_cli("scan", ".", cwd=root)
    assert first.returncode == 1
    printed = _printed(first.stdout)
    assert set(printed) == {"a.py", "b.py"} and all(len(fp) == 17 for fp in printed.values())
    assert f"nhiguard ignore {printed['a.py']} --reason" in first.stdout

    (root / ".nhiguard.yml").write_text(f"allow:\n  fingerprints: ['{printed['a.py']}']\n")
    again = run_cli("scan", ".", "-f", "json", cwd=root)
    assert again.returncode == 1
    paths = [loc["path"] for f in json.loads(again.stdout)["findings"] for loc in f["locations"]]
    assert paths == ["b.py"]


def test_ignore_records_the_decision_and_scans_honour_it(tmp_path: Path) -> None:
    root, _, _ = _repo(tmp_path)
    printed = _printed(run_cli("scan", ".", cwd=root).stdout)
    done = run_cli("ignore", printed["a.py"], "--reason", "fixture, never deployed", cwd=root)
    assert done.returncode == 0, done.stderr
    doc = json.loads((root / ".nhiguard-baseline.json").read_text())
    [entry] = doc["findings"]
    assert entry["fingerprint"] == printed["a.py"] and entry["decision"] == "false-positive"
    assert entry["reason"] == "fixture, never deployed" and entry["by"] == "dev@example.org"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["at"])

    after = run_cli("scan", ".", "-f", "json", cwd=root)
    paths = [loc["path"] for f in json.loads(after.stdout)["findings"] for loc in f["locations"]]
    assert paths == ["b.py"]

    # a confirmed true positive stays reported (CI keeps blocking it) until the secret is gone
    run_cli("ignore", printed["b.py"], "--reason", "real key: rotating", "--decision", "true-positive", cwd=root)
    still = run_cli("scan", ".", "-f", "json", cwd=root)
    assert still.returncode == 1
    assert [loc["path"] for f in json.loads(still.stdout)["findings"] for loc in f["locations"]] == ["b.py"]


def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    root, _, _ = _repo(tmp_path)
    short = run_cli("ignore", "nhg1:abc", "--reason", "x", cwd=root)
    assert short.returncode == 2 and "not a fingerprint" in short.stderr
    assert run_cli("ignore", "nhg1:533f905d4406", cwd=root).returncode == 2  # --reason is required
    assert not (root / ".nhiguard-baseline.json").exists()


def test_entries_that_cannot_or_do_not_match_are_pointed_out(tmp_path: Path) -> None:
    root, _, _ = _repo(tmp_path)
    (root / ".nhiguard.yml").write_text("allow:\n  fingerprints: ['533f905d', 'nhg1:0123456789abcdef']\n")
    out = run_cli("scan", ".", cwd=root).stdout
    assert "'533f905d' can never match" in out
    assert "'nhg1:0123456789abcdef' matched no finding" in out


def test_sarif_reports_accepted_findings_as_suppressed(tmp_path: Path) -> None:
    root, _, _ = _repo(tmp_path)
    printed = _printed(run_cli("scan", ".", cwd=root).stdout)
    run_cli("ignore", printed["a.py"], "--reason", "fixture", cwd=root)
    (root / ".nhiguard.yml").write_text(
        f"baseline: .nhiguard-baseline.json\nallow:\n  fingerprints: ['{printed['b.py']}']\n"
    )
    done = run_cli("scan", ".", "-f", "sarif", cwd=root)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["runs"][0]["results"]
    why = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["suppressions"] for r in results}
    assert why == {
        "a.py": [{"kind": "external", "status": "accepted", "justification": "false-positive: fixture"}],
        "b.py": [{"kind": "external", "status": "accepted",
                  "justification": "allow.fingerprints in the configuration"}],
    }


def test_audit_walks_the_findings_shows_redacted_context_and_records_decisions(tmp_path: Path) -> None:
    root, first, second = _repo(tmp_path)
    (root / "a.py").write_text(f'# deploy settings\nTOKEN = "{first}"\nDEBUG = False\n')
    done = run_cli("audit", cwd=root, stdin=b"f\nfixture for the parser tests\nt\nreal: rotating today\n")
    assert done.returncode == 0, done.stderr
    assert "2 finding(s) to review" in done.stdout
    assert ">     2 | TOKEN = \"ghp_" in done.stdout and "      1 | # deploy settings" in done.stdout
    assert first not in done.stdout and second not in done.stdout
    doc = json.loads((root / ".nhiguard-baseline.json").read_text())
    decided = {e["decision"]: e for e in doc["findings"]}
    assert set(decided) == {"false-positive", "true-positive"}
    assert decided["false-positive"]["reason"] == "fixture for the parser tests"
    assert all(e["by"] == "dev@example.org" and e["rule_id"] == "github-pat-classic" for e in doc["findings"])

    again = run_cli("audit", cwd=root, stdin=b"")
    assert "0 finding(s) to review (2 already decided)" in again.stdout
    after = run_cli("scan", ".", "-f", "json", cwd=root)
    assert after.returncode == 1  # the true positive still blocks
    assert len(json.loads(after.stdout)["findings"]) == 1


def test_audit_quits_and_skips_without_recording(tmp_path: Path) -> None:
    root, _, _ = _repo(tmp_path)
    done = run_cli("audit", cwd=root, stdin=b"s\nq\n")
    assert done.returncode == 0 and "recorded 0 decision(s)" in done.stderr
    assert not (root / ".nhiguard-baseline.json").exists()


def test_audit_context_hides_the_neighbours_secrets_and_a_keys_body(tmp_path: Path) -> None:
    """The context of one finding must not show another's secret on a nearby line, nor a private key's body."""
    import base64
    import random

    root = tmp_path / "repo"
    root.mkdir()
    first, second = github_classic("neighbour-1"), github_classic("neighbour-2")
    (root / "a.env").write_text(f"ONE={first}\nTWO={second}\n")
    body = base64.b64encode(random.Random(5).randbytes(600)).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN " + "PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END " + "PRIVATE KEY-----\n"
    (root / "key.pem").write_text(pem)
    done = run_cli("audit", cwd=root, stdin=b"s\n" * 5)
    assert "3 finding(s) to review" in done.stdout, done.stdout
    assert first not in done.stdout and second not in done.stdout
    assert not any(line in done.stdout for line in lines)
    assert "BEGIN PRIVATE KEY" in done.stdout  # (the marker says what it is)
