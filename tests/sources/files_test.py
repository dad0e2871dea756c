"""Bad inputs on disk: each is scanned or skipped with a notice; nothing crashes or hangs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nhiguard import ruleset, selftest
from tests.support.cli import run_cli
from tests.support.tokens import github_classic

TOKEN = github_classic("files")


def _json(result: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _found(doc: dict) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return sorted((loc["path"], loc["line"]) for f in doc["findings"] for loc in f["locations"])


def test_binary_scanned_in_its_printable_strings(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 100 + TOKEN.encode() + b"\x00\xff")
    doc = _json(run_cli("scan", tmp_path, "-f", "json"))
    assert _found(doc) == [("blob.bin", 1)]
    assert doc["notices"] == []


def test_invalid_utf8_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9 \xff\xfe\n\x80T = '" + TOKEN.encode() + b"'\n")
    assert _found(_json(run_cli("scan", tmp_path, "-f", "json"))) == [("latin.txt", 2)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_encodings_are_transcoded(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "wide.txt").write_bytes(f"first\r\nT = '{TOKEN}'\r\n".encode(encoding))
    assert _found(_json(run_cli("scan", tmp_path, "-f", "json"))) == [("wide.txt", 2)]


def test_size_limit_reported(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("a" * 5000 + TOKEN)
    doc = _json(run_cli("scan", tmp_path, "-f", "json", "--max-file-size", "1KB"))
    assert doc["findings"] == []
    assert doc["notices"][0]["path"] == "big.txt"
    assert "size limit" in doc["notices"][0]["reason"]


def test_fifty_megabyte_single_line(tmp_path: Path) -> None:
    chunk = "function a(b){return b*2}var c=[1,2,3];" * 1024
    with open(tmp_path / "bundle.min.js", "w") as out:
        for i in range(50 * 1024 * 1024 // len(chunk)):
            out.write(chunk)
            if i == 600:
                out.write(f"var t='{TOKEN}';")
    started = time.monotonic()
    doc = _json(run_cli("scan", tmp_path, "-f", "json", "--max-file-size", "100MB", timeout=300))
    assert _found(doc) == [("bundle.min.js", 1)]
    assert time.monotonic() - started < 120


def test_symlink_loop_and_links_out_of_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    os.symlink(root, root / "a" / "loop")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.env").write_text(f"T={TOKEN}\n")
    os.symlink(outside, root / "escape")
    os.symlink(outside / "secret.env", root / "file-link.env")
    (root / "a" / "ok.txt").write_text("fine\n")
    doc = _json(run_cli("scan", root, "-f", "json", timeout=30))
    assert doc["findings"] == []
    assert doc["stats"]["files"] == 1


@pytest.mark.skipif(sys.platform != "linux", reason="uses Linux permissions and /proc")
def test_unreadable_file_is_a_notice(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "ok.env").write_text(f"T={TOKEN}\n")
    if os.geteuid() != 0:
        locked = root / "locked.env"
        locked.write_text("T=1\n")
        locked.chmod(0)
        doc = _json(run_cli("scan", root, "-f", "json"))
        assert _found(doc) == [("ok.env", 1)]
        assert doc["notices"] == [{"path": "locked.env", "reason": "unreadable: Permission denied"}]
    else:
        # Permissions do not stop root; a file whose read fails does: /proc/self/mem at offset 0 (EIO).
        doc = _json(run_cli("scan", root / "ok.env", "/proc/self/mem", "-f", "json"))
        assert [f["locations"][0]["path"] for f in doc["findings"]] == ["ok.env"]
        assert [n["reason"] for n in doc["notices"]] == ["unreadable: Input/output error"]


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "a.txt").write_text(f"T={TOKEN}\n")
    doc = _json(run_cli("scan", tmp_path, "-f", "json", timeout=30))
    assert _found(doc) == [("a.txt", 1)]


def test_pathological_input_against_every_pattern(tmp_path: Path) -> None:
    """One file per rule of adversarial text built from its own keywords: the whole scan stays bounded."""
    rules = ruleset.load_builtin()
    for rule in rules:
        text = selftest.adversarial_inputs(rule)[1][: 256 * 1024]
        (tmp_path / f"{rule.id}.txt").write_text(text)
    started = time.monotonic()
    result = run_cli("scan", tmp_path, "-f", "json", "-j", "2", timeout=600)
    assert result.returncode in (0, 1), result.stderr
    assert time.monotonic() - started < 300
