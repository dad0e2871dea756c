"""Everything a repository supplies is untrusted input: allow regexes, extra rules and baselines from its config,
its object format, and the folders the CLI is pointed at. Bad input is exit 2 naming the file and what is wrong;
nothing hangs, nothing crashes."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.gitrepo import ALICE, GitRepo
from tests.support.tokens import github_classic


@pytest.fixture(autouse=True)
def _warm_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One user cache for this module's CLI runs: each would otherwise validate the built-in rules again (3 s)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "adversarial-cache"))


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr


# -- SHA-256 repositories -------------------------------------------------------------------------------------
@pytest.fixture
def sha256_repo(tmp_path: Path) -> tuple[GitRepo, str, str]:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = GitRepo(path)
    repo.write("README.md", "hello\n")
    base = repo.commit("first", ALICE)
    token = github_classic("sha256")
    repo.write("config/app.env", f"GITHUB_TOKEN={token}\n")
    repo.commit("add a token", ALICE)
    assert len(repo.git("rev-parse", "HEAD")) == 64
    return repo, base.sha, token


def test_history_on_a_sha256_repository(sha256_repo: tuple[GitRepo, str, str]) -> None:
    repo, _, token = sha256_repo
    done = run_cli("history", repo.path, "-f", "json")
    _no_traceback(done)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [f["rule_id"] for f in findings] == ["github-pat-classic"]
    assert len(findings[0]["locations"][0]["commit"]) == 64
    assert token not in done.stdout


def test_staged_and_range_on_a_sha256_repository(sha256_repo: tuple[GitRepo, str, str]) -> None:
    repo, base, _ = sha256_repo
    ranged = run_cli("git", repo.path, "--range", f"{base}..HEAD", "-f", "json")
    _no_traceback(ranged)
    assert ranged.returncode == 1 and len(json.loads(ranged.stdout)["findings"]) == 1
    new_branch = run_cli("git", repo.path, "--range", f"{'0' * 64}..HEAD", "-f", "json")
    _no_traceback(new_branch)
    assert new_branch.returncode == 1
    repo.write("more.env", f"OTHER={github_classic('staged')}\n")
    repo.git("add", "more.env")
    staged = run_cli("git", repo.path, "--staged", "-f", "json")
    _no_traceback(staged)
    assert staged.returncode == 1 and [f["locations"][0]["path"] for f in json.loads(staged.stdout)["findings"]] \
        == ["more.env"]


# -- sweep ----------------------------------------------------------------------------------------------------
def test_sweep_with_a_relative_workdir(tmp_path: Path) -> None:
    source = GitRepo(tmp_path / "origin")
    source.write("app.env", f"TOKEN={github_classic('sweep-relative')}\n")
    source.commit("token", ALICE)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source.path), str(bare)], check=True)
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{bare.as_uri()}\n", encoding="utf-8")
    work = tmp_path / "cwd"
    work.mkdir()
    args = ["sweep", listing, "--inventory", tmp_path / "inv.sqlite", "--workdir", "clones", "-f", "json", "-j", "1"]
    done = run_cli(*args, cwd=work)
    assert done.returncode == 0, done.stderr
    assert [r["mode"] for r in json.loads(done.stdout)["repositories"]] == ["full"]
    clones = [p.name for p in (work / "clones").iterdir()]
    assert len(clones) == 1 and (work / "clones" / clones[0] / ".git").is_dir()
    again = run_cli(*args, cwd=work)  # fetches into the same clone
    assert again.returncode == 0, again.stderr
    assert [r["mode"] for r in json.loads(again.stdout)["repositories"]] == ["unchanged"]


# -- a repository's allow regexes and rules -------------------------------------------------------------------
SLOW_RULE = r"""provider: acme
rules:
  - id: acme-slow
    name: Acme slow
    keywords: [acme]
    pattern: 'acme\s*=\s*(?P<secret>(\w|\w\w)+_$)'
    examples:
      positive: [acme = abcdefghij_]
      negative: [acme = x]
