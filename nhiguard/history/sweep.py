"""The sweep (`run_history`): the plan, the worker processes and what they scan, the scan ahead of the walk and
how it settles, the resume log kept as batches finish, and the closing summary. The phases are in the package's
docstring."""

from __future__ import annotations

import concurrent.futures
import gc
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import time
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TextIO

from nhiguard import __version__, baseline, gcpace
from nhiguard.config import ArchiveLimits, Config
from nhiguard.engine import Engine, EngineOptions
from nhiguard.engine.filters import path_matches
from nhiguard.fingerprint import fingerprint
from nhiguard.history.attribute import attribute, notices, outcome_notices
from nhiguard.history.resume import SweepLog, cache_dir
from nhiguard.model import Chunk, Match, Notice, Origin, Report, Rule
from nhiguard.progress import Progress, wanted
from nhiguard.progress import size as byte_size
from nhiguard.scan import Collector, ScanSettings, archive_limits, finish, load_baseline, load_rules, make_engine
from nhiguard.sources import archives
from nhiguard.sources import gitobjects as git
from nhiguard.sources.text import prepare
from nhiguard.workers import Workers, forks

PARALLEL_MIN_BYTES = 8 << 20
PARALLEL_MIN_STORED = 2 << 20
BATCH_BYTES = 4 << 20
BATCH_BLOBS = 2000

# per blob that is not plainly clean (id, outcome, matches, reason, ids of the rules whose patterns matched:
# all-rules scans only), every other blob of the batch being clean; bytes read; (rule id, path) of regexes
# stopped by their time bound (a blob id for the path in all-rules scans)
BlobResult = tuple[bytes, int, list[Match], str, frozenset[str]]
BatchResult = tuple[list[BlobResult], int, list[tuple[str, str]]]
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    branches: tuple[str, ...] = ()
    since: str | None = None
    exclude_paths: tuple[str, ...] = ()
    max_blob_size: int | None = None
    stashes: bool = False
    resume: bool = False
    progress: bool | None = None  # None: on a terminal only, never in CI


@dataclass(slots=True)
class HistoryResult:
    report: Report
    present_at_head: dict[str, bool] = field(default_factory=dict)  # fingerprint → still in HEAD's tree
    blobs: int = 0  # reachable blobs to scan
    resumed: int = 0  # of those, done by an earlier interrupted run
    state: Path | None = None  # the resume state, while it exists
    read_blobs: int = 0  # blobs this run read (the progress line's count), unreachable ones scanned ahead included
    read_bytes: int = 0
    again: int = 0  # of those, read a second time at their path (a rule their path turns off had matched)
    seconds: float = 0.0


class Interrupted(Exception):
    """The sweep stopped before the end; its state is saved."""

    def __init__(self, done: int, total: int, state: Path) -> None:
        super().__init__(f"interrupted after {done:,} of {total:,} blobs; run again with --resume to go on")
        self.done, self.total, self.state = done, total, state


# -- workers --------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Worker:
    engine: Engine
    reader: git.BlobReader


_WORKER: _Worker | None = None
_ARCHIVES: tuple[ArchiveLimits | None, int] = (None, 0)  # how blobs that are archives are opened; member size limit


def _init_worker(repo: git.Repository, engine: Engine | None, rules: Sequence[Rule],
                 options: EngineOptions | None, archive_limits: tuple[ArchiveLimits | None, int] | None = None) -> None:
    """A worker's reader and engine: the caller's engine when forked, else one compiled from the rules."""
    global _WORKER, _ARCHIVES
    if archive_limits is not None:
        _ARCHIVES = archive_limits
    _WORKER = _Worker(engine if engine is not None else Engine(rules, options), git.BlobReader(repo))
    # at a normal end of the pool, git is told it is done and waited for (its time then counts as this run's)
    multiprocessing.util.Finalize(None, _WORKER.reader.close, exitpriority=10)


