"""Git diffs as Chunks: the lines a change adds, with their new line numbers.

Two producers share one streaming parser of `git diff`/`git log -p` output:

* `staged(repo)`: what `git commit` would add (`git diff --cached`), Origin kind "staged".
* `commits(repo, revs)`: every commit in a revision range, oldest first (`git log -p --reverse`), each added line
  attributed to the commit, author, e-mail and author date that added it, Origin kind "commit".

Only added lines are scanned. Deleted files, mode-only changes and pure renames add nothing. Renamed files are
reported under their new path. Diffs git calls binary are re-read from the object database: content that
`text.prepare` can turn into text (UTF-16, or text marked `-diff`/`binary` in .gitattributes) is compared line by
line; real binary content is skipped with a Notice, as are submodules.

Merge commits are read as combined diffs (`-c`): a line counts as added by a merge only when it is new relative to
*every* parent, i.e. conflict resolutions and "evil merge" edits. Lines a merge merely brings over from one side
were already attributed to the commit on that side that added them, so they are not scanned (or reported) twice.

Plain `git` subprocesses (argument lists, never a shell) read the repository: they start in milliseconds, which
keeps a pre-commit hook fast, and stream, so a large range never sits in memory. Paths are read as bytes with
`core.quotepath=off`; names git still C-quotes are unquoted, and bytes that are not UTF-8 are shown as `\\xNN`.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nhiguard import filekinds
from nhiguard.config import ArchiveLimits
from nhiguard.errors import SourceError
from nhiguard.model import Chunk, Notice, Origin
from nhiguard.sources import archives
from nhiguard.sources.files import OVERLAP, WINDOW
from nhiguard.sources.gitinfo import UNREWRITTEN
from nhiguard.sources.text import prepare

ZERO_OID = "0" * 40
_ZERO_BYTES = frozenset(b"0")

# Settings that would change the shape of the output are pinned, whatever the user's or repository's config says.
_CONFIG = (
    "core.quotepath=off",
    "diff.noprefix=false",
    "diff.mnemonicprefix=false",
    "diff.relative=false",
    "diff.suppressBlankEmpty=false",
    "log.showroot=true",
    "log.showsignature=false",
    "color.ui=never",
)
_DIFF_OPTS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--unified=0",
    "--full-index",
    "--find-renames",
    "--submodule=short",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
# A commit header in `git log` output: NUL, then NUL-separated fields. No diff line starts with a NUL.
_FORMAT = "--format=%x00%H%x00%P%x00%an%x00%ae%x00%aI"
_HUNK = re.compile(rb"^@@+ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@")
_SUBMODULE_MODE = b"160000"
_SUBMODULE = "submodule: not scanned here (scan it in its own repository)"
_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13,
            ord('"'): 34, ord("\\"): 92}


@dataclass(frozen=True, slots=True)
class Repo:
    """A repository as git sees it from `path`: `root` is the work tree (None for a bare repository)."""

    path: Path
    git_dir: Path
    root: Path | None

    @property
    def top(self) -> Path:
        """Where configuration is looked up: the work tree, else the git directory."""
        return self.root or self.git_dir


@dataclass(frozen=True, slots=True)
class Revisions:
    """What `git log` should walk: `include` minus everything reachable from `exclude`."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    label: str = ""
    notices: tuple[Notice, ...] = ()


# -- running git ------------------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("GIT_DIFF_OPTS", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "PAGER"):
        env.pop(name, None)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(UNREWRITTEN)
    return env


def _argv(*args: str) -> list[str]:
    argv = ["git", "--no-pager"]
    for item in _CONFIG:
        argv += ["-c", item]
    argv += args
    return argv


