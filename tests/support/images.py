"""Container images built at test time: layer tarballs, `docker save` archives (classic and OCI forms), OCI image
layout folders, and a registry speaking the Distribution v2 API on 127.0.0.1 (plain HTTP or HTTPS with a
throwaway CA), with optional bearer-token or basic auth and blob redirects."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import ssl
import tarfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.support.loopback import serve_get

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes], *, compress: bool = True) -> bytes:
    """A layer: paths relative to the root ('app/.env'); a whiteout is a file named '.wh.NAME'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


@dataclass
class Built:
    config: bytes
    layers: list[bytes]  # stored blobs (gzip)
    diff_ids: list[str]
    manifest: bytes

    @property
    def blobs(self) -> dict[str, bytes]:
        out = {digest(self.config): self.config, digest(self.manifest): self.manifest}
        out.update({digest(layer): layer for layer in self.layers})
        return out


def build(layers: list[dict[str, bytes]], *, env: list[str] = (), labels: dict[str, str] | None = None,
          history: list[str] = (), cmd: list[str] | None = None, arch: str = "amd64") -> Built:
    raw = [layer_tar(files, compress=False) for files in layers]
    stored = [gzip.compress(r, mtime=0) for r in raw]
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Env": list(env), "Labels": labels or {}, "Cmd": cmd or ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(r) for r in raw]},
        "history": [{"created_by": h} for h in history],
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(s),
                    "size": len(s)} for s in stored],
    }).encode()
    return Built(config, stored, [digest(r) for r in raw], manifest)


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def docker_save(path: Path, image: Built, tag: str, *, oci: bool = False) -> Path:
    """The classic `docker save` layout (<id>/layer.tar, <id>.json) or the OCI one docker 25+ writes."""
    with tarfile.open(path, "w") as tar:
        if oci:
            for d, blob in image.blobs.items():
                _tar_add(tar, "blobs/sha256/" + d.split(":")[1], blob)
            _tar_add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
            _tar_add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": digest(image.manifest), "size": len(image.manifest),
                "annotations": {"io.containerd.image.name": tag, "org.opencontainers.image.ref.name": "latest"}}],
            }).encode())
            entry = {"Config": "blobs/sha256/" + digest(image.config).split(":")[1], "RepoTags": [tag],
                     "Layers": ["blobs/sha256/" + digest(s).split(":")[1] for s in image.layers]}
        else:
            layer_names = []
            for number, stored in enumerate(image.layers):
                name = f"{hashlib.sha256(str(number).encode()).hexdigest()}/layer.tar"
                _tar_add(tar, name, gzip.decompress(stored))
                layer_names.append(name)
            config_name = digest(image.config).split(":")[1] + ".json"
            _tar_add(tar, config_name, image.config)
            entry = {"Config": config_name, "RepoTags": [tag], "Layers": layer_names}
        _tar_add(tar, "manifest.json", json.dumps([entry]).encode())
    return path


def oci_layout(folder: Path, image: Built, ref_name: str = "1.0") -> Path:
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for d, blob in image.blobs.items():
        (blobs / d.split(":")[1]).write_bytes(blob)
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": digest(image.manifest), "size": len(image.manifest),
        "annotations": {"org.opencontainers.image.ref.name": ref_name}}]}))
    return folder


# -- a registry ----------------------------------------------------------------------------------------------------
@dataclass
class Registry:
    """`repos[name][reference] = (media type, manifest bytes)`, `blobs[digest] = bytes`. With `token` set, the
    v2 endpoints want `Bearer token` (got from /token, with `user`/`password` as basic auth when set); with
    `basic`, they want basic auth directly. `redirect_blobs`: blobs answer 307 to /storage/<digest>."""

    tmp: Path
    tls: bool = False
    token: str | None = None
    user: str | None = None
    password: str | None = None
    basic: bool = False
    redirect_blobs: bool = False
    repos: dict[str, dict[str, tuple[str, bytes]]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, authorization)

    def __post_init__(self) -> None:
        self.ca_path: Path | None = None
        context = None
        if self.tls:
            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            self.ca_path = self.tmp / "registry-ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_path))
        self._server = serve_get(self._serve, context)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def push(self, name: str, tag: str, image: Built) -> None:
        self.blobs.update(image.blobs)
        self.repos.setdefault(name, {})[tag] = (OCI_MANIFEST, image.manifest)
        self.repos[name][digest(image.manifest)] = (OCI_MANIFEST, image.manifest)

    def push_index(self, name: str, tag: str, images: dict[str, Built]) -> None:
        manifests = []
        for platform, image in images.items():
            os_name, arch = platform.split("/")
            self.push(name, digest(image.manifest), image)
            manifests.append({"mediaType": OCI_MANIFEST, "digest": digest(image.manifest),
                              "size": len(image.manifest), "platform": {"os": os_name, "architecture": arch}})
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
        self.repos[name][tag] = (OCI_INDEX, index)

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
               ) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        auth = h.headers.get("Authorization", "")
        self.seen.append(("GET", url.path, auth))
        scheme = "https" if self.tls else "http"
        if url.path == "/token":
            if self.user is not None:
                expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
                if auth != expected:
                    return self._reply(h, 401)
            query = parse_qs(url.query)
            if query.get("service") != ["test-registry"] or not query.get("scope", [""])[0].startswith("repository:"):
                return self._reply(h, 400)
            return self._reply(h, 200, json.dumps({"token": self.token}).encode())
        if url.path.startswith("/storage/"):
            return self._reply(h, 200, self.blobs.get(url.path.split("/")[-1], b""))
        if not url.path.startswith("/v2/"):
            return self._reply(h, 404)
        if self.token is not None and auth != f"Bearer {self.token}":
            challenge = (f'Bearer realm="{scheme}://{self.host}/token",service="test-registry",'
                         'scope="repository:x:pull"')
            return self._reply(h, 401, b"{}", {"WWW-Authenticate": challenge})
        if self.basic:
            expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if auth != expected:
                return self._reply(h, 401, b"{}", {"WWW-Authenticate": 'Basic realm="test"'})
        rest = url.path[len("/v2/"):]
        if "/manifests/" in rest:
            name, ref = rest.split("/manifests/")
            found = self.repos.get(name, {}).get(ref)
            if found is None:
                return self._reply(h, 404)
            return self._reply(h, 200, found[1], {"Content-Type": found[0], "Docker-Content-Digest": digest(found[1])})
        if "/blobs/" in rest:
            _, ref = rest.split("/blobs/")
            if ref not in self.blobs:
                return self._reply(h, 404)
            if self.redirect_blobs:
                return self._reply(h, 307, b"", {"Location": f"/storage/{ref}"})
            return self._reply(h, 200, self.blobs[ref])
        return self._reply(h, 404)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