def _scan_batch(batch: list[tuple[bytes, str]], all_rules: bool = False) -> BatchResult:
    """Read and scan a batch of blobs, each as the path given; with `all_rules` (paths not known yet) every rule
    is on and each blob's result says which rules matched, so the caller can tell whether its path would have
    changed anything."""
    worker = _WORKER
    assert worker is not None
    paths = dict(batch)
    out: list[BlobResult] = []
    nbytes = 0
    engine = worker.engine
    timeouts = engine.stats.timeouts
    before = len(timeouts)
    for oid, status, payload in worker.reader.read([oid for oid, _ in batch]):
        if status != git.CLEAN or isinstance(payload, str):
            out.append((oid, status, [], str(payload), _NONE))
            continue
        nbytes += len(payload)
        if _ARCHIVES[0] is not None and archives.kind(payload) is not None:
            # only archives pay for this: their members, each match marked with the member it came from
            out.append(_archive_blob(engine, oid, payload, oid.decode() if all_rules else paths[oid], all_rules))
            continue
        data = prepare(payload)
        if data is None:
            out.append((oid, git.BINARY, [], "", _NONE))
            continue
        if all_rules:
            # (the id stands in for a path that is not known yet: it names the blob in time-bound notices)
            chunk = Chunk(data=data, origin=Origin(path=oid.decode(), kind="history"))
            matches, active = engine.scan_all_rules(chunk, named=False)
        else:
            matches, active = engine.scan(Chunk(data=data, origin=Origin(path=paths[oid], kind="history"))), _NONE
        if matches or active:  # (a clean blob is left out: most are, and the caller knows the batch)
            out.append((oid, git.MATCHED if matches else git.CLEAN, matches, "", active))
    stopped = timeouts[before:]
    del timeouts[before:]  # handed to the parent, which reports them once
    gcpace.tick()
    return out, nbytes, stopped


def _archive_blob(engine: Engine, oid: bytes, payload: bytes, path: str, all_rules: bool) -> BlobResult:
    """A blob that is an archive: its members scanned, matches marked with their member path; what a cap or a
    corrupt member left out goes in the reason, one `member<TAB>reason` a line, for `attribute.outcome_notices`."""
    limits, max_member = _ARCHIVES
    matches: list[Match] = []
    active: set[str] = set()
    notes: list[str] = []
    for item in archives.expand(payload, Origin(path=path, kind="history"), limits or ArchiveLimits(), max_member):
        member = (item.path if isinstance(item, Notice) else item.origin.path)[len(path) + 1:]
        if isinstance(item, Notice):
            notes.append(f"{member}\t{item.reason}")
            continue
        if all_rules:
            found, on = engine.scan_all_rules(item)
            active.update(on)
        else:
            found = engine.scan(item)
        matches.extend(replace(m, member=member) for m in found)
    return oid, git.MATCHED if matches else git.CLEAN, matches, "\n".join(notes), frozenset(active)


# -- progress -------------------------------------------------------------------------------------------------
class _Tally:
    """What a sweep ahead of the walk will read, counted on the listing thread as git lists the blobs: the
    progress total, fixed once the listing ends (long before the scan does; until then no bar and no ETA)."""

    def __init__(self, done: Container[bytes], max_size: int) -> None:
        self.done, self.max_size = done, max_size
        self.blobs = self.bytes = 0
        self.complete = False

    def __call__(self, part: list[tuple[bytes, int]] | None) -> None:
        if part is None:
            self.complete = True
            return
        for oid, size in part:
            if size <= self.max_size and oid not in self.done:
                self.blobs += 1
                self.bytes += size


def _progress(option: bool | None, err: TextIO) -> Progress | None:
    return Progress(err, "history", 0, 0, "blobs") if wanted(option, err) else None


# -- the sweep ------------------------------------------------------------------------------------------------
def _jobs(requested: int | None) -> int:
    if requested and requested > 0:
        return requested
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _state_key(repo: git.Repository, rules: Sequence[Rule], config: Config, options: HistoryOptions,
               max_size: int) -> dict[str, object]:
    rules_digest = hashlib.sha256(
        json.dumps(sorted((r.id, r.pattern, r.keywords, r.checks, r.entropy) for r in rules)).encode()
    ).hexdigest()
    return {
        "version": 1,
        "repository": os.path.realpath(repo.git_dir),
        "branches": list(options.branches),
        "since": options.since,
        "exclude": list(options.exclude_paths),
        "allow_paths": list(config.allow.paths),
        "max_blob_size": max_size,
        "stashes": options.stashes,
        "rules": rules_digest,
    }


def state_folder(meta: dict[str, object]) -> Path:
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:24]
    return cache_dir() / digest


