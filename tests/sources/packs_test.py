"""Blobs rebuilt straight from pack files: byte for byte what git gives, and anything unusual left to git."""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest

from nhiguard.sources.gitobjects import CLEAN, CORRUPT, BlobReader, open_repository
from nhiguard.sources.packs import PackStore, native_apply_delta
from tests.history.kit import cli_json, locations, sweep, token
from tests.support.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(native_apply_delta() is None, reason="dulwich without its native delta code")


def _versions(tmp_path: Path, count: int = 25) -> GitRepo:
    """A file edited a little in every commit (git stores most versions as deltas), small files, a binary."""
    repo = GitRepo(tmp_path / "r")
    rng = random.Random(7)
    lines = [f"line {i} {rng.random()}" for i in range(400)]
    for n in range(count):
        for _ in range(5):
            lines[rng.randrange(len(lines))] = f"edit {n} {rng.random()}"
        repo.write("big.txt", "\n".join(lines) + "\n")
        repo.write(f"small{n % 3}.txt", f"version {n}\n" * 20)
        repo.write("bin.dat", bytes(rng.randrange(256) for _ in range(3000)))
        repo.commit(f"v{n}", date=f"2024-01-01T00:00:{n:02d}+00:00")
    return repo


def _blobs(repo: GitRepo) -> list[str]:
    listed = repo.git("cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)")
    return [line.split()[1] for line in listed.splitlines() if line.startswith("blob ")]


def _content(repo: GitRepo, oid: str) -> bytes:
    import subprocess

    return subprocess.run(["git", "cat-file", "blob", oid], cwd=repo.path, capture_output=True, check=True).stdout


def _pack(repo: GitRepo) -> Path:
    (pack,) = (repo.path / ".git" / "objects" / "pack").glob("pack-*.pack")
    return pack


def _entries(repo: GitRepo) -> dict[str, tuple[int, int]]:
    """Object id → (pack offset, entry type as stored: 1-4 whole, 6 delta against an offset, 7 against an id)."""
    pack = _pack(repo)
    raw = pack.read_bytes()
    out = {}
    for line in repo.git("verify-pack", "-v", pack.with_suffix(".idx")).splitlines():
        parts = line.split()
        if len(parts) >= 5 and len(parts[0]) == 40 and parts[1] in ("blob", "tree", "commit", "tag"):
            offset = int(parts[4])
            out[parts[0]] = (offset, (raw[offset] >> 4) & 7)
    return out


def _store(repo: GitRepo) -> PackStore:
    store = PackStore.open(repo.path / ".git" / "objects")
    assert store is not None
    return store


def test_every_blob_is_rebuilt_exactly_through_offset_deltas(tmp_path: Path) -> None:
    repo = _versions(tmp_path)
    repo.git("repack", "-adfq", "--depth=50", "--window=50")
    kinds = collections.Counter(kind for _, kind in _entries(repo).values())
    assert kinds[6] >= 20 and kinds[7] == 0  # most versions are deltas against an earlier entry
    blobs = _blobs(repo)
    assert len(blobs) >= 50
    with _store(repo) as store:
        for oid in blobs:
            assert store.blob(oid) == _content(repo, oid), oid


def test_every_blob_is_rebuilt_exactly_through_deltas_naming_their_base(tmp_path: Path) -> None:
    repo = _versions(tmp_path)
    repo.git("-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq")
    kinds = collections.Counter(kind for _, kind in _entries(repo).values())
    assert kinds[7] >= 20 and kinds[6] == 0
    with _store(repo) as store:
        for oid in _blobs(repo):
            assert store.blob(oid) == _content(repo, oid), oid


def test_what_is_not_a_packed_blob_is_left_to_git(tmp_path: Path) -> None:
    repo = _versions(tmp_path, count=4)
    repo.git("repack", "-adq")
    repo.write("late.txt", "written after the repack\n")
    repo.commit("loose")
    loose = repo.git("rev-parse", "HEAD:late.txt")
    tree, commit = repo.git("rev-parse", "HEAD~1^{tree}"), repo.git("rev-parse", "HEAD~1")
    packed = repo.git("rev-parse", "HEAD~1:big.txt")
    with _store(repo) as store:
        for oid in (loose, tree, commit, "0" * 40, "not hex at all", "abcd"):
            assert store.blob(oid) is None, oid
        assert store.blob(packed) == _content(repo, packed)
    # the reader takes what the packs have and asks git for the rest
    reader = BlobReader(open_repository(repo.path))
    try:
        got = {oid.decode(): (status, data) for oid, status, data in reader.read([loose.encode(), packed.encode()])}
    finally:
        reader.close()
    assert got == {loose: (CLEAN, b"written after the repack\n"), packed: (CLEAN, _content(repo, packed))}


