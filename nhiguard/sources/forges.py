"""Repositories of a whole organisation, user or group, listed through the forge's REST API for `nhiguard sweep`.

GitHub (`/orgs/ORG/repos`, `/users/USER/repos`; GitHub Enterprise at `https://HOST/api/v3`) and GitLab
(`/api/v4/groups/GROUP/projects?include_subgroups=true`; self-managed at its own URL). Pages are followed through
the `Link: <…>; rel="next"` header (GitLab also `x-next-page`), only ever on the API's own host. Rate limits: a
403/429 with `x-ratelimit-remaining: 0` (or a `retry-after`) waits for the reset when that is within the
operator's cap, else stops with a message that says when to come back. Tokens come from the environment only
(GITHUB_TOKEN / NHIGUARD_GITHUB_TOKEN, GITLAB_TOKEN / NHIGUARD_GITLAB_TOKEN), never from a repository; the base
URLs only from the operator's options. HTTPS is required, except for a loopback API (tests).
"""

from __future__ import annotations

import base64
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from nhiguard.errors import SourceError
from nhiguard.http import Blocked, HttpClient, HttpError, HttpSettings, Policy, Request, Response, is_loopback_host

GITHUB_API = "https://api.github.com"
GITLAB_URL = "https://gitlab.com"
TOKEN_VARIABLES = {"github": ("NHIGUARD_GITHUB_TOKEN", "GITHUB_TOKEN"),
                   "gitlab": ("NHIGUARD_GITLAB_TOKEN", "GITLAB_TOKEN")}
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_MAX_PAGES = 10_000


@dataclass(frozen=True, slots=True)
class ForgeRepo:
    forge: str  # "github" | "gitlab"
    name: str  # owner/name, group/sub/name
    clone_url: str
    fork: bool = False
    archived: bool = False
    private: bool = False


@dataclass(frozen=True, slots=True)
class Filters:
    forks: bool = False
    archived: bool = False
    private: bool = True

    def keep(self, repo: ForgeRepo) -> bool:
        return ((self.forks or not repo.fork) and (self.archived or not repo.archived)
                and (self.private or not repo.private))


@dataclass(frozen=True, slots=True)
class Listing:
    kept: tuple[ForgeRepo, ...]
    skipped: dict[str, int]  # reason → count


def token_for(forge: str, env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    for name in TOKEN_VARIABLES[forge]:
        if env.get(name):
            return env[name]
    return None


class _Api:
    """GETs against one API base, with pagination and rate-limit waits."""

    def __init__(self, base: str, headers: tuple[tuple[str, str], ...], forge: str, wait_cap: float,
                 client: HttpClient | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise SourceError(f"{base}: the {forge} URL must be https://HOST[/PATH]")
        self.loopback = is_loopback_host(parts.hostname)
        if parts.scheme == "http" and not self.loopback:
            raise SourceError(f"{base}: the {forge} URL must use HTTPS (plain HTTP only for a loopback test server)")
        self.base = base.rstrip("/")
        self.netloc = parts.netloc.lower()
        self.headers = headers
        self.forge = forge
        self.wait_cap = wait_cap
        self.sleep = sleep
        self.client = client or HttpClient(HttpSettings(read_timeout=30.0, rate_per_host=0, max_body=32 << 20,
                                                        user_agent="nhiguard (repository listing)"))
        self.policy = Policy(hosts=(self.netloc,), allow_http=self.loopback)

    def get(self, url: str) -> Response:
        while True:
            try:
                answer = self.client.send(Request("GET", url, self.headers), self.policy)
            except (Blocked, HttpError) as exc:
                raise SourceError(f"{self.forge} API: {exc}") from None
            wait = self._rate_limited(answer)
            if wait is None:
                return answer
            if wait > self.wait_cap:
                when = time.strftime("%H:%M UTC", time.gmtime(time.time() + wait))
                hint = "" if any(k.lower() in ("authorization", "private-token") for k, _ in self.headers) else \
                    f"; a token ({' or '.join(TOKEN_VARIABLES[self.forge])}) raises the limit"
                raise SourceError(f"{self.forge} API rate limit reached: it resets at {when} (in {wait / 60:.0f} "
                                  f"min), longer than --rate-limit-wait {self.wait_cap:g}s{hint}; run again later")
            self.sleep(max(wait, 0.0))

    @staticmethod
    def _rate_limited(answer: Response) -> float | None:
        """Seconds to wait before asking again, or None when this is not a rate-limit answer."""
        if answer.status not in (403, 429):
            return None
        headers = answer.headers
        if headers.get("retry-after", "").strip().isdigit():
            return float(headers["retry-after"])
        if headers.get("x-ratelimit-remaining") == "0" or headers.get("ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset") or ""
            if reset.isdigit():
                return max(0.0, float(reset) - time.time()) + 1.0
            return 60.0
        if answer.status == 429:
            return 60.0
        return None

    def pages(self, url: str) -> Iterator[list[dict[str, object]]]:
        for _ in range(_MAX_PAGES):
            answer = self.get(url)
            if answer.status == 404:
                raise SourceError(f"{self.forge} API: {urllib.parse.urlsplit(url).path} not found (a typo, or a "
                                  "private group the token cannot see?)")
            if answer.status in (401, 403):
                raise SourceError(f"{self.forge} API: access refused (HTTP {answer.status}): check the token "
                                  f"({' or '.join(TOKEN_VARIABLES[self.forge])})")
            if answer.status != 200:
                raise SourceError(f"{self.forge} API: HTTP {answer.status} for {urllib.parse.urlsplit(url).path}")
            doc = answer.json()
            if not isinstance(doc, list):
                raise SourceError(f"{self.forge} API: expected a list of repositories")
            yield [item for item in doc if isinstance(item, dict)]
            following = self._next(url, answer)
            if following is None:
                return
            url = following
        raise SourceError(f"{self.forge} API: more than {_MAX_PAGES} pages")

    def _next(self, url: str, answer: Response) -> str | None:
        match = _LINK_NEXT.search(answer.headers.get("link", ""))
        target: str | None = str(urllib.parse.urljoin(url, match.group(1))) if match else None
        if target is None and answer.headers.get("x-next-page", "").strip().isdigit():
            parts = urllib.parse.urlsplit(url)
            query = dict(urllib.parse.parse_qsl(parts.query))
            query["page"] = answer.headers["x-next-page"].strip()
            target = str(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))))
        if target is None:
            return None
        if urllib.parse.urlsplit(target).netloc.lower() != self.netloc:
            raise SourceError(f"{self.forge} API: a next page on another host was refused")
        return target

    def close(self) -> None:
        self.client.close()


