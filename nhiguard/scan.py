"""Wiring one run: config → rules → engine → source → findings → baseline → Report.

Work is spread over processes for large file sets (the engine is CPU-bound Python around C matchers); small
runs, such as a pre-commit hook, stay in-process so start-up stays small.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from nhiguard import __version__, baseline, filekinds, gcpace, ruleset, selftest
from nhiguard import fingerprint as fingerprints
from nhiguard.config import ArchiveLimits, Config
from nhiguard.engine import Engine, EngineOptions
from nhiguard.errors import ConfigError, RuleError
from nhiguard.fingerprint import Accepted, fingerprint, stretches
from nhiguard.model import Chunk, Finding, Location, Match, Notice, Origin, Report, Rule, Suppression
from nhiguard.sources import files

PARALLEL_MIN_BYTES = 8 << 20
PARALLEL_MIN_FILES = 1024  # or this many files: a tree of many small files starts both cores early too
LOCATIONS_PER_FILE = 100  # locations of one finding listed per file (see Collector.add)
GUESSABLE_PER_FILE = 200  # guessable secrets listed per file (see Collector.add): each costs 10-15 ms on purpose
# Smaller batches (2 MiB, three queued per worker): at the end of a streamed walk a worker is not left idle while
# another still holds several batches (4 MiB batches, three queued, kept one core waiting for seconds).
_BATCH_BYTES = 2 << 20
_BATCH_FILES = 256
_QUEUED_PER_WORKER = 3


@dataclass(frozen=True, slots=True)
class ScanSettings:
    show_secrets: bool = False
    jobs: int | None = None
    prefilter: str | None = None
    extra_rules: tuple[Path, ...] = ()
    disabled: tuple[str, ...] = ()
    baseline_path: Path | None = None
    max_file_size: int | None = None
    use_baseline: bool = True
    archive_depth: int | None = None  # None: the config's (archives.depth)


@dataclass(slots=True)
class Collector:
    """Groups matches into findings: one per (rule, secret), every location kept."""

    rules: dict[str, Rule]
    allow_fingerprints: frozenset[str] = frozenset()
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    accepted: Accepted = field(default_factory=Accepted)  # after result(): which allow entries matched
    allowed: list[tuple[Finding, Suppression]] = field(default_factory=list)  # after result(): those findings
    capped: dict[tuple[str, str], int] = field(default_factory=dict)  # (path, rule) → guessable secrets not listed
    _stretched: dict[str, int] = field(default_factory=dict)  # per path: guessable secrets listed
    _listed: dict[tuple[str, str, str, str | None], int] = field(default_factory=dict)  # (rule, secret, path, commit)
    unlisted: dict[tuple[str, str], int] = field(default_factory=dict)  # (path, fingerprint) → locations not listed

    def add(self, origin: Origin, match: Match) -> None:
        key = (match.rule_id, match.secret)
        finding = self.findings.get(key)
        if finding is None:
            rule = self.rules[match.rule_id]
            if stretches(rule, match.secret):
                # A guessable secret's fingerprint costs milliseconds on purpose; a file of 100,000 of them (a
                # password list, test data, or a file written to stall the guard) is listed up to a cap and the
                # rest counted in a notice, so the run stays bounded and the file is still reported.
                listed = self._stretched.get(origin.path, 0)
                if listed >= GUESSABLE_PER_FILE:
                    self.capped[origin.path, rule.id] = self.capped.get((origin.path, rule.id), 0) + 1
                    return
                self._stretched[origin.path] = listed + 1
            finding = Finding(
                rule=rule,
                fingerprint=fingerprint(rule, match.secret),
                secret=match.secret,
                parts=match.parts,
                entropy=match.entropy,
            )
            self.findings[key] = finding
        # One value repeated all over a file (450,000 times in 9.5 MB) is one finding: its locations are listed up to
        # a cap per file (per version of it, in history: each version's commit, and HEAD's, stays listed) and the
        # rest counted in a notice, so the report's size (and memory) stays bounded.
        where = (match.rule_id, match.secret, origin.path, origin.commit)
        listed = self._listed.get(where, 0)
        if listed >= LOCATIONS_PER_FILE:
            self.unlisted[origin.path, finding.fingerprint] = self.unlisted.get((origin.path, finding.fingerprint),
                                                                                0) + 1
            return
        self._listed[where] = listed + 1
        finding.locations.append(
            Location(
                path=f"{origin.path}!{match.member}" if match.member else origin.path,
                line=match.line,
                column=match.column,
                commit=origin.commit,
                author=origin.author,
                email=origin.email,
                date=origin.date,
                decoded=match.decoded,
                kind=origin.kind,
            )
        )

    def capped_notices(self) -> list[Notice]:
        return [
            Notice(path, f"{count:,} more guessable secret{'s' if count > 1 else ''} of rule {rule_id} not listed: "
                         f"over {GUESSABLE_PER_FILE:,} in one file (a password list or test data?); each costs a "
                         "deliberately slow fingerprint")
            for (path, rule_id), count in sorted(self.capped.items())
        ] + [
            Notice(path, f"{count:,} more location{'s' if count > 1 else ''} of finding {fp} in this file not listed "
                         f"(over {LOCATIONS_PER_FILE:,}): the same secret repeated")
            for (path, fp), count in sorted(self.unlisted.items())
        ]

    def result(self) -> list[Finding]:
        out = []
        accepted = self.accepted = Accepted(self.allow_fingerprints)
        legacy = fingerprints.holds_legacy(self.allow_fingerprints)
        for finding in self.findings.values():
            if len(finding.locations) > 1:  # (most findings have one location: nothing to sort)
                finding.locations = sorted(set(finding.locations), key=Location.sort_key)
            if fingerprints.accepted_entry(finding.rule, finding.secret, finding.fingerprint, accepted,
                                           legacy_possible=legacy) is not None:
                self.allowed.append((finding, Suppression("external", "allow.fingerprints in the configuration")))
                continue
            out.append(finding)
        out.sort(key=lambda f: (f.first_location.sort_key(), f.rule.id))
        return out


def load_rules(config: Config, settings: ScanSettings) -> list[Rule]:
    base = [*ruleset.load_builtin(), *filekinds.rules()]
    extra = ruleset.load_paths([*config.rule_paths, *settings.extra_rules])
    vet(extra, config)
    return ruleset.merge(base, extra, disabled=[*config.disabled, *settings.disabled])


_VET_FORMAT = 2


def vet(extra: Sequence[Rule], config: Config) -> None:
    """A repository's own rules and allow regexes get the cost check built-in rules pass in CI (`rules check`,
    cut to the engine's window size): one that backtracks without bound is a usage error naming its file, not a
    scan that hangs. A set that passed is remembered (in memory and in the user cache) by its content."""
    items = tuple((r.id, r.source, r.pattern, r.keywords, r.allow.regexes) for r in extra)
    if not items and not config.allow.regexes:
        return
    digest = hashlib.sha256(repr((_VET_FORMAT, selftest.VET_SIZE, selftest.VET_SECONDS, items,
                                  config.allow.regexes)).encode()).hexdigest()[:32]
    if digest in _VETTED:
        return
    from nhiguard.cache import FileStore, default_store

    store = FileStore(prefix="vetted") if default_store() is not None else None
    if store is None or store.get(digest) is None:
        where = str(config.source) if config.source else "configuration"
        for pattern in config.allow.regexes:
            why = selftest.vet_allow_regex(pattern)
            if why:
                raise ConfigError(f"{where}: allow.regexes: {why}")
        for rule in extra:
            problems = selftest.vet_rule(rule)
            if problems:
                raise RuleError(f"{rule.source}: rule {rule.id!r}: {problems[0].message}")
        if store is not None:
            store.put(digest, b"ok")
    _VETTED.add(digest)


_VETTED: set[str] = set()


def make_engine(rules: Sequence[Rule], config: Config, settings: ScanSettings) -> Engine:
    from nhiguard.cache import default_store

    return Engine(rules, EngineOptions(prefilter=settings.prefilter, allow=config.allow), store=default_store())


def load_baseline(config: Config, settings: ScanSettings) -> baseline.Baseline | None:
    if not settings.use_baseline:
        return None
    path = settings.baseline_path or config.baseline
    return baseline.load(path) if path is not None else None


# -- workers --------------------------------------------------------------------------------------------------
_ENGINE: Engine | None = None
_ARCHIVES: tuple[ArchiveLimits | None, int] = (None, 0)  # how archives are opened, the member size limit


def _init_worker(engine: Engine | None, rules: Sequence[Rule], options: EngineOptions | None,
                 archives: tuple[ArchiveLimits | None, int] = (None, 0)) -> None:
    """A worker's engine: the caller's when forked, else one compiled from the rules."""
    global _ENGINE, _ARCHIVES
    _ENGINE = engine if engine is not None else Engine(rules, options)
    _ARCHIVES = archives


def archive_limits(config: Config, settings: ScanSettings) -> ArchiveLimits:
    limits = config.archives
    if settings.archive_depth is not None:
        return replace(limits, depth=settings.archive_depth)
    return replace(limits, closed_by_config=True) if limits.depth <= 0 else limits


_Batch = tuple[list[tuple[Origin, list[Match]]], list[Notice], int, int, list[tuple[str, str]]]


def _scan_batch(batch: list[files.FileRef]) -> _Batch:
    """Matches, notices, files and bytes scanned, and the (rule, path) time-bound hits, which are handed back:
    a worker's engine stats never reach the parent, and a bound that fired must make the run incomplete."""
    engine = _ENGINE
    assert engine is not None
    before = len(engine.stats.timeouts)
    found: list[tuple[Origin, list[Match]]] = []
    notices: list[Notice] = []
    scanned = nbytes = 0
    for ref in batch:
        counted = False
        for part in files.read_all(ref, *_ARCHIVES):  # (archive members; a large file in windows)
            if isinstance(part, Notice):
                notices.append(part)
                continue
            scanned += not counted
            counted = True
            nbytes += min(part.keep_to, len(part.chunk.data)) - part.keep_from
            matches = [m for m in engine.scan(part.chunk) if part.keep_from <= m.start < part.keep_to]
            if matches:
                found.append((part.chunk.origin, matches))
    notices.extend(allow_timeout_notices(engine))  # (a worker's engine stats never reach the parent)
    gcpace.tick()
    stopped = engine.stats.timeouts[before:]
    del engine.stats.timeouts[before:]
    return found, notices, scanned, nbytes, stopped


