"""The SQLite store: versioned migrations, upserts keyed by fingerprint, and two concurrent writers that lose
nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nhiguard.inventory.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    IdentityRecord,
    Inventory,
    InventoryError,
    LocationRecord,
    VerdictRecord,
)

ROOT = Path(__file__).resolve().parents[2]


def _ident(n: int, repo: str, verdict: VerdictRecord | None = None) -> IdentityRecord:
    return IdentityRecord(fingerprint=f"nhg1:{n:04d}", rule_id="github-pat-classic", rule_name="GitHub PAT",
                          provider="github", severity="critical", preview=f"ghp_****{n}",
                          locations=(LocationRecord(repo, f"f{n}.env", 1, "c" * 40, "A", "a@x", "2024-01-01"),),
                          verdict=verdict)


def test_migrations_are_recorded_once_each(tmp_path: Path) -> None:
    db = tmp_path / "inv.sqlite"
    with Inventory(db) as store:
        assert store.applied_versions() == list(range(1, len(MIGRATIONS) + 1)) == list(range(1, SCHEMA_VERSION + 1))
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Inventory(db) as store:  # reopening applies nothing twice
        assert store.applied_versions() == list(range(1, SCHEMA_VERSION + 1))


def test_an_old_database_is_migrated_forward(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    raw.execute("BEGIN")
    MIGRATIONS[0](raw)
    raw.execute("INSERT INTO schema_version VALUES (1, 'then')")
    raw.execute("COMMIT")
    raw.close()
    with Inventory(db) as store:
        assert store.applied_versions() == list(range(1, SCHEMA_VERSION + 1))
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(identities)")}
        assert {"ticket_ref", "ticket_state", "revocation_state", "revoked_at"} <= columns


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    Inventory(db).close()
    raw = sqlite3.connect(db)
    raw.execute("INSERT INTO schema_version VALUES (99, 'future')")
    raw.commit()
    raw.close()
    with pytest.raises(InventoryError, match="newer than this nhiguard"):
        Inventory(db)


def test_upserts_keep_one_identity_and_every_location_and_verdict(tmp_path: Path) -> None:
    with Inventory(tmp_path / "inv.sqlite") as store:
        store.record(kind="scan", repo="/r1", target="t", tool_version="x", identities=[_ident(1, "/r1")],
                     when="2024-01-01T00:00:00+00:00")
        store.record(kind="scan", repo="/r2", target="t", tool_version="x",
                     identities=[_ident(1, "/r2", VerdictRecord("live", "bot", ("repo",)))],
                     when="2024-02-01T00:00:00+00:00")
        store.record(kind="scan", repo="/r2", target="t", tool_version="x", identities=[_ident(1, "/r2")],
                     when="2024-03-01T00:00:00+00:00")
        assert store.counts() == {"runs": 3, "identities": 1, "locations": 2, "verdicts": 1, "repos": 0}
        (ident,) = store.identities()
        assert (ident.first_seen, ident.last_seen) == ("2024-01-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00")
        assert ident.repos == ["/r1", "/r2"] and ident.verdicts[0].scopes == ("repo",)
        assert store.set_remediation(ident.fingerprint, ticket_ref="SEC-1", ticket_state="open")
        assert store.identities()[0].ticket_ref == "SEC-1"


WRITER = textwrap.dedent("""
    import sys
    from nhiguard.inventory.store import IdentityRecord, Inventory, LocationRecord
    db, repo, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.stdin.readline()  # both writers start together
    with Inventory(__import__("pathlib").Path(db)) as store:
        for n in range(start, start + 200):
            ident = IdentityRecord(fingerprint=f"nhg1:{n:04d}", rule_id="r", rule_name="R", provider="p",
                                   severity="high", preview="x***",
                                   locations=(LocationRecord(repo, f"f{n}", 1, None),))
            store.record(kind="history", repo=repo, target=repo, tool_version="t", identities=[ident])
""")


def test_two_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), repo, str(start)], cwd=ROOT,
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE)
             for repo, start in (("/repo/a", 0), ("/repo/b", 100))]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    with Inventory(db) as store:
        assert store.counts() == {"runs": 400, "identities": 300, "locations": 400, "verdicts": 0, "repos": 0}
        shared = [i for i in store.identities() if len(i.repos) == 2]
        assert len(shared) == 100


@pytest.mark.parametrize("head_first", [True, False])
def test_the_same_place_seen_at_head_and_in_history_merges(tmp_path: Path, head_first: bool) -> None:
    head = LocationRecord("/r", "a.env", 1, "c" * 40, None, None, None, "head", None, None)
    introduced = LocationRecord("/r", "a.env", 1, "c" * 40, "Ann", "ann@x", "2024-01-01", "history", "ann@x",
                                "author")
    both = (head, introduced) if head_first else (introduced, head)
    ident = IdentityRecord(fingerprint="nhg1:1", rule_id="r", rule_name="R", provider="p", severity="high",
                           preview="x", locations=both)
    with Inventory(tmp_path / "inv.sqlite") as store:
        store.record(kind="history", repo="/r", target="t", tool_version="x", identities=[ident])
        (loc,) = store.identities()[0].locations
    assert (loc.kind, loc.author, loc.owner, loc.owner_source) == ("history", "Ann", "ann@x", "author")


def test_an_inventory_that_cannot_be_written_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "inv.sqlite"
    with Inventory(path) as store:
        store.record(kind="scan", repo="/r1", target="t", tool_version="x", identities=[_ident(1, "/r1")])
    with Inventory(path) as store:
        store.db.close()
        store.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)  # as a read-only file
        with pytest.raises(InventoryError, match="cannot write the inventory"):
            store.record(kind="scan", repo="/r1", target="t", tool_version="x", identities=[_ident(2, "/r1")])