def _packed_pair(tmp_path: Path, name: str, content: str | bytes) -> tuple[GitRepo, str, Path, bytearray, int]:
    """A repository of two files, `name` and fine.txt (a token), packed: the repository, `name`'s blob id, the pack,
    its bytes to alter and the offset of that blob's whole (undeltified) entry."""
    repo = GitRepo(tmp_path / "r")
    repo.write(name, content)
    repo.write("fine.txt", f"{token('fine')}\n")
    repo.commit("two files", date="2024-01-01T00:00:00+00:00")
    repo.git("repack", "-adq")
    oid = repo.git("rev-parse", f"HEAD:{name}")
    offset, kind = _entries(repo)[oid]
    assert kind == 3
    pack = _pack(repo)
    pack.chmod(0o644)
    return repo, oid, pack, bytearray(pack.read_bytes()), offset


def test_a_damaged_entry_is_left_to_git_and_the_sweep_reports_it(tmp_path: Path) -> None:
    repo, broken, pack, raw, offset = _packed_pair(
        tmp_path, "broken.txt", f"{token('broken')}\n" + "padding line to compress\n" * 200)
    for at in range(offset + 8, offset + 16):  # inside the compressed data, past the entry's header
        raw[at] ^= 0x5A
    pack.write_bytes(bytes(raw))
    fine = repo.git("rev-parse", "HEAD:fine.txt")
    with _store(repo) as store:
        assert store.blob(broken) is None
        assert store.blob(fine) == _content(repo, fine)
    reader = BlobReader(open_repository(repo.path))
    try:
        statuses = {oid.decode(): status for oid, status, _ in reader.read([broken.encode(), fine.encode()])}
    finally:
        reader.close()
    assert statuses == {broken: CORRUPT, fine: CLEAN}
    code, doc, _ = cli_json(repo.path)
    assert code == 1
    assert {f["secret"] for f in doc["findings"]} == {token("fine")}
    reasons = {n["path"]: n["reason"] for n in doc["notices"]}
    assert "is unreadable" in reasons["broken.txt"]


def test_a_pack_that_does_not_match_its_index_is_not_used(tmp_path: Path) -> None:
    repo = _versions(tmp_path, count=3)
    repo.git("repack", "-adq")
    pack = _pack(repo)
    pack.chmod(0o644)
    raw = bytearray(pack.read_bytes())
    raw[-1] ^= 0xFF  # the trailer no longer matches the index's copy of it
    pack.write_bytes(bytes(raw))
    assert PackStore.open(repo.path / ".git" / "objects") is None


