"""Hostile names and values in every output: a file name that is not UTF-8 and carries a terminal escape is shown
in one escaped form in text, JSON (stdout and -o), SARIF, JUnit, the inventory's CSV and HTML; no output carries a
raw control character; a symlink loop or an unreadable path named on the command line is a notice, not a crash."""

from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path

import pytest

from nhiguard import escape
from tests.support.cli import run_cli

ESC = "\x1b"
# a file name with a byte that is not UTF-8 and a colour escape in it
HOSTILE_NAME = b"bad\xff" + ESC.encode() + b"[31mname.env"
SHOWN = "bad\\xff" + ESC + "[31mname.env"  # the documented form before control characters are escaped


@pytest.fixture(autouse=True)
def _warm_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One user cache for this module's CLI runs: each would otherwise validate the built-in rules again (3 s)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "adversarial-cache"))


def _password(seed: str, middle: str = "") -> str:
    rng = random.Random(seed)
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12))
    return body[:3] + middle + body[3:] + "#7"


def _tree(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "tree"
    root.mkdir()
    secret = _password("names")
    with open(os.path.join(os.fsencode(root), HOSTILE_NAME), "w", encoding="utf-8") as fh:
        fh.write(f'password = "{secret}"\n')
    return root, secret


def _no_raw_controls(text: str) -> None:
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, f"raw control characters in output: {bad!r}"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_undecodable_name_in_every_report_format(tmp_path: Path, fmt: str) -> None:
    root, secret = _tree(tmp_path)
    out = tmp_path / f"report.{fmt}"
    done = run_cli("scan", root, "-f", fmt, "-o", out)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    written = out.read_bytes().decode("utf-8")  # valid UTF-8, whatever the name
    assert secret not in written
    _no_raw_controls(written)
    if fmt == "json":
        doc = json.loads(written)
        assert doc["findings"][0]["locations"][0]["path"] == SHOWN
    elif fmt == "sarif":
        uri = json.loads(written)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert uri["uri"] == "bad%FF%1B%5B31mname.env"  # the real bytes, percent-encoded
    else:
        assert escape.printable(SHOWN) in written  # bad\xff\x1b[31mname.env
    stdout = run_cli("scan", root, "-f", fmt)
    assert stdout.returncode == 1 and "Traceback" not in stdout.stderr
    _no_raw_controls(stdout.stdout)


def test_a_reported_undecodable_name_can_be_verified_again(tmp_path: Path) -> None:
    """`nhiguard verify REPORT.json` re-reads each file by its reported name: the escaped form finds the file."""
    root, _ = _tree(tmp_path)
    report = tmp_path / "report.json"
    assert run_cli("scan", root, "-f", "json", "-o", report).returncode == 1
    real = escape.fs_path(SHOWN)
    assert os.fsencode(real) == HOSTILE_NAME
    from nhiguard.verify.phase import on_disk

    assert on_disk(SHOWN, root).is_file()


def test_escape_is_the_documented_form() -> None:
    assert escape.path_text(b"a\xffb") == "a\\xffb"
    assert escape.path_text(os.fsdecode(b"a\xffb")) == "a\\xffb"
    assert escape.printable("a\x1b[0m\x9b\u2028" + os.fsdecode(b"\xfe")) == "a\\x1b[0m\\x9b\\u2028\\xfe"
    assert escape.json_text(json.dumps("a\x9bb", ensure_ascii=False)) == '"a\\u009bb"'
    assert escape.fs_path("plain\\x41") == "plain\\x41"  # only escapes of non-ASCII bytes are undone


def test_inventory_csv_and_html_carry_no_raw_escape(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    secret = _password("escape", middle=ESC + "[31m")
    with open(os.path.join(os.fsencode(root), HOSTILE_NAME), "w", encoding="utf-8") as fh:
        fh.write(f'password = "{secret}"\n')
    db = tmp_path / "inv.sqlite"
    done = run_cli("scan", root, "--inventory", db)
    assert done.returncode == 1, done.stderr
    csv_out = run_cli("inventory", "export", "-f", "csv", "--inventory", db)
    assert csv_out.returncode == 0, csv_out.stderr
    assert csv_out.stdout.count("\n") == 2
    _no_raw_controls(csv_out.stdout)
    listed = run_cli("inventory", "list", "--inventory", db)
    _no_raw_controls(listed.stdout)
    fingerprint = csv_out.stdout.splitlines()[1].split(",")[0]
    shown = run_cli("inventory", "show", fingerprint, "--inventory", db)
    assert shown.returncode == 0, shown.stderr
    assert "bad\\xff\\x1b[31mname.env" in shown.stdout
    _no_raw_controls(shown.stdout)
    page = tmp_path / "report.html"
    html = run_cli("inventory", "report", "--html", page, "--inventory", db)
    assert html.returncode == 0, html.stderr
    text = page.read_text(encoding="utf-8")
    assert ESC not in text and "\\x1b" in text


def test_symlink_loop_and_unreadable_targets_are_notices(tmp_path: Path) -> None:
    (tmp_path / "one").symlink_to(tmp_path / "two")
    (tmp_path / "two").symlink_to(tmp_path / "one")
    (tmp_path / "self").symlink_to(tmp_path / "self")
    for target in ("one", "self"):
        done = run_cli("scan", tmp_path / target, "-f", "json")
        assert done.returncode == 0, done.stderr
        notices = json.loads(done.stdout)["notices"]
        assert len(notices) == 1 and "symbolic links" in notices[0]["reason"]
    both = run_cli("scan", tmp_path / "one", tmp_path / "self", "-f", "json")
    assert both.returncode == 0 and len(json.loads(both.stdout)["notices"]) == 2


@pytest.mark.parametrize("target", ["missing/x.json", "/dev/full"])
def test_an_output_that_cannot_be_written_is_exit_2(tmp_path: Path, target: str) -> None:
    (tmp_path / "a.txt").write_text("nothing\n")
    out = target if target.startswith("/") else str(tmp_path / target)
    done = run_cli("scan", tmp_path / "a.txt", "-f", "json", "-o", out)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.startswith("nhiguard: error: ")


def test_error_lines_escape_what_the_user_or_a_repository_supplied(tmp_path: Path) -> None:
    name = "q\x1b]0;PWNED\x07"
    done = run_cli("scan", tmp_path / name)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr and "\\x1b]0;PWNED\\x07" in done.stderr
