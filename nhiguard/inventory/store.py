"""The inventory: one SQLite file keyed by fingerprint. Secrets are never stored, only fingerprints, redacted
previews and facts read from them (an expiry date).

Schema changes are migrations: `MIGRATIONS[n]` brings a database from version n to n+1, in one transaction, and
`schema_version` records each version applied. Writers use WAL mode, a busy timeout and `BEGIN IMMEDIATE`
transactions, so two sweeps writing at once wait for each other instead of losing rows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nhiguard.errors import NhiguardError

BUSY_TIMEOUT_MS = 60_000


class InventoryError(NhiguardError):
    """The inventory file cannot be opened, is newer than this nhiguard, or is corrupt."""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# -- migrations -----------------------------------------------------------------------------------------------
def _script(db: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated DDL inside the caller's transaction (`executescript` would commit it first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL, repo TEXT NOT NULL, target TEXT NOT NULL,
            started_at TEXT NOT NULL, tool_version TEXT NOT NULL, findings INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE identities (
            fingerprint TEXT PRIMARY KEY,
            rule_id TEXT NOT NULL, provider TEXT NOT NULL, severity TEXT NOT NULL, rule_name TEXT NOT NULL,
            nhi TEXT NOT NULL DEFAULT '[]',
            preview TEXT NOT NULL,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
            expiry TEXT, expiry_source TEXT,
            linked TEXT
        );
        CREATE TABLE locations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            fingerprint TEXT NOT NULL REFERENCES identities(fingerprint),
            repo TEXT NOT NULL, path TEXT NOT NULL, line INTEGER NOT NULL,
            commit_sha TEXT NOT NULL DEFAULT '', author TEXT, email TEXT, date TEXT, kind TEXT NOT NULL,
            owner TEXT, owner_source TEXT,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
            UNIQUE (fingerprint, repo, path, line, commit_sha)
        );
        CREATE INDEX locations_by_fingerprint ON locations (fingerprint);
        CREATE TABLE verdicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            fingerprint TEXT NOT NULL REFERENCES identities(fingerprint),
            status TEXT NOT NULL, identity TEXT, scopes TEXT NOT NULL DEFAULT '[]', expiry TEXT,
            detail TEXT NOT NULL DEFAULT '', checked_at TEXT NOT NULL, run_id INTEGER REFERENCES runs(id)
        );
        CREATE INDEX verdicts_by_fingerprint ON verdicts (fingerprint);
        CREATE TABLE repos (
            repo TEXT PRIMARY KEY,
            head_date TEXT, recent_emails TEXT NOT NULL DEFAULT '[]', codeowners TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        );
        """
    )


def _migration_2(db: sqlite3.Connection) -> None:
    """Remediation state: tickets and revocations, recorded by `nhiguard remediate` (idempotent by fingerprint)."""
    for column in ("ticket_ref TEXT", "ticket_state TEXT", "revocation_state TEXT", "revoked_at TEXT",
                   "owner TEXT", "owner_source TEXT"):
        db.execute(f"ALTER TABLE identities ADD COLUMN {column}")


def _migration_3(db: sqlite3.Connection) -> None:
    """Sweep state: each repository's ref tips as last swept, so a re-sweep scans only new commits."""
    db.execute("CREATE TABLE sweep_refs (repo TEXT NOT NULL, ref TEXT NOT NULL, tip TEXT NOT NULL, "
               "swept_at TEXT NOT NULL, PRIMARY KEY (repo, ref))")


def _migration_4(db: sqlite3.Connection) -> None:
    """A repository's remote (credentials stripped), so every location can link to the file at its commit."""
    db.execute("ALTER TABLE repos ADD COLUMN remote TEXT")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migration_1, _migration_2, _migration_3,
                                                                 _migration_4)
SCHEMA_VERSION = len(MIGRATIONS)


# -- records --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LocationRecord:
    repo: str
    path: str
    line: int
    commit: str | None = None
    author: str | None = None
    email: str | None = None
    date: str | None = None
    kind: str = "file"
    owner: str | None = None
    owner_source: str | None = None


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    status: str
    identity: str | None = None
    scopes: tuple[str, ...] = ()
    expiry: str | None = None
    detail: str = ""
    checked_at: str | None = None


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """What one run learnt about one secret. `expiry` comes from the secret itself (JWT exp, certificate)."""

    fingerprint: str
    rule_id: str
    rule_name: str
    provider: str
    severity: str
    preview: str
    nhi: tuple[str, ...] = ()
    locations: tuple[LocationRecord, ...] = ()
    verdict: VerdictRecord | None = None
    expiry: str | None = None
    expiry_source: str | None = None
    linked: str | None = None


@dataclass(frozen=True, slots=True)
class RepoContext:
    """What governance needs to know about a repository: its CODEOWNERS owners, its recent committers."""

    repo: str
    head_date: str | None = None
    recent_emails: tuple[str, ...] = ()
    codeowners: tuple[str, ...] = ()
    remote: str | None = None  # e.g. https://github.com/acme/app (no credentials)


