"""Unix client credential files and server-side user databases: netrc, pgpass, git-credentials, htpasswd,
shadow and passwd-style FTP user files, Mosquitto password files, OpenVPN auth files."""

from __future__ import annotations

import re
from collections.abc import Iterator

from nhiguard.filekinds.base import HASH_FAST, Field, FileKind, Lines, field_at, hash_field, hash_scheme, rule
from nhiguard.filekinds.grammar import url_creds
from nhiguard.filekinds.lazyre import lazy_re

NETRC = "file-netrc-password"
PGPASS = "file-pgpass-password"
GITCRED = "file-git-credentials-password"
STORE_PW = "file-user-db-password"
OVPN = "file-openvpn-auth-password"

RULES = (
    rule(NETRC, ".netrc password", "netrc"),
    rule(PGPASS, "PostgreSQL .pgpass password", "postgresql"),
    rule(GITCRED, "git credential store password", "git"),
    rule(STORE_PW, "Plaintext password in a user database (htpasswd, FTP users, Mosquitto)", "filekind"),
    rule(OVPN, "OpenVPN auth-user-pass file", "openvpn"),
)


# -- netrc: a whitespace token stream ---------------------------------------------------------------------------
_TOKEN = lazy_re(r'"(?:[^"\\]|\\.)*"|\S+')


def parse_netrc(text: str, path: str) -> Iterator[Field]:
    tokens: list[tuple[str, int]] = []
    in_macro = False
    for start, line in Lines(text):
        if in_macro:
            if not line.strip():
                in_macro = False
            continue
        if line.lstrip().startswith("#"):
            continue
        for m in _TOKEN.finditer(line):
            tokens.append((m.group(0), start + m.start()))
        if tokens and any(t == "macdef" for t, _ in tokens[-4:]):
            in_macro = True
    machine = login = ""
    i = 0
    while i < len(tokens):
        word = tokens[i][0].lower()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if word == "machine" and nxt:
            machine, login = nxt[0], ""
            i += 2
            continue
        if word == "default":
            machine, login = "default", ""
            i += 1
            continue
        if word in ("login", "user") and nxt:
            login = nxt[0].strip('"')
            i += 2
            continue
        if word in ("password", "passwd", "account") and nxt:
            value, at = nxt
            if value.startswith('"') and value.endswith('"') and len(value) > 1:
                value, at = value[1:-1], at + 1
            yield field_at(NETRC, value, at, (("host", machine), ("user", login), ("field", word)))
            i += 2
            continue
        i += 1


# -- pgpass: host:port:database:user:password ---------------------------------------------------------------------
def _colon_fields(line: str) -> list[tuple[str, int]]:
    out, current, begin, i = [], [], 0, 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            current.append(line[i + 1])
            i += 2
            continue
        if c == ":":
            out.append(("".join(current), begin))
            current, begin = [], i + 1
        else:
            current.append(c)
        i += 1
    out.append(("".join(current), begin))
    return out


