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

from nhiguard.escape import printable
from nhiguard.inventory.govern import OWASP_ORDER, OWASP_TITLES, Assessment
from nhiguard.inventory.store import LocationRecord

AGE_BUCKETS = ((30, "< 30 days"), (90, "30-90 days"), (365, "90 days-1 year"), (730, "1-2 years"),
               (10**9, "> 2 years"))


def _text(value: object) -> str:
    """Every value as a person reads it: never `None`."""
    return "" if value is None else str(value)


def expiry_text(a: Assessment) -> str:
    if a.expiry_state == "date":
        return _text(a.expiry)[:10]
    return "none" if a.expiry_state == "none" else "unknown"


def owner_text(a: Assessment) -> str:
    return a.owner or "(unowned)"


def place_text(loc: LocationRecord) -> str:
    where = f"{loc.repo}:{loc.path}:{loc.line}"
    return where + (f" @{loc.commit[:12]}" if loc.commit else "")


def row(a: Assessment) -> dict[str, Any]:
    i = a.identity
    return {
        "fingerprint": i.fingerprint,
        "risk": a.risk,
        "risk_factors": list(a.risk_factors),
        "rule": i.rule_id,
        "rule_name": i.rule_name,
        "provider": i.provider,
        "severity": i.severity,
        "preview": i.preview,
        "status": a.status,
        "sandbox": a.sandbox,
        "owner": a.owner,
        "owner_source": a.owner_source,
        "introduced": a.introduced,
        "age_days": a.age_days,
        "expiry": a.expiry,
        "expiry_state": a.expiry_state,
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
        "rotation_guide": a.rotation_guide,
        "owasp": [{"id": m.nhi, "title": OWASP_TITLES[m.nhi], "reason": m.reason} for m in a.owasp],
        "violations": list(a.violations),
    }


def detail(a: Assessment) -> dict[str, Any]:
    out = row(a)
    out["locations"] = [
        {"repo": loc.repo, "path": loc.path, "line": loc.line, "commit": loc.commit, "author": loc.author,
         "email": loc.email, "date": loc.date, "kind": loc.kind, "owner": loc.owner,
         "owner_source": loc.owner_source, "link": link}
        for loc, link in a.places
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
              "violations", "locations", "links", "remediation", "rotation_guide")


