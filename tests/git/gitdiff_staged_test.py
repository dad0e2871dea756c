"""`nhiguard git --staged`: only the lines the next commit adds, at their new line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.gitrepo import GitRepo, found, nhiguard_git
from tests.support.tokens import github_classic

A, B, C, D = (github_classic(f"staged-{n}") for n in "abcd")


@pytest.fixture()
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "work")


def test_only_added_lines_at_new_line_numbers(repo: GitRepo) -> None:
    repo.write("app.py", f"a = 1\nb = 2\nOLD = '{A}'\n")
    repo.commit("base")
    # Lines inserted above and below the committed token: it moves to line 5 but is not added.
    repo.write("app.py", f"a = 1\nb = 2\nc = 3\nd = 4\nOLD = '{A}'\nx = 5\nNEW = '{B}'\n")
    repo.git("add", "app.py")
    repo.write("unstaged.py", f"LATER = '{C}'\n")  # not staged: not part of the commit
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 1, err
    assert found(doc) == [(B, "app.py", 7)]
    location = doc["findings"][0]["locations"][0]
    assert location["kind"] == "staged"
    assert location["commit"] is None and location["column"] == 8


def test_first_commit_of_a_new_repository(repo: GitRepo) -> None:
    repo.write("config/settings.yml", f"github:\n  token: {A}\n")
    repo.git("add", "-A")
    code, doc, _ = nhiguard_git(repo.path, "--staged")
    assert code == 1
    assert found(doc) == [(A, "config/settings.yml", 2)]


def test_renamed_file_reports_the_new_path_and_only_new_lines(repo: GitRepo) -> None:
    repo.write("old/name.env", f"A=1\nTOKEN={A}\n")
    repo.commit("base")
    (repo.path / "new dir").mkdir()
    repo.git("mv", "old/name.env", "new dir/renamed.env")
    with open(repo.path / "new dir/renamed.env", "a") as handle:
        handle.write(f"SECOND={B}\n")
    repo.git("add", "-A")
    code, doc, _ = nhiguard_git(repo.path, "--staged")
    assert code == 1
    assert found(doc) == [(B, "new dir/renamed.env", 3)]


def test_pure_rename_and_mode_change_add_nothing(repo: GitRepo) -> None:
    repo.write("a.sh", f"T={A}\n")
    repo.commit("base")
    repo.git("mv", "a.sh", "b.sh")
    repo.git("update-index", "--chmod=+x", "b.sh")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 0, err
    assert doc["findings"] == [] and doc["notices"] == []


def test_deleted_files_and_lines_are_ignored(repo: GitRepo) -> None:
    repo.write("gone.txt", f"T={A}\n")
    repo.write("kept.txt", f"one\nT={B}\nthree\n")
    repo.commit("base")
    repo.git("rm", "-q", "gone.txt")
    repo.write("kept.txt", "one\nthree\n")
    repo.git("add", "-A")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 0, err
    assert doc["findings"] == []


def test_binary_strings_wide_and_attribute_binary_text_scanned(repo: GitRepo) -> None:
    repo.write("wide.txt", f"first\r\nT = '{A}'\r\n".encode("utf-16"))
    repo.commit("base")
    repo.write("blob.bin", b"\x00\x01\x02" * 50 + C.encode())
    # UTF-16 (git calls it binary): only the line added to it counts.
    repo.write("wide.txt", f"first\r\nT = '{A}'\r\nU = '{B}'\r\n".encode("utf-16"))
    # Text marked binary in .gitattributes is no hiding place.
    repo.write(".gitattributes", "*.cfg binary\n")
    repo.write("secret.cfg", f"[auth]\ntoken = {D}\n")
    repo.git("add", "-A")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 1, err
    # A binary's printable strings are scanned too.
    assert sorted(found(doc)) == sorted([(C, "blob.bin", 1), (D, "secret.cfg", 2), (B, "wide.txt", 3)])
    assert doc["notices"] == []


def test_odd_names_crlf_and_no_final_newline(repo: GitRepo) -> None:
    name = b"dir with space/na\xc3\xafve \xff\t\"q\".env"
    repo.write(name, f"FIRST=1\r\nTOKEN={A}\r\nLAST={B}".encode())
    repo.git("add", "-A")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 1, err
    shown = 'dir with space/na\u00efve \\xff\t"q".env'
    assert found(doc) == [(A, shown, 2), (B, shown, 3)]


def test_submodule_is_noticed_not_scanned(repo: GitRepo) -> None:
    repo.write("a.txt", "x\n")
    head = repo.commit("base").sha
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},vendor/lib")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 0, err
    assert doc["notices"] == [
        {"path": "vendor/lib", "reason": "submodule: not scanned here (scan it in its own repository)"}
    ]


def test_baseline_config_allow_and_inline_ignores_apply(repo: GitRepo, tmp_path: Path) -> None:
    accepted = tmp_path / "accepted"
    accepted.mkdir()
    (accepted / "old.txt").write_text(f"T={A}\n")
    made = run_cli("baseline", "create", accepted, "-o", repo.path / ".nhiguard-baseline.json")
    assert made.returncode == 0, made.stderr
    repo.write(".nhiguard.yml", "baseline: .nhiguard-baseline.json\nallow:\n  paths: [fixtures/]\n")
    repo.commit("config")
    repo.write("src/a.py", f"A = '{A}'\nB = '{B}'  # nhiguard:allow\nD = '{D}'\n")
    repo.write("fixtures/sample.txt", f"{C}\n")
    repo.git("add", "-A")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 1, err
    assert found(doc) == [(D, "src/a.py", 3)]
    assert doc["stats"]["baselined"] == 1
    # Without the baseline the accepted secret is new again.
    code, doc, _ = nhiguard_git(repo.path, "--staged", "--no-baseline")
    assert found(doc) == [(A, "src/a.py", 1), (D, "src/a.py", 3)]


def test_run_from_a_subfolder_finds_root_and_config(repo: GitRepo) -> None:
    repo.write(".nhiguard.yml", "allow:\n  paths: [docs/]\n")
    repo.write("docs/x.md", f"{A}\n")
    repo.write("src/deep/y.txt", f"{B}\n")
    repo.git("add", "-A")
    code, doc, err = nhiguard_git("--staged", cwd=repo.path / "src" / "deep")
    assert code == 1, err
    assert found(doc) == [(B, "src/deep/y.txt", 1)]


def test_text_output_is_redacted_and_names_the_line(repo: GitRepo) -> None:
    repo.write("a.txt", f"\n\nT={A}\n")
    repo.git("add", "-A")
    done = run_cli("git", repo.path, "--staged")
    assert done.returncode == 1
    assert "a.txt:3" in done.stdout
    assert A not in done.stdout + done.stderr


def test_clean_stage_exits_0(repo: GitRepo) -> None:
    repo.write("a.txt", "hello\n")
    repo.git("add", "-A")
    code, doc, err = nhiguard_git(repo.path, "--staged")
    assert code == 0, err
    assert json.dumps(doc["findings"]) == "[]"


def test_a_huge_staged_file_is_scanned_in_windows(repo: GitRepo) -> None:
    """The added lines of a 60 MB file are scanned 8 MiB at a time: this process's memory grows by a bounded
    amount over a small change's (it held every line, then their join: five times the file), and a secret in the
    middle or at the end is still found. (git's own diff holds the file: its memory is git's.)"""
    import subprocess
    import sys

    # (VmHWM: this process's ru_maxrss keeps the forking test process's peak across exec)
    probe = (
        "import re, sys\nfrom nhiguard.cli import main\n"
        "code = main(['git', '--staged', '--max-file-size', '1GB', '-f', 'json', '-o', 'report.json'])\n"
        "print(code, int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)\n"
    )

    def staged_run() -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, capture_output=True, text=True,
                              check=True)
        code, rss_mb = map(int, done.stdout.split())
        return code, rss_mb

    token = github_classic("huge-staged")
    (repo.path / "small.txt").write_text(f"TOKEN = '{token}'\n")
    repo.git("add", "small.txt")
    staged_run()  # (the first run builds the prefilter database: its memory is not the scan's)
    small = staged_run()
    line = "x = compute(alpha, beta, gamma)  # filler line for the staged scan\n"
    with open(repo.path / "big.txt", "w") as out:
        for i in range(900_000):
            out.write(line if i != 123_456 else f"TOKEN = '{token}'\n")
        out.write(f"LAST = '{token}'\n")
    repo.git("add", "big.txt")
    code, rss_mb = staged_run()
    assert code == 1 and small[0] == 1
    places = sorted((loc["path"], loc["line"]) for f in json.loads((repo.path / "report.json").read_text())["findings"]
                    for loc in f["locations"])
    assert places == [("big.txt", 123_457), ("big.txt", 900_001), ("small.txt", 1)]
    assert rss_mb - small[1] < 80, (rss_mb, small[1])