def parse_pgpass(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = _colon_fields(line)
        if len(parts) < 5:
            continue
        (host, _), (port, _), (db, _), (user, _) = parts[:4]
        value_at = parts[4][1]
        raw = line[value_at:]
        yield field_at(PGPASS, raw, start + value_at,
                       (("host", host), ("port", port), ("database", db), ("user", user)),
                       secret=parts[4][0] if len(parts) == 5 else ":".join(p for p, _ in parts[4:]))


def sniff_pgpass(head: str) -> bool:
    return any(line.count(":") >= 4 for line in head.splitlines()[:20] if not line.startswith("#"))


# -- git-credentials: one URL per line -----------------------------------------------------------------------------
def parse_git_credentials(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        for cred in url_creds(line, start):
            yield field_at(GITCRED, line[cred.offset - start: cred.offset - start + cred.length], cred.offset,
                           (("scheme", cred.scheme), ("host", cred.host), ("user", cred.user), ("path", cred.path)),
                           secret=cred.password, decoded=("percent",) if cred.password != line[
                               cred.offset - start: cred.offset - start + cred.length] else ())


# -- user:hash files -----------------------------------------------------------------------------------------------
def _user_db(text: str, *, min_fields: int, plaintext: bool, kind_name: str) -> Iterator[Field]:
    for start, line in Lines(text):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < min_fields:
            continue
        user, secret = parts[0], parts[1]
        at = start + len(user) + 1
        ctx: list[tuple[str, str | None]] = [("user", user), ("store", kind_name)]
        if len(parts) >= 6 and parts[5].startswith("/"):
            ctx.append(("home", parts[5]))
        if secret in ("", "*", "!", "!!", "x", "*LK*", "NP", "*NP*") or (secret.startswith(("!", "*")) and (
                hash_scheme(secret.lstrip("!*"), store=True) is None)):
            continue
        value = secret.lstrip("!")
        found = hash_field(value, at + len(secret) - len(value), ctx, fallback=STORE_PW if plaintext else None)
        if found is not None:
            yield found


def parse_htpasswd(text: str, path: str) -> Iterator[Field]:
    return _user_db(text, min_fields=2, plaintext=True, kind_name="htpasswd")


def parse_shadow(text: str, path: str) -> Iterator[Field]:
    return _user_db(text, min_fields=2, plaintext=False, kind_name="shadow")


def parse_ftp_users(text: str, path: str) -> Iterator[Field]:
    return _user_db(text, min_fields=2, plaintext=True, kind_name="ftp")


def parse_mosquitto(text: str, path: str) -> Iterator[Field]:
    return _user_db(text, min_fields=2, plaintext=True, kind_name="mosquitto")


def sniff_user_db(head: str) -> bool:
    lines = [ln for ln in head.splitlines()[:30] if ln.strip() and not ln.startswith("#")]
    return bool(lines) and sum(1 for ln in lines if re.match(r"^[^:\s]{1,64}:[^:\s]+", ln)) * 2 >= len(lines)


def sniff_shadow(head: str) -> bool:
    return bool(re.search(r"(?m)^[\w.-]{1,32}:[^:\n]*:\d*:\d*:\d*:", head))


# -- OpenVPN auth file: user on line 1, password on line 2 ---------------------------------------------------------
def parse_openvpn_auth(text: str, path: str) -> Iterator[Field]:
    lines = [(s, ln) for s, ln in Lines(text) if ln.strip()]
    if len(lines) != 2 or any(len(ln.split()) != 1 for _, ln in lines):
        return
    (_, user), (start, secret) = lines
    at = start + len(secret) - len(secret.lstrip())
    yield field_at(OVPN, secret.strip(), at, (("user", user.strip()),))


# -- pwdump / secretsdump: user:RID:LM:NT::: ---------------------------------------------------------------------
_PWDUMP = lazy_re(r"^([^:\s][^:]*):(\d+):([0-9a-fA-F]{32}):([0-9a-fA-F]{32}):::")
_EMPTY_NT = "31d6cfe0d16ae931b73c59d7e0c089c0"  # NT hash of the empty password


def parse_pwdump(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        m = _PWDUMP.match(line)
        if m and m.group(4).lower() != _EMPTY_NT:
            yield field_at(HASH_FAST, m.group(4), start + m.start(4),
                           (("user", m.group(1)), ("rid", m.group(2)), ("scheme", "nt")), kind="hash")


# (blanks before a line break possessive, never `\s*\n\s*`: two runs that share the line breaks are quadratic)
_INLINE_AUTH = lazy_re(r"<auth-user-pass>[^\S\n]*+\n\s*+(\S+)[^\S\n]*+\n\s*+(\S+)[^\S\n]*+\n\s*+</auth-user-pass>")
_REMOTE = lazy_re(r"(?m)^[ \t]*+remote[ \t]++(\S+)(?:[ \t]++(\d+))?")


def parse_ovpn(text: str, path: str) -> Iterator[Field]:
    remote = _REMOTE.search(text)
    for m in _INLINE_AUTH.finditer(text):
        yield field_at(OVPN, m.group(2), m.start(2), (("user", m.group(1)), ("host", remote.group(1) if remote else ""),
                                                      ("port", remote.group(2) if remote else "")))


KINDS = (
    FileKind("pwdump", parse_pwdump, (), names=("hashes.txt", "sam.txt", "pwdump.txt", "ntds.txt", "secretsdump.txt",
                                                "sam.hashes", "ntlm.txt", "hashdump.txt"),
             suffixes=(".pwdump", ".ntds", ".sam"),
             sniff=lambda head: any(_PWDUMP.match(ln) for ln in head.splitlines()[:20])),
    FileKind("openvpn-config", parse_ovpn, RULES[4:5], suffixes=(".ovpn",), sniff=lambda head: True),
    FileKind("netrc", parse_netrc, RULES[0:1], names=(".netrc", "_netrc", "netrc")),
    FileKind("pgpass", parse_pgpass, RULES[1:2], names=(".pgpass", "pgpass.conf", "pgpass"), sniff=sniff_pgpass),
    FileKind("git-credentials", parse_git_credentials, RULES[2:3], names=(".git-credentials",),
             paths=("git/credentials",)),
    FileKind("htpasswd", parse_htpasswd, RULES[3:4], names=(".htpasswd", "htpasswd", ".htpasswd.bak", "passwords",
                                                           "htpasswd.users", "users.htpasswd", ".htpasswds"),
             suffixes=(".htpasswd",), sniff=sniff_user_db),
    FileKind("shadow", parse_shadow, (), names=("shadow", "shadow-", "master.passwd", "gshadow", "shadow.bak"),
             sniff=sniff_shadow),
    FileKind("ftp-users", parse_ftp_users, RULES[3:4],
             names=("ftpd.passwd", "pureftpd.passwd", "pure-ftpd.passwd", "proftpd.passwd", "ftpusers.passwd",
                    "vsftpd.passwd"), paths=("proftpd/auth/passwd",), sniff=sniff_user_db),
    FileKind("mosquitto-passwd", parse_mosquitto, RULES[3:4],
             names=("mosquitto.passwd", "passwd.mosquitto", "mosquitto_passwd", "pwfile", "password_file"),
             paths=("mosquitto/passwd", "mosquitto/password_file", "mosquitto/pwfile", "mosquitto/passwords"),
             sniff=sniff_user_db),
    FileKind("openvpn-auth", parse_openvpn_auth, RULES[4:5],
             names=("auth.txt", "login.conf", "pass.txt", "credentials.txt", "auth-user-pass", "vpn-auth.txt",
                    "openvpn-auth.txt", "userpass.txt", "auth.conf", "up.txt", "login.txt"),
             paths=("openvpn/auth", "openvpn/pass", "openvpn/credentials", "openvpn/login"),
             sniff=lambda head: len([ln for ln in head.splitlines() if ln.strip()]) == 2),
)
