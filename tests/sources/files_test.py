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


@pytest.mark.parametrize("encoding", ["utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"])
def test_wide_encodings_without_a_bom_holding_other_scripts(tmp_path: Path, encoding: str) -> None:
    """No BOM, and comments in Japanese: the NULs are not in every other byte, yet the text is UTF-16/32."""
    text = "# 設定ファイル Настройки\n" * 40 + f"T = '{TOKEN}'\n"
    (tmp_path / "wide.txt").write_bytes(text.encode(encoding))
    assert _found(_json(run_cli("scan", tmp_path, "-f", "json"))) == [("wide.txt", 41)]


def test_a_table_of_small_integers_is_no_utf32(tmp_path: Path) -> None:
    """A .mo catalogue or any array of 32-bit counts has NULs where UTF-32 text has them: it stays binary, and
    its strings are scanned."""
    table = b"".join(n.to_bytes(4, "little") for n in range(1, 600))
    (tmp_path / "messages.mo").write_bytes(table + b"\0" + TOKEN.encode() + b"\0")
    line = 1 + table.count(b"\n")  # (the counts 10 and 266 hold a line feed)
    assert _found(_json(run_cli("scan", tmp_path, "-f", "json"))) == [("messages.mo", line)]


def test_a_zip_behind_a_launcher_is_opened(tmp_path: Path) -> None:
    """A Python zipapp behind its shebang, an executable Spring Boot jar behind its launch script: the zip is
    found by its end record, not its first bytes."""
    import zipfile

    (tmp_path / "app").mkdir()
    with zipfile.ZipFile(tmp_path / "plain.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.txt", f"T = '{TOKEN}'\n")
    (tmp_path / "app" / "app.pyz").write_bytes(b"#!/usr/bin/env python3\n" + (tmp_path / "plain.zip").read_bytes())
    assert _found(_json(run_cli("scan", tmp_path / "app", "-f", "json"))) == [("app.pyz!config.txt", 1)]


def test_a_zip_of_an_unknown_version_is_a_notice(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "v.zip", "w") as z:
        z.writestr("a.txt", "x\n")
    data = bytearray((tmp_path / "v.zip").read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 6], data[at + 7] = 0xFF, 0  # "version needed to extract" 25.5
    (tmp_path / "v.zip").write_bytes(bytes(data))
    (tmp_path / "a.txt").write_text(f"T = '{TOKEN}'\n")
    doc = _json(run_cli("scan", tmp_path, "-f", "json"))
    assert _found(doc) == [("a.txt", 1)]
    assert "corrupt zip" in doc["notices"][0]["reason"]


def test_size_limit_reported(tmp_path: Path) -> None:
    """A file over the size limit is named, and the run is incomplete: exit 4, never 0 as if clean (unless the
    user accepts it)."""
    (tmp_path / "big.txt").write_text("a" * 5000 + TOKEN)
    result = run_cli("scan", tmp_path, "-f", "json", "--max-file-size", "1KB")
    assert result.returncode == 4, result.stderr
    doc = json.loads(result.stdout)
    assert doc["findings"] == []
    assert doc["notices"][0]["path"] == "big.txt"
    assert "size limit" in doc["notices"][0]["reason"] and doc["notices"][0]["incomplete"] is True
    assert doc["stats"]["incomplete"] == 1
    accepted = run_cli("scan", tmp_path, "-f", "json", "--max-file-size", "1KB", "--allow-incomplete")
    assert accepted.returncode == 0


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


def test_a_link_to_a_folder_named_on_the_command_line_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text(f"T = '{TOKEN}'\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert _found(_json(run_cli("scan", tmp_path / "link", "-f", "json"))) == [("a.txt", 1)]


def test_a_large_utf16_file_is_transcoded_in_windows(tmp_path: Path) -> None:
    """A UTF-16 file larger than a window is transcoded as it is read and scanned window by window: secrets on
    either side of a seam and at the end keep their lines and columns, and memory grows by a bounded amount (it
    was read, decoded and re-encoded whole: four times the file)."""
    lines = [f"# 設定 line {i} filler filler filler\n" for i in range(900_000)]
    (tmp_path / "clean.txt").write_bytes("".join(lines).encode("utf-16"))
    marked = (3, 120_001, 255_555, 899_999)
    for i in marked:
        lines[i] = f"TOKEN_{i} = '{TOKEN}'\n"
    (tmp_path / "big.txt").write_bytes("".join(lines).encode("utf-16"))
    (tmp_path / "small.txt").write_bytes("nothing here\n".encode("utf-16"))
    # (VmHWM, not this process's ru_maxrss, which keeps the forking test process's peak across exec; a large file
    # may be scanned in a worker: the largest child counts too)
    probe = (
        "import re, resource, sys\nfrom nhiguard.cli import main\n"
        "code = main(['scan', sys.argv[1], '--max-file-size', '1GB', '-f', 'json', '-o', sys.argv[2]])\n"
        "hwm = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print(code, max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) // 1024)\n"
    )

    def run(name: str) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", probe, name, "out.json"], cwd=tmp_path, capture_output=True,
                              text=True, check=True)
        code, rss_mb = map(int, done.stdout.split())
        return code, rss_mb

    run("small.txt")  # (builds the caches once)
    small, clean = run("small.txt"), run("clean.txt")
    assert small[0] == clean[0] == 0
    assert clean[1] - small[1] < 80, (clean, small)  # (72 MB of UTF-16: it was 150 MB more, now 45)
    assert run("big.txt")[0] == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    assert sorted((loc["line"], loc["column"]) for f in doc["findings"] for loc in f["locations"]) == [
        (i + 1, len(f"TOKEN_{i} = '") + 1) for i in marked]
