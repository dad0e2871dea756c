"""Mail clients and network secrets: esmtprc, msmtprc, fetchmailrc, muttrc, wpa_supplicant, NetworkManager
keyfiles, VNC settings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from nhiguard.filekinds.base import Field, FileKind, Lines, field_at, rule
from nhiguard.filekinds.grammar import ini, url_creds
from nhiguard.filekinds.lazyre import lazy_re

MAIL = "file-mail-client-password"
WIFI = "file-wifi-psk"
NM = "file-networkmanager-secret"
VNC = "file-vnc-password"

RULES = (
    rule(MAIL, "Mail client password (esmtp, msmtp, fetchmail, mutt)", "mail"),
    rule(WIFI, "Wi-Fi passphrase or EAP password (wpa_supplicant)", "wifi", severity="medium"),
    rule(NM, "NetworkManager connection secret", "networkmanager", severity="medium"),
    rule(VNC, "VNC password (fixed-key DES)", "vnc", severity="medium"),
)

_KV = lazy_re(r"^\s*([A-Za-z_][\w-]*)\s*(?:=\s*|\s+)(.*?)\s*$")


def _value(raw: str, at: int) -> tuple[str, int]:
    raw = raw.strip()
    if raw[:1] and raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) > 1:
        return raw[1:-1], at + 1
    return raw.split()[0] if raw.split() else raw, at


def parse_esmtp_msmtp(text: str, path: str) -> Iterator[Field]:
    ctx: dict[str, str] = {}
    for start, line in Lines(text):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _KV.match(line)
        if not m:
            continue
        key, raw = m.group(1).lower(), m.group(2)
        at = start + m.start(2)
        if key in ("account", "identity"):
            ctx = {"account": raw.split(":")[0].strip().strip('"')}
            continue
        if key in ("host", "hostname", "user", "username", "port", "from"):
            ctx[{"hostname": "host", "username": "user"}.get(key, key)] = _value(raw, at)[0]
            continue
        if key in ("password", "certificate_passphrase"):
            value, at = _value(raw, at)
            yield field_at(MAIL, value, at, (*sorted(ctx.items()), ("client", path.rsplit("/", 1)[-1])))


_FETCH_TOKEN = lazy_re(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s,;]+')


def parse_fetchmail(text: str, path: str) -> Iterator[Field]:
    tokens: list[tuple[str, int]] = []
    for start, line in Lines(text):
        code = line.split("#", 1)[0] if "#" in line and '"' not in line and "'" not in line else line
        tokens.extend((m.group(0), start + m.start()) for m in _FETCH_TOKEN.finditer(code))
    ctx: dict[str, str] = {}
    for i, (word, _) in enumerate(tokens):
        low = word.lower()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None:
            break
        if low in ("poll", "skip", "server"):
            ctx = {"host": nxt[0].strip("\"'")}
        elif low in ("user", "username"):
            ctx["user"] = nxt[0].strip("\"'")
        elif low in ("proto", "protocol", "port", "via"):
            ctx[low.replace("protocol", "proto")] = nxt[0]
        elif low in ("pass", "password"):
            value, at = nxt
            if value[:1] and value[:1] in "\"'" and len(value) > 1:
                value, at = value[1:-1], at + 1
            yield field_at(MAIL, value, at, (*sorted(ctx.items()), ("client", "fetchmail")))


_MUTT = lazy_re(r"^\s*set\s+(\w+)\s*=\s*(.*?)\s*$")


def parse_muttrc(text: str, path: str) -> Iterator[Field]:
    ctx: dict[str, str] = {}
    for start, line in Lines(text):
        m = _MUTT.match(line)
        if not m:
            continue
        key, raw, at = m.group(1).lower(), m.group(2), start + m.start(2)
        value, at = _value(raw, at) if raw[:1] and raw[:1] in "\"'" else (raw.split(" #")[0].strip(), at)
        if key in ("imap_user", "smtp_user", "pop_user", "from", "realname"):
            ctx[key] = value
        elif key in ("imap_pass", "smtp_pass", "pop_pass", "imap_password", "smtp_password"):
            yield field_at(MAIL, value, at, (*sorted(ctx.items()), ("field", key), ("client", "mutt")))
        elif key in ("smtp_url", "folder", "spoolfile", "imap_url", "pop_host"):
            for cred in url_creds(value, at):
                written = text[cred.offset: cred.offset + cred.length]
                yield field_at(MAIL, written, cred.offset,
                               (("host", cred.host), ("port", cred.port), ("user", cred.user), ("field", key),
                                ("client", "mutt")), secret=cred.password)


# -- wpa_supplicant: network={ ... } blocks -----------------------------------------------------------------------
_WPA = lazy_re(r"^\s*(\w+)\s*=\s*(.*?)\s*$")


def parse_wpa(text: str, path: str) -> Iterator[Field]:
    block: dict[str, str] = {}
    pending: list[tuple[str, str, int]] = []

    def flush() -> Iterator[Field]:
        for key, value, at in pending:
            yield field_at(WIFI, value, at, (("ssid", block.get("ssid", "")), ("identity", block.get("identity", "")),
                                             ("key_mgmt", block.get("key_mgmt", "")), ("field", key)))

    for start, line in Lines(text):
        s = line.strip()
        if s.startswith("network") and "{" in s:
            block, pending = {}, []
            continue
        if s == "}":
            yield from flush()
            block, pending = {}, []
            continue
        m = _WPA.match(line)
        if not m or s.startswith("#"):
            continue
        key, raw, at = m.group(1), m.group(2), start + m.start(2)
        value, at = (raw[1:-1], at + 1) if raw[:1] == '"' and raw.endswith('"') and len(raw) > 1 else (raw, at)
        if key in ("psk", "password", "private_key_passwd", "wep_key0", "wep_key1", "sae_password"):
            if key == "password" and value.startswith("hash:"):
                value, at = value[5:], at + 5
            pending.append((key, value, at))
        else:
            block[key] = value
    yield from flush()


# -- NetworkManager keyfiles ---------------------------------------------------------------------------------------
_NM_SECRET = {("wifi-security", "psk"), ("wifi-security", "wep-key0"), ("wifi-security", "leap-password"),
              ("802-1x", "password"), ("802-1x", "private-key-password"), ("802-1x", "phase2-private-key-password"),
              ("802-11-wireless-security", "psk"), ("pppoe", "password"), ("gsm", "password"), ("cdma", "password")}


def parse_nm(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key): e.value for e in entries}
    for e in entries:
        section = e.section.lower()
        secret = (section, e.key.lower()) in _NM_SECRET or section == "vpn-secrets"
        if not secret:
            continue
        flags = info.get((e.section, f"{e.key}-flags"), "0")
        if flags not in ("0", ""):
            continue
        yield field_at(NM, e.value, e.offset, (("connection", info.get(("connection", "id"), "")),
                                               ("ssid", info.get(("wifi", "ssid"), "")),
                                               ("identity", info.get(("802-1x", "identity"), "")),
                                               ("field", f"{e.section}.{e.key}")))


# -- VNC ini files: passwd=<16 hex> ------------------------------------------------------------------------------
def parse_vnc_ini(text: str, path: str) -> Iterator[Field]:
    for e in ini(text):
        if e.key.lower() in ("passwd", "passwd2", "password", "passwordviewonly", "controlpassword") and re.fullmatch(
                r"[0-9A-Fa-f]{16,}", e.value):
            yield field_at(VNC, e.value, e.offset, (("field", e.key), ("section", e.section),
                                                    ("note", "DES-obfuscated with VNC's public key")), kind="key")


KINDS = (
    FileKind("esmtprc", parse_esmtp_msmtp, RULES[0:1], names=(".esmtprc", "esmtprc", ".msmtprc", "msmtprc"),
             paths=("msmtp/config",)),
    FileKind("fetchmailrc", parse_fetchmail, RULES[0:1], names=(".fetchmailrc", "fetchmailrc")),
    FileKind("muttrc", parse_muttrc, RULES[0:1], names=(".muttrc", "muttrc"), suffixes=(".muttrc",),
             paths=("mutt/accounts",)),
    FileKind("wpa-supplicant", parse_wpa, RULES[1:2], names=("wpa_supplicant.conf",),
             paths=("wpa_supplicant/",), sniff=lambda head: "network" in head or "psk" in head),
    FileKind("networkmanager", parse_nm, RULES[2:3], suffixes=(".nmconnection",),
             paths=("system-connections/",), sniff=lambda head: "[connection]" in head or "[wifi" in head),
    FileKind("vnc-ini", parse_vnc_ini, RULES[3:4], names=("ultravnc.ini", "vnc.ini", "tightvnc.ini", "winvnc.ini")),
)