def run_history(
    path: Path,
    config: Config,
    settings: ScanSettings,
    options: HistoryOptions,
    *,
    stream: TextIO | None = None,
    stop_after: int | None = None,
) -> HistoryResult:
    """Sweep the repository at `path`. `stop_after` (for tests) interrupts after that many batches."""
    started = time.monotonic()
    err = stream or sys.stderr
    repo = git.open_repository(path)
    report = Report(target=str(path), tool_version=__version__)
    rules = load_rules(config, settings)
    engine = make_engine(rules, config, settings)
    known = load_baseline(config, settings)
    collector = Collector({r.id: r for r in rules}, config.allow_fingerprints)
    result = HistoryResult(report)
    if not repo.has_refs:
        report.notices.append(Notice(repo.shown, "empty repository (no commits): nothing to scan"))
        result.report = finish(report, collector, engine, known, started)
        return result

    max_size = options.max_blob_size or settings.max_file_size or config.max_file_size
    global _ARCHIVES
    limits = archive_limits(config, settings)
    _ARCHIVES = (limits if limits.depth > 0 else None, max_size)
    # A kill (SIGTERM) ends the sweep like Ctrl-C: state saved, workers and their git processes stopped.
    previous = signal.getsignal(signal.SIGTERM)
    if _is_main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(repo, config, options, engine, collector, known, report, result, err, stop_after, started,
                    settings.jobs, max_size)
    finally:
        if _is_main_thread():
            signal.signal(signal.SIGTERM, previous)


def _run(
    repo: git.Repository,
    config: Config,
    options: HistoryOptions,
    engine: Engine,
    collector: Collector,
    known: baseline.Baseline | None,
    report: Report,
    result: HistoryResult,
    err: TextIO,
    stop_after: int | None,
    started: float,
    requested_jobs: int | None,
    max_size: int,
) -> HistoryResult:
    excludes = tuple(options.exclude_paths)
    allow_paths = config.allow.paths

    def excluded(p: str) -> bool:
        return bool(excludes and path_matches(p, excludes)) or bool(allow_paths and path_matches(p, allow_paths))

    revs = git.revisions(repo, options.branches, options.stashes)
    log = SweepLog(state_folder(meta := _state_key(repo, engine.rules, config, options, max_size)), meta)
    done = log.load() if options.resume else {}
    jobs = _jobs(requested_jobs)

    # Fork the workers before the index exists: they stay small, and none of them copies it.
    engine.prefilter  # noqa: B018 - compile once, before forking, so every worker shares it
    # (a repository stored in under a few MB is swept in-process: forking would cost more than it saves)
    pool = _start_pool(repo, engine, jobs) if jobs > 1 and git.stored_bytes(repo) >= PARALLEL_MIN_STORED else None
    # A whole-history sweep of a repository that owns its objects scans them while the history is still being
    # walked (see _speculate); a partial sweep (--since, branches) walks first and reads only what it needs.
    ahead = (pool is not None and not options.since and not options.branches and not repo.partial
             and not git.borrows_objects(repo))
    progress = None
    ahead_of_walk = _Ahead()
    try:
        if ahead:
            assert pool is not None
            log.start(keep=options.resume)
            result.state = log.folder
            progress = _progress(options.progress, err)
            index = _speculate(repo, revs, excluded, engine, pool, done, max_size, log, progress, stop_after,
                               ahead_of_walk)
            sizes = ahead_of_walk.sizes
        else:
            index, sizes = _index_and_sizes(repo, revs, options.since, excluded)
        plan, total_bytes, missing = _plan(index, sizes, _Done(done, ahead_of_walk.scanned), max_size, report)
        result.blobs = len(index.first)
        result.resumed = sum(1 for oid in index.first if oid in done)
        notices(repo, index, report, options.branches, options.since)
        outcomes, late = _absent(repo, missing)
        if late:
            plan.append([(oid, index.primary_path(oid)) for oid in late])
        _replay(done, index, sizes, engine, repo, outcomes, report)
        if ahead_of_walk.scanned:
            plan.extend(_settle(ahead_of_walk, index, sizes, engine, outcomes, report))
            total_bytes = sum(sizes.get(oid, (0, 0))[1] for batch in plan for oid, _ in batch)
        if not ahead:
            log.start(keep=options.resume)
            result.state = log.folder
        if progress is None:
            progress = _progress(options.progress, err)
        if progress is not None:  # this phase's total, fixed before it starts: the blobs of the plan
            planned = sum(len(batch) for batch in plan)
            if ahead:
                progress.label = "history: rescanning at their paths" if planned else progress.label
            else:
                progress.label = "history"
            if planned or not ahead:
                progress.total_units, progress.total_bytes = planned, total_bytes
                progress.done_units = progress.done_bytes = 0
                progress.started = time.monotonic()
        result.read_blobs, result.read_bytes = ahead_of_walk.read_blobs, ahead_of_walk.read_bytes
        use_pool = pool if pool is not None and total_bytes >= PARALLEL_MIN_BYTES else None
        try:
            again, again_bytes = _sweep(plan, index, engine, repo, use_pool, outcomes, log, report, progress,
                                        stop_after)
            if ahead:
                result.again = again
            result.read_blobs += again
            result.read_bytes += again_bytes
            if pool is not None:
                pool.close()  # workers finish and close their readers; terminate() below is then a no-op
        finally:
            if progress is not None:
                progress.close()
    except KeyboardInterrupt:
        log.close()
        scanned = sum(1 for _ in log.load()) if log.log_path.exists() else 0
        total = len(index.first) if "index" in locals() else ahead_of_walk.reachable or len(ahead_of_walk.sizes)
        raise Interrupted(scanned, total, log.folder) from None
    finally:
        if pool is not None:
            pool.terminate()
            global _WORKER
            _WORKER = None
    log.close()

    attribute(repo, index, outcomes, collector, engine, excluded)
    outcome_notices(index, outcomes, report)
    result.report = finish(report, collector, engine, known, started)
    result.present_at_head = {
        f.fingerprint: any(loc.kind == "head" for loc in f.locations) for f in result.report.findings
    }
    log.remove()
    result.state = None
    return result


