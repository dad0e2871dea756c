"""General application configuration in the common grammars, read by setting name: JSON settings
(appsettings.json, config/*.json), INI/cfg files, space-separated daemon configs (redis.conf, ldap.conf,
slapd.conf, sasl_passwd), mount credential files, Cisco-style device configs. Every field here is chosen by a
setting's name, so the generic filters apply to it as well."""

from __future__ import annotations

import re
from collections.abc import Iterator

from nhiguard.filekinds import connections
from nhiguard.filekinds.base import Field, FileKind, Lines, field_at, hash_field, hash_scheme, rule
from nhiguard.filekinds.grammar import assignments, ini, json_tree, walk_json
from nhiguard.filekinds.lazyre import lazy_re
from nhiguard.filekinds.names import context_role, secret_key

JSONCFG = "file-json-config-secret"
INICFG = "file-ini-config-secret"
DAEMON = "file-daemon-config-password"
MOUNT = "file-mount-credentials-password"
DEVICE = "file-network-device-password"

RULES = (
    rule(JSONCFG, "Secret in a JSON application config", "filekind"),
    rule(INICFG, "Secret in an INI / cfg config", "filekind"),
    rule(DAEMON, "Password in a service configuration (redis, LDAP, SASL)", "filekind"),
    rule(MOUNT, "Password in a mount or SMB credentials file", "smb"),
    rule(DEVICE, "Network device password (Cisco type 7 or secret)", "cisco"),
)


# -- JSON settings ------------------------------------------------------------------------------------------------
def parse_json_config(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is None:
        return
    parents: dict[tuple[str, ...], dict[str, str]] = {}
    for key_path, node in walk_json(tree):
        if node.kind in ("string", "scalar") and key_path and node.value is not None:
            parents.setdefault(key_path[:-1], {})[key_path[-1]] = str(node.value)
    for key_path, node in walk_json(tree):
        if node.kind != "string" or not key_path or not node.value:
            continue
        key, value = key_path[-1], str(node.value)
        siblings = parents.get(key_path[:-1], {})
        ctx = [(role, v) for k, v in siblings.items() if (role := context_role(k))]
        setting = ".".join(key_path)
        in_conn = any(re.search(r"(?i)connection|database|datasource|dsn|db", k) for k in key_path)
        if connections.looks_like_connection(value) and (in_conn or re.search(r"(?i)url|uri|dsn|conn", key)):
            yield from connections.fields(JSONCFG, value, node.offset, [*ctx, ("setting", setting)])
        elif secret_key(key):
            hashed = hash_field(value, node.offset, [*ctx, ("setting", setting)], store=False)
            if hashed is not None:
                yield hashed
                continue
            yield field_at(JSONCFG, value, node.offset, [*ctx, ("setting", setting)],
                           kind="password" if re.search(r"(?i)pass|pwd", key) else "key", generic=True)


def claim_json_config(name: str) -> bool:
    return name.endswith(".json") and (
        name.startswith(("appsettings", "config", "secrets", "credentials", "settings", "database", "db.",
                         "production", "prod.", "development", "local", "default", "env", "parameters", "keys"))
        or name in ("app.json", "conf.json", "auth.json", "connection.json", "mail.json", "smtp.json",
                    "accesstokens.json", "local.settings.json", "launch.json"))


# -- INI / cfg --------------------------------------------------------------------------------------------------
def parse_ini_config(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text, inline_comments=True))
    by_section: dict[str, dict[str, str]] = {}
    for e in entries:
        by_section.setdefault(e.section, {})[e.key] = e.value
    for e in entries:
        if not secret_key(e.key) and not (connections.looks_like_connection(e.value) and re.search(
                r"(?i)url|uri|dsn|conn", e.key)):
            continue
        siblings = by_section.get(e.section, {})
        ctx = [("section", e.section), *((role, v) for k, v in siblings.items() if (role := context_role(k)))]
        if connections.looks_like_connection(e.value):
            yield from connections.fields(INICFG, e.value, e.offset, [*ctx, ("setting", e.key)])
            continue
        found = hash_scheme(e.value)
        if found is not None:
            hashed = hash_field(e.value, e.offset, [*ctx, ("setting", e.key)], store=False)
            if hashed is not None:
                yield hashed
            continue
        yield field_at(INICFG, e.value, e.offset, [*ctx, ("setting", e.key)],
                       kind="password" if re.search(r"(?i)pass|pwd|pw$", e.key) else "key", generic=True)


def claim_ini_config(name: str) -> bool:
    if name.endswith(".toml"):  # TOML's key = "value" and [tables] read as INI
        return name.startswith(("config", "credentials", "secrets", "settings", ".secrets", "auth"))
    return name.endswith((".ini", ".cfg", ".conf", ".config.ini")) and name not in (
        "setup.cfg", "tox.ini", "pytest.ini", "mypy.ini", ".flake8", "pylintrc", "alembic.ini", "php.ini",
        "odbc.ini", "odbcinst.ini", "my.ini", "winscp.ini", "ultravnc.ini")


def sniff_ini_config(head: str) -> bool:
    low = head.lower()
    return ("=" in head or ":" in head) and any(w in low for w in ("pass", "secret", "token", "pwd", "key", "auth",
                                                                    "://"))


