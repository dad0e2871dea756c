"""A repository's whole history, read from its object database as a stream.

Three git processes do the reading, none of them `git log -p`:

* `git log --all --reverse --date-order --raw -z --no-renames --root --diff-merges=first-parent` lists, oldest
  commit first, the blob id and path of every file each commit adds or changes (merges against their first
  parent, so a blob made while resolving a merge is not missed). The first time a (blob, path) pair shows up is
  the commit that introduced that blob at that path; the set of new sides is exactly the set of blobs reachable
  from the refs (every blob in any commit's tree is a new side in the first-parent chain below that commit).
  No blob content is read, no patch is computed: it is a tree diff, fast even on a large repository.
* `git cat-file --batch-all-objects --batch-check --unordered` gives every object's type and size in pack
  order: sizes for the size limit, progress and balancing; the order keeps each reader's reads close together in
  the pack (delta bases hot in git's cache); and a reachable blob absent from it is missing, found without
  touching it (so a partial clone never fetches).
* each worker reads the blobs, each exactly once: from the pack files in its own process where it can
  (`packs.py`), else through its own `git cat-file --batch`.

Paths and names that are not UTF-8 keep their bytes as `\\xNN` escapes; git never quotes them here (`-z`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nhiguard.errors import SourceError
from nhiguard.sources.gitinfo import UNREWRITTEN
from nhiguard.sources.packs import PackStore

NULL_OID = b"0" * 40
_HEX_DIGITS = {"sha1": 40, "sha256": 64}  # object id length per object format
GITLINK = b"160000"
_READ = 1 << 20
_GROUP = 800  # ids written to one cat-file before reading its answers: 800 x 41 bytes stays under a pipe buffer

# Pack windows a reader maps at most: its resident size stays small whatever the repository's size (half these
# numbers cost no measurable speed, the default maps gigabytes).
_BOUNDED_PACK_WINDOWS = ("-c", "core.packedGitWindowSize=32m", "-c", "core.packedGitLimit=128m")

# blob outcomes, as stored in the resume log
CLEAN, MATCHED, BINARY, MISSING, CORRUPT = 0, 1, 2, 3, 4


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP_ENV}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_NO_LAZY_FETCH": "1", "GIT_OPTIONAL_LOCKS": "0",
                **UNREWRITTEN})
    return env


# Identity and config isolation may come from the caller; where the repository is never does (a hook's GIT_DIR
# must not redirect a sweep of another repository).
_KEEP_ENV = frozenset({"GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_AUTHOR_NAME",
                       "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_CEILING_DIRECTORIES"})


def text(raw: bytes) -> str:
    """Bytes from git as text; invalid UTF-8 stays visible as \\xNN escapes."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def git(git_dir: str, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(["git", "--git-dir", git_dir, *args], input=stdin, capture_output=True,
                              env=_env(), check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed (or not on PATH)") from None
    if check and proc.returncode != 0:
        raise SourceError(f"git {args[0]} failed: {text(proc.stderr).strip() or proc.returncode}")
    return proc.stdout