def github(kind: str, name: str, *, base: str = GITHUB_API, token: str | None = None, filters: Filters = Filters(),
           wait_cap: float = 60.0, client: HttpClient | None = None,
           sleep: Callable[[float], None] = time.sleep) -> Listing:
    """The repositories of a GitHub organisation (`kind` "org") or user ("user")."""
    headers = [("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")]
    if token:
        headers.append(("Authorization", f"Bearer {token}"))
    api = _Api(base, tuple(headers), "github", wait_cap, client, sleep)
    owner = urllib.parse.quote(name, safe="")
    path = f"/orgs/{owner}/repos?type=all&per_page=100" if kind == "org" else \
        f"/users/{owner}/repos?type=owner&per_page=100"
    found = []
    try:
        for page in api.pages(api.base + path):
            for item in page:
                clone = item.get("clone_url")
                if not isinstance(clone, str) or item.get("disabled"):
                    continue
                found.append(ForgeRepo("github", str(item.get("full_name", clone)), clone, bool(item.get("fork")),
                                       bool(item.get("archived")),
                                       bool(item.get("private")) or item.get("visibility") in ("private", "internal")))
    finally:
        api.close()
    return _split(found, filters)


def gitlab(group: str, *, base: str = GITLAB_URL, token: str | None = None, filters: Filters = Filters(),
           wait_cap: float = 60.0, client: HttpClient | None = None,
           sleep: Callable[[float], None] = time.sleep) -> Listing:
    """The projects of a GitLab group and all its subgroups."""
    headers = [("Accept", "application/json")]
    if token:
        headers.append(("PRIVATE-TOKEN", token))
    api = _Api(base, tuple(headers), "gitlab", wait_cap, client, sleep)
    path = f"/api/v4/groups/{urllib.parse.quote(group, safe='')}/projects?include_subgroups=true&per_page=100" \
           "&order_by=id&sort=asc"
    found = []
    try:
        for page in api.pages(api.base + path):
            for item in page:
                clone = item.get("http_url_to_repo")
                if not isinstance(clone, str):
                    continue
                found.append(ForgeRepo("gitlab", str(item.get("path_with_namespace", clone)), clone,
                                       item.get("forked_from_project") is not None, bool(item.get("archived")),
                                       item.get("visibility") in ("private", "internal")))
    finally:
        api.close()
    return _split(found, filters)


def _split(found: list[ForgeRepo], filters: Filters) -> Listing:
    kept: list[ForgeRepo] = []
    skipped: dict[str, int] = {}
    seen: set[str] = set()
    for repo in found:
        if repo.clone_url in seen:
            continue
        seen.add(repo.clone_url)
        if filters.keep(repo):
            kept.append(repo)
            continue
        reason = "fork" if repo.fork and not filters.forks else "archived" if repo.archived and not filters.archived \
            else "private"
        skipped[reason] = skipped.get(reason, 0) + 1
    return Listing(tuple(kept), skipped)


def web_host(forge: str, base: str) -> str:
    """The host clones come from: github.com for api.github.com, else the API's own host."""
    host = (urllib.parse.urlsplit(base).hostname or "").lower()
    return "github.com" if forge == "github" and host == "api.github.com" else host


def trusted_clone(repo: ForgeRepo, base: str) -> bool:
    """Whether the operator's token may go with a clone of `repo`: HTTPS to the forge's own host only (an answer
    naming another host never gets it)."""
    parts = urllib.parse.urlsplit(repo.clone_url)
    return parts.scheme == "https" and (parts.hostname or "").lower() == web_host(repo.forge, base)


def git_env(clone_url: str, forge: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Git settings (as GIT_CONFIG_* variables, never on a command line) that let a clone of a forge's private
    repository authenticate with the operator's token, read here, in the process that clones, from its own
    environment (a Dask task carries no token). Empty unless the URL is HTTPS and the token is set."""
    parts = urllib.parse.urlsplit(clone_url)
    token = token_for(forge, env) if forge in TOKEN_VARIABLES else None
    if parts.scheme != "https" or not parts.hostname or not token:
        return {}
    user = "x-access-token" if forge == "github" else "oauth2"
    pair = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.https://{parts.netloc}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {pair}"}


__all__ = ["Filters", "ForgeRepo", "Listing", "git_env", "github", "gitlab", "token_for", "trusted_clone", "web_host"]
