"""Inventory reports from assessed identities: a text table, JSON, CSV, statistics, one identity in detail,
and a single self-contained HTML page (inline CSS and JS; nothing loaded from the network)."""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from nhiguard.inventory.govern import OWASP_ORDER, OWASP_TITLES, Assessment

AGE_BUCKETS = ((30, "< 30 days"), (90, "30-90 days"), (365, "90 days-1 year"), (730, "1-2 years"),
               (10**9, "> 2 years"))


def row(a: Assessment) -> dict[str, Any]:
    i = a.identity
    return {
        "fingerprint": i.fingerprint,
        "risk": a.risk,
        "rule": i.rule_id,
        "provider": i.provider,
        "severity": i.severity,
        "preview": i.preview,
        "status": a.status,
        "owner": a.owner,
        "owner_source": a.owner_source,
        "introduced": a.introduced,
        "age_days": a.age_days,
        "expiry": a.expiry,
        "expiry_source": a.expiry_source,
        "long_lived": a.long_lived,
        "privileged": a.privileged,
        "repos": a.repos,
        "copies": a.copies,
        "environments": list(a.environments),
        "linked": i.linked,
        "first_seen": i.first_seen,
        "last_seen": i.last_seen,
        "ticket": {"ref": i.ticket_ref, "state": i.ticket_state},
        "revocation": {"state": i.revocation_state, "at": i.revoked_at},
        "owasp": [{"id": m.nhi, "title": OWASP_TITLES[m.nhi], "reason": m.reason} for m in a.owasp],
        "violations": list(a.violations),
    }


def detail(a: Assessment) -> dict[str, Any]:
    out = row(a)
    out["locations"] = [
        {"repo": loc.repo, "path": loc.path, "line": loc.line, "commit": loc.commit, "author": loc.author,
         "email": loc.email, "date": loc.date, "kind": loc.kind, "owner": loc.owner}
        for loc in a.identity.locations
    ]
    out["verdicts"] = [
        {"status": v.status, "identity": v.identity, "scopes": list(v.scopes), "expiry": v.expiry,
         "checked_at": v.checked_at, "detail": v.detail}
        for v in a.identity.verdicts
    ]
    return out


def to_json(items: Sequence[Assessment], *, full: bool = True) -> str:
    return json.dumps({"identities": [detail(a) if full else row(a) for a in items]}, indent=2) + "\n"


CSV_FIELDS = ("fingerprint", "risk", "rule", "provider", "severity", "preview", "status", "owner", "owner_source",
              "introduced", "age_days", "expiry", "long_lived", "privileged", "repos", "copies", "owasp",
              "violations")


