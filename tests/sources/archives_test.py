"""Archives everywhere a file is read: real zip/jar/tar/gz/bz2/xz files built at test time, nested ones, bombs and
corrupt ones, through the real CLI (directory scans, standard input, staged files, history)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import resource
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

from nhiguard.config import ArchiveLimits
from nhiguard.model import Chunk, Notice, Origin
from nhiguard.sources import archives
from tests.support.cli import run_cli
from tests.support.gitrepo import GitRepo
from tests.support.tokens import github_classic


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def tar_bytes(files: dict[str, bytes], compression: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compression) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def scan_json(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    done = run_cli("scan", *args, "-f", "json", "--no-baseline", cwd=cwd, stdin=stdin)
    assert done.returncode in (0, 1, 4), done.stderr  # (4: a cap or a corrupt archive left part unread)
    return done.returncode, json.loads(done.stdout)


def places(report: dict[str, Any]) -> set[str]:
    return {f"{loc['path']}:{loc['line']}" for f in report["findings"] for loc in f["locations"]}


def notices(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["path"], n["reason"]) for n in report["notices"]]


def test_every_archive_kind_is_opened_with_its_member_path_and_line(tmp_path: Path) -> None:
    token = github_classic("jar")
    config = f"server:\n  port: 8080\n  token: {token}\n".encode()
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/app.jar").write_bytes(zip_bytes({
        "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n",
        "BOOT-INF/classes/application.yml": config,
        "BOOT-INF/classes/App.class": b"\xca\xfe\xba\xbe\0\0\0\x34" + bytes(range(256)),
    }))
    (tmp_path / "dist/site.tar.gz").write_bytes(tar_bytes({"./etc/app.env": b"\n" + config}, "gz"))
    (tmp_path / "dist/site.tar.bz2").write_bytes(tar_bytes({"etc/app.env": config}, "bz2"))
    (tmp_path / "dist/site.tar.xz").write_bytes(tar_bytes({"etc/app.env": config}, "xz"))
    (tmp_path / "dist/plain.tar").write_bytes(tar_bytes({"etc/app.env": config}))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs/app.log.gz").write_bytes(gzip.compress(b"a\nb\n" + config))
    (tmp_path / "logs/app.log.bz2").write_bytes(bz2.compress(config))
    (tmp_path / "logs/app.log.xz").write_bytes(lzma.compress(config))
    # named like nothing at all: the kind comes from the magic bytes
    (tmp_path / "logs/blob.bin").write_bytes(zip_bytes({"x/settings.json": b'{"t": "' + token.encode() + b'"}'}))
    inner = tar_bytes({"path/file": b"one\ntwo\n" + config}, "gz")
    (tmp_path / "a.zip").write_bytes(zip_bytes({"inner.tar.gz": inner}))

    code, report = scan_json(tmp_path)
    assert code == 1
    assert places(report) == {
        "dist/app.jar!BOOT-INF/classes/application.yml:3",
        "dist/site.tar.gz!etc/app.env:4",
        "dist/site.tar.bz2!etc/app.env:3",
        "dist/site.tar.xz!etc/app.env:3",
        "dist/plain.tar!etc/app.env:3",
        "logs/app.log.gz!app.log:5",
        "logs/app.log.bz2!app.log:3",
        "logs/app.log.xz!app.log:3",
        "logs/blob.bin!x/settings.json:1",
        "a.zip!inner.tar.gz!path/file:5",
    }
    # a binary member is scanned through its printable view (issue 13), so no member goes unread
    assert not any("not scanned" in reason for _, reason in notices(report))
    # the text report and SARIF carry the same locations
    text = run_cli("scan", tmp_path, "--no-baseline").stdout
    assert "a.zip!inner.tar.gz!path/file:5" in text
    sarif = json.loads(run_cli("scan", tmp_path, "--no-baseline", "-f", "sarif").stdout)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]}
    assert any(uri.endswith("application.yml") and "app.jar" in uri for uri in uris)


def test_depth_option_and_config_key(tmp_path: Path) -> None:
    token = github_classic("depth")
    data = f"token = {token}\n".encode()
    for level in range(3):
        data = zip_bytes({f"level{level}.zip" if level else "secret.txt": data})
    (tmp_path / "outer.zip").write_bytes(data)
    _, report = scan_json(tmp_path)
    assert places(report) == {"outer.zip!level2.zip!level1.zip!secret.txt:1"}
    code, report = scan_json(tmp_path, "--archive-depth", "2")
    assert code == 4 and places(report) == set()  # incomplete: what lies deeper was not read
    assert ("outer.zip!level2.zip!level1.zip", "archive nested deeper than 2 level(s): not opened") in notices(report)
    code, report = scan_json(tmp_path, "--archive-depth", "0")
    assert code == 0 and places(report) == set()  # not opened: the zip is only its (compressed) bytes
    (tmp_path / ".nhiguard.yml").write_text("archives:\n  depth: 1\n")
    code, report = scan_json(tmp_path)
    assert code == 4
    assert ("outer.zip!level2.zip", "archive nested deeper than 1 level(s): not opened") in notices(report)
    (tmp_path / ".nhiguard.yml").write_text("archives:\n  deep: 1\n")
    bad = run_cli("scan", tmp_path)
    assert bad.returncode == 2 and "archives.deep" in bad.stderr


def test_baselines_and_inline_allows_hold_inside_archives(tmp_path: Path) -> None:
    token, other = github_classic("allowed"), github_classic("kept")
    (tmp_path / "lib.whl").write_bytes(zip_bytes({
        "pkg/a.py": f"A = '{token}'  # nhiguard:allow\n".encode(),
        "pkg/b.py": f"B = '{other}'\n".encode(),
    }))
    code, report = scan_json(tmp_path)
    assert code == 1 and places(report) == {"lib.whl!pkg/b.py:1"}
    assert run_cli("baseline", "create", tmp_path, "-o", tmp_path / "base.json").returncode == 0
    code, report = scan_json(tmp_path)  # (scan_json passes --no-baseline)
    assert code == 1
    kept = run_cli("scan", tmp_path, "--baseline", tmp_path / "base.json")
    assert kept.returncode == 0, kept.stdout


def test_stdin_archive(tmp_path: Path) -> None:
    token = github_classic("stdin")
    done = subprocess.run([sys.executable, "-m", "nhiguard", "scan", "-", "-f", "json"], capture_output=True,
                          input=gzip.compress(f"x\n{token}\n".encode()), timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert places(json.loads(done.stdout)) == {"<stdin>!<stdin>:2"}


def test_zip_bomb_finishes_bounded_with_a_notice(tmp_path: Path) -> None:
    token = github_classic("after-bomb")
    # 400 MB of zeros in a 400 KB member (refused by its size), 30 MB in 30 KB (refused by its ratio, counted as
    # it expands), next to an honest member: the bombs are refused, the rest is scanned
    (tmp_path / "bomb.zip").write_bytes(zip_bytes({
        "zeros.bin": b"\0" * (400 << 20),
        "ratio.bin": b"\0" * (30 << 20),
        "ok.txt": f"key {token}\n".encode(),
    }))
    # the same compressed bytes named by many entries ("overlapping" bombs): the byte and entry caps stop it
    kernel = zip_bytes({"z": b"a" * (8 << 20)})
    (tmp_path / "many.tar").write_bytes(tar_bytes({f"m{i}.zip": kernel for i in range(60)}))
    started = time.monotonic()
    done = run_cli("scan", tmp_path, "-f", "json", "--no-baseline", "--max-file-size", "64MB")
    elapsed = time.monotonic() - started
    report = json.loads(done.stdout)
    assert places(report) == {"bomb.zip!ok.txt:1"}
    reasons = notices(report)
    assert ("bomb.zip!zeros.bin", "member larger than the size limit (419,430,400 > 67,108,864 bytes): not scanned") \
        in reasons
    assert ("bomb.zip!ratio.bin", "compression ratio over 200:1 (possible archive bomb): not scanned") in reasons
    assert any(path == "many.tar" or "possible archive bomb" in reason for path, reason in reasons
               if path.startswith("many.tar"))
    assert elapsed < 60


def test_bomb_caps_in_process_memory_and_time() -> None:
    bomb = zip_bytes({f"z{i}": b"\0" * (64 << 20) for i in range(4)})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    out = list(archives.expand(bomb, Origin("b.zip"), ArchiveLimits(max_bytes=32 << 20), 1 << 30))
    assert time.monotonic() - started < 10
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200
    assert all(isinstance(x, Notice) for x in out)
    assert any("possible archive bomb" in x.reason for x in out if isinstance(x, Notice))
    # the entry cap is checked against the zip's directory before zipfile builds an object per entry
    entries = list(archives.expand(zip_bytes({f"f{i}": b"x" for i in range(50)}), Origin("e.zip"),
                                   ArchiveLimits(max_entries=10), 1 << 20))
    assert entries == [Notice("e.zip", "zip announces 50 members, more than the cap of 10: not opened", True)]
    # a tar has no directory: members are counted as they come
    entries = list(archives.expand(tar_bytes({f"f{i}": b"x" for i in range(50)}), Origin("e.tar"),
                                   ArchiveLimits(max_entries=10), 1 << 20))
    assert sum(isinstance(x, Chunk) for x in entries) == 10
    assert entries[-1] == Notice("e.tar", "more than 10 archive members: the rest was not read", True)


def test_deep_nesting_stops_at_the_depth_with_a_notice(tmp_path: Path) -> None:
    data = b"nothing here\n"
    for level in range(40):
        data = zip_bytes({f"l{level}.zip" if level else "x.txt": data})
    (tmp_path / "deep.zip").write_bytes(data)
    started = time.monotonic()
    code, report = scan_json(tmp_path)
    assert time.monotonic() - started < 30
    assert code == 4
    [(path, reason)] = notices(report)
    assert path.count("!") == 4 and reason == "archive nested deeper than 4 level(s): not opened"


def test_corrupt_archives_are_notices_and_the_rest_is_scanned(tmp_path: Path) -> None:
    token = github_classic("corrupt")
    good = zip_bytes({"a.txt": f"t={token}\n".encode(), "b.txt": b"padding " * 500})
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    (tmp_path / "cut.tar.gz").write_bytes(tar_bytes({"x": b"y" * 100_000}, "gz")[:60])
    # a member whose bytes are damaged, beside a sound one
    noise = random.Random(7).randbytes(5000).hex().encode()  # (incompressible: the damage stays inside it)
    damaged = bytearray(zip_bytes({"bad.txt": noise, "good.txt": f"t={token}\n".encode()}))
    damaged[200:260] = b"\xff" * 60
    (tmp_path / "damaged.jar").write_bytes(bytes(damaged))
    (tmp_path / "bad.xz").write_bytes(b"\xfd7zXZ\x00" + b"\x01" * 50)
    (tmp_path / "readme.txt").write_text(f"t={token}\n")
    code, report = scan_json(tmp_path)
    assert code == 1
    assert places(report) == {"readme.txt:1", "damaged.jar!good.txt:1"}
    reasons = dict(notices(report))
    assert reasons["cut.zip"].startswith("corrupt zip archive")
    assert reasons["cut.tar.gz"].startswith("corrupt gzip stream")
    assert reasons["damaged.jar!bad.txt"].startswith("corrupt archive member")
    assert reasons["bad.xz"].startswith("corrupt xz stream")


def test_staged_archive_members_are_scanned(tmp_path: Path) -> None:
    token = github_classic("staged")
    repo = GitRepo(tmp_path / "r")
    repo.write("README", "hi\n")
    repo.git("add", "README")
    repo.git("commit", "-qm", "init")
    repo.write(b"build/app.war", zip_bytes({"WEB-INF/web.xml": f"<p>{token}</p>\n".encode()}))
    repo.git("add", "build/app.war")
    done = run_cli("git", "--staged", "-f", "json", cwd=repo.path)
    assert done.returncode == 1, done.stderr
    assert places(json.loads(done.stdout)) == {"build/app.war!WEB-INF/web.xml:1"}


def test_history_blob_that_is_an_archive(tmp_path: Path) -> None:
    token = github_classic("history")
    repo = GitRepo(tmp_path / "r")
    repo.write(b"dist/app.jar", zip_bytes({"conf/app.properties": f"a=1\ntoken={token}\n".encode()}))
    repo.git("add", ".")
    repo.git("commit", "-qm", "add jar")
    repo.git("rm", "-q", "dist/app.jar")
    repo.git("commit", "-qm", "drop jar")
    bomb = zip_bytes({"z.bin": b"\0" * (8 << 20)})
    repo.write(b"bomb.zip", bomb)
    repo.write(b"noise.bin", random.Random(3).randbytes(3 << 20))  # stored size enough for the worker pool
    repo.git("add", ".")
    repo.git("commit", "-qm", "bomb")
    for jobs in ("1", "2"):
        done = run_cli("history", repo.path, "-f", "json", "--no-baseline", "-j", jobs)
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        [finding] = report["findings"]
        [loc] = [loc for loc in finding["locations"] if loc.get("commit")]
        assert (loc["path"], loc["line"]) == ("dist/app.jar!conf/app.properties", 2)
        bomb_notice = ("bomb.zip!z.bin", "compression ratio over 200:1 (possible archive bomb): not scanned")
        assert bomb_notice in notices(report)


def test_verify_recovers_a_secret_from_inside_an_archive(tmp_path: Path) -> None:
    from nhiguard import ruleset
    from nhiguard.engine import Engine
    from nhiguard.verify.phase import recover

    token = github_classic("verify")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/app.jar").write_bytes(zip_bytes({"conf/app.yml": f"x: 1\ntoken: {token}\n".encode()}))
    _, report = scan_json(tmp_path)
    rules = ruleset.load_builtin()
    found = recover(report["findings"], {r.id: r for r in rules}, tmp_path, Engine(rules))
    assert [f.secret for f in found.found] == [token] and found.gone == []


# -- NumPy arrays: a numeric payload holds no text ----------------------------------------------------------
def npy(descr: str, payload: bytes, version: int = 1) -> bytes:
    """A .npy file as numpy writes one: magic, version, header length, a dict header padded to 64 bytes."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({len(payload)},), }}".encode()
    fixed = 10 if version == 1 else 12
    header += b" " * (-(fixed + len(header) + 1) % 64) + b"\n"
    size = len(header).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes((version, 0)) + size + header + payload


