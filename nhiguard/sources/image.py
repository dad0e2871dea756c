"""Container images without a daemon: a `docker save` / `podman save` tarball (the classic layout or the OCI one
inside it), an OCI image layout folder, or a reference pulled through the registry v2 API (`sources/registry.py`).

Every layer's files are read, a file deleted by a later layer included (the bytes are still in the image; the
location names the layer that holds them), whiteout markers (`.wh.*`) skipped. The image config is rendered as
text, one line per `ENV`, `LABEL`, `ENTRYPOINT`, `CMD` and history `created_by` (where build arguments land), and
scanned like a file. Locations read `image:NAME@sha256:0123456789ab!/app/.env` (the layer's digest, short) and
`image:NAME@sha256:…!config` (the config's). Layers are streamed (tarfile `r|*`: gzip, bzip2, xz or none); a file
that is itself an archive is opened by `sources/archives.py`.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nhiguard.config import ArchiveLimits
from nhiguard.errors import SourceError
from nhiguard.model import Chunk, Notice, Origin
from nhiguard.safeio import open_regular, read_capped
from nhiguard.sources import archives
from nhiguard.sources.registry import DIGEST, INDEX_TYPES, Registry, credentials_for, parse_reference

_ZSTD = b"\x28\xb5\x2f\xfd"
_MAX_JSON = 16 << 20


@dataclass(frozen=True, slots=True)
class ImageOptions:
    platform: str = "linux/amd64"
    insecure_registry: bool = False
    registry_ca: str | None = None
    max_size: int = 10 << 20
    archive_limits: ArchiveLimits | None = None


@dataclass(slots=True)
class Layer:
    digest: str  # what the location shows (manifest digest, else diff id, else the file's name)
    size: int  # stored (compressed) bytes, when known
    open: Callable[[], AbstractContextManager[IO[bytes]]]


@dataclass(slots=True)
class Image:
    name: str
    config_digest: str
    config: dict[str, Any]
    layers: list[Layer]
    notices: list[Notice] = field(default_factory=list)
    close: Callable[[], None] = lambda: None

    @property
    def total_bytes(self) -> int:
        return sum(layer.size for layer in self.layers)


def short(digest: str) -> str:
    alg, _, hexpart = digest.partition(":")
    return f"{alg}:{hexpart[:12]}" if hexpart else digest[:19]


def open_image(target: str, options: ImageOptions) -> Image:
    """A tarball or OCI layout folder when `target` names one on disk, else a registry reference. An image's
    metadata is the image author's: a field of the wrong type (a list where a mapping belongs, a number for the
    layer list) makes the image invalid, exit 2, never a crash."""
    path = Path(target)
    try:
        if path.is_dir():
            return _oci_folder(path, options)
        if path.is_file():
            return _tarball(path, options)
        if os.sep in target and not re.match(r"^[\w.-]+(:\d+)?/", target):
            raise SourceError(f"{target}: no such file or folder")
        return _pull(target, options)
    except (AttributeError, KeyError, TypeError, IndexError, ValueError, RecursionError) as exc:
        raise SourceError(f"{target}: not a valid image: malformed metadata ({type(exc).__name__}: {exc})") from None


# -- docker save / podman save ----------------------------------------------------------------------------------
def _tarball(path: Path, options: ImageOptions) -> Image:
    try:
        archive = tarfile.open(path, "r:*")  # noqa: SIM115 - kept open while the layers are read; closed by Image.close
        members = {m.name.removeprefix("./"): m for m in archive.getmembers() if m.isreg()}
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"{path}: not an image archive ({exc})") from None

    def read(name: str, limit: int = _MAX_JSON) -> bytes:
        member = members.get(name.removeprefix("./"))
        if member is None or member.size > limit:
            raise SourceError(f"{path}: {name} is missing from the archive")
        handle = archive.extractfile(member)
        assert handle is not None
        return handle.read()

    def opener(name: str) -> Callable[[], AbstractContextManager[IO[bytes]]]:
        def open_member() -> AbstractContextManager[IO[bytes]]:
            member = members.get(name.removeprefix("./"))
            handle = archive.extractfile(member) if member is not None else None
            if handle is None:
                raise SourceError(f"{path}: layer {name} is missing from the archive")
            return closing(handle)
        return open_member

    try:
        if "manifest.json" in members:
            entries = _json(read("manifest.json"), f"{path}: manifest.json")
            if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
                raise SourceError(f"{path}: manifest.json lists no image")
            entry = entries[0]
            config_name = str(entry.get("Config", ""))
            config_raw = read(config_name)
            config = _json(config_raw, f"{path}: {config_name}")
            diff_ids = (config.get("rootfs") or {}).get("diff_ids") or [] if isinstance(config, dict) else []
            layers = []
            for number, name in enumerate(entry.get("Layers") or []):
                name = str(name)
                shown = name.split("/")[-1] if name.startswith("blobs/") else ""
                shown = f"sha256:{shown}" if shown else (diff_ids[number] if number < len(diff_ids) else name)
                member = members.get(name.removeprefix("./"))
                layers.append(Layer(str(shown), member.size if member else 0, opener(name)))
            tags = entry.get("RepoTags") or []
            name = str(tags[0]) if tags else path.name
            image = Image(name, _config_digest(config_name, config_raw), config if isinstance(config, dict) else {},
                          layers, close=archive.close)
            if len(entries) > 1:
                image.notices.append(Notice(str(path), f"the archive holds {len(entries)} images; only {name} was "
                                                       "scanned (save them one by one to scan the others)"))
            return image
        if "index.json" in members:
            return _oci(lambda digest: read(_blob_path(digest)), lambda digest: opener(_blob_path(digest)),
                        lambda digest: members[_blob_path(digest)].size if _blob_path(digest) in members else 0,
                        read("index.json"), path.name, options, archive.close)
        raise SourceError(f"{path}: neither manifest.json (docker save) nor index.json (OCI) in the archive")
    except BaseException:
        archive.close()
        raise


def _config_digest(name: str, raw: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(raw).hexdigest() if raw else name


def _blob_path(digest: str) -> str:
    if not DIGEST.match(digest):
        raise SourceError(f"unsupported digest {digest[:24]!r}")
    return "blobs/" + digest.replace(":", "/", 1)


# -- OCI layout folder -------------------------------------------------------------------------------------------
def _oci_folder(folder: Path, options: ImageOptions) -> Image:
    if not (folder / "index.json").is_file():
        raise SourceError(f"{folder}: not an OCI image layout (no index.json)")

    # Blobs are the layout author's files: a FIFO must not hang the run, nor /dev/zero fill its memory
    def read(digest: str) -> bytes:
        return read_capped(folder / _blob_path(digest), limit=_MAX_JSON, what="manifest or config blob",
                           error=SourceError)

    def opener(digest: str) -> Callable[[], AbstractContextManager[IO[bytes]]]:
        def open_blob() -> AbstractContextManager[IO[bytes]]:
            return open_regular(folder / _blob_path(digest), what="layer", error=SourceError)
        return open_blob

    def size(digest: str) -> int:
        try:
            return (folder / _blob_path(digest)).stat().st_size
        except OSError:
            return 0

    index = read_capped(folder / "index.json", limit=_MAX_JSON, what="index.json", error=SourceError)
    return _oci(read, opener, size, index, folder.name, options, lambda: None)


def _oci(
    read: Callable[[str], bytes],
    opener: Callable[[str], Callable[[], AbstractContextManager[IO[bytes]]]],
    size: Callable[[str], int],
    index_raw: bytes,
    fallback_name: str,
    options: ImageOptions,
    close: Callable[[], None],
) -> Image:
    index = _json(index_raw, f"{fallback_name}: index.json")
    descriptor = _choose(index, options.platform, fallback_name)
    name = fallback_name
    annotations = descriptor.get("annotations") or {}
    if isinstance(annotations, dict) and annotations.get("org.opencontainers.image.ref.name"):
        name = f"{fallback_name}:{annotations['org.opencontainers.image.ref.name']}"
    manifest = _json(read(str(descriptor.get("digest"))), f"{fallback_name}: manifest")
    while manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
        descriptor = _choose(manifest, options.platform, fallback_name)
        manifest = _json(read(str(descriptor.get("digest"))), f"{fallback_name}: manifest")
    config_digest = str((manifest.get("config") or {}).get("digest", ""))
    config = _json(read(config_digest), f"{fallback_name}: config")
    digests = [str(d.get("digest")) for d in manifest.get("layers") or [] if isinstance(d, dict)]
    layers = [Layer(digest, size(digest), opener(digest)) for digest in digests]
    return Image(name, config_digest, config, layers, close=close)


def _choose(index: dict[str, Any], platform: str, where: str) -> dict[str, Any]:
    """The descriptor of `index` for `platform` (os/arch[/variant]); the only one when there is one."""
    descriptors = [d for d in index.get("manifests") or [] if isinstance(d, dict)]
    if not descriptors:
        raise SourceError(f"{where}: the index lists no manifest")
    if len(descriptors) == 1:
        return descriptors[0]
    wanted = platform.split("/")
    seen = []
    for d in descriptors:
        p = d.get("platform") or {}
        parts = [str(p.get("os", "")), str(p.get("architecture", ""))]
        parts += [str(p["variant"])] if p.get("variant") else []
        seen.append("/".join(parts))
        if parts[: len(wanted)] == wanted or parts[:2] == wanted:
            return d
    known = [s for s in seen if s and not s.startswith("unknown")]
    raise SourceError(f"{where}: no manifest for platform {platform} (available: {', '.join(known) or 'none'}); "
                      "choose one with --platform")


# -- registry ------------------------------------------------------------------------------------------------------
def _pull(text: str, options: ImageOptions) -> Image:
    ref = parse_reference(text)
    client = Registry(ref, insecure=options.insecure_registry, ca_bundle=options.registry_ca,
                      credentials=credentials_for(ref.registry))
    try:
        kind, manifest, _ = client.manifest(ref.wanted)
        while kind in INDEX_TYPES or "manifests" in manifest:
            descriptor = _choose(manifest, options.platform, ref.shown)
            kind, manifest, _ = client.manifest(str(descriptor.get("digest")))
        if manifest.get("schemaVersion") == 1:
            raise SourceError(f"{ref.shown}: schema 1 manifests are not supported")
        config_digest = str((manifest.get("config") or {}).get("digest", ""))
        with client.blob(config_digest) as handle:
            config = _json(handle.read(_MAX_JSON + 1), f"{ref.shown}: config")

        def opener(layer_digest: str) -> Callable[[], AbstractContextManager[IO[bytes]]]:
            return lambda: client.blob(layer_digest)

        layers = [Layer(str(d.get("digest")), int(d.get("size") or 0), opener(str(d.get("digest"))))
                  for d in manifest.get("layers") or [] if isinstance(d, dict)]
        return Image(ref.shown, config_digest, config, layers, close=client.close)
    except BaseException:
        client.close()
        raise


# -- reading -------------------------------------------------------------------------------------------------------
def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise SourceError(f"{what}: not valid JSON") from None


def render_config(config: dict[str, Any]) -> bytes:
    """The config as Dockerfile-like lines: what a scan reads and a location's line number points at."""
    lines: list[str] = []
    inner = config.get("config") or config.get("Config") or {}
    if isinstance(inner, dict):
        lines.extend(f"ENV {item}" for item in inner.get("Env") or [] if isinstance(item, str))
        labels = inner.get("Labels") or {}
        if isinstance(labels, dict):
            lines.extend(f"LABEL {k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in labels.items())
        for key in ("Entrypoint", "Cmd"):
            if inner.get(key):
                lines.append(f"{key.upper()} {json.dumps(inner[key])}")
    for step in config.get("history") or []:
        if isinstance(step, dict) and isinstance(step.get("created_by"), str):
            lines.append("RUN " + " ".join(step["created_by"].split("\n")))
    return ("\n".join(lines) + "\n").encode("utf-8", "replace") if lines else b""


def chunks(image: Image, options: ImageOptions,
           progress: Callable[[int, int, str], None] | None = None) -> Iterator[Chunk | Notice]:
    """The image's config, then every layer's files, as Chunks; Notices for what was not read.
    `progress(layers done, stored bytes done, what is being read)` is called as layers are read."""
    yield from image.notices
    try:
        text = render_config(image.config)
    except (AttributeError, TypeError, ValueError, RecursionError) as exc:
        text = b""
        yield Notice(f"image:{image.name}", f"config not read: malformed ({type(exc).__name__})", incomplete=True)
    base = f"image:{image.name}"
    if text:
        yield Chunk(data=text, origin=Origin(path=f"{base}@{short(image.config_digest)}!config", kind="image"))
    done_bytes = 0
    for number, layer in enumerate(image.layers):
        if progress is not None:
            progress(number, done_bytes, f"layer {number + 1}/{len(image.layers)} {short(layer.digest)}")
        yield from _layer(layer, f"{base}@{short(layer.digest)}", options)
        done_bytes += layer.size
    if progress is not None:
        progress(len(image.layers), done_bytes, "done")


def _layer(layer: Layer, prefix: str, options: ImageOptions) -> Iterator[Chunk | Notice]:
    binary = large = 0
    try:
        with layer.open() as raw:
            stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, 1 << 20)  # type: ignore[type-var]
            if stream.peek(4)[:4] == _ZSTD:
                yield Notice(prefix, "zstd-compressed layer: not supported, not scanned", incomplete=True)
                return
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for member in tar:
                    if not member.isreg():
                        continue
                    path = "/" + member.name.removeprefix("./").lstrip("/")
                    if path.rsplit("/", 1)[-1].startswith(".wh."):
                        continue  # a whiteout marker: the deleted file is still read in the layer that holds it
                    if member.size > options.max_size:
                        large += 1
                        continue
                    handle = tar.extractfile(member)
                    if handle is None:
                        continue
                    data = handle.read()
                    for item in archives.chunks(data, Origin(path=f"{prefix}!{path}", kind="image"),
                                                options.archive_limits, options.max_size):
                        if isinstance(item, Notice) and item.reason == "binary":
                            binary += 1
                        else:
                            yield item
    except SourceError as exc:
        yield Notice(prefix, f"layer not read: {exc}", incomplete=True)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        yield Notice(prefix, f"corrupt layer, the rest was not read: {exc}", incomplete=True)
    if binary:
        yield Notice(prefix, f"{binary:,} binary file(s) not scanned")
    if large:
        yield Notice(prefix, f"{large:,} file(s) larger than the size limit ({options.max_size:,} bytes) not scanned",
                     incomplete=True)


__all__ = ["Image", "ImageOptions", "chunks", "open_image", "render_config", "short"]
