"""A read-only client of the container registry (Distribution v2) API: references, credentials, manifests, blobs.

Anonymous access, bearer tokens (the `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge answered at
the realm, with the user's credentials when there are some) and basic auth. Credentials come from the operator
only: NHIGUARD_REGISTRY_USERNAME / NHIGUARD_REGISTRY_PASSWORD, NHIGUARD_REGISTRY_TOKEN (a bearer token sent as
it is), else the `auths` of the Docker config (~/.docker/config.json, or $DOCKER_CONFIG/config.json). HTTPS is
required, except for a loopback registry or one named insecure by the operator. Every answer is checked against
the digest it was asked by. Requests go through `nhiguard.http` (host pinning, deadlines, no automatic redirect:
blob redirects to a storage host are followed here, without the registry's credentials).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nhiguard.errors import SourceError
from nhiguard.http import Blocked, HttpClient, HttpError, HttpSettings, Policy, Request, Response, is_loopback_host

DOCKER_HUB = "registry-1.docker.io"
_HUB_NAMES = {"docker.io", "index.docker.io", DOCKER_HUB}
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = frozenset(MANIFEST_TYPES[:2])
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_MAX_MANIFEST = 4 << 20
_MAX_BLOB = 16 << 30
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Reference:
    registry: str  # host[:port], as connected to
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def shown(self) -> str:
        host = "" if self.registry == DOCKER_HUB else self.registry + "/"
        repo = self.repository.removeprefix("library/") if not host else self.repository
        return f"{host}{repo}" + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def wanted(self) -> str:
        return self.digest or self.tag or "latest"


def parse_reference(text: str) -> Reference:
    """`alpine`, `alpine:3.20`, `ghcr.io/org/app:1.2`, `localhost:5000/app@sha256:…` → a Reference."""
    rest = text.strip()
    if not rest or any(c.isspace() for c in rest):
        raise SourceError(f"{text!r}: not an image reference")
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST.match(digest):
            raise SourceError(f"{text}: the digest must be sha256: and 64 hex digits")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if registry in _HUB_NAMES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = "library/" + path
    if not re.fullmatch(r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*", path):
        raise SourceError(f"{text}: {path!r} is not a repository name")
    if tag is not None and not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise SourceError(f"{text}: {tag!r} is not a tag")
    return Reference(registry, path, tag if tag or digest else "latest", digest)


def is_loopback(registry: str) -> bool:
    return is_loopback_host(urllib.parse.urlsplit("//" + registry).hostname or "")


# -- credentials ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    token: str | None = None  # a bearer token, sent as it is
    source: str = ""

    def __repr__(self) -> str:  # never a secret in a traceback or a log line
        return f"Credentials(source={self.source!r})"


def credentials_for(registry: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    env = os.environ if env is None else env
    if env.get("NHIGUARD_REGISTRY_TOKEN"):
        return Credentials(token=env["NHIGUARD_REGISTRY_TOKEN"], source="NHIGUARD_REGISTRY_TOKEN")
    if env.get("NHIGUARD_REGISTRY_USERNAME") and env.get("NHIGUARD_REGISTRY_PASSWORD"):
        return Credentials(env["NHIGUARD_REGISTRY_USERNAME"], env["NHIGUARD_REGISTRY_PASSWORD"],
                           source="NHIGUARD_REGISTRY_USERNAME/PASSWORD")
    home = Path(env.get("HOME", "~")).expanduser()
    folder = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker"
    try:
        doc = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    names = {registry, f"https://{registry}", f"http://{registry}"}
    if registry == DOCKER_HUB:
        names |= {"https://index.docker.io/v1/", "index.docker.io", "docker.io"}
    for key, entry in auths.items():
        if key.rstrip("/") not in {n.rstrip("/") for n in names} or not isinstance(entry, dict):
            continue
        if isinstance(entry.get("registrytoken"), str):
            return Credentials(token=entry["registrytoken"], source="docker config")
        raw = entry.get("auth")
        if isinstance(raw, str):
            try:
                user, _, password = base64.b64decode(raw).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return Credentials(user, password, source="docker config")
        if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            return Credentials(entry["username"], entry["password"], source="docker config")
    return None


# -- the client -------------------------------------------------------------------------------------------------
class Registry:
    """One repository of one registry. `insecure`: plain HTTP allowed (always for a loopback registry unless a CA
    bundle is given, which means it speaks HTTPS)."""

    def __init__(self, ref: Reference, *, insecure: bool = False, ca_bundle: str | None = None,
                 credentials: Credentials | None = None, client: HttpClient | None = None) -> None:
        self.ref = ref
        plain = (insecure or is_loopback(ref.registry)) and not ca_bundle
        self.base = f"{'http' if plain else 'https'}://{ref.registry}"
        self.allow_http = plain
        self.ca_bundle = ca_bundle
        self.credentials = credentials
        # a layer can take minutes: the exchange's own deadline is an hour, each read's a minute
        self.client = client or HttpClient(HttpSettings(read_timeout=60.0, total_timeout=3600.0, retries=2,
                                                        rate_per_host=0, user_agent="nhiguard (image scan)"))
        self._auth: str | None = f"Bearer {credentials.token}" if credentials and credentials.token else None
        self._tried_auth = False

    def _policy(self, host: str) -> Policy:
        return Policy(hosts=(host,), ca_bundle=self.ca_bundle, allow_http=self.allow_http)

    def _send(self, url: str, accept: str | None, sink: IO[bytes] | None, max_body: int) -> Response:
        host = urllib.parse.urlsplit(url).netloc.lower()
        headers = [("Accept", accept)] if accept else []
        if self._auth:
            headers.append(("Authorization", self._auth))
        try:
            return self.client.send(Request("GET", url, tuple(headers), max_body=max_body), self._policy(host), sink)
        except Blocked as exc:
            raise SourceError(f"registry {self.ref.registry}: {exc} (plain HTTP needs --insecure-registry)") from None
        except HttpError as exc:
            raise SourceError(f"registry {self.ref.registry}: {exc}") from None

    def get(self, path: str, accept: str | None = None, sink: IO[bytes] | None = None,
            max_body: int = _MAX_MANIFEST) -> Response:
        url = f"{self.base}/v2/{self.ref.repository}/{path}"
        answer = self._send(url, accept, sink, max_body)
        if answer.status == 401 and not self._tried_auth:
            self._tried_auth = True
            self._authenticate(answer.headers.get("www-authenticate", ""))
            answer = self._send(url, accept, sink, max_body)
        hops = 0
        while answer.status in (301, 302, 303, 307, 308) and hops < 3 and sink is not None:
            answer = self._follow(url, answer, sink, max_body)
            hops += 1
        if answer.status == 401:
            raise SourceError(f"registry {self.ref.registry}: access to {self.ref.repository} refused (401): set "
                              "NHIGUARD_REGISTRY_USERNAME/PASSWORD or NHIGUARD_REGISTRY_TOKEN, or docker login")
        if answer.status == 404:
            raise SourceError(f"registry {self.ref.registry}: {self.ref.repository}/{path} not found")
        if answer.status != 200:
            raise SourceError(f"registry {self.ref.registry}: HTTP {answer.status} for {self.ref.repository}/{path}")
        return answer

    def _follow(self, url: str, answer: Response, sink: IO[bytes], max_body: int) -> Response:
        """A blob moved to a storage host: fetched there over HTTPS, without the registry's credentials."""
        target = urllib.parse.urljoin(url, answer.headers.get("location", ""))
        parts = urllib.parse.urlsplit(target)
        same = parts.netloc.lower() == urllib.parse.urlsplit(url).netloc.lower()
        if not same and parts.scheme != "https":
            raise SourceError(f"registry {self.ref.registry}: a blob redirect to plain HTTP was refused")
        policy = Policy(hosts=(parts.netloc.lower(),), ca_bundle=self.ca_bundle,
                        allow_http=self.allow_http and same, public_only=not same and not self.allow_http)
        headers = (("Authorization", self._auth),) if same and self._auth else ()
        try:
            return self.client.send(Request("GET", target, headers, max_body=max_body), policy, sink)
        except HttpError as exc:
            raise SourceError(f"registry {self.ref.registry}: blob redirect: {exc}") from None

    def _authenticate(self, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        creds = self.credentials
        if scheme == "basic":
            if creds is None or creds.username is None or creds.password is None:
                return
            pair = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            self._auth = f"Basic {pair}"
            return
        if scheme != "bearer":
            return
        fields = dict(_CHALLENGE.findall(challenge))
        realm = fields.get("realm", "")
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme != "https" and not (parts.scheme == "http" and self.allow_http):
            raise SourceError(f"registry {self.ref.registry}: token service {parts.netloc or '?'} is not HTTPS")
        query = [(k, fields[k]) for k in ("service",) if k in fields]
        query.append(("scope", fields.get("scope") or f"repository:{self.ref.repository}:pull"))
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        basic = (creds.username, creds.password) if creds and creds.username and creds.password else None
        try:
            answer = self.client.send(Request("GET", url, basic_auth=basic), self._policy(parts.netloc.lower()))
        except (HttpError, Blocked) as exc:
            raise SourceError(f"registry {self.ref.registry}: token service: {exc}") from None
        if answer.status != 200:
            raise SourceError(f"registry {self.ref.registry}: token service answered HTTP {answer.status}")
        doc = answer.json()
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(f"registry {self.ref.registry}: token service gave no token")
        self._auth = f"Bearer {token}"

    def manifest(self, reference: str) -> tuple[str, dict[str, Any], str]:
        """(media type, document, digest) of a manifest or index."""
        answer = self.get(f"manifests/{reference}", ", ".join(MANIFEST_TYPES))
        digest = "sha256:" + hashlib.sha256(answer.body).hexdigest()
        if DIGEST.match(reference) and reference != digest:
            raise SourceError(f"registry {self.ref.registry}: manifest {reference[:19]}… does not match its digest")
        doc = answer.json()
        if not isinstance(doc, dict):
            raise SourceError(f"registry {self.ref.registry}: manifest is not a JSON object")
        kind = doc.get("mediaType") or answer.headers.get("content-type", "").split(";")[0]
        return str(kind), doc, digest

    def blob(self, digest: str) -> IO[bytes]:
        """The blob in a temporary file (layers can be large), checked against its digest, positioned at 0."""
        if not DIGEST.match(digest):
            raise SourceError(f"registry {self.ref.registry}: unsupported digest {digest[:24]!r}")
        sink = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        try:
            self.get(f"blobs/{digest}", None, sink, _MAX_BLOB)
            sink.seek(0)
            hasher = hashlib.sha256()
            while block := sink.read(1 << 20):
                hasher.update(block)
            if "sha256:" + hasher.hexdigest() != digest:
                raise SourceError(f"registry {self.ref.registry}: blob {digest[:19]}… does not match its digest")
            sink.seek(0)
            return sink
        except BaseException:
            sink.close()
            raise

    def close(self) -> None:
        self.client.close()


__all__ = ["Credentials", "Reference", "Registry", "credentials_for", "is_loopback", "parse_reference"]