def _run(repo_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(_argv(*args), cwd=repo_path, capture_output=True, env=_env(), check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed or not on PATH") from None
    except NotADirectoryError:
        raise SourceError(f"{repo_path}: not a folder") from None
    if check and done.returncode != 0:
        raise SourceError(_git_message(done.stderr, args))
    return done


def _git_message(stderr: bytes, args: Sequence[str]) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    lines = [line.removeprefix("fatal: ").removeprefix("error: ") for line in text.splitlines() if line.strip()]
    detail = lines[0] if lines else "failed"
    return f"git {args[0]}: {detail}"


def open_repo(path: Path) -> Repo:
    """The repository containing `path`; SourceError when there is none."""
    if not path.exists():
        raise SourceError(f"{path}: no such folder")
    if not path.is_dir():
        raise SourceError(f"{path}: not a folder")
    done = _run(path, "rev-parse", "--absolute-git-dir", "--is-inside-work-tree", "--show-cdup", check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace")
        if "not a git repository" in message:
            raise SourceError(f"{path}: not a git repository")
        raise SourceError(f"{path}: {_git_message(done.stderr, ['rev-parse'])}")
    out = done.stdout.decode("utf-8", "surrogateescape").split("\n")
    git_dir = Path(out[0])
    root = (path / out[2]).resolve() if len(out) > 2 and out[1] == "true" else None
    return Repo(path=path, git_dir=git_dir, root=root)


def resolve(repo: Repo, rev: str, *, what: str = "revision") -> str:
    """The full commit id that `rev` names; SourceError (with a hint for shallow clones) when there is none."""
    if not rev or rev.startswith("-"):
        raise SourceError(f"{what} {rev!r}: not a revision")
    done = _run(repo.path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if done.returncode != 0:
        hint = ""
        shallow = _run(repo.path, "rev-parse", "--is-shallow-repository", check=False)
        if shallow.stdout.strip() == b"true":
            hint = " (this is a shallow clone: fetch more history, e.g. `git fetch --unshallow` or fetch-depth: 0)"
        elif not _run(repo.path, "rev-list", "-n1", "--all", check=False).stdout.strip():
            hint = " (the repository has no commits yet)"
        raise SourceError(f"{what} {rev!r}: unknown revision or not a commit{hint}")
    return done.stdout.decode("ascii").strip()


def is_zero(rev: str | None) -> bool:
    """A missing base: empty, or the all-zero id git and CI systems use for 'no commit' (a new branch)."""
    return not rev or (len(rev) >= 7 and set(rev.encode()) <= _ZERO_BYTES)


def _refs_without(repo: Repo, commit: str, pattern: str) -> list[str]:
    done = _run(repo.path, "for-each-ref", "--format=%(refname)", f"--no-contains={commit}", pattern)
    return [line for line in done.stdout.decode("utf-8", "surrogateescape").splitlines() if line]


def new_branch(repo: Repo, head: str, *, remote: str | None = None, label: str = "") -> Revisions:
    """Commits of a branch that has no base yet: those of `head` not reachable from any remote-tracking ref (of
    `remote`, when given); with no remote-tracking refs (and no `remote`), those not on any other local branch.
    Refs that already contain `head` are not used, since they would exclude everything. The Notice says which."""
    sha = resolve(repo, head)
    shown = label or head
    if remote is not None:
        sources = [("remote-tracking ref", f"refs/remotes/{remote}/")]
    else:
        sources = [("remote-tracking ref", "refs/remotes/"), ("other local branch", "refs/heads/")]
    for kind, pattern in sources:
        refs = [r for r in _refs_without(repo, sha, pattern) if not r.endswith("/HEAD")]
        if refs:
            names = ", ".join(r.removeprefix("refs/remotes/").removeprefix("refs/heads/") for r in refs[:5])
            more = f" and {len(refs) - 5} more" if len(refs) > 5 else ""
            notice = Notice(shown, f"no base commit (new branch): scanned the commits not on any {kind} "
                                   f"({names}{more})")
            return Revisions(include=(sha,), exclude=tuple(refs), label=shown, notices=(notice,))
    where = f"remote-tracking ref of {remote!r}" if remote is not None else "remote-tracking ref or other branch"
    notice = Notice(shown, f"no base commit (new branch) and no {where} to compare with: scanned every commit "
                           f"reachable from {head}")
    return Revisions(include=(sha,), label=shown, notices=(notice,))


def parse_range(repo: Repo, spec: str) -> Revisions:
    """`BASE..HEAD` (HEAD defaults to HEAD; an empty or all-zero BASE means a new branch) or a single BASE
    meaning BASE..HEAD."""
    if "..." in spec:
        raise SourceError(f"range {spec!r}: use BASE..HEAD (the commits on HEAD that BASE lacks), not '...'")
    base, sep, head = spec.partition("..")
    if not sep:
        base, head = spec, ""
    head = head or "HEAD"
    if is_zero(base):
        return new_branch(repo, head, label=spec)
    base_sha = resolve(repo, base, what="range base")
    head_sha = resolve(repo, head, what="range head")
    return Revisions(include=(head_sha,), exclude=(base_sha,), label=spec)


# -- the stream parser -------------------------------------------------------------------------------------------
def _unquote(raw: bytes) -> bytes:
    """A path as git prints it: C-quoted ("a\\tb", octal escapes) when it holds special bytes, else verbatim."""
    if len(raw) < 2 or not raw.startswith(b'"') or not raw.endswith(b'"'):
        return raw
    body = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != 0x5C or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if 0x30 <= nxt <= 0x37:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return bytes(out)


def _strip_prefix(path: bytes) -> bytes:
    return path[2:] if path[:2] in (b"a/", b"b/") else path


def show_path(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def _header_path(rest: bytes) -> bytes | None:
    """The path of `diff --git a/P b/P` when both sides name the same file (no rename): the two halves, quoted or
    not, are then the same length."""
    if len(rest) % 2 == 0:
        return None
    half = len(rest) // 2
    if rest[half] != 0x20:
        return None
    left, right = _unquote(rest[:half]), _unquote(rest[half + 1 :])
    if left.startswith(b"a/") and right.startswith(b"b/") and left[2:] == right[2:]:
        return left[2:]
    return None


@dataclass(slots=True)
class _File:
    parents: int = 1
    path: bytes | None = None
    deleted: bool = False
    binary: bool = False
    submodule: bool = False
    old_oids: tuple[str, ...] = ()
    new_oid: str = ""
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    size: int = 0
    oversize: bool = False
    pending: int = 0  # bytes in `lines`: past WINDOW they are scanned and all but the last OVERLAP bytes let go
    whole: bytes | None = None
    whole_read: bool = False


class _Blobs:
    """Blob reads for the rare diffs git calls binary: `git cat-file --batch-check` for sizes and `--batch` for
    contents, each started on first use and kept for the rest of the run."""

    def __init__(self, repo_path: Path) -> None:
        self.repo_path = repo_path
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _ask(self, mode: str, oid: str) -> tuple[subprocess.Popen[bytes], list[bytes]]:
        proc = self._procs.get(mode)
        if proc is None:
            proc = self._procs[mode] = subprocess.Popen(
                _argv("cat-file", mode), cwd=self.repo_path, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(),
            )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(oid.encode("ascii", "replace") + b"\n")
        proc.stdin.flush()
        return proc, proc.stdout.readline().split()

    def size(self, oid: str) -> int | None:
        _, header = self._ask("--batch-check", oid)
        return int(header[2]) if len(header) == 3 and header[1] == b"blob" else None

    def read(self, oid: str) -> bytes | None:
        proc, header = self._ask("--batch", oid)
        if len(header) != 3:
            return None
        assert proc.stdout is not None
        return proc.stdout.read(int(header[2]) + 1)[:-1]

    def close(self) -> None:
        for proc in self._procs.values():
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            proc.stdout.close()
            proc.wait()
        self._procs.clear()


@dataclass(slots=True)
class _Parser:
    repo_path: Path
    max_size: int
    kind: str
    origin_fields: dict[str, str | None] = field(default_factory=dict)
    blobs: _Blobs | None = None
    archives: ArchiveLimits | None = None

    def origin(self, path: bytes) -> Origin:
        f = self.origin_fields
        return Origin(path=show_path(path), commit=f.get("commit"), author=f.get("author"),
                      email=f.get("email"), date=f.get("date"), kind=self.kind)

    def parse(self, stream: IO[bytes]) -> Iterator[Chunk | Notice]:
        current: _File | None = None
        in_hunk = False
        line_no = 0
        for raw in stream:
            if in_hunk and current is not None:
                if current.parents == 1:
                    lead = raw[:1]
                    if lead == b"+":
                        self._add(current, raw[1:], line_no)
                        line_no += 1
                        if current.pending > WINDOW:
                            yield from self._window(current)
                        continue
                    if lead == b"-" or lead == b"\\":
                        continue
                    if lead == b" ":
                        line_no += 1
                        continue
                else:
                    lead = raw[: current.parents]
                    if len(lead) == current.parents and not lead.strip(b"+- "):
                        if b"-" not in lead:
                            if lead.count(b"+") == current.parents:
                                self._add(current, raw[current.parents :], line_no)
                                if current.pending > WINDOW:
                                    yield from self._window(current)
                            line_no += 1
                        continue
                    if raw[:1] == b"\\":
                        continue
                in_hunk = False
            if raw.startswith(b"\x00"):
                if current is not None:
                    yield from self._finish(current)
                    current = None
                fields = raw[1:].rstrip(b"\n").split(b"\x00")
                if len(fields) >= 5:
                    decoded = [x.decode("utf-8", "replace") for x in fields]
                    self.origin_fields = {"commit": decoded[0], "author": decoded[2], "email": decoded[3],
                                          "date": decoded[4]}
                continue
            if raw.startswith(b"diff --git "):
                if current is not None:
                    yield from self._finish(current)
                current = _File(path=_header_path(raw[11:].rstrip(b"\n")))
                continue
            if raw.startswith((b"diff --combined ", b"diff --cc ")):
                if current is not None:
                    yield from self._finish(current)
                rest = raw.split(b" ", 2)[2].rstrip(b"\n")
                current = _File(parents=2, path=_unquote(rest))
                continue
            if current is None:
                continue
            if raw.startswith(b"@@"):
                m = _HUNK.match(raw)
                if m is not None:
                    current.parents = raw.index(b" ") - 1
                    line_no = int(m.group(1))
                    in_hunk = True
                continue
            self._header_line(current, raw.rstrip(b"\n"))
        if current is not None:
            yield from self._finish(current)

    def _header_line(self, current: _File, line: bytes) -> None:
        if line.startswith(b"+++ "):
            target = line[4:]
            if target == b"/dev/null":
                current.deleted = True
            else:
                if target.endswith(b"\t"):
                    target = target[:-1]  # git adds a tab after names with spaces (a real tab is quoted)
                current.path = _strip_prefix(_unquote(target))
        elif line.startswith((b"rename to ", b"copy to ")):
            current.path = _unquote(line.split(b" ", 2)[2])
        elif line.startswith(b"deleted file mode"):
            current.deleted = True
        elif line.startswith(b"new file mode "):
            current.submodule = current.submodule or line.endswith(_SUBMODULE_MODE)
        elif line.startswith(b"index "):
            parts = line.split(b" ")
            olds, _, new = parts[1].partition(b"..")
            current.old_oids = tuple(o.decode("ascii", "replace") for o in olds.split(b","))
            current.new_oid = new.decode("ascii", "replace")
            if len(parts) > 2 and parts[2].endswith(_SUBMODULE_MODE):
                current.submodule = True
        elif line.startswith(b"mode ") and line.endswith(_SUBMODULE_MODE):
            current.submodule = True
        elif line.startswith(b"Binary files ") or line == b"GIT binary patch":
            current.binary = True

    def _add(self, current: _File, content: bytes, line_no: int) -> None:
        if current.oversize or current.submodule or current.deleted:
            return
        current.size += len(content)
        if current.size > self.max_size:
            current.oversize = True
            current.lines.clear()
            current.numbers.clear()
            return
        current.lines.append(content)
        current.numbers.append(line_no)
        current.pending += len(content)

    def _window(self, current: _File) -> Iterator[Chunk]:
        """The added lines so far, scanned now; the last OVERLAP bytes of them are kept for the next window, so
        memory is bounded by the window whatever the size of the change (a match across the seam is found whole
        in one of the two, and the same location twice is one location)."""
        if current.deleted or current.submodule or current.binary or current.path is None:
            return
        yield Chunk(data=b"".join(current.lines), origin=self.origin(current.path),
                    line_map=tuple(current.numbers), whole=self._whole(current))
        kept, size = 0, 0
        while kept < len(current.lines) and size < OVERLAP:
            kept += 1
            size += len(current.lines[-kept])
        del current.lines[:-kept], current.numbers[:-kept]
        current.pending = size

    def _finish(self, current: _File) -> Iterator[Chunk | Notice]:
        if current.deleted or current.path is None:
            return
        if current.submodule:
            yield Notice(show_path(current.path), _SUBMODULE)
            return
        if current.oversize:
            yield Notice(show_path(current.path), f"added lines larger than the size limit (> {self.max_size} bytes)",
                         incomplete=True)
            return
        if current.binary:
            yield from self._binary(current)
            return
        if current.lines:
            # git has judged this text; the bytes are scanned as they are, so line_map stays exact.
            yield Chunk(data=b"".join(current.lines), origin=self.origin(current.path),
                        line_map=tuple(current.numbers), whole=self._whole(current))

    def _whole(self, current: _File) -> bytes | None:
        """The whole new file, when a file-kind detector reads this path (it parses the file, then reports the
        fields on added lines only); read once a file."""
        if current.whole_read:
            return current.whole
        current.whole_read = True
        current.whole = self._read_whole(current)
        return current.whole

    def _read_whole(self, current: _File) -> bytes | None:
        if not current.new_oid or is_zero(current.new_oid) or current.path is None \
                or not filekinds.claimed(show_path(current.path)):
            return None
        if self.blobs is None:
            self.blobs = _Blobs(self.repo_path)
        size = self.blobs.size(current.new_oid)
        if size is None or size > self.max_size:
            return None
        return prepare(self.blobs.read(current.new_oid) or b"")

    def _binary(self, current: _File) -> Iterator[Chunk | Notice]:
        """git calls it binary; scan it anyway if it is text in another encoding or marked binary by attributes."""
        assert current.path is not None
        shown = show_path(current.path)
        if not current.new_oid or is_zero(current.new_oid):
            yield Notice(shown, "binary")
            return
        if self.blobs is None:
            self.blobs = _Blobs(self.repo_path)
        size = self.blobs.size(current.new_oid)
        if size is None:
            yield Notice(shown, "binary (blob not readable)", incomplete=True)
            return
        if size > self.max_size:
            yield Notice(shown, f"binary, larger than the size limit ({size} > {self.max_size} bytes)", incomplete=True)
            return
        raw = self.blobs.read(current.new_oid) or b""
        if self.archives is not None and archives.kind(raw) is not None:
            # an archive has no lines to add: every member of the new version is scanned
            yield from archives.chunks(raw, self.origin(current.path), self.archives, self.max_size)
            return
        new = prepare(raw)
        if new is None:
            yield Notice(shown, "binary")
            return
        import difflib  # only for these rare diffs: kept off the start-up path

        new_lines = new.splitlines(keepends=True)
        added: set[int] | None = None
        for oid in current.old_oids or (ZERO_OID,):
            mine = set(range(len(new_lines)))
            if not is_zero(oid):
                old_size = self.blobs.size(oid)
                readable = old_size is not None and old_size <= self.max_size
                old = prepare(self.blobs.read(oid) or b"") if readable else None
                if old is not None:
                    matcher = difflib.SequenceMatcher(None, old.splitlines(keepends=True), new_lines)
                    mine = {j for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("insert", "replace")
                            for j in range(j1, j2)}
            added = mine if added is None else added & mine
        keep = sorted(added or ())
        if keep:
            yield Chunk(data=b"".join(new_lines[j] for j in keep), origin=self.origin(current.path),
                        line_map=tuple(j + 1 for j in keep))


def _stream(repo: Repo, args: Sequence[str], parser: _Parser, stdin: bytes | None = None) -> Iterator[Chunk | Notice]:
    try:
        proc = subprocess.Popen(
            _argv(*args), cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise SourceError("git is not installed or not on PATH") from None
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[bytes] = []
    # stderr is drained on the side, so a chatty git can never block on a full pipe while we read stdout.
    drain = threading.Thread(target=lambda pipe=proc.stderr: errors.append(pipe.read()), daemon=True)
    drain.start()
    try:
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        yield from parser.parse(proc.stdout)
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        drain.join()
        proc.stdout.close()
        proc.stderr.close()
        if parser.blobs is not None:
            parser.blobs.close()
    if code != 0:
        raise SourceError(_git_message(b"".join(errors), args))


def staged(repo: Repo, *, max_size: int, archive_limits: ArchiveLimits | None = None) -> Iterator[Chunk | Notice]:
    """The lines `git commit` would add: the index against HEAD (or against nothing, before the first commit).
    Honours GIT_INDEX_FILE, so `git commit -a` and `git commit PATH` hooks see the index being committed. While
    a merge is being concluded this is everything that differs from HEAD, including the merged branch's lines:
    the safe superset (a range scan of the merge commit itself counts only what it adds against every parent)."""
    if repo.root is None:
        raise SourceError(f"{repo.path}: a bare repository has no staged changes")
    parser = _Parser(repo.path, max_size, "staged", archives=archive_limits)
    yield from _stream(repo, ["diff", "--cached", *_DIFF_OPTS], parser)


def commits(repo: Repo, revisions: Revisions, *, max_size: int,
            archive_limits: ArchiveLimits | None = None) -> Iterator[Chunk | Notice]:
    """The lines each commit in `revisions` adds, oldest commit first, attributed to that commit. The caller
    reports `revisions.notices` (what the walk left out and why)."""
    parser = _Parser(repo.path, max_size, "commit", archives=archive_limits)
    walk = "\n".join([*revisions.include, *(f"^{r}" for r in revisions.exclude)]) + "\n"
    args = ["log", "--reverse", "-c", "--encoding=UTF-8", _FORMAT, *_DIFF_OPTS, "--stdin", "--end-of-options"]
    yield from _stream(repo, args, parser, stdin=walk.encode("utf-8", "surrogateescape"))