def allow_timeout_notices(engine: Engine) -> list[Notice]:
    """Notices for the allow regexes the engine switched off since last asked."""
    switched, engine.stats.allow_timeouts[:] = list(engine.stats.allow_timeouts), []
    return [Notice("allow.regexes", f"allow regex {pattern!r} hit its time bound and was switched off: the "
                                    "findings it would have allowed are reported") for pattern in switched]


def _batches(refs: Iterable[files.FileRef]) -> Iterator[list[files.FileRef]]:
    batch: list[files.FileRef] = []
    size = 0
    for ref in refs:
        batch.append(ref)
        size += ref.size
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _jobs(requested: int | None) -> int:
    if requested and requested > 0:
        return requested
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def scan_files(
    items: Iterable[files.FileRef | Notice], engine: Engine, collector: Collector, report: Report, jobs: int | None
) -> None:
    """Scan what a walk yields. The walk is streamed into the workers, so reading the tree and scanning it
    overlap; a small tree (under PARALLEL_MIN_BYTES) is scanned in this process."""
    stream = iter(items)
    head: list[files.FileRef] = []
    size = 0
    for item in stream:
        if isinstance(item, Notice):
            _notice(report, item)
            continue
        head.append(item)
        size += item.size
        if size >= PARALLEL_MIN_BYTES or len(head) >= PARALLEL_MIN_FILES:
            break
    workers = _jobs(jobs)
    global _ENGINE
    if workers <= 1 or (size < PARALLEL_MIN_BYTES and len(head) < PARALLEL_MIN_FILES):
        _ENGINE = engine
        rest = [r for r in (_keep(report, item) for item in stream) if r is not None]
        _consume(map(_scan_batch, _batches(itertools.chain(head, rest))), collector, report, engine)
        return
    from nhiguard.workers import Workers, forks  # only large runs pay for the multiprocessing imports

    init_args: tuple[Engine | None, Sequence[Rule], EngineOptions | None, tuple[ArchiveLimits | None, int]] = (
        (engine, (), None, _ARCHIVES) if forks() else (None, engine.rules, engine.options, _ARCHIVES)
    )
    refs = itertools.chain(head, (r for r in (_keep(report, item) for item in stream) if r is not None))
    with Workers[None](workers, _scan_batch, _init_worker, init_args) as pool:
        answers = pool.stream(((None, (batch,)) for batch in _batches(refs)), _QUEUED_PER_WORKER)
        _consume((answer for _, answer in answers), collector, report, engine)


