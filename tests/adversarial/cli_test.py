"""Hostile inputs through the command line: a run that a time bound cut short never exits 0 as if clean;
binaries and large files are scanned, the large ones in bounded windows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nhiguard import cli
from nhiguard.constants import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE
from nhiguard.engine import core
from nhiguard.sources import files
from tests.adversarial import inputs
from tests.support.cli import run_cli
from tests.support.gitrepo import GitRepo
from tests.support.tokens import github_classic


@pytest.fixture
def slow_generic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generic-password rule hits its time bound on every window (as a pathological input would)."""
    real = core.finditer

    def finditer(compiled: Any, text: str, timeout: float) -> Any:
        if "pass(?:word" in compiled.pattern:
            raise TimeoutError("regex timed out")
        return real(compiled, text, timeout)

    monkeypatch.setattr(core, "finditer", finditer)


def test_time_bound_makes_the_scan_incomplete(tmp_path: Path, slow_generic: None,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.py").write_text(f'password = "{inputs.password(3)}"\n')
    out = tmp_path / "r.json"
    assert cli.main(["scan", str(tmp_path), "-f", "json", "-o", str(out)]) == EXIT_INCOMPLETE
    assert "incomplete" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["stats"]["incomplete"] == 1
    assert any("time bound" in n["reason"] for n in doc["notices"])
    assert cli.main(["scan", str(tmp_path), "--allow-incomplete"]) == EXIT_CLEAN
    monkeypatch.setenv("NHIGUARD_ALLOW_INCOMPLETE", "1")
    assert cli.main(["scan", str(tmp_path)]) == EXIT_CLEAN
    monkeypatch.delenv("NHIGUARD_ALLOW_INCOMPLETE")
    # findings still win: exit 1
    (tmp_path / "t.env").write_text(f"T={github_classic('inc')}\n")
    assert cli.main(["scan", str(tmp_path)]) == EXIT_FINDINGS


def test_time_bound_in_a_worker_makes_the_scan_incomplete(tmp_path: Path, slow_generic: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from nhiguard import scan

    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)  # the process pool, whatever the size
    for i in range(4):
        (tmp_path / f"notes{i}.py").write_text(f'password = "{inputs.password(10 + i)}"\n')
    out = tmp_path / "r.json"
    assert cli.main(["scan", str(tmp_path), "-j", "2", "-f", "json", "-o", str(out)]) == EXIT_INCOMPLETE
    assert json.loads(out.read_text())["stats"]["incomplete"] == 4


def test_time_bound_makes_the_pre_commit_hook_fail(tmp_path: Path, slow_generic: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.write("README", "hello\n")
    repo.commit("base")
    repo.write("notes.py", f'password = "{inputs.password(4)}"\n')
    repo.git("add", "-A")
    monkeypatch.chdir(repo.path)
    assert cli.main(["git", "--staged"]) == EXIT_INCOMPLETE
    assert cli.main(["git", "--staged", "--allow-incomplete"]) == EXIT_CLEAN


def test_crowded_line_nul_and_binary_found_by_the_cli(tmp_path: Path) -> None:
    crowded, secret = inputs.crowded_keywords(300_000)
    (tmp_path / "crowded.js").write_bytes(crowded)
    nul, token = inputs.nul_then_secret()
    (tmp_path / "nul.txt").write_bytes(nul)
    blob, token2 = inputs.binary_with_token()
    (tmp_path / "app.bin").write_bytes(blob)
    done = run_cli("scan", tmp_path, "-f", "json", "--show-secrets")
    assert done.returncode == EXIT_FINDINGS, done.stderr
    found = {(loc["path"], f["secret"]) for f in json.loads(done.stdout)["findings"] for loc in f["locations"]}
    assert found == {("crowded.js", secret), ("nul.txt", token), ("app.bin", token2)}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-32"])
def test_large_file_in_windows_finds_each_match_once_with_true_lines(tmp_path: Path, encoding: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # small windows (the mechanism, not the size, is under test); the overlap still exceeds the line windows.
    # A wide encoding is transcoded as it is read: the windows are of its UTF-8 text.
    monkeypatch.setattr(files, "WINDOW", 64 << 10)
    monkeypatch.setattr(files, "OVERLAP", 16 << 10)
    lines = []
    expected = set()
    for i in range(6000):
        if i % 97 == 0:
            token = github_classic(f"w{i}")
            lines.append(f"key{i} = {token}")
            expected.add((token, i + 1))
        else:
            lines.append(f"filler {i} 設定 " + "x" * (i % 50))
    path = tmp_path / "big.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    ref = files.FileRef("big.txt", str(path), path.stat().st_size)
    parts = list(files.read_parts(ref))
    assert len(parts) > 3
    assert all(isinstance(p, files.Part) and len(p.chunk.data) <= (64 << 10) + 2 * (16 << 10) for p in parts)
    from nhiguard.scan import _init_worker, _scan_batch

    _init_worker(None, __import__("nhiguard.ruleset", fromlist=["x"]).load_builtin(), None)
    found, notices, scanned, _, _ = _scan_batch([ref])
    assert notices == [] and scanned == 1
    got = [(m.secret, m.line) for _, matches in found for m in matches]
    assert sorted(got) == sorted(expected)  # each once, at its true line


def test_ten_megabytes_of_one_letter_bounded(tmp_path: Path) -> None:
    # compile the prefilter into the (test's) cache first: its one-time compile is not the input's cost
    (tmp_path / "warm").mkdir()
    (tmp_path / "warm" / "w.txt").write_text("nothing here\n")  # (an empty folder never builds the prefilter)
    assert run_cli("scan", tmp_path / "warm").returncode == EXIT_CLEAN
    (tmp_path / "a.txt").write_bytes(inputs.one_letter(10 << 20))
    # The peak is the process's own (VmHWM): Linux carries ru_maxrss across fork and exec, so a fresh process
    # started from a large test process would report that process's size.
    script = (
        "import resource, sys, time; from nhiguard.cli import main; t = time.monotonic(); "
        f"code = main(['scan', {str(tmp_path)!r}, '-f', 'json', '-o', {str(tmp_path / 'r.json')!r}]); "
        "hwm = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')] "
        "if sys.platform.startswith('linux') else []; "
        "print(code, time.monotonic() - t, hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    code, seconds, rss_kb = done.stdout.split()
    assert int(code) == EXIT_CLEAN, done.stderr
    assert int(rss_kb) < 400 * 1024, rss_kb
    assert float(seconds) < 20, seconds


def test_a_password_list_is_reported_within_a_bounded_time(tmp_path: Path) -> None:
    """Each guessable secret's fingerprint is deliberately slow (milliseconds): a file of thousands of them is
    listed up to a cap, the rest counted in a notice, and the run still fails on the file."""
    from nhiguard.scan import GUESSABLE_PER_FILE

    count = GUESSABLE_PER_FILE + 700
    (tmp_path / "passwords.cfg").write_bytes(inputs.generic_passwords(count))
    (tmp_path / "other.cfg").write_bytes(inputs.generic_passwords(3))
    result = run_cli("scan", tmp_path, "-f", "json")
    assert result.returncode == EXIT_FINDINGS, result.stderr
    doc = json.loads(result.stdout)
    in_list = [f for f in doc["findings"] if f["locations"][0]["path"] == "passwords.cfg"]
    assert len(in_list) == GUESSABLE_PER_FILE
    assert any(f["locations"][0]["path"] == "other.cfg" for f in doc["findings"])  # (other files keep theirs)
    notices = [n["reason"] for n in doc["notices"] if n["path"] == "passwords.cfg"]
    assert notices and all(" not listed: over " in n for n in notices)
    # (a .cfg is also an INI file kind: two rules share the notices; a few random passwords look like placeholders)
    assert 690 <= sum(int(n.split()[0].replace(",", "")) for n in notices) <= 700


@pytest.mark.parametrize(
    ("name", "text", "args"),
    [
        (".nhiguard.yml", "allow:\n  regexes: ['a{99999999999}']\n", ("scan",)),
        ("r.yml", "provider: acme\nrules:\n  - id: acme-key\n    name: Acme key\n    severity: low\n"
         "    context:\n      names: [acmecloud]\n      secret: '[0-9]{99999999999}'\n", ("scan", "--rules", "r.yml")),
        ("r.yml", "provider: acme\nrules:\n  - id: acme-key\n    name: Acme key\n    severity: low\n"
         "    context:\n      names: [acmecloud]\n      secret: '[0-9]{99999999999}'\n", ("rules", "check", "r.yml")),
    ],
)
def test_a_repetition_too_large_to_compile_is_bad_input(tmp_path: Path, name: str, text: str,
                                                        args: tuple[str, ...]) -> None:
    # a repository supplies its config and may supply rules: a count that overflows the regex compiler is a
    # malformed input (exit 2, the file named), not a crash
    (tmp_path / name).write_text(text)
    (tmp_path / "a.txt").write_text("x = 1\n")
    result = run_cli(*args, *(["."] if args[0] == "scan" else []), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert name in result.stderr and "repetition" in result.stderr


_HUGE = "9" * 5000  # past Python's 4,300-digit limit on converting a string to an integer


@pytest.mark.parametrize(
    ("name", "text", "args"),
    [
        (".nhiguard.yml", f"max_file_size: {_HUGE}\n", ("scan", ".")),
        (".nhiguard.yml", "archives:\n  depth: 2024-13-45\n", ("scan", ".")),  # a timestamp no calendar has
        ("pyproject.toml", f"[tool.nhiguard]\nmax_file_size = {_HUGE}\n", ("scan", ".")),
        ("r.yml", f"provider: acme\nrules:\n  - id: acme-key\n    entropy: {_HUGE}\n",
         ("scan", "--rules", "r.yml", ".")),
        ("b.json", f'{{"version": {_HUGE}}}', ("scan", "--baseline", "b.json", ".")),
    ],
)
def test_a_value_no_constructor_can_build_is_bad_input(tmp_path: Path, name: str, text: str,
                                                       args: tuple[str, ...]) -> None:
    # config, rules and baselines are the repository's: what parses but cannot be built is malformed input (exit 2,
    # the file named), not an internal error
    (tmp_path / name).write_text(text)
    (tmp_path / "a.txt").write_text("x = 1\n")
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert name in result.stderr and "internal error" not in result.stderr


def test_only_the_scanned_content_s_own_config_applies(tmp_path: Path) -> None:
    # a config above the scanned folder (a shared /tmp) or in a vendored subfolder is not the content's own: it
    # must not silence the scan
    silence = "allow:\n  regexes: ['.']\n  paths: ['**']\n"
    (tmp_path / ".nhiguard.yml").write_text(silence)
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "a.env").write_text(f"GITHUB_TOKEN={github_classic('config-above')}\n")
    assert run_cli("scan", artifact).returncode == 1
    repo = GitRepo(tmp_path / "repo")
    vendored = repo.path / "vendor" / "lib"
    vendored.mkdir(parents=True)
    (vendored / ".nhiguard.yml").write_text(silence)
    (vendored / "a.env").write_text(f"GITHUB_TOKEN={github_classic('config-nested')}\n")
    assert run_cli("scan", vendored).returncode == 1
    assert run_cli("scan", vendored / "a.env").returncode == 1
    (repo.path / ".nhiguard.yml").write_text(silence)  # the repository's own config is the one that applies
    assert run_cli("scan", vendored).returncode == 0


def test_one_secret_repeated_all_over_a_file_is_listed_up_to_a_cap(tmp_path: Path) -> None:
    # 450,000 locations of one value made a 4 GB SARIF report: a file lists 100 of them, the rest are counted
    token = github_classic("repeated")
    (tmp_path / "dump.txt").write_text(f"{token}\n" * 3_000)
    result = run_cli("scan", tmp_path, "-f", "json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert [len(f["locations"]) for f in doc["findings"]] == [100]
    assert any("2,900 more locations" in n["reason"] for n in doc["notices"])


def test_a_repository_config_that_closes_archives_makes_the_run_incomplete(tmp_path: Path) -> None:
    import random
    import zipfile

    with zipfile.ZipFile(tmp_path / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("app/.env", f"GITHUB_TOKEN={github_classic('zipped')}\n")
    assert run_cli("scan", tmp_path).returncode == 1
    (tmp_path / ".nhiguard.yml").write_text("archives:\n  depth: 0\n")
    result = run_cli("scan", tmp_path, "-f", "json")
    assert result.returncode == 4, result.stderr  # the repository's own config is untrusted: never a clean exit
    assert any(n["path"] == "bundle.zip" and n["incomplete"] for n in json.loads(result.stdout)["notices"])
    assert run_cli("scan", tmp_path, "--archive-depth", "0").returncode == 0  # the user's own choice
    (tmp_path / "bundle.zip").unlink()  # an archive too large to read whole (read in windows) is named too
    with zipfile.ZipFile(tmp_path / "large.zip", "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr("blob.bin", random.Random("large").randbytes(files.WINDOW + files.OVERLAP + 1))
    result = run_cli("scan", tmp_path, "-f", "json")
    assert result.returncode == 4, result.stderr
    assert any(n["path"] == "large.zip" and n["incomplete"] for n in json.loads(result.stdout)["notices"])
