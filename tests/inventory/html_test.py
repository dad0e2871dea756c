"""`nhiguard inventory report --html` opened in headless Chromium: the table renders riskiest first, the
filters work (a select and the query string), a screenshot is taken, and the page requests nothing but itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhiguard.inventory.store import IdentityRecord, Inventory, LocationRecord, RepoContext, VerdictRecord
from tests.support.browser import Browser, chromium
from tests.support.cli import run_cli

pytestmark = pytest.mark.skipif(chromium() is None and not Path("/usr/bin/chromium").exists(),
                                reason="chromium is not installed")


def _identity(n: int, rule: str, provider: str, path: str, author: str, date: str,
              verdict: VerdictRecord | None = None, severity: str = "high") -> IdentityRecord:
    return IdentityRecord(
        fingerprint=f"nhg1:{n:064x}", rule_id=rule, rule_name=f"{provider.title()} token",
        provider=provider, severity=severity, preview=f"{provider[:3]}_****<i>{n}</i> (40 chars)",
        locations=(LocationRecord("/src/payments", path, 3, f"{n:040x}", author, author, date, "history", author,
                                  "author"),),
        verdict=verdict)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    db = tmp / "inventory.sqlite"
    with Inventory(db) as store:
        store.record(kind="history", repo="/src/payments", target="payments", tool_version="t", identities=[
            _identity(1, "github-pat-classic", "github", ".github/workflows/deploy.yml", "ops@example.com",
                      "2023-03-01T00:00:00+00:00", VerdictRecord("live", "deploy-bot", ("repo", "admin:org"), "never")),
            _identity(2, "slack-bot-token", "slack", "src/notify.py", "dev@example.com", "2024-11-01T00:00:00+00:00"),
            _identity(3, "github-pat-classic", "github", "tools/.env.dev", "dev@example.com",
                      "2024-06-01T00:00:00+00:00", VerdictRecord("invalid")),
            # a payment provider's test-mode key, live and critical: still below every production credential
            _identity(4, "stripe-test-key", "stripe", "docs/checkout.md", "dev@example.com",
                      "2024-06-01T00:00:00+00:00", VerdictRecord("live", "acct_test"), severity="critical"),
        ], context=RepoContext("/src/payments", remote="https://github.com/acme/payments"))
    html = tmp / "report.html"
    done = run_cli("inventory", "report", "--html", html, "--inventory", db, "--as-of", "2025-01-01T00:00:00+00:00")
    assert done.returncode == 0, done.stderr
    return html


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    chrome = Browser(tmp_path_factory.mktemp("profile"))
    yield chrome
    chrome.close()


VISIBLE = "[...document.querySelectorAll('#identities tbody tr')].filter(r => !r.hidden).map(r => r.dataset.provider)"


def test_the_page_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text and " src=" not in text and "url(" not in text
    assert "default-src 'none'" in text
    assert "<i>1</i>" not in text and "&lt;i&gt;1&lt;/i&gt;" in text  # previews are escaped


def test_table_renders_filters_work_and_nothing_is_fetched(report: Path, browser: Browser, tmp_path: Path) -> None:
    browser.open(report.as_uri())
    assert browser.evaluate("document.title") == "nhiguard NHI inventory"
    # live before unknown before invalid; the test-mode key last although it is live and critical
    assert browser.evaluate(VISIBLE) == ["github", "slack", "github", "stripe"]
    risks = browser.evaluate("[...document.querySelectorAll('#identities tbody td.risk')].map(td => +td.textContent)")
    assert risks == sorted(risks, reverse=True) and len(risks) == 4
    why = browser.evaluate("[...document.querySelectorAll('#identities tbody td.risk')].map(td => td.title)")
    assert why[0].startswith("live: 300; privileged access +20") and why[3].startswith("test-mode or sandbox")
    assert browser.evaluate("document.querySelector('#identities tbody tr').dataset.nhi") == "NHI2 NHI5 NHI6 NHI7"
    coverage = browser.evaluate("[...document.querySelectorAll('#owasp tbody tr')].map(r => r.cells[0].textContent)")
    assert coverage == [f"NHI{n}" for n in range(1, 11)]
    cards = browser.evaluate("[...document.querySelectorAll('.card')].map(c => c.id + '=' + c.querySelector('b')"
                             ".textContent)")
    assert {"card-live=2", "card-unknown=1", "card-invalid=1", "card-expiry_unknown=3"} <= set(cards)
    first = browser.evaluate("[...document.querySelectorAll('#identities tbody tr')[0].querySelectorAll('a')]"
                             ".map(a => a.href)")
    assert first[0] == f"https://github.com/acme/payments/blob/{1:040x}/.github/workflows/deploy.yml#L3"
    assert any(href.startswith("https://docs.github.com/") for href in first)  # the rule's rotation guide

    browser.evaluate("var s = document.getElementById('f-provider'); s.value = 'slack';"
                     "s.dispatchEvent(new Event('change'))")
    assert browser.evaluate(VISIBLE) == ["slack"]
    assert browser.evaluate("document.getElementById('shown').textContent") == "1"

    browser.navigate(report.as_uri() + "?nhi=NHI5")
    assert browser.evaluate(VISIBLE) == ["github"]
    browser.navigate(report.as_uri() + "?q=.env.dev")
    assert browser.evaluate(VISIBLE) == ["github"]
    browser.navigate(report.as_uri() + "?verdict=live")
    assert browser.evaluate(VISIBLE) == ["github", "stripe"]

    shot = Path(os.environ.get("NHIGUARD_SCREENSHOT_DIR", tmp_path)) / "report.png"
    browser.navigate(report.as_uri())
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert {url.split("?")[0] for url in browser.requested_urls()} == {report.as_uri()}