def to_csv(items: Sequence[Assessment]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for a in items:
        r = row(a)
        r["owner"] = owner_text(a)
        r["owner_source"] = _text(a.owner_source)
        r["introduced"] = _text(a.introduced)
        r["expiry"] = expiry_text(a)
        r["owasp"] = " ".join(m["id"] for m in r["owasp"])
        r["violations"] = "; ".join(r["violations"])
        r["locations"] = " | ".join(place_text(loc) for loc, _ in a.places)
        r["links"] = " | ".join(link for _, link in a.places if link)
        r["remediation"] = remediation_text(a)
        # control characters (a crafted path, owner or preview) are escaped: a CSV is read in terminals too
        writer.writerow({k: printable(_text(r[k])) for k in CSV_FIELDS})
    return buffer.getvalue()


def remediation_text(a: Assessment) -> str:
    i = a.identity
    bits = []
    if i.revocation_state:
        bits.append(f"revocation {i.revocation_state}" + (f" {i.revoked_at[:10]}" if i.revoked_at else ""))
    if i.ticket_ref:
        bits.append(f"ticket {i.ticket_ref}" + (f" ({i.ticket_state})" if i.ticket_state else ""))
    return ", ".join(bits) or "none"


def to_table(items: Sequence[Assessment]) -> str:
    header = ("RISK", "FINGERPRINT", "RULE", "STATUS", "OWNER", "AGE", "EXPIRY", "REPOS", "OWASP")
    rows = [tuple(printable(c) for c in (
        str(a.risk), a.identity.fingerprint[:17], a.identity.rule_id, a.status, owner_text(a),
        f"{a.age_days}d", expiry_text(a), str(a.repos), " ".join(a.nhi_ids))) for a in items]
    widths = [max(len(h), *(len(r[n]) for r in rows)) if rows else len(h) for n, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in (header, *rows)]
    return "\n".join(lines) + f"\n\n{len(items)} identit{'y' if len(items) == 1 else 'ies'}\n"


def age_bucket(days: int) -> str:
    return next(label for limit, label in AGE_BUCKETS if days < limit)


def verdict_group(a: Assessment) -> str:
    """live, invalid or unknown: what a lead counts first (not_checked is unknown: nobody asked the provider)."""
    return "live" if a.live else "invalid" if a.status == "invalid" else "unknown"


def expiry_month(a: Assessment) -> str:
    return _text(a.expiry)[:7] if a.expiry_state == "date" else a.expiry_state


def stats(items: Sequence[Assessment]) -> dict[str, Any]:
    return {
        "identities": len(items),
        "live": sum(a.live for a in items),
        "unowned": sum(a.owner is None for a in items),
        "long_lived": sum(a.long_lived for a in items),
        "expiry_unknown": sum(a.expiry_state == "unknown" for a in items),
        "with_violations": sum(bool(a.violations) for a in items),
        "by_verdict": {k: sum(verdict_group(a) == k for a in items) for k in ("live", "unknown", "invalid")},
        "by_owner": dict(sorted(Counter(owner_text(a) for a in items).items())),
        "by_provider": dict(sorted(Counter(a.identity.provider for a in items).items())),
        "by_status": dict(sorted(Counter(a.status for a in items).items())),
        "by_age": {label: sum(age_bucket(a.age_days) == label for a in items) for _, label in AGE_BUCKETS},
        "by_expiry": dict(sorted(Counter(expiry_month(a) for a in items).items())),
        "owasp": {nhi: sum(nhi in a.nhi_ids for a in items) for nhi in OWASP_ORDER},
    }


def stats_text(s: dict[str, Any]) -> str:
    lines = [f"identities: {s['identities']}  live: {s['live']}  unowned: {s['unowned']}  "
             f"long-lived: {s['long_lived']}  expiry unknown: {s['expiry_unknown']}  "
             f"with policy violations: {s['with_violations']}"]
    for title, key in (("by verdict", "by_verdict"), ("by owner", "by_owner"), ("by provider", "by_provider"),
                       ("by status", "by_status"), ("by age", "by_age"), ("by expiry", "by_expiry"),
                       ("OWASP NHI Top 10 (2025)", "owasp")):
        lines.append(f"\n{title}:")
        lines.extend(f"  {printable(k):<28} {v}" for k, v in s[key].items())
    return "\n".join(lines) + "\n"


def show_text(a: Assessment) -> str:
    d = detail(a)
    expiry = expiry_text(a) + (f" ({a.expiry_source})" if a.expiry_source and a.expiry_state == "date" else "")
    lines = [f"{d['fingerprint']}  {d['rule']} ({d['provider']}, {d['severity']})  {d['preview']}",
             f"  risk {d['risk']}  ({'; '.join(a.risk_factors)})",
             f"  status {d['status']}{'  (test-mode or sandbox credential)' if a.sandbox else ''}",
             f"  owner {owner_text(a)}{' (decided by ' + a.owner_source + ')' if a.owner_source else ''}",
             f"  introduced {_text(a.introduced) or 'unknown'}  age {a.age_days} days  expiry {expiry}"
             f"{'  long-lived' if a.long_lived else ''}",
             f"  remediation {remediation_text(a)}"]
    if a.rotation_guide:
        lines.append(f"  rotate {a.rotation_guide}")
    if d["linked"]:
        lines.append(f"  linked: {d['linked']}")
    lines.append("  OWASP NHI:")
    lines.extend(f"    {m['id']} {m['title']}: {m['reason']}" for m in d["owasp"])
    if d["violations"]:
        lines.append("  policy violations:")
        lines.extend(f"    {v}" for v in d["violations"])
    lines.append("  locations:")
    for loc, link in a.places:
        who = " ".join(x for x in (loc.author or "", f"<{loc.email}>" if loc.email else "", loc.date or "") if x)
        lines.append("    " + place_text(loc) + (f" {who}" if who else "") + (f"\n      {link}" if link else ""))
    if d["verdicts"]:
        lines.append("  verdicts:")
        lines.extend("    " + " ".join(x for x in (_text(v["checked_at"]), v["status"], _text(v["identity"]),
                                                   " ".join(v["scopes"])) if x)
                     for v in d["verdicts"])
    return "\n".join(printable(line) for line in lines) + "\n"


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
code{font-size:12px}ul.plain{list-style:none;margin:0;padding:0}details ul{margin:4px 0;padding-left:16px}
.sandbox{background:#fff8c5}a{color:#0969da}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_JS = """
(function(){
  var q=new URLSearchParams(location.search);
  var ids=['f-text','f-verdict','f-owner','f-provider','f-status','f-nhi'];
  var keys={'f-text':'q','f-verdict':'verdict','f-owner':'owner','f-provider':'provider','f-status':'status',
            'f-nhi':'nhi'};
  ids.forEach(function(id){var el=document.getElementById(id);var v=q.get(keys[id]);if(v!==null){el.value=v;}
    el.addEventListener('input',apply);el.addEventListener('change',apply);});
  function apply(){
    var t=document.getElementById('f-text').value.toLowerCase();
    var o=document.getElementById('f-owner').value,p=document.getElementById('f-provider').value;
    var s=document.getElementById('f-status').value,n=document.getElementById('f-nhi').value;
    var v=document.getElementById('f-verdict').value;
    var shown=0;
    document.querySelectorAll('#identities tbody tr').forEach(function(tr){
      var d=tr.dataset;var ok=(!t||tr.textContent.toLowerCase().indexOf(t)>=0)&&(!o||d.owner===o)&&
        (!p||d.provider===p)&&(!s||d.status===s)&&(!v||d.verdict===v)&&(!n||(' '+d.nhi+' ').indexOf(' '+n+' ')>=0);
      tr.hidden=!ok;if(ok){shown++;}
    });
    document.getElementById('shown').textContent=String(shown);
    document.body.setAttribute('data-shown',String(shown));
  }
  apply();
})();
"""


def _e(value: object) -> str:
    return html.escape(printable("" if value is None else str(value)), quote=True)


def _counts_table(title: str, counts: dict[str, int], total: int) -> str:
    top = max(counts.values(), default=0) or 1
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{v}</td><td><span class='bar' style='width:{int(120 * v / top)}px'></span></td></tr>"
        for k, v in counts.items())
    return (f"<div><h2>{_e(title)}</h2><table class='counts'><thead><tr><th>{_e(title.split()[-1])}</th><th>"
            f"identities</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>")


def _options(name: str, values: Sequence[str]) -> str:
    return f"<option value=''>all {name}</option>" + "".join(f"<option>{_e(v)}</option>" for v in values)


def _link(url: str | None, text: str) -> str:
    if not url or not url.startswith("https://"):
        return text
    return f"<a href='{_e(url)}' rel='noopener noreferrer'>{text}</a>"


def _identity_row(a: Assessment) -> str:
    i = a.identity
    nhi = " ".join(a.nhi_ids)
    owasp = "".join(f"<li><span class='tag'>{_e(m.nhi)}</span> {_e(OWASP_TITLES[m.nhi])}: {_e(m.reason)}</li>"
                    for m in a.owasp)
    where = "".join(
        f"<li>{_link(link, '<code>' + _e(place_text(loc).removeprefix(loc.repo + ':')) + '</code>')}"
        f" <span class='muted'>{_e(loc.repo.rsplit('/', 1)[-1])}</span></li>"
        for loc, link in a.places[:8]) + (f"<li>… {len(a.places) - 8} more</li>" if len(a.places) > 8 else "")
    viol = "<br>".join(f"<span class='viol'>{_e(v)}</span>" for v in a.violations)
    status = _e(a.status) + (" <span class='tag sandbox'>test/sandbox</span>" if a.sandbox else "")
    guide = _link(a.rotation_guide, "rotation guide") if a.rotation_guide else ""
    return (
        f"<tr data-owner='{_e(owner_text(a))}' data-provider='{_e(i.provider)}' data-status='{_e(a.status)}' "
        f"data-verdict='{verdict_group(a)}' data-nhi='{_e(nhi)}' data-fingerprint='{_e(i.fingerprint)}'>"
        f"<td class='risk' title='{_e('; '.join(a.risk_factors))}'>{a.risk}</td>"
        f"<td>{_e(i.rule_name)}<br><code>{_e(i.preview)}</code><br><code class='muted'>{_e(i.fingerprint[:17])}"
        f"</code><details class='why'><summary>score</summary><ul>"
        + "".join(f"<li>{_e(f)}</li>" for f in a.risk_factors)
        + f"</ul></details></td>"
        f"<td>{_e(i.provider)}</td><td class='{'live' if a.live else ''}'>{status}</td>"
        f"<td>{_e(owner_text(a))}<br><span class='muted'>{_e(a.owner_source or 'nobody named one')}</span></td>"
        f"<td>{a.age_days} d</td><td>{_e(expiry_text(a))}{' ⚠' if a.long_lived else ''}</td>"
        f"<td><ul class='plain'>{where}</ul></td><td><details><summary>{_e(nhi)}</summary><ul>{owasp}</ul>"
        f"</details></td><td>{_e(remediation_text(a))}<br>{guide}</td><td>{viol}</td></tr>")


def to_html(items: Sequence[Assessment], *, title: str = "nhiguard NHI inventory", generated: str = "") -> str:
    s = stats(items)
    body_rows = [_identity_row(a) for a in items]
    owners = sorted(s["by_owner"])
    providers = sorted(s["by_provider"])
    statuses = sorted(s["by_status"])
    coverage = "".join(
        f"<tr><td>{nhi}</td><td>{_e(OWASP_TITLES[nhi])}</td><td>{s['owasp'][nhi]}</td></tr>" for nhi in OWASP_ORDER)
    cards = "".join(f"<div class='card' id='card-{k}'><b>{v}</b>{label}</div>" for k, v, label in (
        ("identities", s["identities"], "identities"), ("live", s["by_verdict"]["live"], "live"),
        ("unknown", s["by_verdict"]["unknown"], "unknown"), ("invalid", s["by_verdict"]["invalid"], "invalid"),
        ("unowned", s["unowned"], "unowned"), ("long_lived", s["long_lived"], "long-lived"),
        ("expiry_unknown", s["expiry_unknown"], "expiry unknown"),
        ("with_violations", s["with_violations"], "policy violations")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="muted">Every machine credential found, riskiest first: live before unknown before invalid, test-mode and
sandbox credentials last (hover or open a score to see what made it). Secrets are never shown: only redacted previews
and fingerprints. {_e(generated)}</p>
<div class="cards">{cards}</div>
<div class="grid">
{_counts_table("Identities per verdict", s["by_verdict"], s["identities"])}
{_counts_table("Identities per owner", s["by_owner"], s["identities"])}
{_counts_table("Exposure age", s["by_age"], s["identities"])}
{_counts_table("Expiry per month", s["by_expiry"], s["identities"])}
{_counts_table("Identities per provider", s["by_provider"], s["identities"])}
<div><h2>OWASP Non-Human Identities Top 10 (2025)</h2><table id="owasp"><thead><tr><th>id</th><th>risk</th>
<th>identities</th></tr></thead><tbody>{coverage}</tbody></table></div>
</div>
<h2>Identities (<span id="shown">{len(items)}</span> shown)</h2>
<div class="filters">
<input id="f-text" type="search" placeholder="search rule, path, owner…">
<select id="f-verdict">{_options("verdicts", ["live", "unknown", "invalid"])}</select>
<select id="f-owner">{_options("owners", owners)}</select>
<select id="f-provider">{_options("providers", providers)}</select>
<select id="f-status">{_options("statuses", statuses)}</select>
<select id="f-nhi">{_options("OWASP ids", list(OWASP_ORDER))}</select>
</div>
<table id="identities"><thead><tr><th>risk</th><th>credential</th><th>provider</th><th>status</th><th>owner (why)</th>
<th>age</th><th>expiry</th><th>where</th><th>OWASP NHI</th><th>remediation</th><th>policy</th></tr></thead>
<tbody>
{"".join(body_rows)}
</tbody></table>
<script>{_JS}</script>
</body></html>
"""