class _Fingerprints:
    """Fingerprints of the (rule, secret) pairs found so far, computed on two threads while the workers scan:
    they are stretched hashes (milliseconds each; hashlib lets go of the GIL), cached by `fingerprint` by the
    time attribution asks for them."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.keys: set[tuple[str, str]] = set()
        self._rules = {r.id: r for r in rules}
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="nhiguard-fingerprint")

    def add(self, matches: Iterable[Match]) -> None:
        for m in matches:
            if (m.rule_id, m.secret) not in self.keys:
                self.keys.add((m.rule_id, m.secret))
                self._pool.submit(fingerprint, self._rules[m.rule_id], m.secret)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class _Done:
    """Blobs with an outcome already: from the interrupted run being resumed, or scanned ahead of the walk."""

    resumed: Container[bytes]
    ahead: Container[bytes]

    def __contains__(self, oid: object) -> bool:
        return oid in self.resumed or oid in self.ahead


@dataclass(slots=True)
class _Ahead:
    """What `_speculate` did: the blobs it scanned; the outcome, matches, reason and ids of the rules whose
    patterns matched of those that were not plainly clean; regexes stopped by their time bound (rule, blob id)."""

    scanned: set[bytes] = field(default_factory=set)
    early: dict[bytes, tuple[int, list[Match], str, frozenset[str]]] = field(default_factory=dict)
    timeouts: list[tuple[str, str]] = field(default_factory=list)
    sizes: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # every listed blob: (pack position, size)
    reachable: int = 0  # blobs the walk found, once it is done
    read_blobs: int = 0  # blobs read so far, and their listed sizes (what the progress line counts)
    read_bytes: int = 0


def _speculate(
    repo: git.Repository,
    revs: list[str],
    excluded: Callable[[str], bool],
    engine: Engine,
    pool: Workers[list[tuple[bytes, str]]],
    done: dict[bytes, int],
    max_size: int,
    log: SweepLog,
    progress: Progress | None,
    stop_after: int | None,
    ahead: _Ahead,
) -> git.BlobIndex:
    """Scan every blob of the object database, in pack order as git lists it, while the history walk runs on
    the side: on a large history the walk takes seconds the workers would otherwise wait through. Paths are not
    known yet, so every rule is on; `_settle` then keeps what is reachable and rescans the few blobs whose path
    turns off a rule that matched in them. Unreachable blobs (dangling after a rebase, not yet pruned) are read
    for nothing: a few, in a repository that owns its objects."""
    walker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nhiguard-walk")
    walk = walker.submit(git.index_history, repo, revs, since=None, excluded=excluded)
    sizes, early, scanned = ahead.sizes, ahead.early, ahead.scanned
    hashing = _Fingerprints(engine.rules)

    def take(result: BatchResult, batch: list[tuple[bytes, str]]) -> None:
        items, _, stopped = result
        ahead.timeouts.extend(stopped)
        listed = sum(sizes[oid][1] for oid, _ in batch)
        ahead.read_blobs += len(batch)
        ahead.read_bytes += listed
        for oid, status, matches, reason, active in items:  # (the plainly clean ones are not listed)
            early[oid] = (status, matches, reason, active)
            hashing.add(matches)
        # a blob whose path may change its result is logged as matched: a resumed run scans it again, at its path
        outcome = {oid: git.MATCHED if status == git.CLEAN else status for oid, status, _, _, _ in items}
        log.append((oid, outcome.get(oid, git.CLEAN)) for oid, _ in batch)
        if progress is not None:
            if tally.complete and not progress.total_units:
                progress.total_units, progress.total_bytes = tally.blobs, tally.bytes
            progress.advance(len(batch), listed, findings=len(hashing.keys),
                             what="" if tally.complete else f"listing: {tally.blobs:,} blob(s) so far")

    tally = _Tally(done, max_size)

    def to_scan() -> Iterator[tuple[bytes, str, int]]:
        for oid, size in git.listed_blobs(repo, tally):
            sizes[oid] = (len(sizes), size)
            if oid in done or size > max_size:
                continue
            scanned.add(oid)
            yield oid, "", size

    try:
        _window(_batches(to_scan()), pool, lambda b: (b, True), take, stop_after)
        index = walk.result()
    except KeyboardInterrupt:
        if walk.done() and walk.exception() is None:  # (an interrupt does not wait for the walk)
            ahead.reachable = len(walk.result().first)
        raise
    finally:
        hashing.close()
        walker.shutdown(wait=False, cancel_futures=True)
    return index


def _settle(
    ahead: _Ahead,
    index: git.BlobIndex,
    sizes: dict[bytes, tuple[int, int]],
    engine: Engine,
    outcomes: dict[bytes, tuple[int, list[Match], str]],
    report: Report,
) -> list[list[tuple[bytes, str]]]:
    """Outcomes of the blobs scanned ahead that turned out reachable; batches of those to scan again at their
    path, because a rule their path turns off matched in them (it may have hidden what another rule finds)."""
    again: list[tuple[bytes, str]] = []
    engine.stats.timeouts.extend(
        (rule, index.primary_path(oid.encode())) for rule, oid in ahead.timeouts if oid.encode() in index.first
    )
    for oid in index.first:
        if oid not in ahead.scanned:
            continue
        found = ahead.early.get(oid)
        if engine.file_kind_at(index.primary_path(oid)):  # a detector chosen by the path: scan it there
            again.append((oid, index.primary_path(oid)))
            continue
        if found is None:
            report.stats.files += 1
            report.stats.bytes += sizes[oid][1]
            continue
        status, matches, reason, active = found
        path = index.primary_path(oid)
        if active and active & engine.rules_off(path):
            again.append((oid, path))
            continue
        if status in (git.CLEAN, git.MATCHED, git.BINARY):
            report.stats.bytes += sizes[oid][1]
        _record(outcomes, report, oid, status, matches, reason)
    return list(_batches((oid, path, sizes[oid][1]) for oid, path in again))


def _index_and_sizes(
    repo: git.Repository, revs: list[str], since: str | None, excluded: Callable[[str], bool]
) -> tuple[git.BlobIndex, dict[bytes, tuple[int, int]]]:
    """The history walk and the object listing are independent: run the two git processes side by side."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        listing = pool.submit(git.blob_sizes, repo)
        index = git.index_history(repo, revs, since=since, excluded=excluded)
        sizes = listing.result()
    return index, sizes


