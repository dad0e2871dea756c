"""Links from a repository's remote to a file at a commit and line, for the forges people use: GitHub (and
GitHub Enterprise), GitLab (and self-managed), Bitbucket, Azure DevOps. Pure."""

from __future__ import annotations

import urllib.parse


def file_link(remote: str | None, commit: str | None, path: str, line: int) -> str | None:
    """The page showing `path` at `commit` (at the line), or None when the remote or the commit is not known.
    A link to a branch would drift; only commits make a stable answer to "where was it"."""
    if not remote or not commit or not remote.startswith("https://"):
        return None
    quoted = urllib.parse.quote(path.lstrip("/"))
    host = urllib.parse.urlsplit(remote).hostname or ""
    if host == "dev.azure.com" or host.endswith(".visualstudio.com"):
        return (f"{remote}?path=/{quoted}&version=GC{commit}&line={line}&lineEnd={line}"
                f"&lineStartColumn=1&lineEndColumn=1000")
    if host == "bitbucket.org" or host.startswith("bitbucket."):
        return f"{remote}/src/{commit}/{quoted}#lines-{line}"
    if host == "gitlab.com" or host.startswith("gitlab."):
        return f"{remote}/-/blob/{commit}/{quoted}#L{line}"
    # GitHub, GitHub Enterprise and most other forges (Gitea, Forgejo use /src/commit/; GitHub's form is the
    # commonest, and a forge we cannot tell apart gets it)
    return f"{remote}/blob/{commit}/{quoted}#L{line}"
