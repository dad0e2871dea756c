"""`.nhiguard.yml` (or `[tool.nhiguard]` in pyproject.toml) → an immutable Config.

Unknown keys are errors that name the file and the key, so a typo never silently disables a setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhiguard import _yaml
from nhiguard.constants import CONFIG_FILE, CONFIG_FILE_ALT, DEFAULT_MAX_FILE_SIZE
from nhiguard.errors import ConfigError
from nhiguard.model import Allow
from nhiguard.safeio import CONFIG_MAX_BYTES, read_capped

_KNOWN = {
    "rules": "extra rule files or folders, relative to the config file",
    "disable": "rule ids to turn off",
    "allow": "paths, regexes, stopwords, fingerprints that are not findings",
    "max_file_size": "skip files larger than this (bytes, or '10MB')",
    "baseline": "baseline file applied to every scan",
    "archives": "archive opening: depth (0 turns it off), max_bytes, max_ratio, max_entries",
    # Sections read by later stages; kept as raw mappings here.
    "verify": "verification settings",
    "remediate": "remediation policy",
    "policy": "governance policy",
    "owners": "owner mapping",
    "inventory": "inventory settings",
}
_ALLOW_KEYS = ("paths", "regexes", "stopwords", "fingerprints")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """How far archives are opened. Every cap holds for one archive tree (an archive and all it nests); a cap
    reached is a notice, never an error."""

    depth: int = 4  # archives opened inside one another; 0: archives are not opened
    max_bytes: int = 256 << 20  # bytes expanded per tree
    max_ratio: int = 200  # expanded : compressed bytes of one member, past its first MiB
    max_entries: int = 100_000  # members per tree
    # a configuration file (a scanned repository's, untrusted) set depth 0: each archive left closed is an incomplete
    # notice, so a repository cannot hide a secret in a zip by turning archive opening off (--archive-depth 0 can)
    closed_by_config: bool = False


_ARCHIVE_KEYS = ("depth", "max_bytes", "max_ratio", "max_entries")


@dataclass(frozen=True, slots=True)
class Config:
    root: Path
    source: Path | None = None
    rule_paths: tuple[Path, ...] = ()
    disabled: tuple[str, ...] = ()
    allow: Allow = Allow()
    allow_fingerprints: frozenset[str] = frozenset()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    baseline: Path | None = None
    archives: ArchiveLimits = ArchiveLimits()
    sections: Mapping[str, Any] = field(default_factory=dict)


def parse_size(value: object, *, where: str = "max_file_size") -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a size such as 10MB, got {value!r}")
    if isinstance(value, int) and value > 0:
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ConfigError(f"{where}: expected a size such as 1048576, 512KB or 10MB, got {value!r}")
    number = float(m.group(1))
    unit = (m.group(2) or "b").lower()
    scale = {"k": 1024, "m": 1024**2, "g": 1024**3, "b": 1}[unit[0]]
    size = int(number * scale)
    if size <= 0:
        raise ConfigError(f"{where}: size must be positive")
    return size


def _strings(source: str, key: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ConfigError(f"{source}: {key!r} must be a list of strings")
    return tuple(raw)


def from_mapping(data: Any, *, root: Path, source: Path | None) -> Config:
    label = str(source) if source else "configuration"
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{label}: the configuration must be a mapping of settings")
    _string_keys(label, "", data)
    unknown = sorted(set(data) - set(_KNOWN))
    if unknown:
        known = ", ".join(sorted(_KNOWN))
        raise ConfigError(f"{label}: unknown key {unknown[0]!r} (known keys: {known})")
    allow_raw = data.get("allow") or {}
    if not isinstance(allow_raw, Mapping):
        raise ConfigError(f"{label}: 'allow' must be a mapping with {', '.join(_ALLOW_KEYS)}")
    _string_keys(label, "allow.", allow_raw)
    bad = sorted(set(allow_raw) - set(_ALLOW_KEYS))
    if bad:
        raise ConfigError(f"{label}: unknown key 'allow.{bad[0]}' (known: {', '.join(_ALLOW_KEYS)})")
    regexes = _strings(label, "allow.regexes", allow_raw.get("regexes"))
    for pattern in regexes:
        try:
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError) as exc:  # (a{99999999999} overflows, it does not fail)
            raise ConfigError(f"{label}: allow.regexes: {pattern!r} does not compile: {exc}") from None
    allow = Allow(
        regexes=regexes,
        stopwords=tuple(s.lower() for s in _strings(label, "allow.stopwords", allow_raw.get("stopwords"))),
        paths=_strings(label, "allow.paths", allow_raw.get("paths")),
    )
    baseline = data.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or "\0" in baseline):
        raise ConfigError(f"{label}: 'baseline' must be a path")
    for path in _strings(label, "rules", data.get("rules")):
        if "\0" in path:
            raise ConfigError(f"{label}: 'rules' holds {path!r}, which is no path (a NUL byte)")
    for key in ("verify", "remediate", "policy", "owners", "inventory"):
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            raise ConfigError(f"{label}: {key!r} must be a mapping")
    return Config(
        root=root,
        source=source,
        rule_paths=tuple(root / p for p in _strings(label, "rules", data.get("rules"))),
        disabled=_strings(label, "disable", data.get("disable")),
        allow=allow,
        allow_fingerprints=frozenset(_strings(label, "allow.fingerprints", allow_raw.get("fingerprints"))),
        max_file_size=parse_size(data["max_file_size"], where=f"{label}: max_file_size")
        if "max_file_size" in data
        else DEFAULT_MAX_FILE_SIZE,
        baseline=root / baseline if baseline else _default_baseline(root),
        archives=_archives(label, data.get("archives")),
        sections={k: data[k] for k in ("verify", "remediate", "policy", "owners", "inventory") if k in data},
    )


DEFAULT_BASELINE = ".nhiguard-baseline.json"  # where `baseline create` and `ignore` write unless configured


def _string_keys(label: str, prefix: str, mapping: Mapping[Any, Any]) -> None:
    """Setting names are words: a YAML key such as `1:` or `true:` is a mistake to name, not to sort."""
    for key in mapping:
        if not isinstance(key, str):
            raise ConfigError(f"{label}: {prefix}{key!r} is not a setting name (a key must be text)")


def _default_baseline(root: Path) -> Path | None:
    path = root / DEFAULT_BASELINE
    return path if path.is_file() else None


def _archives(label: str, raw: Any) -> ArchiveLimits:
    if raw is None:
        return ArchiveLimits()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{label}: 'archives' must be a mapping with {', '.join(_ARCHIVE_KEYS)}")
    _string_keys(label, "archives.", raw)
    bad = sorted(set(raw) - set(_ARCHIVE_KEYS))
    if bad:
        raise ConfigError(f"{label}: unknown key 'archives.{bad[0]}' (known: {', '.join(_ARCHIVE_KEYS)})")
    values: dict[str, int] = {}
    for key in _ARCHIVE_KEYS:
        if key not in raw:
            continue
        value = raw[key]
        if key == "max_bytes":
            values[key] = parse_size(value, where=f"{label}: archives.max_bytes")
        elif isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "depth" else 1):
            raise ConfigError(f"{label}: archives.{key} must be a {'non-negative' if key == 'depth' else 'positive'}"
                              f" whole number, got {value!r}")
        else:
            values[key] = value
    default = ArchiveLimits()
    return ArchiveLimits(depth=values.get("depth", default.depth), max_bytes=values.get("max_bytes", default.max_bytes),
                         max_ratio=values.get("max_ratio", default.max_ratio),
                         max_entries=values.get("max_entries", default.max_entries))


def load_file(path: Path) -> Config:
    raw = read_capped(path, limit=CONFIG_MAX_BYTES, what="config file", error=ConfigError)
    root = _resolved(path).parent
    if path.name == "pyproject.toml":
        import tomllib  # (only for a pyproject.toml: most runs never read one)

        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # (TOMLDecodeError, bad UTF-8, an integer past Python's limit)
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        tool = doc.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: 'tool' must be a table")
        return from_mapping(tool.get("nhiguard", {}), root=root, source=path)
    try:
        data = _yaml.load(raw)
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    except _yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return from_mapping(data, root=root, source=path)


def _has_tool_section(pyproject: Path) -> bool:
    if not pyproject.is_file():
        return False
    try:
        return b"[tool.nhiguard" in read_capped(pyproject, limit=CONFIG_MAX_BYTES, what="config", error=ConfigError)
    except ConfigError:  # (a pipe, a device or a huge file is no configuration)
        return False


def _resolved(path: Path) -> Path:
    """`path` made absolute with links resolved, or merely absolute when it cannot be (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop: RuntimeError before Python 3.13, OSError since
        return Path(os.path.abspath(path))


def discover(start: Path) -> Path | None:
    """The config of what is scanned: in a repository, its top folder's; outside one, the scanned folder's own.
    A config file deeper in the repository (a vendored library's) or above the scanned folder (anything up to `/`,
    world-writable `/tmp` included) is not the scanned content's, and would let a third party silence the scan."""
    here = _resolved(start)
    if here.is_file():
        here = here.parent
    directory = next((d for d in (here, *here.parents) if (d / ".git").exists()), here)
    for name in (CONFIG_FILE, CONFIG_FILE_ALT):
        if os.path.lexists(directory / name):  # (not a regular file: load_file says so, never skips it)
            return directory / name
    if _has_tool_section(directory / "pyproject.toml"):
        return directory / "pyproject.toml"
    return None


def load(explicit: Path | None, start: Path) -> Config:
    if explicit is not None:
        if not explicit.exists():
            raise ConfigError(f"{explicit}: config file not found")
        return load_file(explicit)
    found = discover(start)
    if found is None:
        here = _resolved(start)
        here = here if here.is_dir() else here.parent
        # with no config file, the repository's top is the root (where `baseline create` and `ignore` write)
        root = next((d for d in (here, *here.parents) if (d / ".git").exists()), here)
        return Config(root=root, baseline=_default_baseline(root))
    return load_file(found)
