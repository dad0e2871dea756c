"""`nhiguard sweep --github-org/--github-user/--gitlab-group` against local servers that speak the GitHub and GitLab
REST contracts on 127.0.0.1 (pagination, rate limits, tokens), cloning from local bare repositories."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from nhiguard.errors import SourceError
from nhiguard.sources import forges
from tests.support.cli import run_cli
from tests.support.gitrepo import GitRepo
from tests.support.loopback import serve_get
from tests.support.tokens import github_classic


@dataclass
class Forge:
    """GitHub: /orgs/O/repos, /users/U/repos; GitLab: /api/v4/groups/G/projects. `pages` items per page; the
    first `limited` requests answer a rate limit (reset `reset_in` seconds ahead)."""

    repos: dict[str, list[dict[str, Any]]]
    page_size: int = 2
    limited: int = 0
    reset_in: float = 1.0
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = serve_get(self.serve)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        self.seen.append((h.path, {k.lower(): v for k, v in h.headers.items()}))
        if self.limited > 0:
            self.limited -= 1
            body = b'{"message": "API rate limit exceeded"}'
            h.send_response(403)
            h.send_header("x-ratelimit-remaining", "0")
            h.send_header("x-ratelimit-reset", str(int(time.time() + self.reset_in)))
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        items = self.repos.get(url.path)
        if items is None:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        query = parse_qs(url.query)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * self.page_size: page * self.page_size]
        body = json.dumps(chunk).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if page * self.page_size < len(items):
            if url.path.startswith("/api/v4/"):
                h.send_header("x-next-page", str(page + 1))
            else:
                rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "page")
                h.send_header("Link", f'<{self.url}{url.path}?{rest}&page={page + 1}>; rel="next", '
                                      f'<{self.url}{url.path}?page=1>; rel="first"')
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bare_repo(tmp: Path, name: str, secret_seed: str) -> str:
    work = GitRepo(tmp / "work" / name)
    work.write("app.env", f"TOKEN={github_classic(secret_seed)}\n")
    work.commit(f"add {name}")
    bare = tmp / "remotes" / f"{name}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    return bare.as_uri()


def github_item(name: str, url: str, **flags: bool) -> dict[str, Any]:
    return {"full_name": name, "clone_url": url, "fork": flags.get("fork", False),
            "archived": flags.get("archived", False), "private": flags.get("private", False)}


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    urls = {n: bare_repo(tmp_path, n, n) for n in ("api", "web", "lib", "old", "fork", "secretive")}
    yield tmp_path, urls


def sweep_json(tmp: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    done = run_cli("sweep", *args, "--inventory", tmp / "inv.sqlite", "--workdir", tmp / "clones", "-f", "json",
                   "-j", "1", env=env)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def test_github_org_paginated_filtered_and_swept(estate: tuple[Path, dict[str, str]]) -> None:
    tmp, urls = estate
    server = Forge({"/orgs/acme/repos": [
        github_item("acme/api", urls["api"]), github_item("acme/web", urls["web"]),
        github_item("acme/lib", urls["lib"], private=True), github_item("acme/old", urls["old"], archived=True),
        github_item("acme/fork", urls["fork"], fork=True),
    ]})
    try:
        code, doc, err = sweep_json(tmp, "--github-org", "acme", "--github-url", server.url,
                                    env={"GITHUB_TOKEN": "tok-gh-1"})
        assert code == 0, err
        swept = sorted(Path(r["repo"]).name for r in doc["repositories"])
        assert swept == ["api.git", "lib.git", "web.git"]
        assert all(r["mode"] == "full" and r["identities"] == 1 for r in doc["repositories"])
        assert "GitHub org acme: 3 repositories to sweep (1 archived, 1 fork skipped)" in err
        assert "swept 3 repositories" in err
        pages = [path for path, _ in server.seen]
        assert len(pages) == 3 and all("per_page=100" in p for p in pages)  # followed Link rel="next" twice
        assert all(headers.get("authorization") == "Bearer tok-gh-1" for _, headers in server.seen)
        # with every filter turned the other way, and private ones left out
        code, doc, err = sweep_json(tmp, "--github-org", "acme", "--github-url", server.url, "--include-forks",
                                    "--include-archived", "--exclude-private")
        assert code == 0, err
        assert sorted(Path(r["repo"]).name for r in doc["repositories"]) == ["api.git", "fork.git", "old.git",
                                                                             "web.git"]
        assert "authorization" not in server.seen[-1][1]  # no token in the environment: none sent
    finally:
        server.close()


def test_gitlab_group_with_subgroups_and_github_user(estate: tuple[Path, dict[str, str]]) -> None:
    tmp, urls = estate
    gitlab = Forge({"/api/v4/groups/acme%2Fplatform/projects": [
        {"path_with_namespace": "acme/platform/api", "http_url_to_repo": urls["api"], "archived": False,
         "visibility": "internal"},
        {"path_with_namespace": "acme/platform/sub/web", "http_url_to_repo": urls["web"], "archived": False,
         "visibility": "public"},
        {"path_with_namespace": "acme/platform/fork", "http_url_to_repo": urls["fork"], "archived": False,
         "visibility": "public", "forked_from_project": {"id": 1}},
    ]})
    github = Forge({"/users/alice/repos": [github_item("alice/secretive", urls["secretive"])]})
    try:
        code, doc, err = sweep_json(tmp, "--gitlab-group", "acme/platform", "--gitlab-url", gitlab.url,
                                    "--github-user", "alice", "--github-url", github.url,
                                    env={"GITLAB_TOKEN": "glt-1"})
        assert code == 0, err
        assert sorted(Path(r["repo"]).name for r in doc["repositories"]) == ["api.git", "secretive.git", "web.git"]
        assert all("include_subgroups=true" in path for path, _ in gitlab.seen)
        assert len(gitlab.seen) == 2  # x-next-page followed
        assert all(headers.get("private-token") == "glt-1" for _, headers in gitlab.seen)
        assert all("private-token" not in headers for _, headers in github.seen)  # each forge gets its own token
        # a second sweep: nothing changed, nothing scanned again
        code, doc, err = sweep_json(tmp, "--gitlab-group", "acme/platform", "--gitlab-url", gitlab.url)
        assert code == 0 and {r["mode"] for r in doc["repositories"]} == {"unchanged"}
    finally:
        gitlab.close()
        github.close()


def test_rate_limits_wait_within_the_cap_else_stop_with_a_message(estate: tuple[Path, dict[str, str]]) -> None:
    tmp, urls = estate
    server = Forge({"/orgs/acme/repos": [github_item("acme/api", urls["api"])]}, limited=1, reset_in=1)
    try:
        started = time.monotonic()
        code, _, err = sweep_json(tmp, "--github-org", "acme", "--github-url", server.url)
        assert code == 0, err
        assert time.monotonic() - started >= 1.0 and len(server.seen) == 2
        server.limited, server.reset_in = 1, 3600
        done = run_cli("sweep", "--github-org", "acme", "--github-url", server.url, "--rate-limit-wait", "5",
                       "--inventory", tmp / "inv2.sqlite")
        assert done.returncode == 2
        assert "rate limit reached" in done.stderr and "GITHUB_TOKEN" in done.stderr
    finally:
        server.close()


def test_unknown_org_and_plain_http_elsewhere_are_clear_errors(tmp_path: Path) -> None:
    server = Forge({})
    try:
        done = run_cli("sweep", "--github-org", "nope", "--github-url", server.url, "--inventory",
                       tmp_path / "i.sqlite")
        assert done.returncode == 2 and "not found" in done.stderr
    finally:
        server.close()
    with pytest.raises(SourceError, match="HTTPS"):
        forges.github("org", "acme", base="http://github.example.com/api/v3")
    assert run_cli("sweep").returncode == 2


def test_tokens_go_only_with_clones_from_the_forge_host() -> None:
    api = forges.ForgeRepo("github", "a/b", "https://github.com/a/b.git")
    assert forges.trusted_clone(api, "https://api.github.com")
    assert not forges.trusted_clone(forges.ForgeRepo("github", "a/b", "https://evil.example/a/b.git"),
                                    "https://api.github.com")
    assert forges.trusted_clone(forges.ForgeRepo("github", "a/b", "https://ghe.corp/a/b.git"),
                                "https://ghe.corp/api/v3")
    env = forges.git_env("https://github.com/a/b.git", "github", {"GITHUB_TOKEN": "t"})
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert forges.git_env("file:///tmp/x.git", "github", {"GITHUB_TOKEN": "t"}) == {}
    assert forges.git_env("https://github.com/a/b.git", "github", {}) == {}
