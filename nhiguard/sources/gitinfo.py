"""Small facts about a repository for governance: where it is, when its newest commit was made, who committed
recently. Read-only `git` calls; a folder that is not a repository yields empty facts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RepoFacts:
    root: Path
    is_git: bool
    head_date: str | None = None
    recent_emails: tuple[str, ...] = ()


# The objects as they are stored: a pushed refs/replace/<commit> ref, or .git/info/grafts, would otherwise show git
# (and so every reader of history, staged changes or a range) another history than the one that holds a secret.
UNREWRITTEN = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_GRAFT_FILE": os.devnull}


def _git(root: Path, *args: str, extra_env: Mapping[str, str] | None = None) -> str | None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **UNREWRITTEN, **(extra_env or {})}
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, env=env, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip()


def toplevel(path: Path) -> Path | None:
    start = path if path.is_dir() else path.parent
    top = _git(start, "rev-parse", "--show-toplevel")
    return Path(top) if top else None


def facts(path: Path, recent_days: int = 180) -> RepoFacts:
    """The repository's newest commit date (all refs) and the emails of everyone who authored or committed in
    the `recent_days` before it (measured from the newest commit, so an archived repository is judged as of its
    last activity, and results do not depend on today's date)."""
    top = toplevel(path)
    if top is None:
        return RepoFacts(path.resolve(), False)
    head = _git(top, "log", "-1", "--all", "--format=%cI")
    if not head:
        return RepoFacts(top, True)
    since = datetime.fromisoformat(head) - timedelta(days=recent_days)
    log = _git(top, "log", "--all", f"--since={since.isoformat()}", "--format=%ae%n%ce") or ""
    emails = tuple(sorted({line.strip().lower() for line in log.splitlines() if line.strip()}))
    return RepoFacts(top, True, head, emails)


def ref_tips(path: Path) -> dict[str, str]:
    """Every branch, tag and remote-tracking ref (not `*/HEAD`) → the commit it points at."""
    out = _git(path, "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)",
               "refs/heads", "refs/tags", "refs/remotes") or ""
    tips = {}
    for line in out.splitlines():
        name, _, rest = line.partition(" ")
        if name.endswith("/HEAD"):
            continue
        direct, _, peeled = rest.partition(" ")
        tips[name] = peeled.strip() or direct.strip()
    return tips


def has_commit(path: Path, sha: str) -> bool:
    """Whether the commit is still in the object database (a force-push and gc may have dropped it)."""
    return _git(path, "cat-file", "-e", f"{sha}^{{commit}}") is not None


def clone_or_fetch(url: str, dest: Path, extra_env: Mapping[str, str] | None = None) -> Path:
    """Clone `url` into `dest`, or fetch into the clone already there. Returns `dest`. `extra_env`: git settings
    for this clone only (a forge token as GIT_CONFIG_* variables)."""
    from nhiguard.errors import SourceError

    dest = dest.absolute()  # git runs in dest's parent: a relative dest would be taken relative to it again
    if (dest / ".git").exists():
        if _git(dest, "fetch", "--prune", "--tags", "--quiet", "origin", extra_env=extra_env) is None:
            raise SourceError(f"{url}: git fetch failed")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _git(dest.parent, "clone", "--quiet", "--no-tags", "--", url, str(dest), extra_env=extra_env) is None:
        raise SourceError(f"{url}: git clone failed")
    _git(dest, "fetch", "--tags", "--quiet", "origin", extra_env=extra_env)
    return dest


def remote_url(root: Path) -> str | None:
    """The repository's `origin` (else its first remote) as a browsable https URL without credentials, or None."""
    url = _git(root, "config", "--get", "remote.origin.url")
    if not url:
        names = (_git(root, "remote") or "").split()
        url = _git(root, "config", "--get", f"remote.{names[0]}.url") if names else None
    return web_url(url) if url else None


def web_url(url: str) -> str | None:
    """`git@github.com:acme/app.git`, `ssh://git@host/acme/app`, `https://user:token@host/acme/app.git` →
    `https://host/acme/app`; None for local paths and other schemes."""
    import re
    import urllib.parse

    url = url.strip()
    scp = re.fullmatch(r"(?:[\w.-]+@)?([\w.-]+\.[a-z]{2,}):(?!//)(.+)", url)
    if scp:
        host, path = scp.group(1), scp.group(2)
    else:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http", "ssh", "git") or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path
        if parts.scheme in ("https", "http") and parts.port and parts.port not in (80, 443):
            host = f"{host}:{parts.port}"
    path = path.strip("/").removesuffix(".git")
    if not path or any(c in path for c in "\"'<> "):
        return None
    if host.startswith("ssh.dev.azure.com"):  # git@ssh.dev.azure.com:v3/org/project/repo
        bits = path.split("/")
        if len(bits) == 4 and bits[0] == "v3":
            return f"https://dev.azure.com/{bits[1]}/{bits[2]}/_git/{bits[3]}"
    return f"https://{host.lower()}/{path}"


def current_user(root: Path) -> str:
    """Who acts (a triage decision, a remediation): git's user.email, else user.name, else the login name."""
    for key in ("user.email", "user.name"):
        value = _git(root, "config", key)
        if value:
            return value
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def read_at(root: Path, commit: str, path: str, max_size: int = 64 << 20) -> bytes | None:
    """The file at `path` as `commit` recorded it (None when the repository, commit or path is not there), so a
    finding from history can be checked long after the working tree changed."""
    if not commit or commit.startswith("-") or not path:
        return None
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **UNREWRITTEN}
    spec = f"{commit}:{path.lstrip('/')}"
    try:
        size = subprocess.run(["git", "-C", str(root), "cat-file", "-s", spec], capture_output=True, env=env,
                              check=False, timeout=60)
        if size.returncode != 0 or int(size.stdout.strip() or b"0") > max_size:
            return None
        done = subprocess.run(["git", "-C", str(root), "cat-file", "blob", spec], capture_output=True, env=env,
                              check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return done.stdout if done.returncode == 0 else None
