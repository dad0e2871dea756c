"""Transfer, SSH and database clients: WinSCP.ini, PuTTY .ppk keys, editor SFTP/remote-sync configs (VS Code,
Atom, Sublime), DBeaver data sources and credentials, Robo 3T/Studio 3T connections, HeidiSQL exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import unquote as pct_unquote

from nhiguard.filekinds import crypto
from nhiguard.filekinds.base import Field, FileKind, Lines, field_at, rule
from nhiguard.filekinds.grammar import Node, ini, json_tree
from nhiguard.filekinds.lazyre import lazy_re
from nhiguard.filekinds.names import secret_key, value_kind

WINSCP = "file-winscp-password"
PPK = "file-putty-private-key"
SFTP = "file-editor-sftp-password"
DBEAVER = "file-dbeaver-password"
DBCLIENT = "file-db-client-password"
HEIDI = "file-heidisql-password"

RULES = (
    rule(WINSCP, "WinSCP saved session password", "winscp"),
    rule(PPK, "Unencrypted PuTTY private key", "ssh", severity="critical"),
    rule(SFTP, "Editor SFTP / remote-sync password", "sftp"),
    rule(DBEAVER, "DBeaver saved connection password", "dbeaver"),
    rule(DBCLIENT, "Database client saved connection password (Robo 3T, Studio 3T…)", "database"),
    rule(HEIDI, "HeidiSQL saved session password", "heidisql"),
)


# -- WinSCP ------------------------------------------------------------------------------------------------------
def winscp_reveal(value: str, user: str, host: str) -> str | None:
    """WinSCP's reversible password encoding: each byte b is stored as NOT(b XOR 0xA3)."""
    if not re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value):
        return None
    data = [~(int(value[i:i + 2], 16) ^ 0xA3) & 0xFF for i in range(0, len(value), 2)]
    pos = 0

    def take() -> int:
        nonlocal pos
        if pos >= len(data):
            raise ValueError
        pos += 1
        return data[pos - 1]

    try:
        flag = take()
        if flag == 0xFF:
            take()
            length = take()
        else:
            length = flag
        skip = take()
        pos += skip
        if pos + length > len(data):
            return None
        out = bytes(data[pos:pos + length]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if flag == 0xFF:
        prefix = user + host
        if not out.startswith(prefix):
            return None
        out = out[len(prefix):]
    return out


def parse_winscp(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        if e.key.lower() not in ("password", "proxypassword", "tunnelpassword"):
            continue
        host = info.get((e.section, "hostname"), "")
        user = pct_unquote(info.get((e.section, "username"), ""))
        if e.key.lower() == "proxypassword":
            user, host = info.get((e.section, "proxyusername"), ""), info.get((e.section, "proxyhost"), "")
        elif e.key.lower() == "tunnelpassword":
            user, host = info.get((e.section, "tunnelusername"), ""), info.get((e.section, "tunnelhostname"), "")
        ctx = [("session", pct_unquote(e.section.split("\\", 1)[-1])), ("host", host), ("user", user),
               ("port", info.get((e.section, "portnumber"), "22")), ("field", e.key)]
        plain = winscp_reveal(e.value, user, host)
        if plain is not None:
            yield field_at(WINSCP, e.value, e.offset, ctx, secret=plain, decoded=("winscp",))


# -- Windows registry exports (.reg) of saved sessions -------------------------------------------------------------
_REG_KEY = lazy_re(r"^\[(HKEY_[^\]]+)\]\s*$")
_REG_VALUE = lazy_re(r'^"([^"]+)"=(?:"((?:[^"\\]|\\.)*)"|dword:([0-9a-fA-F]+))\s*$')


def parse_reg(text: str, path: str) -> Iterator[Field]:
    """WinSCP (`Martin Prikryl\\WinSCP 2\\Sessions`) and Navicat/HeidiSQL server keys in a .reg export."""
    key = ""
    values: dict[str, dict[str, tuple[str, int]]] = {}
    order: list[str] = []
    for start, line in Lines(text.replace("\x00", "")):
        m = _REG_KEY.match(line)
        if m:
            key = m.group(1)
            values.setdefault(key, {})
            order.append(key)
            continue
        m = _REG_VALUE.match(line)
        if m and key:
            values[key][m.group(1)] = (m.group(2) if m.group(2) is not None else str(int(m.group(3), 16)),
                                       start + m.start(2) if m.group(2) is not None else -1)
    for key in order:
        v = values[key]
        session = key.rsplit("\\", 1)[-1]
        if "WinSCP" in key and "Password" in v:
            value, at = v["Password"]
            host, user = v.get("HostName", ("", 0))[0], pct_unquote(v.get("UserName", ("", 0))[0])
            plain = winscp_reveal(value, user, host)
            if plain is not None:
                yield field_at(WINSCP, value, at, (("session", pct_unquote(session)), ("host", host), ("user", user),
                                                   ("port", v.get("PortNumber", ("22", 0))[0])),
                               secret=plain, decoded=("winscp",))
        elif "HeidiSQL" in key and "Password" in v:
            value, at = v["Password"]
            plain = heidi_reveal(value)
            if plain:
                yield field_at(HEIDI, value, at, (("session", session), ("host", v.get("Host", ("", 0))[0]),
                                                  ("user", v.get("User", ("", 0))[0])),
                               secret=plain, decoded=("heidisql",))
        elif "PremiumSoft" in key and "Pwd" in v:
            value, at = v["Pwd"]
            plain = crypto.navicat_reveal(value)
            ctx = (("session", session), ("host", v.get("Host", ("", 0))[0]), ("user", v.get("UserName", ("", 0))[0]))
            if plain is not None:
                yield field_at(DBCLIENT, value, at, ctx, secret=plain, decoded=("navicat",))
            elif value:
                yield field_at(DBCLIENT, value, at, (*ctx, ("note", "Navicat-encrypted, not decoded")), kind="key")


# -- PuTTY .ppk ---------------------------------------------------------------------------------------------------
def parse_ppk(text: str, path: str) -> Iterator[Field]:
    header: dict[str, str] = {}
    lines = list(Lines(text))
    for i, (_, line) in enumerate(lines):
        key, _, value = line.partition(":")
        value = value.strip()
        if key.startswith("PuTTY-User-Key-File"):
            header["algorithm"] = value
        elif key in ("Encryption", "Comment"):
            header[key.lower()] = value
        elif key == "Private-Lines":
            if header.get("encryption", "none") != "none":
                return
            try:
                count = int(value)
            except ValueError:
                return
            body = lines[i + 1: i + 1 + count]
            if not body:
                return
            secret = "".join(b.strip() for _, b in body)
            first_at, first = body[0]
            yield field_at(PPK, first.strip(), first_at, (("algorithm", header.get("algorithm", "")),
                                                          ("comment", header.get("comment", ""))),
                           secret=secret, kind="raw")
            return


# -- JSON client configs: walk for secret keys, context from the sibling keys -------------------------------------
_SFTP_SECRET = ("password", "pass", "passphrase", "passwd")
_JSON_CONTEXT = {"host": "host", "hostname": "host", "server": "host", "serverhost": "host", "address": "host",
                 "port": "port", "serverport": "port", "username": "user", "user": "user", "login": "user",
                 "database": "database", "databasename": "database", "protocol": "protocol", "type": "protocol",
                 "transport": "protocol", "name": "name", "connectionname": "name", "remotepath": "path",
                 "remote_path": "path", "remote": "path", "target": "path"}


def _siblings(parent: Node) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for key, node in parent.items():
        role = _JSON_CONTEXT.get(key.lower())
        if role and node.kind in ("string", "scalar") and node.value is not None:
            out.append((role, str(node.value)))
    return out


def json_secrets(tree: Node, rule_id: str, keys: tuple[str, ...] | None) -> Iterator[Field]:
    """String values under secret keys (`keys`, else any secret-looking name), with their siblings as context.
    A `true` passphrase means "prompt", a bare boolean or null is no secret."""
    stack: list[tuple[Node, tuple[str, ...], list[tuple[str, str | None]]]] = [(tree, (), [])]
    while stack:
        node, path, inherited = stack.pop()
        if node.kind == "array":
            stack.extend((child, (*path, str(i)), inherited) for i, child in enumerate(node.elements()))
            continue
        if node.kind != "object":
            continue
        ctx = [*inherited, *_siblings(node)]
        for key, child in node.items():
            if child.kind in ("object", "array"):
                stack.append((child, (*path, key), ctx))
                continue
            low = key.lower()
            wanted = low in keys if keys is not None else secret_key(key)
            if wanted and child.kind == "string" and child.value:
                yield field_at(rule_id, str(child.value), child.offset, [*_dedupe(ctx), ("field", ".".join(
                    (*path[-2:], key)))], generic=keys is None, kind=value_kind(key))


def _dedupe(ctx: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    seen: dict[str, str | None] = {}
    for k, v in ctx:
        seen[k] = v  # the nearest wins
    return list(seen.items())


def parse_sftp(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is not None:
        yield from json_secrets(tree, SFTP, _SFTP_SECRET)


def parse_db_client_json(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is not None:
        yield from json_secrets(tree, DBCLIENT, None)


# -- DBeaver -----------------------------------------------------------------------------------------------------
def parse_dbeaver_sources(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    conns = tree.get("connections") if tree is not None else None
    for conn_id, conn in conns.items() if conns is not None else ():
        config = conn.get("configuration")
        if config is None:
            continue
        ctx: list[tuple[str, str | None]] = [("connection", conn.text("name") or conn_id),
                                             ("driver", conn.text("driver")), ("host", config.text("host")),
                                             ("port", config.text("port")), ("database", config.text("database")),
                                             ("user", config.text("user"))]
        pw = config.get("password")
        if pw is not None and pw.kind == "string" and pw.value:
            yield field_at(DBEAVER, str(pw.value), pw.offset, ctx)
        url = config.get("url")
        if url is not None and url.kind == "string" and re.search(r"(?i)password=|://[^/@\s]*:[^@/\s]+@",
                                                                  str(url.value)):
            from nhiguard.filekinds import connections

            yield from connections.fields(DBEAVER, str(url.value), url.offset, ctx)


def parse_dbeaver_credentials(text: str, path: str) -> Iterator[Field]:
    blob = text.encode("latin-1")
    plain = crypto.dbeaver_credentials(blob)
    if plain is None:
        if not crypto.available() and len(blob) >= 32:
            yield field_at(DBEAVER, blob[16:48].hex(), 0, (("note", "encrypted; install the cryptography extra "
                                                                    "to decode"),), secret=blob.hex(), kind="raw")
        return
    try:
        doc = json.loads(plain)
    except ValueError:
        return
    if not isinstance(doc, dict):
        return
    for conn_id, entry in doc.items():
        creds = entry.get("#connection") if isinstance(entry, dict) else None
        if isinstance(creds, dict) and isinstance(creds.get("password"), str) and creds["password"]:
            yield field_at(DBEAVER, "", 0, (("connection", conn_id), ("user", str(creds.get("user", "")))),
                           secret=creds["password"], decoded=("dbeaver-aes",))


# -- HeidiSQL settings export --------------------------------------------------------------------------------------
_HEIDI = lazy_re(r"^Servers\\(?P<name>.+?)\\(?P<key>\w+)<\|\|\|>\d+<\|\|\|>(?P<value>.*)$")


def heidi_reveal(value: str) -> str | None:
    if len(value) < 3 or not value[-1].isdigit() or not re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value[:-1]):
        return None
    salt = int(value[-1])
    out = bytes(((int(value[i:i + 2], 16) - salt) % 256) for i in range(0, len(value) - 1, 2))
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_heidisql(text: str, path: str) -> Iterator[Field]:
    rows: list[tuple[str, str, str, int]] = []
    for start, line in Lines(text):
        m = _HEIDI.match(line)
        if m:
            rows.append((m.group("name"), m.group("key"), m.group("value"), start + m.start("value")))
    info = {(n, k): v for n, k, v, _ in rows}
    for name, key, value, at in rows:
        if key != "Password" or not value:
            continue
        plain = heidi_reveal(value)
        if plain:
            yield field_at(HEIDI, value, at, (("session", name), ("host", info.get((name, "Host"))),
                                              ("port", info.get((name, "Port"))), ("user", info.get((name, "User")))),
                           secret=plain, decoded=("heidisql",))


KINDS = (
    FileKind("winscp", parse_winscp, RULES[0:1], names=("winscp.ini", "winscp3.ini", "winscp.ini.bak"),
             sniff=lambda head: "[Sessions\\" in head or "HostName" in head),
    FileKind("registry-export", parse_reg, (RULES[0], RULES[4], RULES[5]), suffixes=(".reg",),
             sniff=lambda head: "WinSCP" in head.replace("\x00", "") or "HeidiSQL" in head.replace("\x00", "")
             or "PremiumSoft" in head.replace("\x00", "")),
    FileKind("putty-ppk", parse_ppk, RULES[1:2], suffixes=(".ppk",),
             sniff=lambda head: head.lstrip().startswith("PuTTY-User-Key-File")),
    FileKind("editor-sftp", parse_sftp, RULES[2:3], names=("sftp-config.json", "sftp-settings.json",
                                                             ".remote-sync.json", ".ftpconfig", ".sftpconfig",
                                                             "ftp-sync.json", ".ftp-deploy.json", "deploy.json",
                                                             "ftp.json", "sftp.json", ".vscode-sftp.json"),
             paths=(".vscode/sftp.json", ".vscode/ftp-sync.json", ".vscode/ftp-simple.json"),
             sniff=lambda head: "pass" in head),
    FileKind("dbeaver-sources", parse_dbeaver_sources, RULES[3:4], names=("data-sources.json",),
             suffixes=(),
             paths=(".dbeaver/data-sources.json",), sniff=lambda head: '"connections"' in head),
    FileKind("dbeaver-credentials", parse_dbeaver_credentials, RULES[3:4], names=("credentials-config.json",),
             binary=True),
    FileKind("db-client-json", parse_db_client_json, RULES[4:5],
             names=("robomongo.json", "robo3t.json", "studio3t.json", "connections.json", "connection.json",
                    "sqltools.json", "dbconfig.json", "db.json", "database.json", "mongodb.json",
                    "connections-config.json")),
    FileKind("heidisql", parse_heidisql, RULES[5:6], names=("portable_settings.txt", "heidisql_settings.txt",
                                                              "heidisql.txt", "settings.txt"),
             sniff=lambda head: "<|||>" in head),
)