def _notice(report: Report, notice: Notice) -> None:
    report.notices.append(notice)
    report.stats.skipped += 1


def _keep(report: Report, item: files.FileRef | Notice) -> files.FileRef | None:
    if isinstance(item, Notice):
        _notice(report, item)
        return None
    return item


def _consume(results: Iterable[_Batch], collector: Collector, report: Report, engine: Engine) -> None:
    for found, notices, scanned, nbytes, stopped in results:
        gcpace.tick()
        engine.stats.timeouts.extend(stopped)  # `finish` reports them and marks the run incomplete
        for notice in notices:
            _notice(report, notice)
        report.stats.files += scanned
        report.stats.bytes += nbytes
        for origin, matches in found:
            for match in matches:
                collector.add(origin, match)


def scan_chunks(chunks: Iterable[Chunk | Notice], engine: Engine, collector: Collector, report: Report) -> None:
    for chunk in chunks:
        if isinstance(chunk, Notice):
            _notice(report, chunk)
            continue
        report.stats.files += 1
        report.stats.bytes += len(chunk.data)
        for match in engine.scan(chunk):
            collector.add(chunk.origin, match)


def finish(
    report: Report,
    collector: Collector,
    engine: Engine,
    known: baseline.Baseline | None,
    started: float,
) -> Report:
    for rule_id, path in engine.stats.timeouts:
        report.notices.append(Notice(path, f"rule {rule_id} hit its time bound; part of the file was not checked",
                                     incomplete=True))
    report.notices.extend(allow_timeout_notices(engine))
    report.stats.incomplete = len({n.path for n in report.notices if n.incomplete})
    report.notices.extend(collector.capped_notices())
    findings, accepted = baseline.partition(collector.result(), known)
    baselined = len(accepted)
    report.suppressed = collector.allowed + accepted
    for entry in collector.accepted.malformed:
        report.notices.append(Notice(
            "allow.fingerprints",
            f"entry {entry!r} can never match: a fingerprint is nhg1: or nhg2: and at least 12 hex digits",
        ))
    report.findings = findings
    report.stats.baselined = baselined
    report.stats.seconds = time.monotonic() - started
    report.notices.sort(key=lambda n: (n.path, n.reason))
    return report