"""
GOOD_RULE = SLOW_RULE.replace("acme-slow", "acme-good").replace(r"(\w|\w\w)+_$", r"\w{8,40}_")


def _lines_that_backtrack(root: Path) -> None:
    root.mkdir(exist_ok=True)
    (root / "app.cfg").write_text("".join(f"acme = {'a' * 30}{i}!\n" for i in range(50)), encoding="utf-8")


@pytest.mark.parametrize("how", ["config", "option"])
def test_a_catastrophic_rule_is_refused_before_the_scan(tmp_path: Path, how: str) -> None:
    root = tmp_path / "repo"
    _lines_that_backtrack(root)
    (root / "rules.yml").write_text(SLOW_RULE, encoding="utf-8")
    if how == "config":
        (root / ".nhiguard.yml").write_text("rules: [rules.yml]\n", encoding="utf-8")
        args: list[str | Path] = ["scan", root]
    else:
        args = ["scan", root, "--rules", root / "rules.yml"]
    started = time.monotonic()
    done = run_cli(*args)
    _no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "rules.yml: rule 'acme-slow': pattern did not finish" in done.stderr
    assert time.monotonic() - started < 20  # before: about a second per line (50 s here)


def test_a_sound_repository_rule_is_vetted_once(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _lines_that_backtrack(root)
    (root / "rules.yml").write_text(GOOD_RULE, encoding="utf-8")
    (root / ".nhiguard.yml").write_text("rules: [rules.yml]\n", encoding="utf-8")
    first = run_cli("scan", root)
    assert first.returncode == 0, first.stderr
    cache = Path(os.environ.get("NHIGUARD_BUILD_CACHE") or Path(os.environ["XDG_CACHE_HOME"]) / "nhiguard")
    vetted = set(cache.glob("vetted-*.bin"))
    assert vetted
    assert run_cli("scan", root).returncode == 0
    assert set(cache.glob("vetted-*.bin")) == vetted


def test_a_catastrophic_allow_regex_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text(f'token_value = "{"Ab3" * 10}_x"\n', encoding="utf-8")
    (root / ".nhiguard.yml").write_text('allow:\n  regexes: ["(\\\\w|\\\\w\\\\w)+_$"]\n', encoding="utf-8")
    started = time.monotonic()
    done = run_cli("scan", root)
    _no_traceback(done)
    assert done.returncode == 2
    assert ".nhiguard.yml: allow.regexes: allow regex" in done.stderr and "did not finish" in done.stderr
    assert time.monotonic() - started < 20  # before: never finished


def test_an_allow_regex_that_hits_its_time_bound_is_switched_off_and_named() -> None:
    """Past the vetting (an engine built directly), the run-time bound still holds: the candidate is reported,
    the regex is switched off after its first timeout, and the run says so."""
    from nhiguard import ruleset
    from nhiguard.engine import Engine, EngineOptions
    from nhiguard.model import Allow, Chunk, Origin

    engine = Engine(ruleset.load_builtin(), EngineOptions(allow=Allow(regexes=(r"(\w|\w\w)+_$",))))
    rng = random.Random(7)
    # (an underscore before the end: the regex module's literal check no longer rules the match out at once)
    data = "".join(f'password = "{"".join(rng.sample(string.ascii_letters, 30))}_k{i}"\n' for i in range(20))
    started = time.monotonic()
    matches = engine.scan(Chunk(data.encode(), Origin(path="app.env")))
    assert time.monotonic() - started < 15  # one timeout, then the regex is off (before: hours)
    assert len(matches) == 20
    assert engine.stats.allow_timeouts == [r"(\w|\w\w)+_$"]


# -- baselines, configs and rule files that are not what they claim ---------------------------------------------
def _bad_baseline(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(path, "wb") as fh:
            fh.truncate(65 << 20)  # sparse: costs no disk
    elif kind == "not-utf8":
        path.write_bytes(b'{"version": 1, "findings": ["\xff"]}')
    elif kind == "nested":
        path.write_text("[" * 100_000, encoding="utf-8")
    elif kind == "wrong-shape":
        path.write_text('{"version": 1, "findings": {"a": 1}}', encoding="utf-8")


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "huge", "not-utf8", "nested", "wrong-shape"])
def test_a_bad_baseline_is_exit_2_naming_it(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text("print('hello')\n", encoding="utf-8")
    _bad_baseline(kind, root / "baseline.json")
    (root / ".nhiguard.yml").write_text("baseline: baseline.json\n", encoding="utf-8")
    done = run_cli("scan", root, timeout=30)
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "baseline.json: " in done.stderr
    option = run_cli("scan", root, "--baseline", root / "baseline.json", timeout=30)
    assert option.returncode == 2 and "baseline.json: " in option.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "nested", "not-utf8"])
@pytest.mark.parametrize("which", ["config", "rules"])
def test_a_bad_config_or_rule_file_is_exit_2_naming_it(tmp_path: Path, kind: str, which: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    target = root / (".nhiguard.yml" if which == "config" else "rules.yml")
    if which == "rules":
        (root / ".nhiguard.yml").write_text("rules: [rules.yml]\n", encoding="utf-8")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/zero")
    elif kind == "nested":
        target.write_text("a: " + "[" * 100_000, encoding="utf-8")
    else:
        target.write_bytes(b"rules: [\xff\xfe\x00]\n")
    done = run_cli("scan", root, timeout=30)
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert f"{target.name}: " in done.stderr


def test_a_switched_off_allow_regex_is_named_from_a_worker_too(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's engine stays in the worker: its batch answer carries the notice."""
    from nhiguard import ruleset, scan
    from nhiguard.engine import Engine, EngineOptions
    from nhiguard.model import Allow
    from nhiguard.sources import files

    rng = random.Random(8)
    path = tmp_path / "app.env"
    path.write_text(f'password = "{"".join(rng.sample(string.ascii_letters, 30))}_k1"\n', encoding="utf-8")
    engine = Engine(ruleset.load_builtin(), EngineOptions(allow=Allow(regexes=(r"(\w|\w\w)+_$",))))
    monkeypatch.setattr(scan, "_ENGINE", engine)
    found, notices, scanned, _, _ = scan._scan_batch([files.FileRef("app.env", str(path), path.stat().st_size)])
    assert scanned == 1 and len(found) == 1
    assert [n.path for n in notices] == ["allow.regexes"] and "switched off" in notices[0].reason
    assert engine.stats.allow_timeouts == []


