"""The catalogue users read to choose a scanner: `rules list` filters and the generated docs/catalogue.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nhiguard import catalogue, ruleset

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nhiguard", *args], capture_output=True, text=True, check=False)


def test_the_catalogue_page_is_current() -> None:
    page = catalogue.markdown(catalogue.entries(ruleset.load_builtin()))
    on_disk = (ROOT / "docs" / "catalogue.md").read_text(encoding="utf-8")
    assert on_disk == page, "docs/catalogue.md is stale: run `nhiguard rules catalogue -o docs/catalogue.md`"


def test_list_filters_by_provider_severity_verify_and_revoke() -> None:
    everything = json.loads(_cli("rules", "list", "-f", "json").stdout)
    rows = everything["rules"]
    assert everything["providers"] == len({r["provider"] for r in rows})
    assert everything["verifiable"] == sum(r["verify"] for r in rows)

    github = json.loads(_cli("rules", "list", "-f", "json", "--provider", "github").stdout)["rules"]
    assert github and {r["provider"] for r in github} == {"github"}

    critical = json.loads(_cli("rules", "list", "-f", "json", "--severity", "critical").stdout)["rules"]
    assert critical and {r["severity"] for r in critical} == {"critical"}
    assert len(critical) < len(rows)

    both = json.loads(_cli("rules", "list", "-f", "json", "--verifiable", "--revocable").stdout)
    assert both["rules"] and all(r["verify"] and r["revoke"] for r in both["rules"])
    assert {r["id"] for r in both["rules"]} == {r["id"] for r in rows if r["verify"] and r["revoke"]}
    assert both["revocable_providers"] == len({r["provider"] for r in both["rules"]})


def test_text_listing_marks_capabilities_and_says_when_nothing_matches() -> None:
    out = _cli("rules", "list", "--provider", "slack").stdout
    assert "verify" in out and "revoke" in out and "providers" in out.splitlines()[-1]
    assert _cli("rules", "list", "--provider", "no-such-provider").stdout.strip() == "no rule matches these filters"


def test_bad_severity_is_a_usage_error() -> None:
    result = _cli("rules", "list", "--severity", "urgent")
    assert result.returncode == 2 and "urgent" in result.stderr