def test_numeric_numpy_arrays_are_read_to_their_header_and_string_arrays_whole(tmp_path: Path) -> None:
    from nhiguard.sources.text import prepare, text_extent

    floats = npy("<f8", bytes(8_000_000))
    assert text_extent(floats[:4096]) == floats.index(b"\n") + 1
    assert text_extent(npy("<M8[ns]", bytes(64), version=2)[:4096]) is not None
    for descr in ("|S40", "<U3", "|O", "|V8"):  # bytes, text, pickled objects, raw records: scanned whole
        assert text_extent(npy(descr, bytes(64))[:4096]) is None, descr
    structured = npy("<f8", bytes(64)).replace(b"'descr': '<f8'", b"'descr': [('a', '<f8')]")
    assert text_extent(structured[:4096]) is None
    assert text_extent(floats[:11]) is None  # a head too short to read the header: nothing assumed
    viewed = prepare(floats)
    assert viewed is not None and len(viewed) == text_extent(floats[:4096]) and b"'descr': '<f8'" in viewed

    token = github_classic("npz")
    (tmp_path / "data.npz").write_bytes(zip_bytes({
        "values.npy": floats,
        "names.npy": npy("|S40", token.encode() + b"\0" * 40),
    }))
    _, report = scan_json(tmp_path)
    assert places(report) == {"data.npz!names.npy:2"}  # (the header is line 1)
    # the floats' eight million bytes were never inflated: only headers and the string array count
    assert report["stats"]["bytes"] < 1_000_000