def _popen(
    git_dir: str, args: list[str], *, stdin: bool = False, stderr: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(["git", "--git-dir", git_dir, *args], stdin=subprocess.PIPE if stdin else None,
                                stdout=subprocess.PIPE, stderr=stderr or subprocess.DEVNULL, env=_env(),
                                bufsize=_READ)
    except FileNotFoundError:
        raise SourceError("git is not installed (or not on PATH)") from None


# -- the repository -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Repository:
    shown: str  # as the user named it
    git_dir: str  # absolute
    bare: bool
    head: str | None  # the commit HEAD points at; None when HEAD is unborn
    head_ref: str | None  # refs/heads/…; None when HEAD is detached (or unborn)
    shallow: tuple[str, ...] = ()  # commits whose parents this clone does not have
    has_refs: bool = True
    partial: bool = False  # a partial clone: missing blobs are expected and never fetched here
    objects: str = ""  # the object folder (absolute; shared by all worktrees)
    object_format: str = "sha1"


def open_repository(path: Path) -> Repository:
    if not path.exists():
        raise SourceError(f"{path}: no such folder")
    if not path.is_dir():
        raise SourceError(f"{path}: not a git repository (not a folder)")
    try:
        proc = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--absolute-git-dir", "--is-bare-repository", "--git-common-dir"],
            capture_output=True, env=_env(), check=False,
        )
    except FileNotFoundError:
        raise SourceError("git is not installed (or not on PATH)") from None
    if proc.returncode != 0:
        detail = text(proc.stderr).strip().splitlines()
        reason = detail[-1].removeprefix("fatal: ") if detail else "not a git repository"
        raise SourceError(f"{path}: not a git repository ({reason})")
    lines = text(proc.stdout).splitlines()
    git_dir, bare = lines[0], lines[1] == "true"
    common = lines[2] if len(lines) > 2 else git_dir
    common = common if os.path.isabs(common) else os.path.normpath(os.path.join(str(path), common))
    head_out = git(git_dir, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip()
    head = head_out.decode() if head_out else None
    ref = git(git_dir, "symbolic-ref", "-q", "HEAD", check=False).strip()
    shallow_file = Path(common) / "shallow"
    shallow = tuple(sorted(shallow_file.read_text().split())) if shallow_file.exists() else ()
    has_refs = bool(git(git_dir, "for-each-ref", "--count=1", "--format=%(refname)").strip()) or head is not None
    partial = bool(git(git_dir, "config", "--get", "extensions.partialClone", check=False).strip())
    # (a git too old to know the option echoes it: such a git has only SHA-1 repositories)
    shown_format = text(git(git_dir, "rev-parse", "--show-object-format", check=False).strip())
    return Repository(str(path), git_dir, bare, head, text(ref) if ref and head else None, shallow, has_refs,
                      partial, os.path.join(common, "objects"),
                      shown_format if shown_format in ("sha1", "sha256") else "sha1")


def non_commit_refs(repo: Repository) -> list[tuple[str, str]]:
    """(ref name, object type) for refs that point (through tags) at a blob or a tree instead of a commit."""
    out = []
    listed = git(repo.git_dir, "for-each-ref", "--format=%(objecttype) %(*objecttype) %(refname)", check=False)
    for line in listed.splitlines():
        kind, _, rest = line.partition(b" ")
        peeled, _, name = rest.partition(b" ")
        target = peeled or kind
        if target in (b"blob", b"tree"):
            out.append((text(name), target.decode()))
    return out


def stored_bytes(repo: Repository) -> int:
    """What the object database takes on disk (packed and loose): a cheap first guess at a sweep's size."""
    total = 0
    for line in git(repo.git_dir, "count-objects", "-v", check=False).decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key in ("size", "size-pack") and value.strip().isdigit():
            total += int(value) * 1024
    return total


def revisions(repo: Repository, branches: Iterable[str], stashes: bool) -> list[str]:
    """What `git log` walks: every ref (branches, tags, remotes, notes, HEAD) but the stash, or the named ones."""
    wanted = list(branches)
    if wanted:
        out = []
        for name in wanted:
            found = git(repo.git_dir, "rev-parse", "-q", "--verify", "--end-of-options", f"{name}^{{commit}}",
                        check=False).strip()
            if not found:
                raise SourceError(f"{repo.shown}: no branch, tag or commit named {name!r}")
            out.append(found.decode())
    else:
        out = ["--exclude=refs/stash", "--all"]
    if stashes:
        listed = git(repo.git_dir, "log", "-g", "--format=%H", "refs/stash", "--", check=False).split()
        out.extend(sorted({s.decode() for s in listed}))
    return out


# -- who introduced what -------------------------------------------------------------------------------------
@dataclass(slots=True)
class BlobIndex:
    """Every reachable blob with the commits and paths that introduced it.

    Compact on purpose (a large repository has millions of blobs): `first` maps a blob id (40 hex bytes) to one
    packed (path id, commit index); a blob seen at more than one path keeps the others in `more`.
    """

    commits: list[bytes] = field(default_factory=list)  # log order: parents before children
    paths: list[str] = field(default_factory=list)
    first: dict[bytes, int] = field(default_factory=dict)
    more: dict[bytes, dict[int, int]] = field(default_factory=dict)  # blob → {path id: packed}, paths after the first
    gitlinks: dict[str, int] = field(default_factory=dict)  # submodule path → commit index of first sight
    excluded: int = 0  # (blob, path) introductions dropped by path excludes
    excluded_blobs: set[bytes] = field(default_factory=set)  # blobs seen only at excluded paths (so far)

    def introductions(self, oid: bytes) -> list[tuple[str, int]]:
        """(path, commit index) for every path the blob was introduced at, earliest commit first."""
        packed = [self.first[oid], *self.more.get(oid, {}).values()]
        out = [(self.paths[p >> 32], p & 0xFFFFFFFF) for p in packed]
        out.sort(key=lambda x: (x[1], x[0]))
        return out

    def primary_path(self, oid: bytes) -> str:
        return self.paths[self.first[oid] >> 32]


def index_history(
    repo: Repository, revs: list[str], *, since: str | None, excluded: Callable[[str], bool]
) -> BlobIndex:
    index = BlobIndex()
    args = ["log", "--reverse", "--date-order", "--raw", "-z", "--no-renames", "--no-abbrev", "--root",
            "--diff-merges=first-parent", "--no-textconv", "--no-ext-diff", "--format=%x01%H"]
    if since:
        args.append(f"--since={since}")
    args.extend(revs)
    args.append("--")
    with tempfile.TemporaryFile() as err:
        with _popen(repo.git_dir, args, stderr=err) as proc:
            assert proc.stdout is not None
            _parse_log(proc.stdout, index, excluded, _HEX_DIGITS[repo.object_format])
        if proc.returncode != 0:
            err.seek(0)
            raise SourceError(f"{repo.shown}: git log failed: {text(err.read()).strip()}")
    return index


def _parse_log(stream: IO[bytes], index: BlobIndex, excluded: Callable[[str], bool], digits: int = 40) -> None:
    commits, paths, first, more, gitlinks = index.commits, index.paths, index.first, index.more, index.gitlinks
    path_ids: dict[bytes, int] = {}
    path_ok: list[bool] = []
    only_excluded = index.excluded_blobs
    commit = -1
    # ":<old mode> <new mode> <old id> <new id> <status>": ids are 40 hex digits (SHA-1) or 64 (SHA-256)
    new_lo, new_hi, null_oid = 16 + digits, 16 + 2 * digits, b"0" * digits
    meta: bytes | None = None
    rest = b""
    while True:
        block = stream.read(_READ)
        if not block:
            break
        tokens = (rest + block).split(b"\0")
        rest = tokens.pop()
        for token in tokens:
            if meta is not None:  # this token is the path of the entry before it
                entry, meta = meta, None
                oid = entry[new_lo:new_hi]
                if oid == null_oid:
                    continue  # deleted
                pid = path_ids.get(token)
                if pid is None:
                    pid = path_ids[token] = len(paths)
                    shown = text(token)
                    paths.append(shown)
                    path_ok.append(not excluded(shown))
                if entry[8:14] == GITLINK:
                    gitlinks.setdefault(paths[pid], commit)
                    continue
                if not path_ok[pid]:
                    index.excluded += 1
                    if oid not in first:
                        only_excluded.add(oid)
                    continue
                packed = (pid << 32) | commit
                seen = first.get(oid)
                if seen is None:
                    first[oid] = packed
                elif seen >> 32 != pid:
                    # (one blob, the empty file say, can sit at thousands of paths: a dict keeps this linear)
                    more.setdefault(oid, {}).setdefault(pid, packed)
                continue
            if token[:1] == b"\n":
                token = token[1:]
            if not token:
                continue
            if token[:1] == b":":
                meta = token
            elif token[:1] == b"\x01":
                commits.append(token[1 : 1 + digits])
                commit = len(commits) - 1
    if only_excluded:
        only_excluded.difference_update(first)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str
    date: str


def authors(repo: Repository, commits: Iterable[bytes]) -> dict[bytes, Author]:
    wanted = sorted(set(commits))
    if not wanted:
        return {}
    out = git(repo.git_dir, "log", "--no-walk=unsorted", "--stdin", "-z", "--format=%H%x01%an%x01%ae%x01%aI",
              stdin=b"\n".join(wanted) + b"\n")
    found = {}
    for record in out.split(b"\0"):
        record = record.strip(b"\n")
        if not record:
            continue
        sha, name, email, date = [*record.split(b"\x01"), b"", b"", b""][:4]
        found[sha] = Author(text(name), text(email), text(date))
    return found


def head_tree(repo: Repository) -> dict[bytes, list[str]]:
    """Blob id → paths in HEAD's tree (submodules left out)."""
    if repo.head is None:
        return {}
    out: dict[bytes, list[str]] = {}
    for entry in git(repo.git_dir, "ls-tree", "-r", "-z", "--full-tree", repo.head).split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            out.setdefault(parts[2], []).append(text(path))
    return out


# -- object sizes in pack order ------------------------------------------------------------------------------
def blob_sizes(repo: Repository) -> dict[bytes, tuple[int, int]]:
    """Blob id → (position in pack order, size), for every blob in the object database."""
    out: dict[bytes, tuple[int, int]] = {}
    for oid, size in listed_blobs(repo):
        out[oid] = (len(out), size)
    return out


def listed_blobs(repo: Repository,
                 tally: Callable[[list[tuple[bytes, int]] | None], None] | None = None) -> Iterator[tuple[bytes, int]]:
    """(blob id, size) for every blob in the object database, in pack order, as git lists them. The listing is
    drained on a thread as fast as git writes it: git then exits at once, instead of holding its pack windows
    for as long as the caller takes to consume the list."""
    parts: queue.SimpleQueue[list[tuple[bytes, int]] | BaseException | None] = queue.SimpleQueue()
    # `tally` sees each part as git lists it, then None at the end: a progress total known long before the scan
    # reaches the end of the list
    threading.Thread(target=_drain_listing, args=(repo, parts, tally), name="nhiguard-listing", daemon=True).start()
    while True:
        part = parts.get()
        if part is None:
            return
        if isinstance(part, BaseException):
            raise part
        yield from part


def _drain_listing(repo: Repository, parts: queue.SimpleQueue[list[tuple[bytes, int]] | BaseException | None],
                   tally: Callable[[list[tuple[bytes, int]] | None], None] | None = None) -> None:
    try:
        with tempfile.TemporaryFile() as err:
            args = [*_BOUNDED_PACK_WINDOWS, "cat-file", "--batch-all-objects", "--unordered",
                    "--batch-check=%(objecttype) %(objectname) %(objectsize)"]
            digits = _HEX_DIGITS[repo.object_format]
            with _popen(repo.git_dir, args, stderr=err) as proc:
                assert proc.stdout is not None
                rest = b""
                while True:
                    block = proc.stdout.read(_READ)
                    if not block:
                        break
                    lines = (rest + block).split(b"\n")
                    rest = lines.pop()
                    part = [(line[5:5 + digits], int(line[6 + digits:])) for line in lines if line[:5] == b"blob "]
                    if tally is not None:
                        tally(part)
                    parts.put(part)
            if proc.returncode != 0:
                err.seek(0)
                raise SourceError(f"{repo.shown}: cannot list objects: {text(err.read()).strip()}")
    except BaseException as exc:  # handed to the consumer, which raises it
        parts.put(exc)
    else:
        if tally is not None:
            tally(None)
        parts.put(None)


def borrows_objects(repo: Repository) -> bool:
    """Whether the object database lists other stores' objects too (alternates: a fork sharing its parent's)."""
    try:
        alternates = Path(repo.objects, "info", "alternates").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(alternates.strip())


# -- reading blobs -------------------------------------------------------------------------------------------
class BlobReader:
    """Blobs from the pack files where this process can rebuild them (`packs.PackStore`: no pipe, no copy
    through the kernel), the others from one long-lived `git cat-file --batch`, started when first needed and
    restarted after an object it cannot read (the object is reported corrupt and reading goes on with the
    next)."""

    def __init__(self, repo: Repository, *, packs: bool = True) -> None:
        self.repo = repo
        self.git_dir = repo.git_dir
        self._packs: PackStore | None = None
        self._packs_wanted = packs
        self._proc: subprocess.Popen[bytes] | None = None
        self._err: IO[bytes] | None = None
        self._err_seen = 0
        self._suspects: set[bytes] = set()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            self._err = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the git process
            self._err_seen = 0
            # --batch-command --buffer (git >= 2.36) answers a whole group with a few large writes, instead of
            # flushing after every object; "flush" ends a group.
            # Bounded pack windows keep each reader's resident size small whatever the repository's size.
            args = [*_BOUNDED_PACK_WINDOWS, "cat-file"]
            args += ["--batch-command", "--buffer"] if _batch_command() else ["--batch"]
            self._proc = _popen(self.git_dir, args, stdin=True, stderr=self._err)
            _widen_pipe(self._proc)
        return self._proc

    def _last_error(self) -> str:
        if self._err is None:
            return ""
        self._err.seek(0)
        lines = text(self._err.read()).strip().splitlines()
        return lines[-1].removeprefix("fatal: ").removeprefix("error: ") if lines else ""

    def _errors_about(self, oid: bytes) -> str:
        if self._err is None:
            return ""
        self._err.seek(self._err_seen)
        new = self._err.read()
        self._err_seen += len(new)
        lines = [line.removeprefix("error: ") for line in text(new).splitlines()]
        if not any(oid.decode() in line for line in lines):
            return ""
        return "; ".join(lines[-3:])

    def _restart(self, graceful: bool = False) -> None:
        if self._proc is not None:
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            try:  # at end of input git exits by itself; a stuck or dead one is killed
                self._proc.wait(timeout=5 if graceful else 0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._err is not None:
            self._err.close()
        self._proc = self._err = None

    def close(self) -> None:
        self._restart(graceful=True)
        if self._packs is not None:
            self._packs.close()
            self._packs = None

    def _open_packs(self) -> PackStore | None:
        if self._packs_wanted:
            self._packs_wanted = False  # (once: opened in the process that reads, after any fork)
            self._packs = PackStore.open(Path(self.repo.objects), self.repo.object_format)
        return self._packs

    def read(self, oids: list[bytes]) -> Iterator[tuple[bytes, int, bytes | str]]:
        """(id, CLEAN, content) for each blob read, else (id, MISSING | CORRUPT, reason); each id once, those
        found in the packs first, the others in the order asked."""
        packs = self._open_packs()
        if packs is not None:
            rest = []
            for oid in oids:
                data = packs.blob(oid)
                if data is None:
                    rest.append(oid)
                else:
                    yield oid, CLEAN, data
            oids = rest
        at = 0
        while at < len(oids):
            group = oids[at : at + _GROUP]
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                if _batch_command():
                    proc.stdin.write(b"".join([b"contents " + oid + b"\n" for oid in group]) + b"flush\n")
                else:
                    proc.stdin.write(b"\n".join(group) + b"\n")
                proc.stdin.flush()
            except BrokenPipeError:
                pass
            done = 0
            for oid in group:
                header = proc.stdout.readline()
                if not header.endswith(b"\n"):
                    break
                parts = header.split()
                if len(parts) == 2 and parts[1] == b"missing":
                    damage = self._errors_about(oid)  # git says "missing" for an object it cannot inflate too
                    yield (oid, CORRUPT, damage) if damage else (oid, MISSING, "missing from the object database")
                    done += 1
                    continue
                if len(parts) != 3:
                    break
                size = int(parts[2])
                data = proc.stdout.read(size)
                if len(data) != size or proc.stdout.read(1) != b"\n":
                    break
                done += 1
                if parts[1] != b"blob":
                    yield oid, CORRUPT, f"expected a blob, found a {text(parts[1])}"
                    continue
                yield oid, CLEAN, data
            if done < len(group):  # git stopped at group[done]: blame it if git named it or failed on it twice
                proc.wait()
                reason = self._last_error() or "unreadable"
                self._restart()
                suspect = group[done]
                if suspect.decode() in reason or suspect in self._suspects:
                    yield suspect, CORRUPT, reason
                    done += 1
                else:
                    self._suspects.add(suspect)
            at += done


@functools.cache
def _batch_command() -> bool:
    """Whether this git has `cat-file --batch-command` (2.36 and later)."""
    try:
        out = subprocess.run(["git", "version"], capture_output=True, env=_env(), check=False).stdout
    except FileNotFoundError:
        return False
    found = re.search(rb"(\d+)\.(\d+)", out)
    return bool(found) and (int(found.group(1)), int(found.group(2))) >= (2, 36)  # type: ignore[union-attr]


def _widen_pipe(proc: subprocess.Popen[bytes]) -> None:
    """A 1 MiB pipe instead of 64 KiB: git runs further ahead of the reader, with fewer context switches."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    if proc.stdout is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
