"""Ticket backends: GitHub Issues, GitLab Issues (confidential), Jira Cloud REST v3 (description in ADF).

Idempotency: every ticket carries a label derived from the fingerprint (`nhiguard-fp-…`) and a hidden marker in its
body. Before creating, the backend looks for an open ticket with that label; when one exists it is commented on
(updated) instead of duplicated. Tokens come from the environment (GITHUB_TOKEN, GITLAB_TOKEN, JIRA_EMAIL +
JIRA_API_TOKEN) and never appear in an outcome, an error or the audit log.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nhiguard.http import Request, Response
from nhiguard.remediate.plugins import Outcome, RemediationError, Ticket, Transport

FALSE_POSITIVE_HELP = (
    "If this is not a real credential (a test value, a placeholder), mark it as a false positive: add its "
    "fingerprint under `allow: fingerprints:` in .nhiguard.yml (or to the baseline with `nhiguard baseline "
    "create`), then close this ticket."
)


def marker(ticket: Ticket) -> str:
    return f"<!-- nhiguard:fingerprint={ticket.fingerprint} -->"


def _lines(ticket: Ticket) -> list[tuple[str, str]]:
    rows = [
        ("Rule", f"{ticket.rule_id} ({ticket.rule_name})"),
        ("Provider", ticket.provider),
        ("Severity", ticket.severity),
        ("Secret (redacted)", ticket.redacted),
        ("Fingerprint", ticket.fingerprint),
        ("Verdict", ticket.verdict + (f" ({ticket.verdict_detail})" if ticket.verdict_detail else "")),
    ]
    if ticket.identity:
        rows.append(("Identity", ticket.identity))
    rows.append(("Age", f"{ticket.age_days} days" if ticket.age_days is not None else "unknown"))
    if ticket.owner:
        rows.append(("Owner", f"{ticket.owner} (from {ticket.owner_source or 'config'})"))
    return rows


def _location_text(loc: Any) -> str:
    text = f"{loc.repo + ':' if loc.repo else ''}{loc.path}:{loc.line}"
    if loc.commit:
        text += f" (commit {loc.commit[:12]}"
        text += f", author {loc.author}" if loc.author else ""
        text += f", {loc.date}" if loc.date else ""
        text += ")"
    elif loc.author:
        text += f" (author {loc.author})"
    return text


def rotation_text(ticket: Ticket) -> str:
    guide = ticket.rotation_guide or "the provider's documentation"
    return (f"Treat the credential as compromised: revoke or rotate it at {ticket.provider} (guide: {guide}), "
            "update every place that uses it, then remove it from the code and the git history.")


def markdown(ticket: Ticket) -> str:
    out = ["nhiguard found a leaked non-human credential. The secret itself is not shown here.", ""]
    out += [f"- **{name}**: `{value}`" if name in ("Secret (redacted)", "Fingerprint") else f"- **{name}**: {value}"
            for name, value in _lines(ticket)]
    out += ["", "**Locations**", ""]
    out += [f"- `{_location_text(loc)}`" for loc in ticket.locations]
    out += ["", "**How to fix**", "", rotation_text(ticket), "", "**False positive?**", "", FALSE_POSITIVE_HELP, "",
            marker(ticket)]
    return "\n".join(out)


def update_text(ticket: Ticket) -> str:
    where = ", ".join(f"`{_location_text(loc)}`" for loc in ticket.locations[:20])
    return (f"nhiguard saw this credential again: verdict **{ticket.verdict}**, "
            f"{len(ticket.locations)} location(s): {where}\n\n{marker(ticket)}")


def adf(ticket: Ticket) -> dict[str, Any]:
    """The ticket as an Atlassian Document Format document (Jira REST v3 refuses plain-text descriptions)."""

    def text(value: str, *marks: str) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "text", "text": value}
        if marks:
            node["marks"] = [{"type": m} for m in marks]
        return node

    def para(*nodes: dict[str, Any]) -> dict[str, Any]:
        return {"type": "paragraph", "content": list(nodes)}

    def bullets(items: Sequence[list[dict[str, Any]]]) -> dict[str, Any]:
        return {"type": "bulletList", "content": [{"type": "listItem", "content": [para(*item)]} for item in items]}

    content: list[dict[str, Any]] = [
        para(text("nhiguard found a leaked non-human credential. The secret itself is not shown here.")),
        bullets([[text(f"{name}: ", "strong"), text(value, "code") if name in ("Secret (redacted)", "Fingerprint")
                  else text(value)] for name, value in _lines(ticket)]),
        {"type": "heading", "attrs": {"level": 3}, "content": [text("Locations")]},
        bullets([[text(_location_text(loc), "code")] for loc in ticket.locations] or [[text("none recorded")]]),
        {"type": "heading", "attrs": {"level": 3}, "content": [text("How to fix")]},
        para(text(rotation_text(ticket))),
        {"type": "heading", "attrs": {"level": 3}, "content": [text("False positive?")]},
        para(text(FALSE_POSITIVE_HELP)),
    ]
    return {"type": "doc", "version": 1, "content": content}


def _fail(system: str, response: Response, doing: str) -> RemediationError:
    document = response.json()
    message = ""
    if isinstance(document, Mapping):
        raw = document.get("message") or document.get("errorMessages") or document.get("error") or ""
        message = "; ".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    hint = ""
    if response.status in (401, 403):
        hint = " (check that the token is set and has permission to create issues)"
    return RemediationError(f"{system} answered {response.status} when {doing}{hint}"
                            + (f": {message[:200]}" if message else ""))


def _create(transport: Transport, system: str, url: str, headers: tuple[tuple[str, str], ...],
            payload: Mapping[str, Any], doing: str, auth: tuple[str, str] | None = None) -> Response:
    """POST what makes an issue or a comment (201 expected). Sent once: a retry after a lost answer could file
    it twice."""
    sent = transport.send(Request("POST", url, headers, json.dumps(payload).encode(), basic_auth=auth,
                                  repeatable=False))
    if sent.status != 201:
        raise _fail(system, sent, doing)
    return sent


def _token(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise RemediationError(f"set {name} to file tickets")
    return value


def _host_of(url: str, what: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise RemediationError(f"{what} must be an https:// URL")
    host = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return f"https://{parts.netloc}{parts.path.rstrip('/')}", host


def _trusted_url(settings: Mapping[str, Any], backend: str, default: str, confirm: str) -> str:
    """The API base for a ticket system. A repository's own `.nhiguard.yml` must not choose where the ticket
    token is sent: a non-default URL (GitHub Enterprise, self-managed GitLab, any Jira site) counts only when
    the operator confirms it with the same URL in the `confirm` environment variable."""
    configured = str(settings.get("url") or "").rstrip("/")
    if not configured or configured == default:
        return default
    if os.environ.get(confirm, "").rstrip("/") != configured:
        raise RemediationError(
            f"remediate.tickets.{backend}.url is {configured}: set {confirm}={configured} to confirm that "
            "your ticket token may be sent there (a repository's config alone cannot choose the host)"
        )
    return configured


def _setting(settings: Mapping[str, Any], key: str, backend: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str | int) or value == "":
        raise RemediationError(f"remediate.tickets.{backend}.{key} is required")
    return str(value)


def _problems(*checks: Callable[[], object]) -> list[str]:
    """What stops a backend from acting, all at once (each check raises RemediationError)."""
    out = []
    for check in checks:
        try:
            check()
        except RemediationError as exc:
            out.append(str(exc))
    return out


def _labels(settings: Mapping[str, Any], ticket: Ticket) -> list[str]:
    raw = settings.get("labels") or []
    labels = [str(x) for x in raw] if isinstance(raw, list) else [str(raw)]
    for extra in (*ticket.labels, ticket.label):
        if extra not in labels:
            labels.append(extra)
    return labels


# -- GitHub Issues ---------------------------------------------------------------------------------------------
class GitHubIssues:
    name = "github-issues"

    def _url(self, settings: Mapping[str, Any]) -> tuple[str, str]:
        url = _trusted_url(settings, "github", "https://api.github.com", "NHIGUARD_GITHUB_URL")
        return _host_of(url, "remediate.tickets.github.url")

    def hosts(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return (self._url(settings)[1],)

    def preflight(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
        return _problems(lambda: self._url(settings), lambda: _setting(settings, "repo", "github"),
                         lambda: _token(env, "GITHUB_TOKEN"))

    def file(self, ticket: Ticket, settings: Mapping[str, Any], transport: Transport,
             env: Mapping[str, str]) -> Outcome:
        repo = _setting(settings, "repo", "github")
        if repo.count("/") != 1:
            raise RemediationError("remediate.tickets.github.repo is OWNER/NAME")
        token = _token(env, "GITHUB_TOKEN")
        base = f"{self._url(settings)[0]}/repos/{repo}/issues"
        headers = (("Authorization", f"Bearer {token}"), ("Accept", "application/vnd.github+json"),
                   ("X-GitHub-Api-Version", "2022-11-28"))
        query = urllib.parse.urlencode({"state": "open", "labels": ticket.label, "per_page": "100"})
        found = transport.send(Request("GET", f"{base}?{query}", headers))
        if found.status != 200:
            raise _fail("GitHub", found, "looking for an open issue")
        existing = [i for i in (found.json() or []) if isinstance(i, Mapping) and "pull_request" not in i]
        body_headers = (*headers, ("Content-Type", "application/json"))
        if existing:
            issue = existing[0]
            sent = _create(transport, "GitHub", f"{base}/{int(issue['number'])}/comments", body_headers,
                           {"body": update_text(ticket)}, "commenting on the open issue")
            return Outcome(True, "updated", str(issue.get("html_url") or issue["number"]), http_status=sent.status)
        payload: dict[str, Any] = {"title": ticket.title, "body": markdown(ticket),
                                   "labels": _labels(settings, ticket)}
        if ticket.assignee:
            payload["assignees"] = [ticket.assignee.lstrip("@")]
        sent = _create(transport, "GitHub", base, body_headers, payload, "creating the issue")
        document = sent.json() or {}
        return Outcome(True, "created", str(document.get("html_url") or document.get("number") or ""),
                       http_status=sent.status)


# -- GitLab Issues ---------------------------------------------------------------------------------------------
class GitLabIssues:
    name = "gitlab-issues"

    def _url(self, settings: Mapping[str, Any]) -> tuple[str, str]:
        url = _trusted_url(settings, "gitlab", "https://gitlab.com", "NHIGUARD_GITLAB_URL")
        return _host_of(url, "remediate.tickets.gitlab.url")

    def hosts(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return (self._url(settings)[1],)

    def preflight(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
        return _problems(lambda: self._url(settings), lambda: _setting(settings, "project", "gitlab"),
                         lambda: _token(env, "GITLAB_TOKEN"))

    def file(self, ticket: Ticket, settings: Mapping[str, Any], transport: Transport,
             env: Mapping[str, str]) -> Outcome:
        project = urllib.parse.quote(_setting(settings, "project", "gitlab"), safe="")
        token = _token(env, "GITLAB_TOKEN")
        base = f"{self._url(settings)[0]}/api/v4/projects/{project}/issues"
        headers = (("PRIVATE-TOKEN", token),)
        query = urllib.parse.urlencode({"state": "opened", "labels": ticket.label, "per_page": "100"})
        found = transport.send(Request("GET", f"{base}?{query}", headers))
        if found.status != 200:
            raise _fail("GitLab", found, "looking for an open issue")
        existing = [i for i in (found.json() or []) if isinstance(i, Mapping)]
        body_headers = (*headers, ("Content-Type", "application/json"))
        if existing:
            issue = existing[0]
            sent = _create(transport, "GitLab", f"{base}/{int(issue['iid'])}/notes", body_headers,
                           {"body": update_text(ticket)}, "adding a note to the open issue")
            return Outcome(True, "updated", str(issue.get("web_url") or issue["iid"]), http_status=sent.status)
        payload: dict[str, Any] = {"title": ticket.title, "description": markdown(ticket),
                                   "labels": ",".join(_labels(settings, ticket)), "confidential": True}
        if ticket.assignee and ticket.assignee.isdigit():
            payload["assignee_ids"] = [int(ticket.assignee)]
        sent = _create(transport, "GitLab", base, body_headers, payload, "creating the issue")
        document = sent.json() or {}
        return Outcome(True, "created", str(document.get("web_url") or document.get("iid") or ""),
                       http_status=sent.status)


# -- Jira Cloud ------------------------------------------------------------------------------------------------
class JiraCloud:
    name = "jira"

    def _url(self, settings: Mapping[str, Any]) -> tuple[str, str]:
        _setting(settings, "url", "jira")  # (required: there is no default site)
        # anyone can own a SITE.atlassian.net: the operator confirms the site, as for any non-default host
        url = _trusted_url(settings, "jira", "", "NHIGUARD_JIRA_URL")
        base, host = _host_of(url, "remediate.tickets.jira.url")
        if not host.endswith(".atlassian.net"):
            raise RemediationError("remediate.tickets.jira.url must be a Jira Cloud site (https://SITE.atlassian.net)")
        return base, host

    def hosts(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return (self._url(settings)[1],)

    def preflight(self, settings: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
        return _problems(lambda: self._url(settings), lambda: _setting(settings, "project", "jira"),
                         lambda: _token(env, "JIRA_EMAIL"), lambda: _token(env, "JIRA_API_TOKEN"))

    def file(self, ticket: Ticket, settings: Mapping[str, Any], transport: Transport,
             env: Mapping[str, str]) -> Outcome:
        project = _setting(settings, "project", "jira")
        auth = (_token(env, "JIRA_EMAIL"), _token(env, "JIRA_API_TOKEN"))
        base = f"{self._url(settings)[0]}/rest/api/3"
        headers = (("Accept", "application/json"), ("Content-Type", "application/json"))
        jql = f'project = "{project}" AND labels = "{ticket.label}" AND statusCategory != Done'
        found = transport.send(Request("POST", f"{base}/search/jql", headers,
                                       json.dumps({"jql": jql, "fields": ["key"], "maxResults": 10}).encode(),
                                       basic_auth=auth))
        if found.status != 200:
            raise _fail("Jira", found, "searching for an open issue")
        document = found.json() or {}
        issues = [i for i in document.get("issues") or [] if isinstance(i, Mapping) and i.get("key")]
        if issues:
            key = str(issues[0]["key"])
            comment = {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": update_text(ticket).split("\n\n")[0]
                                                   .replace("**", "").replace("`", "")}]}]}
            sent = _create(transport, "Jira", f"{base}/issue/{urllib.parse.quote(key)}/comment", headers,
                           {"body": comment}, "commenting on the open issue", auth)
            return Outcome(True, "updated", key, http_status=sent.status)
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": str(settings.get("issuetype") or "Task")},
            "summary": ticket.title,
            "description": adf(ticket),
            "labels": _labels(settings, ticket),
        }
        if ticket.assignee:
            fields["assignee"] = {"accountId": ticket.assignee}
        sent = _create(transport, "Jira", f"{base}/issue", headers, {"fields": fields}, "creating the issue", auth)
        return Outcome(True, "created", str((sent.json() or {}).get("key") or ""), http_status=sent.status)


GITHUB = GitHubIssues()
GITLAB = GitLabIssues()
JIRA = JiraCloud()
