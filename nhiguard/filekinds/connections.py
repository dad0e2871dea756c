"""Credentials inside connection strings: ADO.NET / OLE DB / ODBC `key=value;` lists, JDBC URLs (query,
`;key=value` and Oracle thin `user/pass@host` forms) and `scheme://user:pass@host/db` URLs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from nhiguard.filekinds.base import Field, field_at
from nhiguard.filekinds.grammar import conn_pairs, url_creds
from nhiguard.filekinds.lazyre import lazy_re

_PW_KEYS = ("password", "pwd", "pass", "passwd", "user password")
_USER_KEYS = ("user id", "uid", "user", "username", "user name", "userid")
_HOST_KEYS = ("data source", "server", "address", "addr", "host", "hostname", "network address", "datasource")
_DB_KEYS = ("initial catalog", "database", "dbname", "db")
_ORACLE = lazy_re(r"jdbc:oracle:[a-z]+:(?P<user>[^/@:\s]+)/(?P<pw>[^@\s]+)@(?P<host>[^\s;\"'<]+)")
_JDBC_QUERY = lazy_re(r"[?&;](?:password|pwd)=([^&;\s\"'<]*)", re.I)
_JDBC_USER = lazy_re(r"[?&;](?:user|username|userid)=([^&;\s\"'<]*)", re.I)
_JDBC_HOST = lazy_re(r"jdbc:([a-z0-9]+)(?::[a-z]+)?://([^/;:?\s]+)(?::(\d+))?(?:/([^?;\s]*))?", re.I)


def _first(pairs: dict[str, tuple[str, int]], keys: Iterable[str]) -> str:
    for k in keys:
        if k in pairs:
            return pairs[k][0]
    return ""


def fields(rule_id: str, value: str, base: int, context: Iterable[tuple[str, str | None]] = ()) -> Iterator[Field]:
    """The passwords in one connection-string value that starts at text offset `base`."""
    ctx = list(context)
    m = _ORACLE.search(value)
    if m:
        yield field_at(rule_id, m.group("pw"), base + m.start("pw"),
                       [*ctx, ("user", m.group("user")), ("host", m.group("host"))])
        return
    if value.lower().startswith("jdbc:") or "jdbc:" in value.lower():
        host = _JDBC_HOST.search(value)
        user = _JDBC_USER.search(value)
        found = False
        for q in _JDBC_QUERY.finditer(value):
            found = True
            yield field_at(rule_id, q.group(1), base + q.start(1),
                           [*ctx, ("driver", host.group(1) if host else ""), ("host", host.group(2) if host else ""),
                            ("port", host.group(3) if host else ""), ("database", host.group(4) if host else ""),
                            ("user", user.group(1) if user else "")])
        if found:
            return
    creds = list(url_creds(value, base))
    if creds:
        for c in creds:
            written = value[c.offset - base: c.offset - base + c.length]
            yield field_at(rule_id, written, c.offset,
                           [*ctx, ("scheme", c.scheme), ("host", c.host), ("port", c.port), ("database", c.path),
                            ("user", c.user)], secret=c.password,
                           decoded=("percent",) if c.password != written else ())
        return
    if "=" not in value:
        return
    pairs = conn_pairs(value)
    if any(pairs.get(k, ("",))[0].lower() in ("sspi", "true", "yes") for k in ("integrated security",
                                                                             "trusted_connection")):
        return
    for key in _PW_KEYS:
        if key in pairs:
            pw, at = pairs[key]
            yield field_at(rule_id, pw, base + at,
                           [*ctx, ("host", _first(pairs, _HOST_KEYS)), ("database", _first(pairs, _DB_KEYS)),
                            ("user", _first(pairs, _USER_KEYS)), ("dsn", _first(pairs, ("dsn",)))])
            return


def looks_like_connection(value: str) -> bool:
    low = value.lower()
    return "://" in low or "jdbc:" in low or (";" in low and "=" in low and any(f"{k}=" in low.replace(" =", "=")
                                                                            for k in _PW_KEYS))