@pytest.mark.parametrize("kind", ["fifo", "nested", "not-utf8"])
def test_a_bad_saved_report_or_plan_is_exit_2_naming_it(tmp_path: Path, kind: str) -> None:
    saved = tmp_path / "report.json"
    _bad_baseline(kind, saved)
    for args in (["verify", saved], ["remediate", saved], ["remediate", "--apply", saved]):
        done = run_cli(*args, timeout=30)
        _no_traceback(done)
        assert done.returncode == 2, (args, done.stderr)
        assert "report.json: " in done.stderr


@pytest.mark.parametrize("text", ["1: a\nfoo: b\n", "allow:\n  1: x\n  zz: 1\n", "archives:\n  true: 1\n",
                                  'baseline: "a\\0b"\n', 'rules: ["a\\0b"]\n'])
def test_config_keys_that_are_not_words_and_paths_with_a_nul_are_exit_2(tmp_path: Path, text: str) -> None:
    (tmp_path / ".nhiguard.yml").write_text(text, encoding="utf-8")
    (tmp_path / "a.txt").write_text("nothing\n", encoding="utf-8")
    done = run_cli("scan", tmp_path, timeout=30)
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert ".nhiguard.yml: " in done.stderr


def test_a_pyproject_whose_tool_is_no_table_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("# [tool.nhiguard]\ntool = 5\n", encoding="utf-8")
    done = run_cli("scan", tmp_path, timeout=30)
    _no_traceback(done)
    assert done.returncode == 2 and "pyproject.toml: " in done.stderr, done.stderr


@pytest.mark.parametrize("field", ["line", "commit", "author", "decoded", "locations"])
def test_saved_report_fields_of_the_wrong_kind_are_left_out(tmp_path: Path, field: str) -> None:
    """A saved report is a file anyone may edit: a location whose fields are of the wrong kind is left out of
    verify and remediate, never a crash."""
    import json

    from tests.support.tokens import github_classic

    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.env").write_text(f"GITHUB_TOKEN={github_classic('saved')}\n", encoding="utf-8")
    saved = tmp_path / "report.json"
    assert run_cli("scan", root, "-f", "json", "-o", saved, "--no-baseline").returncode == 1
    document = json.loads(saved.read_text(encoding="utf-8"))
    bad: dict[str, object] = {"line": "abc", "commit": 5, "author": {"a": 1}, "decoded": 5}
    if field == "locations":
        document["findings"][0]["locations"] = 5
    else:
        document["findings"][0]["locations"][0][field] = bad[field]
    saved.write_text(json.dumps(document), encoding="utf-8")
    for args in (["verify", saved, "--root", root, "--verify-deadline", "1"], ["remediate", saved, "--root", root]):
        done = run_cli(*args, timeout=60)
        _no_traceback(done)
        assert done.returncode in (0, 1, 4), done.stderr
    huge = json.loads(saved.read_text(encoding="utf-8"))
    if field == "line":
        huge["findings"][0]["locations"][0]["line"] = 1e999
        saved.write_text(json.dumps(huge).replace("Infinity", "1e999"), encoding="utf-8")
        _no_traceback(run_cli("verify", saved, "--root", root, "--verify-deadline", "1", timeout=60))