def to_csv(items: Sequence[Assessment]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for a in items:
        r = row(a)
        r["owasp"] = " ".join(m["id"] for m in r["owasp"])
        r["violations"] = "; ".join(r["violations"])
        writer.writerow({k: r[k] for k in CSV_FIELDS})
    return buffer.getvalue()


def to_table(items: Sequence[Assessment]) -> str:
    header = ("RISK", "FINGERPRINT", "RULE", "STATUS", "OWNER", "AGE", "EXPIRY", "REPOS", "OWASP")
    rows = [(str(a.risk), a.identity.fingerprint[:17], a.identity.rule_id, a.status, a.owner or "(unowned)",
             f"{a.age_days}d", (a.expiry or "none")[:10], str(a.repos), " ".join(a.nhi_ids)) for a in items]
    widths = [max(len(h), *(len(r[n]) for r in rows)) if rows else len(h) for n, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in (header, *rows)]
    return "\n".join(lines) + f"\n\n{len(items)} identit{'y' if len(items) == 1 else 'ies'}\n"


def age_bucket(days: int) -> str:
    return next(label for limit, label in AGE_BUCKETS if days < limit)


def stats(items: Sequence[Assessment]) -> dict[str, Any]:
    return {
        "identities": len(items),
        "live": sum(a.live for a in items),
        "unowned": sum(a.owner is None for a in items),
        "long_lived": sum(a.long_lived for a in items),
        "with_violations": sum(bool(a.violations) for a in items),
        "by_owner": dict(sorted(Counter(a.owner or "(unowned)" for a in items).items())),
        "by_provider": dict(sorted(Counter(a.identity.provider for a in items).items())),
        "by_status": dict(sorted(Counter(a.status for a in items).items())),
        "by_age": {label: sum(age_bucket(a.age_days) == label for a in items) for _, label in AGE_BUCKETS},
        "owasp": {nhi: sum(nhi in a.nhi_ids for a in items) for nhi in OWASP_ORDER},
    }


def stats_text(s: dict[str, Any]) -> str:
    lines = [f"identities: {s['identities']}  live: {s['live']}  unowned: {s['unowned']}  "
             f"long-lived: {s['long_lived']}  with policy violations: {s['with_violations']}"]
    for title, key in (("by owner", "by_owner"), ("by provider", "by_provider"), ("by status", "by_status"),
                       ("by age", "by_age"), ("OWASP NHI Top 10 (2025)", "owasp")):
        lines.append(f"\n{title}:")
        lines.extend(f"  {k:<28} {v}" for k, v in s[key].items())
    return "\n".join(lines) + "\n"


def show_text(a: Assessment) -> str:
    d = detail(a)
    lines = [f"{d['fingerprint']}  {d['rule']} ({d['provider']}, {d['severity']})  {d['preview']}",
             f"  risk {d['risk']}  status {d['status']}  owner {d['owner'] or '(unowned)'}"
             f"{' via ' + d['owner_source'] if d['owner_source'] else ''}",
             f"  introduced {d['introduced']}  age {d['age_days']} days  expiry {d['expiry'] or 'none'}"
             f"{' (' + d['expiry_source'] + ')' if d['expiry_source'] else ''}"
             f"{'  long-lived' if d['long_lived'] else ''}"]
    if d["linked"]:
        lines.append(f"  linked: {d['linked']}")
    lines.append("  OWASP NHI:")
    lines.extend(f"    {m['id']} {m['title']}: {m['reason']}" for m in d["owasp"])
    if d["violations"]:
        lines.append("  policy violations:")
        lines.extend(f"    {v}" for v in d["violations"])
    lines.append("  locations:")
    for loc in d["locations"]:
        lines.append(f"    {loc['repo']}:{loc['path']}:{loc['line']}"
                     + (f" @{loc['commit'][:10]} {loc['author']} <{loc['email']}> {loc['date']}"
                        if loc["commit"] else ""))
    if d["verdicts"]:
        lines.append("  verdicts:")
        lines.extend(f"    {v['checked_at']} {v['status']} {v['identity'] or ''} {' '.join(v['scopes'])}".rstrip()
                     for v in d["verdicts"])
    return "\n".join(lines) + "\n"


# -- HTML ---------------------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f24;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.muted{color:#57606a}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6;position:sticky;top:0}
.bar{background:#0969da;height:12px;display:inline-block;border-radius:2px}
.risk{font-weight:bold}.live{color:#cf222e;font-weight:bold}.tag{display:inline-block;background:#ddf4ff;
border-radius:10px;padding:0 6px;margin:1px;font-size:12px}.viol{color:#9a6700}
.filters{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}input,select{font:inherit;padding:3px 6px}
code{font-size:12px}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_JS = """
(function(){
  var q=new URLSearchParams(location.search);
  var ids=['f-text','f-owner','f-provider','f-status','f-nhi'];
  var keys={'f-text':'q','f-owner':'owner','f-provider':'provider','f-status':'status','f-nhi':'nhi'};
  ids.forEach(function(id){var el=document.getElementById(id);var v=q.get(keys[id]);if(v!==null){el.value=v;}
    el.addEventListener('input',apply);el.addEventListener('change',apply);});
  function apply(){
    var t=document.getElementById('f-text').value.toLowerCase();
    var o=document.getElementById('f-owner').value,p=document.getElementById('f-provider').value;
    var s=document.getElementById('f-status').value,n=document.getElementById('f-nhi').value;
    var shown=0;
    document.querySelectorAll('#identities tbody tr').forEach(function(tr){
      var d=tr.dataset;var ok=(!t||tr.textContent.toLowerCase().indexOf(t)>=0)&&(!o||d.owner===o)&&
        (!p||d.provider===p)&&(!s||d.status===s)&&(!n||(' '+d.nhi+' ').indexOf(' '+n+' ')>=0);
      tr.hidden=!ok;if(ok){shown++;}
    });
    document.getElementById('shown').textContent=String(shown);
    document.body.setAttribute('data-shown',String(shown));
  }
  apply();
})();
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _counts_table(title: str, counts: dict[str, int], total: int) -> str:
    top = max(counts.values(), default=0) or 1
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{v}</td><td><span class='bar' style='width:{int(120 * v / top)}px'></span></td></tr>"
        for k, v in counts.items())
    return (f"<div><h2>{_e(title)}</h2><table class='counts'><thead><tr><th>{_e(title.split()[-1])}</th><th>"
            f"identities</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>")


def _options(name: str, values: Sequence[str]) -> str:
    return f"<option value=''>all {name}</option>" + "".join(f"<option>{_e(v)}</option>" for v in values)


def to_html(items: Sequence[Assessment], *, title: str = "nhiguard NHI inventory", generated: str = "") -> str:
    s = stats(items)
    body_rows = []
    for a in items:
        i = a.identity
        nhi = " ".join(a.nhi_ids)
        owasp = "".join(f"<span class='tag' title='{_e(OWASP_TITLES[m.nhi] + ': ' + m.reason)}'>{_e(m.nhi)}</span>"
                        for m in a.owasp)
        where = "<br>".join(f"<code>{_e(loc.repo.rsplit('/', 1)[-1])}:{_e(loc.path)}:{loc.line}</code>"
                            for loc in i.locations[:5]) + (f"<br>… {len(i.locations) - 5} more"
                                                           if len(i.locations) > 5 else "")
        viol = "<br>".join(f"<span class='viol'>{_e(v)}</span>" for v in a.violations)
        body_rows.append(
            f"<tr data-owner='{_e(a.owner or '(unowned)')}' data-provider='{_e(i.provider)}' "
            f"data-status='{_e(a.status)}' data-nhi='{_e(nhi)}' data-fingerprint='{_e(i.fingerprint)}'>"
            f"<td class='risk'>{a.risk}</td><td>{_e(i.rule_name)}<br><code>{_e(i.preview)}</code></td>"
            f"<td>{_e(i.provider)}</td><td class='{'live' if a.live else ''}'>{_e(a.status)}</td>"
            f"<td>{_e(a.owner or '(unowned)')}<br><span class='muted'>{_e(a.owner_source or '')}</span></td>"
            f"<td>{a.age_days} d</td><td>{_e((a.expiry or 'none')[:10])}{' ⚠' if a.long_lived else ''}</td>"
            f"<td>{a.repos}</td><td>{where}</td><td>{owasp}</td><td>{viol}</td></tr>")
    owners = sorted(s["by_owner"])
    providers = sorted(s["by_provider"])
    statuses = sorted(s["by_status"])
    coverage = "".join(
        f"<tr><td>{nhi}</td><td>{_e(OWASP_TITLES[nhi])}</td><td>{s['owasp'][nhi]}</td></tr>" for nhi in OWASP_ORDER)
    cards = "".join(f"<div class='card'><b>{s[k]}</b>{label}</div>" for k, label in (
        ("identities", "identities"), ("live", "live"), ("unowned", "unowned"), ("long_lived", "long-lived"),
        ("with_violations", "policy violations")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="muted">Every machine credential found, riskiest first. Secrets are never shown: only redacted previews
and fingerprints. {_e(generated)}</p>
<div class="cards">{cards}</div>
<div class="grid">
{_counts_table("Identities per owner", s["by_owner"], s["identities"])}
{_counts_table("Identities per provider", s["by_provider"], s["identities"])}
{_counts_table("Exposure age", s["by_age"], s["identities"])}
<div><h2>OWASP Non-Human Identities Top 10 (2025)</h2><table id="owasp"><thead><tr><th>id</th><th>risk</th>
<th>identities</th></tr></thead><tbody>{coverage}</tbody></table></div>
</div>
<h2>Identities (<span id="shown">{len(items)}</span> shown)</h2>
<div class="filters">
<input id="f-text" type="search" placeholder="search rule, path, owner…">
<select id="f-owner">{_options("owners", owners)}</select>
<select id="f-provider">{_options("providers", providers)}</select>
<select id="f-status">{_options("statuses", statuses)}</select>
<select id="f-nhi">{_options("OWASP ids", list(OWASP_ORDER))}</select>
</div>
<table id="identities"><thead><tr><th>risk</th><th>credential</th><th>provider</th><th>status</th><th>owner</th>
<th>age</th><th>expiry</th><th>repos</th><th>where</th><th>OWASP NHI</th><th>policy</th></tr></thead>
<tbody>
{"".join(body_rows)}
</tbody></table>
<script>{_JS}</script>
</body></html>
"""