def _start_pool(repo: git.Repository, engine: Engine, jobs: int) -> Workers[list[tuple[bytes, str]]]:
    if not forks():  # pragma: no cover - spawn platforms
        return Workers(jobs, _scan_batch, _init_worker, (repo, None, engine.rules, engine.options, _ARCHIVES))
    gc.freeze()  # forked workers never touch the parent's objects: keep their pages shared
    try:
        return Workers(jobs, _scan_batch, _init_worker, (repo, engine, (), None))
    finally:
        gc.unfreeze()


def _absent(
    repo: git.Repository, missing: list[bytes]
) -> tuple[dict[bytes, tuple[int, list[Match], str]], list[bytes]]:
    """Reachable blobs the object listing lacks: missing, or present but unreadable (git says which). A partial
    clone's are not asked for, since asking would fetch them."""
    if repo.partial:
        return {oid: (git.MISSING, [], "not fetched into this partial clone") for oid in missing}, []
    out: dict[bytes, tuple[int, list[Match], str]] = {}
    late: list[bytes] = []
    reader = git.BlobReader(repo, packs=False)  # (the packs were listed: these are not in them)
    try:
        for oid, status, payload in reader.read(missing):
            if status == git.CLEAN:  # readable after all (written while we listed): scanned with the rest
                late.append(oid)
                continue
            out[oid] = (status, [], "not in the object database" if status == git.MISSING else str(payload))
    finally:
        reader.close()
    return out, late