# -- space-separated daemon configs ------------------------------------------------------------------------------
_DAEMON_KEYS = {"requirepass": "redis", "masterauth": "redis", "bindpw": "ldap", "rootpw": "ldap",
                "ldap_default_authtok": "sssd", "olcrootpw": "ldap", "secret": "", "password": "", "passwd": "",
                "auth_pass": "keepalived", "stats auth": "haproxy"}
_SPACED = lazy_re(r"^\s*([A-Za-z_][\w-]*)(\s*=\s*|\s+)(\S.*?)\s*$")


def parse_daemon(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        if line.lstrip().startswith(("#", ";")):
            continue
        m = _SPACED.match(line)
        if not m:
            continue
        key = m.group(1).lower()
        if key not in _DAEMON_KEYS:
            continue
        raw, at = m.group(3), start + m.start(3)
        if raw[:1] and raw[:1] in "\"'" and raw.endswith(raw[0]) and len(raw) > 1:
            raw, at = raw[1:-1], at + 1
        hashed = hash_field(raw, at, (("setting", key),), store=False)
        yield hashed or field_at(DAEMON, raw, at, (("setting", key), ("service", _DAEMON_KEYS[key])))


_SASL = lazy_re(r"^\s*(\S+)\s+([^:\s]+):(\S+)\s*$")


def parse_sasl(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        m = _SASL.match(line)
        if m and not line.lstrip().startswith("#"):
            yield field_at(DAEMON, m.group(3), start + m.start(3), (("host", m.group(1)), ("user", m.group(2)),
                                                                    ("service", "postfix")))


# -- mount.cifs / smb credential files ---------------------------------------------------------------------------
def parse_mount(text: str, path: str) -> Iterator[Field]:
    entries = list(assignments(text))
    info = {e.key.lower(): e.value for e in entries}
    for e in entries:
        if e.key.lower() in ("password", "pass", "passwd"):
            yield field_at(MOUNT, e.value, e.offset, (("user", info.get("username", info.get("user", ""))),
                                                      ("domain", info.get("domain", ""))))


# -- Cisco-style configs ---------------------------------------------------------------------------------------------
_TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"
_CISCO = lazy_re(r"^\s*+(?:username\s++(\S+)\s++(?:privilege\s++\d+\s++)?(?:password|secret)"
                    r"|enable\s++(?:password|secret)|password)\s++(?:(\d)\s++)?(\S+)\s*$")


def cisco7_reveal(value: str) -> str | None:
    if len(value) < 4 or len(value) % 2 or not value[:2].isdigit() or not re.fullmatch(r"[0-9A-Fa-f]+", value[2:]):
        return None
    seed = int(value[:2])
    try:
        return "".join(chr(int(value[i:i + 2], 16) ^ ord(_TYPE7_KEY[(seed + (i - 2) // 2) % len(_TYPE7_KEY)]))
                       for i in range(2, len(value), 2))
    except (ValueError, IndexError):
        return None


def parse_cisco(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        m = _CISCO.match(line)
        if not m:
            continue
        user, kind, value = m.group(1) or "", m.group(2) or "0", m.group(3)
        at = start + m.start(3)
        ctx = (("user", user), ("type", kind))
        if kind == "7":
            plain = cisco7_reveal(value)
            if plain:
                yield field_at(DEVICE, value, at, ctx, secret=plain, decoded=("cisco-type7",))
        elif kind in ("5", "8", "9", "4"):
            hashed = hash_field(value, at, ctx, store=True)
            yield hashed or field_at(DEVICE, value, at, ctx, kind="hash")
        elif kind == "0":
            yield field_at(DEVICE, value, at, ctx)


def sniff_cisco(head: str) -> bool:
    return bool(re.search(r"(?m)^(?:hostname|interface|enable (?:secret|password)|username \S+ (?:privilege|secret|"
                          r"password)|version \d+\.\d+)", head))


KINDS = (
    FileKind("json-config", parse_json_config, RULES[0:1], claim=claim_json_config, hint=r"\.json$",
             sniff=lambda head: any(w in head.lower() for w in ("pass", "secret", "token", "pwd", "key", "connection",
                                                                "://"))),
    FileKind("ini-config", parse_ini_config, RULES[1:2], claim=claim_ini_config, hint=r"\.(?:ini|cfg|conf|toml)$",
             names=(".boto", "boto.cfg"), paths=(".cargo/credentials",),
             sniff=sniff_ini_config),
    FileKind("daemon-config", parse_daemon, RULES[2:3],
             names=("redis.conf", "sentinel.conf", "ldap.conf", "nslcd.conf", "pam_ldap.conf", "libnss-ldap.conf",
                    "slapd.conf", "sssd.conf", "keepalived.conf", "ldap.secret", "pam_ldap.secret"),
             suffixes=(".redis.conf",)),
    FileKind("sasl-passwd", parse_sasl, RULES[2:3], names=("sasl_passwd", "sasl_passwd.txt", "smtp_auth")),
    FileKind("mount-credentials", parse_mount, RULES[3:4],
             names=(".smbcredentials", "smbcredentials", ".smbpasswd.txt", ".cifs", "cifs-credentials",
                    ".cifscredentials", "smb-credentials", "cifs.credentials", ".smbclient.conf", "smbclient.conf")),
    FileKind("network-device", parse_cisco, RULES[4:5],
             names=("running-config", "startup-config", "running-config.txt", "startup-config.txt", "router.cfg",
                    "switch.cfg", "show-run.txt", "show_run.txt"), suffixes=(".ios", "-confg", "-config.txt"),
             sniff=sniff_cisco),
)
