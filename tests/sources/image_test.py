"""`nhiguard image` through the real CLI: docker-save tarballs (classic and OCI forms), OCI layout folders and a
registry (Distribution v2) on 127.0.0.1, each with a secret only in an early layer (deleted by a later layer's
whiteout), one in the config's ENV and one in a build argument of the history."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nhiguard.errors import SourceError
from nhiguard.sources.image import short
from nhiguard.sources.registry import DOCKER_HUB, Reference, Registry, credentials_for, parse_reference
from tests.support import images
from tests.support.cli import run_cli
from tests.support.tokens import github_classic

LAYER_TOKEN, ENV_TOKEN, ARG_TOKEN = github_classic("layer"), github_classic("env"), github_classic("arg")


def sample(arch: str = "amd64", secret: bool = True) -> images.Built:
    first = {"app/.env": f"DEBUG=1\nGITHUB_TOKEN={LAYER_TOKEN}\n".encode() if secret else b"DEBUG=1\n",
             "app/main.py": b"print('hi')\n", "bin/tool": bytes(range(256)) * 4}
    second = {"app/.wh..env": b"", "app/VERSION": b"1.0\n"}
    return images.build(
        [first, second],
        env=["PATH=/usr/bin", f"DEPLOY_TOKEN={ENV_TOKEN}"] if secret else ["PATH=/usr/bin"],
        labels={"org.opencontainers.image.source": "https://example.com/acme/app"},
        history=["ADD rootfs.tar /", f"RUN |1 GH_TOKEN={ARG_TOKEN} /bin/sh -c make" if secret else "RUN make"],
        arch=arch,
    )


def image_json(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    done = run_cli("image", *args, "-f", "json", "--no-baseline", env=env)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def located(report: dict[str, Any]) -> dict[str, str]:
    """secret preview-independent: rule → location per finding, keyed by which planted token it is"""
    out = {}
    for finding in report["findings"]:
        [loc] = finding["locations"]
        out[f"{loc['path']}:{loc['line']}"] = finding["rule_id"]
    return out


def expected(name: str, built: images.Built, layer_digest: str) -> set[str]:
    config = f"image:{name}@{short(images.digest(built.config))}!config"
    # rendered config: ENV PATH, ENV DEPLOY_TOKEN, LABEL, CMD, RUN ADD…, RUN |1 GH_TOKEN…
    return {f"image:{name}@{short(layer_digest)}!/app/.env:2", f"{config}:2", f"{config}:6"}


@pytest.mark.parametrize("oci", [False, True], ids=["classic", "oci-in-docker-save"])
def test_docker_save_tarball(tmp_path: Path, oci: bool) -> None:
    built = sample()
    archive = images.docker_save(tmp_path / "app.tar", built, "acme/app:1.0", oci=oci)
    code, report, err = image_json(archive)
    assert code == 1
    layer = images.digest(built.layers[0]) if oci else built.diff_ids[0]
    assert set(located(report)) == expected("acme/app:1.0", built, layer)
    # (its binary file is scanned through its printable view: no notice)
    assert "2 layer(s)" in err and "3 new finding(s)" in err


def test_oci_layout_folder_and_text_output(tmp_path: Path) -> None:
    built = sample()
    folder = images.oci_layout(tmp_path / "app-oci", built, "2.1")
    code, report, _ = image_json(folder)
    assert code == 1
    assert set(located(report)) == expected("app-oci:2.1", built, images.digest(built.layers[0]))
    text = run_cli("image", folder, "--no-baseline")
    assert f"image:app-oci:2.1@{short(images.digest(built.layers[0]))}!/app/.env:2" in text.stdout
    assert LAYER_TOKEN not in text.stdout  # redacted


def test_registry_with_bearer_token_platform_index_and_redirects(tmp_path: Path) -> None:
    server = images.Registry(tmp_path, token="tok-123", user="reader", password="pw", redirect_blobs=True)
    try:
        amd, arm = sample("amd64"), sample("arm64", secret=False)
        server.push_index("acme/app", "1.0", {"linux/arm64": arm, "linux/amd64": amd})
        env = {"NHIGUARD_REGISTRY_USERNAME": "reader", "NHIGUARD_REGISTRY_PASSWORD": "pw"}
        ref = f"{server.host}/acme/app:1.0"
        code, report, _ = image_json(ref, env=env)
        assert code == 1
        assert set(located(report)) == expected(ref, amd, images.digest(amd.layers[0]))
        # the token service got the credentials; the registry only ever saw the bearer token
        assert any(path == "/token" and auth.startswith("Basic ") for _, path, auth in server.seen)
        assert all(auth in ("", "Bearer tok-123") for _, path, auth in server.seen if path.startswith("/v2/"))
        code, report, _ = image_json(ref, "--platform", "linux/arm64", env=env)
        assert code == 0 and report["findings"] == []
        bad = run_cli("image", ref, "--platform", "linux/s390x", env=env)
        assert bad.returncode == 2 and "linux/amd64" in bad.stderr and "linux/arm64" in bad.stderr
        refused = run_cli("image", ref)  # no credentials: the token service says no
        assert refused.returncode == 2 and "token service answered HTTP 401" in refused.stderr
    finally:
        server.close()


def test_registry_over_https_with_basic_auth_from_the_docker_config(tmp_path: Path) -> None:
    server = images.Registry(tmp_path, tls=True, basic=True, user="bob", password="s3cret")
    try:
        built = sample()
        server.push("team/api", "latest", built)
        home = tmp_path / "home"
        (home / ".docker").mkdir(parents=True)
        auth = base64.b64encode(b"bob:s3cret").decode()
        (home / ".docker/config.json").write_text(json.dumps({"auths": {server.host: {"auth": auth}}}))
        ref = f"{server.host}/team/api"
        inventory = tmp_path / "inv.sqlite"
        done = run_cli("image", ref, "--registry-ca", server.ca_path, "--no-baseline", "--inventory", inventory,
                       env={"HOME": str(home)})
        assert done.returncode == 1, done.stderr
        # without the CA the certificate check fails: no silent downgrade to HTTP
        failed = run_cli("image", ref + ":nope", "--insecure-registry", env={"HOME": str(home)})
        assert failed.returncode == 2
        with sqlite3.connect(inventory) as db:
            rows = db.execute("select repo, path, line from locations order by path").fetchall()
        shown = f"image:{server.host}/team/api:latest"
        assert {r[0] for r in rows} == {shown}
        assert (shown, f"{shown}@{short(images.digest(built.layers[0]))}!/app/.env", 2) in rows
    finally:
        server.close()


def test_references_and_credentials(tmp_path: Path) -> None:
    assert parse_reference("alpine") == Reference(DOCKER_HUB, "library/alpine", "latest")
    assert parse_reference("docker.io/acme/app:1").shown == "acme/app:1"
    ref = parse_reference("localhost:5000/a/b@sha256:" + "a" * 64)
    assert (ref.registry, ref.repository, ref.tag, ref.wanted) == ("localhost:5000", "a/b", None, "sha256:" + "a" * 64)
    assert parse_reference("ghcr.io/org/app:v1.2").registry == "ghcr.io"
    with pytest.raises(SourceError):
        parse_reference("UPPER/case")
    # only a loopback registry gets plain HTTP without --insecure-registry
    assert Registry(parse_reference("registry.example:5000/x")).base == "https://registry.example:5000"
    assert Registry(parse_reference("registry.example:5000/x"), insecure=True).base == "http://registry.example:5000"
    assert Registry(parse_reference("127.0.0.1:5000/x")).base == "http://127.0.0.1:5000"
    creds = credentials_for("ghcr.io", {"NHIGUARD_REGISTRY_TOKEN": "t0k"})
    assert creds is not None and creds.token == "t0k" and "t0k" not in repr(creds)
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {
        "auth": base64.b64encode(b"me:pw").decode()}}}))
    hub = credentials_for(DOCKER_HUB, {"DOCKER_CONFIG": str(tmp_path)})
    assert hub is not None and (hub.username, hub.password) == ("me", "pw")
    assert credentials_for("ghcr.io", {"DOCKER_CONFIG": str(tmp_path)}) is None


def test_anonymous_registry_and_progress_line(tmp_path: Path) -> None:
    server = images.Registry(tmp_path)
    try:
        built = sample()
        server.push("solo", "v1", built)
        done = run_cli("image", f"{server.host}/solo:v1", "--progress", "--no-baseline")
        assert done.returncode == 1, done.stderr
        assert "2/2 layer(s)" in done.stderr  # the last frame: every layer read, of a total known up front
        closing = done.stderr.strip().splitlines()[-1]
        assert closing.startswith(f"image {server.host}/solo:v1: 2 layer(s)") and "3 new finding(s)" in closing
        assert all(auth == "" for _, _, auth in server.seen)
    finally:
        server.close()


def test_unreadable_layers_are_notices_and_the_rest_is_scanned(tmp_path: Path) -> None:
    built = sample()
    zstd_blob = b"\x28\xb5\x2f\xfd" + b"\0" * 64
    broken = built.layers[1][:40]  # a gzip stream cut short
    manifest = json.loads(built.manifest)
    manifest["layers"] += [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": images.digest(zstd_blob),
         "size": len(zstd_blob)},
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": images.digest(broken),
         "size": len(broken)},
    ]
    raw = json.dumps(manifest).encode()
    patched = images.Built(built.config, [*built.layers, zstd_blob, broken], built.diff_ids, raw)
    folder = images.oci_layout(tmp_path / "odd", patched, "x")
    code, report, _ = image_json(folder)
    assert code == 1 and len(report["findings"]) == 3
    reasons = {n["path"]: n["reason"] for n in report["notices"]}
    assert reasons[f"image:odd:x@{short(images.digest(zstd_blob))}"].startswith("zstd-compressed layer")
    assert reasons[f"image:odd:x@{short(images.digest(broken))}"].startswith("corrupt layer")


def _rewrite_blob(folder: Path, digest: str, replace_with: bytes | None = None) -> Path:
    path = folder / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.unlink()
    if replace_with is not None:
        path.write_bytes(replace_with)
    return path


@pytest.mark.parametrize("config", [b'{"rootfs": "x"}', b'{"config": [1, 2]}', b"[1, 2]", b'"abc"',
                                    b"[" * 100_000])
def test_malformed_image_metadata_never_crashes(tmp_path: Path, config: bytes) -> None:
    """An image's metadata is its author's: a field of the wrong type is an invalid image (exit 2), a notice, or a
    field the scan does not read; never a crash."""
    built = sample(secret=False)
    bad = images.Built(config, built.layers, built.diff_ids, built.manifest)
    for target in (images.docker_save(tmp_path / "a.tar", bad, "acme/a:1"), images.oci_layout(tmp_path / "o", bad)):
        done = run_cli("image", target, "-f", "json", "--no-baseline")
        assert done.returncode in (0, 2, 4), done.stderr  # (a config field it does not read is no matter)
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_manifest_fields_of_the_wrong_type_are_exit_2(tmp_path: Path) -> None:
    built = sample(secret=False)
    for field, value in (("layers", 5), ("config", "abc")):
        manifest = json.loads(built.manifest)
        manifest[field] = value
        bad = images.Built(built.config, built.layers, built.diff_ids, json.dumps(manifest).encode())
        folder = images.oci_layout(tmp_path / f"o-{field}", bad)
        done = run_cli("image", folder, "-f", "json", "--no-baseline")
        assert done.returncode == 2 and "not a valid image" in done.stderr, done.stderr


@pytest.mark.parametrize("which", ["config", "layer"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_oci_blob_that_is_a_fifo_or_a_device_neither_hangs_nor_fills_memory(tmp_path: Path, which: str,
                                                                               kind: str) -> None:
    import os

    built = sample(secret=False)
    folder = images.oci_layout(tmp_path / "o", built)
    digest = images.digest(built.config if which == "config" else built.layers[0])
    path = _rewrite_blob(folder, digest)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    done = run_cli("image", folder, "-f", "json", "--no-baseline", timeout=60)
    assert done.returncode in (2, 4), done.stderr
    assert "regular file" in done.stdout + done.stderr