def test_a_sweep_finds_the_same_in_packs_as_in_loose_objects(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    body = [f"setting_{i} = {i}" for i in range(300)]
    for n in range(12):
        body[n * 7] = f"api_token = \"{token(n)}\"" if n % 3 == 0 else f"setting_{n} = changed {n}"
        repo.write("config.py", "\n".join(body) + "\n")
        repo.write(f"notes/{n}.md", f"note {n}\nGITHUB_TOKEN={token(f'note{n}')}\n" if n % 4 == 0 else f"note {n}\n")
        if n == 6:
            repo.git("rm", "-q", "notes/0.md")
        repo.commit(f"change {n}", date=f"2024-01-01T00:00:{n:02d}+00:00")
    loose = locations(sweep(repo.path, jobs=1))
    assert len(loose) >= 6
    repo.git("repack", "-adfq", "--depth=50", "--window=50")
    assert not list((repo.path / ".git" / "objects").glob("??/*"))  # every object now in the pack
    assert locations(sweep(repo.path, jobs=1)) == loose


def test_offsets_in_the_64_bit_table_are_followed(tmp_path: Path) -> None:
    """Packs over 2 GB keep large offsets in a second table; rewrite a small pack's index that way."""
    import hashlib
    import struct

    repo = _versions(tmp_path, count=6)
    repo.git("repack", "-adfq")
    idx = _pack(repo).with_suffix(".idx")
    raw = idx.read_bytes()
    count = struct.unpack(">I", raw[8 + 255 * 4 : 8 + 256 * 4])[0]
    small_at = 8 + 1024 + 24 * count
    offsets = struct.unpack(f">{count}I", raw[small_at : small_at + 4 * count])
    redirected = struct.pack(f">{count}I", *(0x80000000 | i for i in range(count)))
    table = struct.pack(f">{count}Q", *offsets)
    body = raw[:small_at] + redirected + table + raw[-40:-20]
    idx.chmod(0o644)
    idx.write_bytes(body + hashlib.sha1(body).digest())
    with _store(repo) as store:
        for oid in _blobs(repo):
            assert store.blob(oid) == _content(repo, oid), oid


def _large(tmp_path: Path) -> tuple[GitRepo, str]:
    """A 12 MB text blob (past the large-entry size) beside a small one, packed."""
    repo = GitRepo(tmp_path / "r")
    rng = random.Random(11)
    repo.write("big.txt", "".join(f"row {i} {rng.random()}\n" for i in range(500_000)))
    repo.write("small.txt", "small\n")
    repo.commit("big", date="2024-01-01T00:00:00+00:00")
    repo.git("repack", "-adq")
    return repo, repo.git("rev-parse", "HEAD:big.txt")


def test_a_large_entry_is_inflated_whole_and_exactly(tmp_path: Path) -> None:
    """An entry past 8 MiB is inflated into one buffer of its size (found by a first pass that lets its output go):
    the content is git's, byte for byte."""
    repo, big = _large(tmp_path)
    content = _content(repo, big)
    assert len(content) > 8 << 20
    with _store(repo) as store:
        assert store.blob(big) == content


def test_a_damaged_large_entry_is_left_to_git(tmp_path: Path) -> None:
    repo, big = _large(tmp_path)
    offset, _ = _entries(repo)[big]
    pack = _pack(repo)
    pack.chmod(0o644)
    raw = bytearray(pack.read_bytes())
    for at in range(offset + 5000, offset + 5016):
        raw[at] ^= 0x5A
    pack.write_bytes(bytes(raw))
    with _store(repo) as store:
        assert store.blob(big) is None


def test_a_large_blob_is_held_about_once(tmp_path: Path) -> None:
    """A history sweep of a 60 MB blob: the pack reader inflates it into one buffer and the inline-ignore search
    reads it without a lowered copy, so this process's peak grows by little more than the blob (it grew by twice
    and more: the inflate's pieces and their join, then the lowered copy)."""
    import json
    import subprocess
    import sys

    repo = GitRepo(tmp_path / "r")
    line = "x = compute(alpha, beta, gamma)  # filler line for the history sweep\n"
    repo.write("big.txt", line * 850_000 + f"TOKEN = '{token('large')}'\n")
    repo.commit("big", date="2024-01-01T00:00:00+00:00")
    repo.git("repack", "-adq")
    small = GitRepo(tmp_path / "s")
    small.write("a.txt", f"TOKEN = '{token('large')}'\n")
    small.commit("small", date="2024-01-01T00:00:00+00:00")
    probe = ("import re, sys\nfrom nhiguard.cli import main\n"
             "main(['history', sys.argv[1], '--max-file-size', '1GB', '--no-progress', '-f', 'json', '-o', "
             "sys.argv[2]])\nprint(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)))\n")

    def peak_mb(path: Path) -> int:
        done = subprocess.run([sys.executable, "-c", probe, str(path), str(tmp_path / "out.json")],
                              capture_output=True, text=True, check=True)
        return int(done.stdout.split()[-1]) // 1024

    peak_mb(small.path)  # (builds the caches once)
    base = peak_mb(small.path)
    grown = peak_mb(repo.path) - base
    size_mb = len(line) * 850_000 // (1 << 20)
    assert grown < 1.5 * size_mb, (grown, size_mb)  # (it grew by 2x and more)
    found = json.loads((tmp_path / "out.json").read_text())["findings"]
    assert {loc["line"] for f in found for loc in f["locations"]} == {850_001}


def test_an_entry_that_inflates_past_its_size_is_cut_short(tmp_path: Path) -> None:
    # A crafted pack's 40 KB blob whose zlib stream inflates to 30 MB of zeros (a 6-byte one to 3 GB took 3.2 GB
    # of memory): the reader stops one byte past the recorded size and leaves the entry to git, which refuses it.
    import tracemalloc
    import zlib

    repo, noise, pack, raw, offset = _packed_pair(tmp_path, "noise.bin", random.Random(3).randbytes(40_000))
    start = offset + 1
    while raw[start - 1] & 0x80:  # past the entry's type-and-size header
        start += 1
    bomb = zlib.compress(bytes(30 << 20), 9)
    assert len(bomb) < 39_000  # (fits where the incompressible blob's stream was)
    raw[start : start + len(bomb)] = bomb
    pack.write_bytes(bytes(raw))
    with _store(repo) as store:
        tracemalloc.start()
        try:
            assert store.blob(noise) is None
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 << 20, peak
    code, doc, _ = cli_json(repo.path)
    assert code == 1 and {f["secret"] for f in doc["findings"]} == {token("fine")}
