"""`nhiguard sweep`: many repositories into one inventory.

Each repository is one task: clone or fetch it (clone URLs), compare its ref tips with those the inventory recorded
at the last sweep, and scan only what is new: nothing when no tip moved (checked by the coordinator, before any
worker), the commits reachable from the new tips and from none of the old ones when some moved (`git log new ^old`,
added lines only), the full history otherwise. Workers return identity records, never secrets; only the
coordinator writes the inventory, one transaction per repository together with the new tips, so a sweep killed
midway is resumed by running it again: finished repositories are skipped, the unfinished one is redone.

Executors: a local process pool (default, no extra service), or a Dask `distributed` cluster
(`--executor dask --scheduler tcp://HOST:PORT`); a task whose worker dies is re-run by Dask on another worker.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

from nhiguard import __version__, fingerprint, gcpace
from nhiguard import config as config_mod
from nhiguard.errors import NhiguardError, SourceError
from nhiguard.escape import printable
from nhiguard.inventory.record import identity_records, keep_recorded_identities, locate, repo_context
from nhiguard.inventory.store import IdentityRecord, Inventory, RepoContext
from nhiguard.model import Report
from nhiguard.progress import Progress, wanted
from nhiguard.scan import Collector, ScanSettings, finish, load_baseline, load_rules, make_engine, scan_chunks
from nhiguard.sources import forges, gitdiff, gitinfo

_COMMENT = re.compile(r"(?:^|\s)#.*$")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Task:
    source: str  # a local path or a clone URL, as listed
    label: str  # the repository's key in the inventory
    workdir: str  # where clones live
    known_tips: tuple[tuple[str, str], ...] = ()
    config_path: str | None = None
    recorded_nhg1: tuple[str, ...] = ()  # old-form fingerprints the inventory holds for this repository
    forge: str = ""  # "github" | "gitlab": the clone may use that forge's token from the worker's environment


@dataclass(frozen=True, slots=True)
class Outcome:
    source: str
    label: str
    mode: str  # "full" | "incremental" | "unchanged"
    identities: tuple[IdentityRecord, ...] = ()
    context: RepoContext | None = None
    tips: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    error: str | None = None
    incomplete: tuple[str, ...] = ()  # what the run could not read ("path: reason"); its tips are not recorded


@dataclass(slots=True)
class SweepSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, mode: str) -> int:
        return sum(o.mode == mode for o in self.outcomes)

    @property
    def incomplete(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.incomplete]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]


def read_list(path: Path) -> list[str]:
    """Repositories, one a line (local paths relative to the list's folder, or clone URLs); '#' comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    out = []
    for line in lines:
        entry = _COMMENT.sub("", line).strip()
        if not entry:
            continue
        out.append(entry if _URL.match(entry) else str((path.parent / entry).resolve()))
    return out


def is_url(source: str) -> bool:
    return bool(_URL.match(source)) and not Path(source).exists()


def clone_dir(workdir: str, url: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:40]
    return Path(workdir) / f"{name}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


_USERINFO = re.compile(r"(?<=://)([^/@:\s]*):[^/@\s]+@")


def label_of(source: str) -> str:
    """The repository's name in the inventory: a clone URL without its password (the name is printed and
    stored; the password is only for cloning)."""
    if is_url(source):
        return _USERINFO.sub(r"\1@", source)
    return str(gitinfo.toplevel(Path(source)) or Path(source).resolve())


# -- one repository (runs in a worker) ------------------------------------------------------------------------
def _incremental(local: Path, config: config_mod.Config, old: Sequence[str], new: Sequence[str]) -> Report:
    settings = ScanSettings(jobs=1)
    repo = gitdiff.open_repo(local)
    rules = load_rules(config, settings)
    engine = make_engine(rules, config, settings)
    collector = Collector({r.id: r for r in rules}, config.allow_fingerprints)
    report = Report(target=str(local), tool_version=__version__)
    walk = gitdiff.Revisions(include=tuple(new), exclude=tuple(old), label="new commits")
    max_size = config.max_file_size
    limits = config.archives if config.archives.depth > 0 else None
    scan_chunks(gitdiff.commits(repo, walk, max_size=max_size, archive_limits=limits), engine, collector, report)
    return finish(report, collector, engine, load_baseline(config, ScanSettings(use_baseline=False)), time.monotonic())


def _full(local: Path, config: config_mod.Config) -> Report:
    from nhiguard.history.sweep import HistoryOptions, run_history

    result = run_history(local, config, ScanSettings(jobs=1, use_baseline=False), HistoryOptions(progress=False))
    return result.report


def sweep_one(task: Task) -> Outcome:
    """Clone or fetch, then sweep what is new. Never raises: an error is part of the outcome."""
    started = time.monotonic()
    hold = os.environ.get("NHIGUARD_SWEEP_TEST_HOLD")  # tests: "SECONDS:FILE" marks a task, then holds it
    if hold:
        seconds, _, mark = hold.partition(":")
        Path(mark).write_text(task.label, encoding="utf-8")
        time.sleep(float(seconds))
    try:
        extra = forges.git_env(task.source, task.forge) if task.forge else None
        local = gitinfo.clone_or_fetch(task.source, clone_dir(task.workdir, task.source), extra) \
            if is_url(task.source) else Path(task.source)
        tips = gitinfo.ref_tips(local)
        known = dict(task.known_tips)
        if known and tips == known:
            return Outcome(task.source, task.label, "unchanged", tips=tuple(sorted(tips.items())),
                           seconds=time.monotonic() - started)
        config = config_mod.load(Path(task.config_path) if task.config_path else None, local)
        old = [sha for sha in known.values()]
        usable = bool(old) and all(gitinfo.has_commit(local, sha) for sha in set(old))
        if usable:
            moved = sorted({sha for ref, sha in tips.items() if known.get(ref) != sha})
            report, mode = _incremental(local, config, sorted(set(old)), moved), "incremental"
        else:
            report, mode = _full(local, config), "full"
        where = replace(locate(local), repo=task.label)
        records = keep_recorded_identities(identity_records(report.findings, where, config), report.findings,
                                           lambda _: set(task.recorded_nhg1))
        context = replace(repo_context(where, config), repo=task.label)
        lost = tuple(f"{n.path}: {n.reason}" for n in report.notices if n.incomplete)
        # A repository swept in part keeps no tips: the next sweep reads it again instead of calling it unchanged
        # (a blob that could not be read today may be readable then).
        return Outcome(task.source, task.label, mode, tuple(records), context,
                       () if lost else tuple(sorted(tips.items())), time.monotonic() - started, incomplete=lost)
    except (NhiguardError, OSError) as exc:
        return Outcome(task.source, task.label, "error", error=str(exc), seconds=time.monotonic() - started)


# -- executors --------------------------------------------------------------------------------------------------
Runner = Callable[[list[Task]], Iterator[Outcome]]


def local_runner(jobs: int) -> Runner:
    def run(tasks: list[Task]) -> Iterator[Outcome]:
        if jobs <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield sweep_one(task)
            return
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures: list[Future[Outcome]] = [pool.submit(sweep_one, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
    return run


def dask_runner(scheduler: str) -> Runner:  # pragma: no cover - exercised by tests with a real cluster
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise NhiguardError("--executor dask needs the 'dask' extra: pip install 'nhiguard[dask]'") from None

    def run(tasks: list[Task]) -> Iterator[Outcome]:
        with Client(scheduler, timeout="30s") as client:  # type: ignore[no-untyped-call]
            futures = [client.submit(sweep_one, task, key=f"nhiguard-sweep-{n}-{task.label}", pure=False,
                                     retries=2) for n, task in enumerate(tasks)]
            for future in dask_completed(futures):  # type: ignore[no-untyped-call]
                outcome: Outcome = future.result()
                yield outcome
    return run


# -- coordinator ------------------------------------------------------------------------------------------------
def run_sweep(sources: Sequence[str], inventory: Path, *, workdir: Path, runner: Runner,
              config_path: Path | None = None, progress: bool | None = None,
              stream: TextIO | None = None, forge_of: dict[str, str] | None = None) -> SweepSummary:
    """`forge_of`: source → the forge whose token its clone may use (only sources the forge itself listed)."""
    err = stream or sys.stderr
    started = time.monotonic()
    summary = SweepSummary()
    workdir = workdir.resolve()  # once: a relative folder would be taken relative to each clone's own parent
    stop_after = int(os.environ.get("NHIGUARD_SWEEP_STOP_AFTER", "0") or 0)  # tests: simulate a kill
    with Inventory(inventory) as store:
        tasks: list[Task] = []
        unique = list(dict.fromkeys(sources))
        bar = Progress(err, "sweep", len(unique), 0, "repositories") if wanted(progress, err) else None
        for source in unique:
            label = label_of(source)
            known = store.sweep_tips(label)
            if known and not is_url(source) and gitinfo.ref_tips(Path(source)) == known:
                summary.outcomes.append(Outcome(source, label, "unchanged", tips=tuple(sorted(known.items()))))
                continue
            tasks.append(Task(source, label, str(workdir), tuple(sorted(known.items())),
                              str(config_path) if config_path else None,
                              tuple(sorted(store.fingerprints_in_repo(label, fingerprint.PREFIX))),
                              (forge_of or {}).get(source, "")))
        if bar is not None:  # the ones already known unchanged count as done: the total never moves
            bar.advance(len(summary.outcomes), what=f"{len(tasks)} to sweep", force=True)
        try:
            for outcome in runner(tasks):
                gcpace.tick()  # (a sweep of an organisation runs for hours: see gcpace)
                if outcome.mode in ("full", "incremental"):
                    store.record(kind=f"sweep:{outcome.mode}", repo=outcome.label, target=outcome.source,
                                 tool_version=__version__, identities=list(outcome.identities),
                                 context=outcome.context, tips=dict(outcome.tips))
                summary.outcomes.append(outcome)
                if bar is not None:
                    name = outcome.label.rstrip("/").rsplit("/", 1)[-1][:40]
                    bar.advance(1, findings=sum(len(o.identities) for o in summary.outcomes),
                                what=f"{name} ({outcome.mode})")
                if stop_after and len(summary.outcomes) >= stop_after:
                    err.flush()
                    os._exit(137)
        finally:
            if bar is not None:
                bar.close()
    summary.seconds = time.monotonic() - started
    return summary


def _hidden(text: str) -> str:
    """A clone URL's password hidden (CI logs keep what a sweep prints)."""
    return _USERINFO.sub(r"\1:***@", text)


def shown(text: str) -> str:
    """A source or message as it may be printed on a terminal: the password hidden, control characters escaped."""
    return printable(_hidden(text))


def describe(summary: SweepSummary) -> str:
    found = sum(len(o.identities) for o in summary.outcomes)
    text = (f"nhiguard: swept {len(summary.outcomes)} repositories in {summary.seconds:.1f}s: "
            f"{summary.count('full')} full, {summary.count('incremental')} incremental, "
            f"{summary.count('unchanged')} unchanged, {len(summary.errors)} failed"
            + (f", {len(summary.incomplete)} incomplete" if summary.incomplete else "")
            + f"; {found} identities recorded")
    lines = [text, *(f"nhiguard: {shown(o.source)}: {shown(o.error or '')}" for o in summary.errors)]
    for o in summary.incomplete:
        more = f" (and {len(o.incomplete) - 1} more)" if len(o.incomplete) > 1 else ""
        lines.append(f"nhiguard: {shown(o.source)}: incomplete: {shown(o.incomplete[0])}{more}")
    return "\n".join(lines)


def as_dict(summary: SweepSummary) -> dict[str, Any]:
    return {"seconds": summary.seconds, "repositories": [
        {"source": _hidden(o.source), "repo": o.label, "mode": o.mode,
         "identities": len(o.identities), "error": _hidden(o.error) if o.error else None,
         **({"incomplete": list(o.incomplete)} if o.incomplete else {})}
        for o in summary.outcomes]}
