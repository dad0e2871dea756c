"""`nhiguard ci --comment` on a pull request: one comment with the summary, created once and then updated in place
(never duplicated), against a local HTTPS server speaking GitHub's issue-comments contract; without permission the
run warns and goes on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci.kit import (
    REPOSITORY,
    T_PR1,
    Upstream,
    build_upstream,
    checkout_like_actions,
    pull_request_event,
    run_github,
)
from tests.support.providers import ProviderServer, Reply, Seen, json_reply

TOKEN = "ghs_" + "x7Kq2Lm9" * 4 + "Zp3W"  # nhiguard:allow (a fake installation token, generated shape)
MARKER = "<!-- nhiguard:pull-request-comment -->"


class Comments:
    """GitHub's issue comments for pull request 7: list (paginated), create, update."""

    def __init__(self, *, allowed: bool = True, others: int = 0) -> None:
        self.allowed = allowed
        self.items: list[dict[str, object]] = [{"id": 1000 + i, "body": f"looks good {i}"} for i in range(others)]
        self.next_id = 5000

    def __call__(self, seen: Seen) -> Reply:
        if seen.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_reply(401, {"message": "Bad credentials"})
        if not self.allowed and seen.method != "GET":
            return json_reply(403, {"message": "Resource not accessible by integration"})
        path, _, query = seen.path.partition("?")
        if path == f"/repos/{REPOSITORY}/issues/7/comments" and seen.method == "GET":
            page = int(re.search(r"(?:^|&)page=(\d+)", query).group(1))  # type: ignore[union-attr]
            return json_reply(200, self.items[(page - 1) * 100: page * 100])
        if path == f"/repos/{REPOSITORY}/issues/7/comments" and seen.method == "POST":
            self.items.append({"id": self.next_id, "body": json.loads(seen.body)["body"]})
            self.next_id += 1
            return json_reply(201, self.items[-1])
        m = re.fullmatch(rf"/repos/{REPOSITORY}/issues/comments/(\d+)", path)
        if m and seen.method == "PATCH":
            for item in self.items:
                if item["id"] == int(m.group(1)):
                    item["body"] = json.loads(seen.body)["body"]
                    return json_reply(200, item)
        return json_reply(404, {"message": "Not Found"})

    def ours(self) -> list[dict[str, object]]:
        return [c for c in self.items if MARKER in str(c["body"])]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return build_upstream(tmp_path_factory.mktemp("ci-comment"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path / "tls")
    yield srv
    srv.close()


def _run(upstream: Upstream, tmp_path: Path, server: ProviderServer, name: str, head: str = "f2") -> str:
    c = upstream.c
    work = checkout_like_actions(upstream, tmp_path / name, "refs/pull/7/merge", depth=None)
    env = {"GITHUB_API_URL": server.endpoint("gh"), "NHIGUARD_GITHUB_TOKEN": TOKEN}
    run = run_github(work, tmp_path / f"run-{name}", "pull_request", pull_request_event("opened", c["m3"], c[head]),
                     "--comment", "--api-ca", str(server.ca_path), extra_env=env)
    assert run.code in (0, 1), run.stderr
    return run.stdout


def test_one_comment_created_then_updated_in_place(upstream: Upstream, tmp_path: Path,
                                                   server: ProviderServer) -> None:
    comments = Comments(others=120)  # our comment must be found past the first page
    server.scenarios["gh"] = comments
    _run(upstream, tmp_path, server, "first")
    [ours] = comments.ours()
    assert "## nhiguard: 2 new leaked secrets" in str(ours["body"]) and T_PR1 not in str(ours["body"])
    ours["body"] = MARKER + "\nstale text from an older run"
    _run(upstream, tmp_path, server, "second")
    assert comments.ours() == [ours] and "## nhiguard: 2 new leaked secrets" in str(ours["body"])
    assert [s.method for s in server.seen if s.method != "GET"] == ["POST", "PATCH"]
    assert all(TOKEN not in s.text() or s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in server.seen)


def test_nothing_found_and_no_comment_yet_posts_nothing(upstream: Upstream, tmp_path: Path,
                                                        server: ProviderServer) -> None:
    comments = Comments()
    server.scenarios["gh"] = comments
    _run(upstream, tmp_path, server, "clean", head="m3")
    assert comments.items == [] and [s.method for s in server.seen] == ["GET"]


def test_a_read_only_token_warns_and_the_run_goes_on(upstream: Upstream, tmp_path: Path,
                                                     server: ProviderServer) -> None:
    server.scenarios["gh"] = Comments(allowed=False)
    out = _run(upstream, tmp_path, server, "fork")
    assert "::warning::nhiguard: could not comment on the pull request: GitHub answered 403" in out
    assert "pull-requests: write" in out