def run_paths(targets: list[Path], config: Config, settings: ScanSettings, *, stdin: bool = False) -> Report:
    started = time.monotonic()
    rules = load_rules(config, settings)
    engine = make_engine(rules, config, settings)
    known = load_baseline(config, settings)
    collector = Collector({r.id: r for r in rules}, config.allow_fingerprints)
    report = Report(target=" ".join(str(t) for t in targets) or "-", tool_version=__version__)
    max_size = settings.max_file_size or config.max_file_size
    global _ARCHIVES
    _ARCHIVES = (archive_limits(config, settings), max_size)
    if stdin:
        read = files.read_stdin(max_size=max_size, limits=_ARCHIVES[0])
        scan_chunks(read if isinstance(read, list) else [read], engine, collector, report)
    if targets:
        walk = files.walk(
            targets,
            allow_paths=config.allow.paths,
            max_size=max_size,
            display_base=_display_base(targets),
            allow_root=config.root,
        )
        scan_files(walk, engine, collector, report, settings.jobs)
    all_found = list(collector.findings.values())
    report = finish(report, collector, engine, known, started)
    if any(_covers(t, config.root) for t in targets):
        # a whole-repository scan: an accepted fingerprint that matches nothing was pasted wrong or is stale
        for entry in collector.accepted.unused():
            report.notices.append(Notice("allow.fingerprints", f"entry {entry!r} matched no finding"))
        if known is not None:
            for entry in baseline.unused(known, all_found):
                report.notices.append(Notice("baseline", f"entry {entry!r} matched no finding (stale?)"))
    return report


def _covers(target: Path, root: Path) -> bool:
    try:
        return target.resolve() == root.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        return False


def run_source(target: str, chunks: Iterable[Chunk | Notice], config: Config, settings: ScanSettings) -> Report:
    """A run over chunks a source yields (a container image…), through the same engine, baseline and report."""
    started = time.monotonic()
    rules = load_rules(config, settings)
    engine = make_engine(rules, config, settings)
    known = load_baseline(config, settings)
    collector = Collector({r.id: r for r in rules}, config.allow_fingerprints)
    report = Report(target=target, tool_version=__version__)
    scan_chunks(chunks, engine, collector, report)
    return finish(report, collector, engine, known, started)


def _display_base(targets: list[Path]) -> Path | None:
    """Paths are shown relative to the single directory scanned, else as given."""
    if len(targets) == 1 and targets[0].is_dir():
        return targets[0]
    return None