@dataclass(slots=True)
class Identity:
    """One stored identity with everything recorded about it (read back from the store)."""

    fingerprint: str
    rule_id: str
    rule_name: str
    provider: str
    severity: str
    preview: str
    nhi: tuple[str, ...]
    first_seen: str
    last_seen: str
    expiry: str | None
    expiry_source: str | None
    linked: str | None
    ticket_ref: str | None
    ticket_state: str | None
    revocation_state: str | None
    revoked_at: str | None
    locations: list[LocationRecord] = field(default_factory=list)
    verdicts: list[VerdictRecord] = field(default_factory=list)

    @property
    def repos(self) -> list[str]:
        return sorted({loc.repo for loc in self.locations})

    @property
    def latest_verdict(self) -> VerdictRecord | None:
        return max(self.verdicts, key=lambda v: v.checked_at or "") if self.verdicts else None


# -- the store ------------------------------------------------------------------------------------------------
def _retry_locked(action: Callable[[], object]) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class Inventory:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Switching a new file to WAL takes an exclusive lock and, unlike ordinary statements, does not wait
            # on the busy handler: two sweeps opening one new inventory at once must retry it themselves.
            _retry_locked(lambda: self.db.execute("PRAGMA journal_mode = WAL"))
            self.db.execute("PRAGMA foreign_keys = ON")
            _retry_locked(self.migrate)
        except sqlite3.DatabaseError as exc:
            raise InventoryError(f"{path}: cannot open the inventory: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Inventory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` takes the write lock up front (waiting up to the busy timeout), so concurrent
        writers serialise instead of failing halfway. A file that cannot be written (read-only, a full disk) is
        the user's to fix: an InventoryError, not a crash."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise InventoryError(f"{self.path}: cannot write the inventory: {exc}") from None
        try:
            yield self.db
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise InventoryError(f"{self.path}: cannot write the inventory: {exc}") from None
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise InventoryError(f"{self.path}: cannot write the inventory: {exc}") from None

    def version(self) -> int:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
        row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        with self.transaction():
            current = self.version()
            if current > SCHEMA_VERSION:
                raise InventoryError(f"{self.path}: schema version {current} is newer than this nhiguard "
                                     f"({SCHEMA_VERSION}); upgrade nhiguard")
            for number in range(current, SCHEMA_VERSION):
                MIGRATIONS[number](self.db)
                self.db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                (number + 1, now_iso()))

    def applied_versions(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute("SELECT version FROM schema_version ORDER BY version")]

    # -- writing ----------------------------------------------------------------------------------------------
    def record(self, *, kind: str, repo: str, target: str, tool_version: str, identities: Sequence[IdentityRecord],
               context: RepoContext | None = None, when: str | None = None,
               tips: Mapping[str, str] | None = None) -> int:
        """Record one run in one transaction; returns the run id. `tips` (ref → commit) replaces the sweep state
        of the repository in the same transaction, so a sweep killed before it is recorded is simply redone."""
        stamp = when or now_iso()
        with self.transaction() as db:
            cur = db.execute("INSERT INTO runs (kind, repo, target, started_at, tool_version, findings) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (kind, repo, target, stamp, tool_version, len(identities)))
            run_id = int(cur.lastrowid or 0)
            for ident in identities:
                self._upsert(db, ident, stamp, run_id)
            if context is not None:
                db.execute(
                    "INSERT INTO repos (repo, head_date, recent_emails, codeowners, updated_at, remote) "
                    "VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(repo) DO UPDATE SET head_date=excluded.head_date, "
                    "recent_emails=excluded.recent_emails, codeowners=excluded.codeowners, "
                    "updated_at=excluded.updated_at, remote=COALESCE(excluded.remote, remote)",
                    (context.repo, context.head_date, json.dumps(sorted(context.recent_emails)),
                     json.dumps(sorted(context.codeowners)), stamp, context.remote))
            if tips is not None:
                db.execute("DELETE FROM sweep_refs WHERE repo = ?", (repo,))
                db.executemany("INSERT INTO sweep_refs (repo, ref, tip, swept_at) VALUES (?, ?, ?, ?)",
                               [(repo, ref, tip, stamp) for ref, tip in sorted(tips.items())])
        return run_id

    def sweep_tips(self, repo: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT ref, tip FROM sweep_refs WHERE repo = ?", (repo,))}

    @staticmethod
    def _upsert(db: sqlite3.Connection, ident: IdentityRecord, stamp: str, run_id: int) -> None:
        db.execute(
            "INSERT INTO identities (fingerprint, rule_id, provider, severity, rule_name, nhi, preview, first_seen, "
            "last_seen, expiry, expiry_source, linked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(fingerprint) DO UPDATE SET last_seen=MAX(last_seen, excluded.last_seen), "
            "first_seen=MIN(first_seen, excluded.first_seen), "
            "expiry=COALESCE(excluded.expiry, expiry), expiry_source=COALESCE(excluded.expiry_source, expiry_source), "
            "linked=COALESCE(excluded.linked, linked)",
            (ident.fingerprint, ident.rule_id, ident.provider, ident.severity, ident.rule_name,
             json.dumps(list(ident.nhi)), ident.preview, stamp, stamp, ident.expiry, ident.expiry_source,
             ident.linked))
        for loc in ident.locations:
            db.execute(
                "INSERT INTO locations (fingerprint, repo, path, line, commit_sha, author, email, date, kind, owner, "
                "owner_source, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                # one place, seen twice (a history sweep reports the introducing commit and, when that is HEAD,
                # the same commit as present at HEAD): merge, keeping what either knows
                "ON CONFLICT(fingerprint, repo, path, line, commit_sha) DO UPDATE SET last_seen=excluded.last_seen, "
                "owner=COALESCE(excluded.owner, owner), "
                "owner_source=CASE WHEN excluded.owner IS NULL THEN owner_source ELSE excluded.owner_source END, "
                "kind=CASE WHEN excluded.kind = 'history' THEN 'history' ELSE kind END, "
                "author=COALESCE(excluded.author, author), email=COALESCE(excluded.email, email), "
                "date=COALESCE(excluded.date, date)",
                (ident.fingerprint, loc.repo, loc.path, loc.line, loc.commit or "", loc.author, loc.email, loc.date,
                 loc.kind, loc.owner, loc.owner_source, stamp, stamp))
        verdict = ident.verdict
        if verdict is not None and verdict.status != "not_checked":
            db.execute(
                "INSERT INTO verdicts (fingerprint, status, identity, scopes, expiry, detail, checked_at, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ident.fingerprint, verdict.status, verdict.identity, json.dumps(list(verdict.scopes)),
                 verdict.expiry, verdict.detail, verdict.checked_at or stamp, run_id))

    def set_remediation(self, fingerprint: str, *, ticket_ref: str | None = None, ticket_state: str | None = None,
                        revocation_state: str | None = None, revoked_at: str | None = None) -> bool:
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE identities SET ticket_ref=COALESCE(?, ticket_ref), ticket_state=COALESCE(?, ticket_state), "
                "revocation_state=COALESCE(?, revocation_state), revoked_at=COALESCE(?, revoked_at) "
                "WHERE fingerprint=?", (ticket_ref, ticket_state, revocation_state, revoked_at, fingerprint))
            return cur.rowcount > 0

    # -- reading ----------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out = {}
        for table in ("runs", "identities", "locations", "verdicts", "repos"):
            out[table] = int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
        return out

    def repo_contexts(self) -> dict[str, RepoContext]:
        rows = self.db.execute("SELECT repo, head_date, recent_emails, codeowners, remote FROM repos")
        return {r[0]: RepoContext(r[0], r[1], tuple(json.loads(r[2])), tuple(json.loads(r[3])), r[4])
                for r in rows}

    def identities(self, fingerprints: Iterable[str] | None = None) -> list[Identity]:
        wanted = set(fingerprints) if fingerprints is not None else None
        out: dict[str, Identity] = {}
        for r in self.db.execute(
                "SELECT fingerprint, rule_id, rule_name, provider, severity, preview, nhi, first_seen, last_seen, "
                "expiry, expiry_source, linked, ticket_ref, ticket_state, revocation_state, revoked_at "
                "FROM identities ORDER BY fingerprint"):
            if wanted is not None and r[0] not in wanted:
                continue
            out[r[0]] = Identity(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7], r[8], r[9],
                                 r[10], r[11], r[12], r[13], r[14], r[15])
        for r in self.db.execute(
                "SELECT fingerprint, repo, path, line, commit_sha, author, email, date, kind, owner, owner_source "
                "FROM locations ORDER BY repo, path, line, commit_sha"):
            ident = out.get(r[0])
            if ident is not None:
                ident.locations.append(LocationRecord(r[1], r[2], r[3], r[4] or None, r[5], r[6], r[7], r[8], r[9],
                                                      r[10]))
        for r in self.db.execute("SELECT fingerprint, status, identity, scopes, expiry, detail, checked_at "
                                 "FROM verdicts ORDER BY checked_at, id"):
            ident = out.get(r[0])
            if ident is not None:
                ident.verdicts.append(VerdictRecord(r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6]))
        return list(out.values())

    def fingerprints_of(self, rule_ids: Iterable[str], prefix: str) -> set[str]:
        """The fingerprints with `prefix` recorded for these rules (cheap: no identity is built)."""
        wanted = sorted(set(rule_ids))
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(f"SELECT fingerprint FROM identities WHERE rule_id IN ({marks}) "  # noqa: S608
                               "AND fingerprint LIKE ?", (*wanted, prefix + "%"))
        return {r[0] for r in rows}

    def fingerprints_in_repo(self, repo: str, prefix: str) -> set[str]:
        """The fingerprints with `prefix` seen at some location in `repo`."""
        rows = self.db.execute("SELECT DISTINCT fingerprint FROM locations WHERE repo = ? AND fingerprint LIKE ?",
                               (repo, prefix + "%"))
        return {r[0] for r in rows}

    def find(self, prefix: str) -> list[Identity]:
        return [i for i in self.identities() if i.fingerprint.startswith(prefix)
                or i.fingerprint.split(":", 1)[-1].startswith(prefix)]