def _plan(
    index: git.BlobIndex,
    sizes: dict[bytes, tuple[int, int]],
    done: Container[bytes],
    max_size: int,
    report: Report,
) -> tuple[list[list[tuple[bytes, str]]], int, list[bytes]]:
    """Batches of (blob id, path to scan it as), in pack order, of the reachable blobs not `done`; blobs the
    database lacks are returned as missing, those over the size limit noted."""
    todo: list[tuple[int, bytes, int]] = []
    missing: list[bytes] = []
    too_big: dict[str, list[int]] = {}
    for oid in index.first:
        if oid in done:
            continue
        found = sizes.get(oid)
        if found is None:
            missing.append(oid)
            continue
        position, size = found
        if size > max_size:
            too_big.setdefault(index.primary_path(oid), []).append(size)
            continue
        todo.append((position, oid, size))
    for path, skipped in too_big.items():
        versions = f"{len(skipped)} versions" if len(skipped) > 1 else "1 version"
        report.notices.append(Notice(path, f"{versions} larger than the size limit ({max(skipped):,} > "
                                           f"{max_size:,} bytes) not scanned", incomplete=True))
        report.stats.skipped += len(skipped)
    todo.sort()
    batches = list(_batches((oid, index.primary_path(oid), size) for _, oid, size in todo))
    return batches, sum(size for _, _, size in todo), missing


def _batches(blobs: Iterable[tuple[bytes, str, int]]) -> Iterator[list[tuple[bytes, str]]]:
    """(blob id, path, size) → batches of (blob id, path) of up to BATCH_BYTES / BATCH_BLOBS, in the order given."""
    batch: list[tuple[bytes, str]] = []
    size_sum = 0
    for oid, path, size in blobs:
        batch.append((oid, path))
        size_sum += size
        if size_sum >= BATCH_BYTES or len(batch) >= BATCH_BLOBS:
            yield batch
            batch, size_sum = [], 0
    if batch:
        yield batch


def _sweep(
    plan: list[list[tuple[bytes, str]]],
    index: git.BlobIndex,
    engine: Engine,
    repo: git.Repository,
    pool: Workers[list[tuple[bytes, str]]] | None,
    outcomes: dict[bytes, tuple[int, list[Match], str]],
    log: SweepLog,
    report: Report,
    progress: Progress | None,
    stop_after: int | None,
) -> tuple[int, int]:
    """Scan the plan; (blobs, bytes) read."""
    hashing = _Fingerprints(engine.rules)
    read = [0, 0]
    for _, matches, _ in outcomes.values():  # (replayed or scanned ahead: cached already, or hashed now)
        hashing.add(matches)

    def take(result: BatchResult, batch: list[tuple[bytes, str]]) -> None:
        items, nbytes, stopped = result
        engine.stats.timeouts.extend(stopped)
        report.stats.files += len(batch) - len(items)  # the clean ones
        for oid, status, matches, reason, _ in items:
            _record(outcomes, report, oid, status, matches, reason)
            hashing.add(matches)
        outcome = {oid: status for oid, status, _, _, _ in items}
        log.append((oid, outcome.get(oid, git.CLEAN)) for oid, _ in batch)
        report.stats.bytes += nbytes
        read[0] += len(batch)
        read[1] += nbytes
        if progress is not None:
            progress.advance(len(batch), nbytes, findings=len(hashing.keys))

    try:
        _dispatch(plan, pool, repo, engine, take, stop_after)
    finally:
        hashing.close()
    return read[0], read[1]


