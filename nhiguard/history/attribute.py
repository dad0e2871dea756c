"""After the scan: findings attributed to the commits that introduced them (and to HEAD, where they still are),
and the notices of what the sweep did not read."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nhiguard import filekinds
from nhiguard.engine import Engine
from nhiguard.engine.filters import is_lockfile, path_matches
from nhiguard.model import Chunk, Match, Notice, Origin, Report, Rule
from nhiguard.scan import Collector
from nhiguard.sources import gitobjects as git
from nhiguard.sources.text import prepare


# -- attribution ----------------------------------------------------------------------------------------------
def _rule_off(rule: Rule, path: str) -> bool:
    return (bool(rule.allow.paths and path_matches(path, rule.allow.paths)) or (rule.generic and is_lockfile(path))
            or (rule.source == "filekind" and not filekinds.claimed(path)))


def attribute(
    repo: git.Repository,
    index: git.BlobIndex,
    outcomes: dict[bytes, tuple[int, list[Match], str]],
    collector: Collector,
    engine: Engine,
    excluded: Callable[[str], bool],
) -> None:
    """Each (rule, secret, path) once, at the earliest commit that introduced a blob holding it there."""
    earliest: dict[tuple[str, str, str], tuple[int, Match]] = {}
    rules = collector.rules
    matched = [(oid, matches) for oid, (status, matches, _) in outcomes.items() if matches]
    for oid, matches in matched:
        for path, commit in index.introductions(oid):
            for match in matches:
                if path != index.primary_path(oid) and _rule_off(rules[match.rule_id], path):
                    continue
                key = (match.rule_id, match.secret, path)
                seen = earliest.get(key)
                if seen is None or commit < seen[0] or (commit == seen[0] and _before(match, seen[1])):
                    earliest[key] = (commit, match)
    people = git.authors(repo, {index.commits[c] for c, _ in earliest.values()})
    for (_, _, path), (commit, match) in sorted(earliest.items(), key=lambda kv: (kv[1][0], kv[0])):
        sha = index.commits[commit]
        who = people.get(sha)
        origin = Origin(path=path, commit=sha.decode(), author=who.name if who else None,
                        email=who.email if who else None, date=who.date if who else None, kind="history")
        collector.add(origin, match)
    _at_head(repo, matched, index, excluded, collector, engine)


def _before(a: Match, b: Match) -> bool:
    return (a.line, a.column) < (b.line, b.column)


def _at_head(
    repo: git.Repository,
    matched: list[tuple[bytes, list[Match]]],
    index: git.BlobIndex,
    excluded: Callable[[str], bool],
    collector: Collector,
    engine: Engine,
) -> None:
    """A "head" location wherever a found secret is still in HEAD's tree. HEAD's blobs that the sweep did not
    scan (other branches chosen, --since) are scanned now, for the secrets already found only."""
    if repo.head is None or not matched:
        return
    tree = git.head_tree(repo)
    scanned = dict(matched)
    keys = set(collector.findings)
    head = repo.head
    for oid, matches in scanned.items():
        for path in tree.get(oid, ()):
            if excluded(path):
                continue
            for match in matches:
                if not _rule_off(collector.rules[match.rule_id], path):
                    collector.add(Origin(path=path, commit=head, kind="head"), match)
    # HEAD blobs outside the swept set: only when the sweep did not cover HEAD
    unseen = [oid for oid in tree if oid not in index.first and oid not in index.excluded_blobs]
    if not unseen or not keys:
        return
    reader = git.BlobReader(repo)
    try:
        wanted_secrets = {secret for _, secret in keys}
        for oid, status, payload in reader.read(unseen):
            if status != git.CLEAN or isinstance(payload, str):
                continue
            if not any(s.encode("utf-8", "surrogatepass") in payload for s in wanted_secrets):
                continue
            data = prepare(payload)
            if data is None:
                continue
            for path in tree[oid]:
                if excluded(path):
                    continue
                for match in engine.scan(Chunk(data=data, origin=Origin(path=path, kind="head"))):
                    if (match.rule_id, match.secret) in keys and not _rule_off(collector.rules[match.rule_id], path):
                        collector.add(Origin(path=path, commit=head, kind="head"), match)
    finally:
        reader.close()


# -- notices --------------------------------------------------------------------------------------------------
def notices(repo: git.Repository, index: git.BlobIndex, report: Report, branches: Sequence[str], since: str | None
            ) -> None:
    """What the sweep could not or would not read, said once for the repository: a shallow boundary, submodules,
    refs that are not commits, blobs seen only at excluded paths, nothing to scan."""
    if repo.shallow:
        # The history asked for is not all here (a CI checkout clones one commit by default): a clean result would
        # say nothing about the commits behind the boundary, so the run is incomplete, not clean.
        shown = ", ".join(s[:12] for s in repo.shallow[:5]) + (" …" if len(repo.shallow) > 5 else "")
        report.notices.append(Notice(repo.shown, (
            f"shallow clone: history behind {len(repo.shallow)} boundary commit(s) ({shown}) is not in this clone "
            "and was not scanned; blobs first seen at a boundary commit are attributed to it, though they may be "
            "older (run `git fetch --unshallow`, or check out with fetch-depth: 0, for a complete sweep; "
            "--allow-incomplete accepts the partial one)"), incomplete=True))
    for path, commit in sorted(index.gitlinks.items()):
        report.notices.append(Notice(path, (
            f"submodule (first seen in commit {index.commits[commit][:12].decode()}) skipped: its history lives in "
            "another repository; sweep that repository on its own")))
    if not branches:
        for name, kind in git.non_commit_refs(repo):
            # a tag straight on a blob or tree is content the repository publishes: unread, so the run is incomplete
            reason = (f"ref points at a {kind}, not a commit: not swept (only what commits hold is); scan it with "
                      f"`git cat-file -p {name} | nhiguard scan -`" if kind == "blob" else
                      f"ref points at a {kind}, not a commit: not swept (only what commits hold is)")
            report.notices.append(Notice(name, reason, incomplete=True))
    if index.excluded_blobs:
        report.notices.append(Notice(repo.shown, (
            f"{len(index.excluded_blobs):,} blob(s) seen only at excluded or allowed paths were not scanned")))
    if not index.first and not index.gitlinks:
        what = "since " + since if since else "on the selected refs"
        report.notices.append(Notice(repo.shown, f"no files in the history {what}: nothing to scan"))


def outcome_notices(
    index: git.BlobIndex, outcomes: dict[bytes, tuple[int, list[Match], str]], report: Report
) -> None:
    binary: dict[str, int] = {}
    for oid in index.first:
        found = outcomes.get(oid)
        if found is None:
            continue
        status, _, reason = found
        if status == git.BINARY:
            path = index.primary_path(oid)
            binary[path] = binary.get(path, 0) + 1
        elif status in (git.CLEAN, git.MATCHED) and reason:  # an archive, in part
            path = index.primary_path(oid)
            for line in reason.splitlines():
                member, _, why = line.partition("\t")
                # (an archive's notes come back as text from the workers and the resume log)
                report.notices.append(Notice(f"{path}!{member}" if member else path, why,
                                             incomplete="binary member" not in why))
        elif status in (git.MISSING, git.CORRUPT):
            what = "missing" if status == git.MISSING else "unreadable"
            report.notices.append(Notice(index.primary_path(oid), (
                f"blob {oid.decode()} is {what} ({reason}); that version was not scanned"), incomplete=True))
            report.stats.skipped += 1
    for path, count in binary.items():
        versions = f"{count} versions" if count > 1 else "1 version"
        report.notices.append(Notice(path, f"binary ({versions}) not scanned"))
        report.stats.skipped += count
