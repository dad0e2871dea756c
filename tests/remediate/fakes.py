"""Stateful fakes of the ticket systems (GitHub Issues, GitLab Issues, Jira Cloud) and of GitHub's credential
revocation API, served by the real HTTPS test server (tests/support/providers.py). Each one checks the request the
way the real service would (auth headers, JSON shape) and records what it was sent."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from tests.support.providers import Reply, Seen, json_reply


def _query(seen: Seen) -> tuple[str, dict[str, str]]:
    path, _, query = seen.path.partition("?")
    return path, dict(urllib.parse.parse_qsl(query))


@dataclass
class GitHubIssues:
    token: str
    repo: str = "acme/app"
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)
    forbidden: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> Reply:
        if seen.headers.get("Authorization") != f"Bearer {self.token}":
            return json_reply(401, {"message": "Bad credentials"})
        if seen.headers.get("Accept") != "application/vnd.github+json" or \
                seen.headers.get("X-GitHub-Api-Version") != "2022-11-28":
            return json_reply(400, {"message": "missing API headers"})
        path, query = _query(seen)
        base = f"/repos/{self.repo}/issues"
        with self.lock:
            if seen.method == "GET" and path == base:
                label = query.get("labels", "")
                found = [i for i in self.issues if i["state"] == query.get("state") and label in i["labels"]]
                return json_reply(200, found)
            if self.forbidden:
                return json_reply(403, {"message": "Resource not accessible by personal access token"})
            if seen.method == "POST" and path == base:
                doc = json.loads(seen.body)
                number = len(self.issues) + 1
                issue = {"number": number, "state": "open", "title": doc["title"], "body": doc["body"],
                         "labels": doc.get("labels", []), "assignees": doc.get("assignees", []),
                         "html_url": f"https://github.com/{self.repo}/issues/{number}"}
                self.issues.append(issue)
                return json_reply(201, issue)
            if seen.method == "POST" and path.startswith(base + "/") and path.endswith("/comments"):
                number = int(path[len(base) + 1:].split("/")[0])
                self.comments.append((number, json.loads(seen.body)["body"]))
                return json_reply(201, {"id": len(self.comments)})
        return json_reply(404, {"message": "Not Found"})


@dataclass
class GitLabIssues:
    token: str
    project: str = "acme%2Fapp"
    issues: list[dict[str, Any]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> Reply:
        if seen.headers.get("PRIVATE-TOKEN") != self.token:
            return json_reply(401, {"message": "401 Unauthorized"})
        path, query = _query(seen)
        base = f"/api/v4/projects/{self.project}/issues"
        with self.lock:
            if seen.method == "GET" and path == base:
                label = query.get("labels", "")
                return json_reply(200, [i for i in self.issues
                                        if i["state"] == query.get("state") and label in i["labels"]])
            if seen.method == "POST" and path == base:
                doc = json.loads(seen.body)
                iid = len(self.issues) + 1
                issue = {"iid": iid, "state": "opened", "title": doc["title"], "description": doc["description"],
                         "labels": doc["labels"].split(","), "confidential": doc.get("confidential"),
                         "web_url": f"https://gitlab.com/acme/app/-/issues/{iid}"}
                self.issues.append(issue)
                return json_reply(201, issue)
            if seen.method == "POST" and path.startswith(base + "/") and path.endswith("/notes"):
                self.notes.append((int(path[len(base) + 1:].split("/")[0]), json.loads(seen.body)["body"]))
                return json_reply(201, {"id": len(self.notes)})
        return json_reply(404, {"message": "404 Not found"})


@dataclass
class Jira:
    email: str
    token: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> Reply:
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        if seen.headers.get("Authorization") != expected:
            return json_reply(401, {"errorMessages": ["Unauthorized"]})
        path, _ = _query(seen)
        with self.lock:
            if seen.method == "POST" and path == "/rest/api/3/search/jql":
                jql = json.loads(seen.body)["jql"]
                found = [{"key": i["key"]} for i in self.issues if f'labels = "{i["label"]}"' in jql]
                return json_reply(200, {"issues": found})
            if seen.method == "POST" and path == "/rest/api/3/issue":
                fields = json.loads(seen.body)["fields"]
                if not isinstance(fields.get("description"), dict) or fields["description"].get("type") != "doc":
                    return json_reply(400, {"errors": {"description": "Operation value must be an ADF document"}})
                key = f"{fields['project']['key']}-{len(self.issues) + 1}"
                label = next(x for x in fields["labels"] if x.startswith("nhiguard-fp-"))
                self.issues.append({"key": key, "fields": fields, "label": label})
                return json_reply(201, {"id": str(len(self.issues)), "key": key})
            if seen.method == "POST" and path.startswith("/rest/api/3/issue/") and path.endswith("/comment"):
                self.comments.append((path.split("/")[5], json.loads(seen.body)["body"]))
                return json_reply(201, {"id": "1"})
        return json_reply(404, {"errorMessages": ["not found"]})


@dataclass
class GitHubApi:
    """`POST /credentials/revoke` (unauthenticated, ≤1000 per request, 202) and `GET /user` for re-verification."""

    live: set[str]
    batches: list[list[str]] = field(default_factory=list)
    status: int = 202
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> Reply:
        if seen.method == "POST" and seen.path == "/credentials/revoke":
            if "Authorization" in seen.headers:
                return json_reply(403, {"message": "must not be authenticated"})
            credentials = json.loads(seen.body)["credentials"]
            if len(credentials) > 1000:
                return json_reply(422, {"message": "Validation Failed"})
            with self.lock:
                self.batches.append(credentials)
                if self.status == 202:
                    self.live -= set(credentials)
            if self.status == 429:
                return json_reply(429, {"message": "rate limited"}, {"Retry-After": "3600"})
            return json_reply(self.status, {} if self.status == 202 else {"message": "Validation Failed"})
        if seen.method == "GET" and seen.path == "/user":
            token = seen.headers.get("Authorization", "").removeprefix("token ")
            if token in self.live:
                return json_reply(200, {"login": "release-bot"}, {"X-OAuth-Scopes": "repo"})
            return json_reply(401, {"message": "Bad credentials"})
        return json_reply(404, {"message": "Not Found"})


HEROKU_ACCEPT = "application/vnd.heroku+json; version=3"


@dataclass
class HerokuApi:
    """`GET /oauth/authorizations` (the caller's authorizations, each with its `access_token.token`), `DELETE
    /oauth/authorizations/{id}` (200 with the deleted authorization) and `GET /account` for re-verification. Every
    call needs the Heroku v3 Accept header and a live bearer key; deletions are recorded."""

    authorizations: dict[str, str]  # id -> access token
    unlisted: set[str] = field(default_factory=set)  # keys that authenticate but belong to no listed authorization
    deleted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> Reply:
        if seen.headers.get("Accept") != HEROKU_ACCEPT:
            return json_reply(400, {"id": "bad_request", "message": "missing the v3 Accept header"})
        key = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.lock:
            if key not in self.authorizations.values() and key not in self.unlisted:
                return json_reply(401, {"id": "unauthorized", "message": "Invalid credentials provided."})
            if seen.method == "GET" and seen.path == "/oauth/authorizations":
                return json_reply(200, [{"id": ident, "description": f"authorization {n}",
                                         "access_token": {"id": f"at-{n}", "token": token, "expires_in": None}}
                                        for n, (ident, token) in enumerate(self.authorizations.items())])
            prefix = "/oauth/authorizations/"
            if seen.method == "DELETE" and seen.path.startswith(prefix):
                ident = seen.path[len(prefix):]
                if ident not in self.authorizations:
                    return json_reply(404, {"id": "not_found", "message": "Couldn't find that authorization."})
                del self.authorizations[ident]
                self.deleted.append(ident)
                return json_reply(200, {"id": ident})
            if seen.method == "GET" and seen.path == "/account":
                return json_reply(200, {"id": "h-1", "email": "ops@acme.test"})
        return json_reply(404, {"id": "not_found", "message": "Not Found"})