def _dispatch(
    plan: list[list[tuple[bytes, str]]],
    pool: Workers[list[tuple[bytes, str]]] | None,
    repo: git.Repository,
    engine: Engine,
    take: Callable[[BatchResult, list[tuple[bytes, str]]], None],
    stop_after: int | None,
) -> None:
    if pool is None:
        global _WORKER
        _WORKER = _Worker(engine, git.BlobReader(repo))
        try:
            for number, batch in enumerate(plan):
                if stop_after is not None and number >= stop_after:
                    raise KeyboardInterrupt
                take(_scan_batch(batch), batch)
        finally:
            _WORKER.reader.close()
        return
    _window(iter(plan), pool, lambda b: (b,), take, stop_after)


def _window(
    batches: Iterator[list[tuple[bytes, str]]],
    pool: Workers[list[tuple[bytes, str]]],
    arguments: Callable[[list[tuple[bytes, str]]], tuple[object, ...]],
    take: Callable[[BatchResult, list[tuple[bytes, str]]], None],
    stop_after: int | None,
) -> None:
    """A bounded number of batches in flight; results taken as they come (`stop_after`: tests interrupt here)."""
    for taken, (batch, result) in enumerate(pool.stream((batch, arguments(batch)) for batch in batches), 1):
        gcpace.tick()
        take(result, batch)
        if stop_after is not None and taken >= stop_after:
            raise KeyboardInterrupt


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _replay(
    done: dict[bytes, int],
    index: git.BlobIndex,
    sizes: dict[bytes, tuple[int, int]],
    engine: Engine,
    repo: git.Repository,
    outcomes: dict[bytes, tuple[int, list[Match], str]],
    report: Report,
) -> None:
    """Outcomes of an interrupted run, back in memory: matched blobs are read and scanned again (the log holds no
    secrets), the others are taken as recorded."""
    if not done:
        return
    rescan: list[tuple[bytes, str]] = []
    for oid, status in done.items():
        if oid not in index.first:
            continue  # no longer in the plan (a different ref set): ignored
        if status == git.MATCHED or (status == git.CLEAN and engine.file_kind_at(index.primary_path(oid))):
            rescan.append((oid, index.primary_path(oid)))
            continue
        _record(outcomes, report, oid, status, [], "recorded by the interrupted run" if status == git.CORRUPT else "")
        if status in (git.CLEAN, git.BINARY):
            report.stats.bytes += sizes.get(oid, (0, 0))[1]
    if rescan:
        global _WORKER
        saved = _WORKER
        _WORKER = _Worker(engine, git.BlobReader(repo))
        try:
            items, nbytes, stopped = _scan_batch(rescan)
            engine.stats.timeouts.extend(stopped)
            report.stats.files += len(rescan) - len(items)  # the clean ones
        finally:
            _WORKER.reader.close()
            _WORKER = saved
        report.stats.bytes += nbytes
        for oid, status, matches, reason, _ in items:
            _record(outcomes, report, oid, status, matches, reason)


def _record(
    outcomes: dict[bytes, tuple[int, list[Match], str]],
    report: Report,
    oid: bytes,
    status: int,
    matches: list[Match],
    reason: str,
) -> None:
    """Clean blobs are only counted (a large history has millions); the others are kept for findings/notices."""
    if status in (git.CLEAN, git.MATCHED):
        report.stats.files += 1
    if status != git.CLEAN or reason:  # (a clean archive's reason says what of it was not read)
        outcomes[oid] = (status, matches, reason)


def summary(result: HistoryResult) -> str:
    """The closing line: the counts the progress line ended on, and the report's."""
    findings = result.report.findings
    at_head = sum(1 for f in findings if result.present_at_head.get(f.fingerprint))
    resumed = f", {result.resumed:,} done by the interrupted run" if result.resumed else ""
    again = f", {result.again:,} of them again at their path" if result.again else ""
    return (f"history: {result.blobs:,} reachable blob(s){resumed}; read {result.read_blobs:,} blob(s) "
            f"({byte_size(result.read_bytes)}){again} in {result.report.stats.seconds:.1f}s; {len(findings)} new "
            f"finding(s), {at_head} still present at HEAD")


__all__ = ["HistoryOptions", "HistoryResult", "Interrupted", "run_history", "summary"]
