"""The CLI end to end in subprocesses: exit codes, formats, redaction, config, baseline, rule checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.tokens import github_classic


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(f'TOKEN = "{github_classic(1)}"\n')
    (tmp_path / "README.md").write_text("nothing here\n")
    return tmp_path


def test_scan_reports_and_exits_1(project: Path) -> None:
    result = run_cli("scan", project)
    assert result.returncode == 1, result.stderr
    assert "github-pat-classic" in result.stdout
    assert "src/app.py:1:10" in result.stdout
    assert github_classic(1) not in result.stdout + result.stderr


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello\n")
    result = run_cli("scan", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No secrets found" in result.stdout


def test_show_secrets_is_opt_in(project: Path) -> None:
    result = run_cli("scan", project, "--show-secrets")
    assert github_classic(1) in result.stdout


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "text"])
def test_formats_to_file(project: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    result = run_cli("scan", project, "-f", fmt, "-o", out)
    assert result.returncode == 1
    text = out.read_text()
    assert github_classic(1) not in text
    if fmt == "json":
        doc = json.loads(text)
        assert [f["rule_id"] for f in doc["findings"]] == ["github-pat-classic"]
        assert doc["findings"][0]["locations"][0]["path"] == "src/app.py"
    if fmt == "sarif":
        assert json.loads(text)["version"] == "2.1.0"


def test_stdin(tmp_path: Path) -> None:
    result = run_cli("scan", "-", "-f", "json", stdin=f"x = '{github_classic(2)}'\n".encode(), cwd=tmp_path)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["findings"][0]["locations"][0]["path"] == "<stdin>"


def test_one_secret_in_many_files_is_one_finding(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.env").write_text(f"A=1\nTOKEN={github_classic(3)}\n")
    doc = json.loads(run_cli("scan", tmp_path, "-f", "json").stdout)
    assert len(doc["findings"]) == 1
    assert [loc["path"] for loc in doc["findings"][0]["locations"]] == [f"f{i}.env" for i in range(5)]


def test_baseline_create_then_only_new_findings(project: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    created = run_cli("baseline", "create", project, "-o", baseline)
    assert created.returncode == 0, created.stderr
    doc = json.loads(baseline.read_text())
    assert doc["version"] == 1 and len(doc["findings"]) == 1
    assert github_classic(1) not in baseline.read_text()
    assert "line" not in baseline.read_text()
    assert run_cli("scan", project, "--baseline", baseline).returncode == 0
    (project / "new.py").write_text(f"T = '{github_classic(4)}'\n")
    again = run_cli("scan", project, "--baseline", baseline, "-f", "json")
    assert again.returncode == 1
    assert [f["rule_id"] for f in json.loads(again.stdout)["findings"]] == ["github-pat-classic"]
    assert json.loads(again.stdout)["stats"]["baselined"] == 1


def test_baseline_is_stable(project: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run_cli("baseline", "create", project, "-o", a)
    (project / "src" / "app.py").write_text("\n\n\n" + (project / "src" / "app.py").read_text())
    run_cli("baseline", "create", project, "-o", b)
    assert a.read_text() == b.read_text()


def test_config_file_allows_paths_and_disables_rules(project: Path) -> None:
    (project / ".nhiguard.yml").write_text("allow:\n  paths: ['src/**']\n")
    assert run_cli("scan", project).returncode == 0
    (project / ".nhiguard.yml").write_text("disable: [github-pat-classic, generic-token]\n")
    assert run_cli("scan", project).returncode == 0


def test_pyproject_tool_section(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.nhiguard]\nallow = {paths = ["src/app.py"]}\n')
    assert run_cli("scan", project).returncode == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("allow: [unclosed\n", "not valid YAML"),
        ("alow:\n  paths: []\n", "unknown key 'alow'"),
        ("allow:\n  regexes: ['(']\n", "does not compile"),
        ("max_file_size: lots\n", "max_file_size"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_bad_config_exits_2_with_message(project: Path, content: str, expected: str) -> None:
    (project / ".nhiguard.yml").write_text(content)
    result = run_cli("scan", project)
    assert result.returncode == 2
    assert expected in result.stderr
    assert ".nhiguard.yml" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_user_rule_exits_2_naming_file_and_rule(project: Path, tmp_path: Path) -> None:
    rules = tmp_path / "mine.yml"
    rules.write_text(
        "provider: acme\nrules:\n  - id: acme-key\n    name: Acme\n    keywords: [acme_]\n"
        "    pattern: '(?P<secret>acme_[a-z]{10'\n"
    )
    result = run_cli("scan", project, "--rules", rules)
    assert result.returncode == 2
    assert "mine.yml" in result.stderr and "acme-key" in result.stderr and "does not compile" in result.stderr


def test_rules_list_counts() -> None:
    result = run_cli("rules", "list", "-f", "json")
    doc = json.loads(result.stdout)
    assert len(doc["rules"]) >= 1 and doc["providers"] >= 1
    text = run_cli("rules", "list").stdout
    assert text.strip().splitlines()[-1].startswith(f"{len(doc['rules'])} rules over {doc['providers']} providers;")


def test_rules_check_good_and_bad(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(
        "provider: acme\nrules:\n  - id: acme-key\n    name: Acme key\n    keywords: [acme_]\n"
        "    pattern: '(?<![A-Za-z0-9])(?P<secret>acme_[a-z0-9]{24})(?![A-Za-z0-9])'\n"
        "    examples:\n      positive: [acme_q8w7e6r5t4y3u2i1o9p8a7s6]\n"
        "      negative: [acme_short, acme_xxxxxxxxxxxxxxxxxxxxxxxx]\n"
    )
    ok = run_cli("rules", "check", good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text(good.read_text().replace("negative: [acme_short", "negative: [acme_q8w7e6r5t4y3u2i1o9p8a7s5"))
    failed = run_cli("rules", "check", bad)
    assert failed.returncode == 1
    assert "negative #1 matched" in failed.stderr


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = run_cli("scan", tmp_path / "nope")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_unknown_option_exits_2() -> None:
    assert run_cli("scan", "--no-such-option").returncode == 2


def test_demo_runs() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "github-pat-classic" in result.stdout


def test_targets_under_different_configurations_are_refused(tmp_path: Path) -> None:
    """With several targets one configuration applies: which files are skipped must not depend on the order."""
    repo, other = tmp_path / "repo", tmp_path / "other"
    (repo / "vendor").mkdir(parents=True)
    other.mkdir()
    (repo / ".git").mkdir()
    (other / ".git").mkdir()
    (repo / ".nhiguard.yml").write_text("allow:\n  paths: ['vendor/**']\n", encoding="utf-8")
    (repo / "vendor" / "a.txt").write_text("nothing\n", encoding="utf-8")
    (other / "b.txt").write_text("nothing\n", encoding="utf-8")
    for order in ((repo / "vendor", other), (other, repo / "vendor")):
        refused = run_cli("scan", *order)
        assert refused.returncode == 2 and "different configurations" in refused.stderr, refused.stderr
    assert run_cli("scan", repo / "vendor", other, "--config", repo / ".nhiguard.yml").returncode == 0
    assert run_cli("scan", repo / "vendor", repo).returncode == 0  # (one configuration: fine)
