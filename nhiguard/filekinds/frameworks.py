"""Framework and application settings: dotenv files (Laravel, Symfony, any), WordPress wp-config.php, PHP
configuration arrays, Django settings, Spring properties/YAML, Rails master.key / secrets.yml / database.yml,
my.cnf-style INI files, ODBC ini, and SQL dumps with password hashes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from nhiguard.filekinds import connections
from nhiguard.filekinds.base import Field, FileKind, Lines, field_at, hash_field, hash_scheme, rule
from nhiguard.filekinds.grammar import assignments, ini, yaml_scalars
from nhiguard.filekinds.lazyre import lazy_re
from nhiguard.filekinds.names import context_role, secret_key, stem

DOTENV = "file-dotenv-secret"
WORDPRESS = "file-wordpress-config-secret"
PHP = "file-php-config-password"
DJANGO = "file-django-settings-secret"
SPRING = "file-spring-config-password"
RAILS = "file-rails-secret"
MYCNF = "file-mysql-option-password"
ODBC = "file-odbc-ini-password"
YAMLCFG = "file-yaml-config-secret"
SQLPW = "file-sql-user-password"

RULES = (
    rule(DOTENV, "Secret in a dotenv file", "dotenv"),
    rule(WORDPRESS, "WordPress wp-config.php database password or key", "wordpress"),
    rule(PHP, "Password in a PHP configuration array", "php"),
    rule(DJANGO, "Django settings secret", "django"),
    rule(SPRING, "Password in a Spring / Java properties or YAML config", "spring"),
    rule(RAILS, "Rails master key or secret_key_base", "rails", severity="critical"),
    rule(MYCNF, "MySQL option file password (my.cnf)", "mysql"),
    rule(ODBC, "ODBC data source password", "odbc"),
    rule(YAMLCFG, "Secret in an application YAML config", "filekind"),
    rule(SQLPW, "Plaintext password in a SQL user statement (CREATE USER … IDENTIFIED BY, PASSWORD '…')", "database"),
)

# Settings whose name alone says they hold a credential (frameworks' own names): no generic filtering.
_KNOWN = lazy_re(
    r"^(?:AUTH_KEY|SECURE_AUTH_KEY|LOGGED_IN_KEY|NONCE_KEY|AUTH_SALT|SECURE_AUTH_SALT|LOGGED_IN_SALT|NONCE_SALT"
    r"|SECRET_KEY|APP_KEY|APP_SECRET|DB_PASSWORD|DB_PASS|DATABASE_PASSWORD|MYSQL_PASSWORD|MYSQL_ROOT_PASSWORD"
    r"|POSTGRES_PASSWORD|PGPASSWORD|REDIS_PASSWORD|MAIL_PASSWORD|EMAIL_HOST_PASSWORD|SMTP_PASSWORD"
    r"|spring\.datasource\.password|spring\.mail\.password|spring\.redis\.password|spring\.rabbitmq\.password"
    r"|password|PASSWORD|Password|passwd|dbpasswd|dbpass|wgDBpassword|secret_key_base)$"
)
def _b64_text(value: str) -> str | None:
    import base64
    import binascii

    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return text.strip() if text.strip() and text.isprintable() else None


# ${VAR:default} (Spring), ${VAR:-default} ${VAR-default} ${VAR:=default} (shell, compose); ${VAR:?message}
# and ${VAR?message} write an error message, not a value
_DEFAULT = lazy_re(r"^\$\{[A-Za-z0-9_.\-]+:([-=+?]?)(.*)\}$")
_SHELL_DEFAULT = lazy_re(r"^\$\{[A-Za-z_][A-Za-z0-9_]*([-=+?])(.*)\}$")
_TEMPLATE_DEFAULT = 8  # shortest fallback value reported


def _with_context(rule_id: str, key: str, value: str, at: int, others: dict[str, str],
                  extra: Iterable[tuple[str, str | None]] = (), written: str | None = None) -> Iterator[Field]:
    """One secret setting: the URL/connection-string password when the value is one, else the value; context
    from the settings that share its prefix (DB_HOST for DB_PASSWORD). `written`: the value as the file writes
    it, when `value` is it with its escapes undone."""
    m = _DEFAULT.match(value) or _SHELL_DEFAULT.match(value)
    if m:  # only the default is written here
        written = None
        if m.group(1) == "?" or len(m.group(2).strip()) < _TEMPLATE_DEFAULT:
            return  # (a short fallback, "dev" or "postgres", is the template's placeholder)
        value, at = m.group(2), at + m.start(2)
    prefix = stem(key)
    ctx: dict[str, str] = {}
    for other, v in others.items():
        role = context_role(other)
        if role and (stem(other) == prefix or role not in ctx) and v:
            ctx[role] = v
    base = [*sorted(ctx.items()), *extra, ("setting", key)]
    if connections.looks_like_connection(value) and re.search(r"(?i)url|uri|dsn|connection|database", key):
        yield from connections.fields(rule_id, value, at, base)
        return
    if re.search(r"(?i)url|uri|dsn", key) and not connections.looks_like_connection(value):
        return
    found = hash_scheme(value)
    if found is not None:
        yield field_at("file-password-hash" if not found[1] else "file-password-hash-unsalted", value, at,
                       [*base, ("scheme", found[0])], kind="hash")
        return
    yield field_at(rule_id, value if written is None else written, at, base,
                   kind="password" if re.search(r"(?i)pass|pwd", key) else "key", generic=not _KNOWN.match(key),
                   secret=None if written is None else value)


# -- dotenv ----------------------------------------------------------------------------------------------------
def parse_dotenv(text: str, path: str) -> Iterator[Field]:
    entries = list(assignments(text))
    others = {e.key: e.value for e in entries}
    for e in entries:
        if secret_key(e.key) or (connections.looks_like_connection(e.value) and "://" in e.value \
                and "@" in e.value):
            plain = _dotenv_unescape(e.value) if text[e.offset - 1:e.offset] == '"' else e.value
            yield from _with_context(DOTENV, e.key, plain, e.offset, others,
                                     written=None if plain == e.value else e.value)


_DOTENV_ESCAPE = lazy_re(r"\\([nrt\"\\])")
_DOTENV_CHARS = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _dotenv_unescape(value: str) -> str:
    """A double-quoted dotenv value as its readers (Compose, python-dotenv, dotenv for Node) expand it: a private
    key written on one line with `\\n` escapes is the key."""
    if "\\n" not in value:
        return value  # (other escapes alone change nothing a rule would read differently)
    return _DOTENV_ESCAPE.sub(lambda m: _DOTENV_CHARS[m.group(1)], value)


def claim_dotenv(name: str) -> bool:
    return name.startswith(".env") or name.endswith(".env") or name in _SHELL_ENV


_SHELL_ENV = frozenset({"env", ".envrc", "env.list", ".flaskenv", ".bashrc", ".bash_profile", ".profile", ".zshrc",
                        ".zprofile", ".zshenv", "environment", "env.sh", "setenv.sh", "vars.sh", ".exports",
                        "secrets.sh", "credentials.sh", "env.bat", "setenv.bat"})


# -- PHP: define(), arrays, variables -------------------------------------------------------------------------
_PHP_STR = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
_PHP_DEFINE = lazy_re(r"""define\s*\(\s*['"]([A-Za-z_]\w*)['"]\s*,\s*""" + _PHP_STR, re.I)
_PHP_ARRAY = lazy_re(r"""['"]([\w.\-]+)['"]\s*=>\s*(?:env\s*\(\s*['"][^'"]*['"]\s*,\s*)?""" + _PHP_STR)
_PHP_VAR = lazy_re(r"""\$(\w++(?:\s*\[\s*(?:['"][\w.\-]*['"]|\$\w+|\d+)\s*\])*)\s*=\s*""" + _PHP_STR)
_PHP_ENV_ONLY = lazy_re(r"""=>\s*env\s*\(\s*['"][^'"]*['"]\s*\)""")
_PHP_PROP = lazy_re(r"""(?:public|private|protected|var)\s+\$(\w+)\s*=\s*""" + _PHP_STR)


def _php_pairs(text: str) -> list[tuple[str, str, int]]:
    out = []
    for pattern in (_PHP_DEFINE, _PHP_ARRAY, _PHP_VAR, _PHP_PROP):
        for m in pattern.finditer(text):
            group = 2 if m.group(2) is not None else 3
            key = m.group(1)
            key = re.findall(r"[\w.\-]+", key)[-1] if "[" in key else key
            out.append((key, m.group(group), m.start(group)))
    out.sort(key=lambda t: t[2])
    return out


def _near(pairs: list[tuple[str, str, int]], at: int, reach: int = 600) -> dict[str, str]:
    return {k: v for k, v, o in pairs if abs(o - at) <= reach}


def parse_php(text: str, path: str, rule_id: str = PHP) -> Iterator[Field]:
    pairs = _php_pairs(text)
    for key, value, at in pairs:
        if not secret_key(key) and key.upper() not in _WP_KEYS:
            continue
        rid = WORDPRESS if rule_id == WORDPRESS or key.upper() in _WP_KEYS else rule_id
        yield from _with_context(rid, key, value.replace("\\'", "'"), at, _near(pairs, at))


_WP_KEYS = frozenset({"AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT",
                      "LOGGED_IN_SALT", "NONCE_SALT", "DB_PASSWORD"})


def parse_wordpress(text: str, path: str) -> Iterator[Field]:
    return parse_php(text, path, WORDPRESS)


def claim_php_config(name: str) -> bool:
    return name.endswith((".php", ".php.bak", ".php.old", ".php.orig", ".php.save", ".php~", ".inc", ".php.dist",
                          ".php.example", ".php.sample", ".inc.php")) and bool(_PHP_NAME.search(name))


_PHP_NAME = lazy_re(r"(?:config|database|db|settings|conf|connect|connection|local|parameters|credentials"
                       r"|secrets?|env|setup|install|mail|constants|app|LocalSettings|configuration|sql|mysql|dbconn)"
                       r"[\w.\-]*\.(?:php|inc)", re.I)


# -- Django and Python settings --------------------------------------------------------------------------------
_PY_ASSIGN = lazy_re(r"""^[ \t]*+([A-Z][A-Z0-9_]*)\s*=\s*[rbuRBU]?(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""", re.M)
_PY_DICT = lazy_re(r"""['"]([A-Za-z_][\w]*)['"]\s*:\s*[rbuRBU]?(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")
_PY_DEFAULT = lazy_re(
    r"""['"]([A-Za-z_]\w*)['"]\s*,\s*(?:default\s*=\s*)?(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
)


def parse_python_settings(text: str, path: str) -> Iterator[Field]:
    pairs: list[tuple[str, str, int]] = []
    for pattern in (_PY_ASSIGN, _PY_DICT):
        for m in pattern.finditer(text):
            group = 2 if m.group(2) is not None else 3
            pairs.append((m.group(1), m.group(group), m.start(group)))
    # os.environ.get('DB_PASSWORD', 'fallback') / config('SECRET_KEY', default='x'): the default is written here
    for m in _PY_DEFAULT.finditer(text):
        lead = text[max(0, m.start() - 40): m.start()]
        if re.search(r"(?:getenv|environ\.get|config|env(?:\.str)?|get)\s*\(\s*$", lead):
            group = 2 if m.group(2) is not None else 3
            pairs.append((m.group(1), m.group(group), m.start(group)))
    pairs.sort(key=lambda t: t[2])
    for key, value, at in pairs:
        if secret_key(key) and key.upper() not in ("SECRET_KEY_FALLBACKS",):
            yield from _with_context(DJANGO, key, value, at, _near(pairs, at, 400))


def claim_python_settings(name: str) -> bool:
    return name.endswith(".py") and (name.startswith(("settings", "local_settings", "prod_settings", "dev_settings",
                                                      "secrets", "credentials", "secret_settings"))
                                     or name in ("config.py", "local_config.py", "prod_config.py", "dev_config.py",
                                                 "production_config.py", "instance_config.py", "db_config.py",
                                                 "dbconfig.py", "database.py", "creds.py", "passwords.py"))


def sniff_python_settings(head: str) -> bool:
    return any(w in head for w in ("SECRET", "PASSWORD", "DATABASES", "TOKEN", "API_KEY", "_KEY"))


# -- Spring / Java properties and application YAML ------------------------------------------------------------------
def parse_properties(text: str, path: str) -> Iterator[Field]:
    entries = list(assignments(text))
    others = {e.key: e.value for e in entries}
    for e in entries:
        if secret_key(e.key) or (connections.looks_like_connection(e.value) and re.search(
                r"(?i)url|uri|dsn", e.key)):
            if e.value.startswith("ENC("):
                continue
            yield from _with_context(SPRING, e.key, e.value, e.offset, others)


def claim_properties(name: str) -> bool:
    return name.endswith((".properties", ".properties.bak")) and not name.startswith(("messages", "gradle-wrapper"))


def parse_app_yaml(text: str, path: str) -> Iterator[Field]:
    scalars = list(yaml_scalars(text))
    by_path: dict[tuple[str, ...], dict[str, str]] = {}
    for s in scalars:
        by_path.setdefault(s.path, {})[s.key] = s.value
    k8s_secret = re.search(r"(?m)^kind:\s*Secret\s*$", text) is not None
    for s in scalars:
        if k8s_secret and s.path[-1:] in (("data",), ("stringData",)):  # a Kubernetes Secret (data: base64)
            if not (secret_key(s.key) or s.key.lower().endswith(("key", ".pem", "dockerconfigjson", "dockercfg"))):
                continue
            plain = _b64_text(s.value) if s.path[-1] == "data" else s.value
            if plain:
                yield field_at(YAMLCFG, s.value, s.offset, (("secret_key", s.key), ("object", "kubernetes-secret")),
                               secret=plain, decoded=("base64",) if s.path[-1] == "data" else (), kind="key")
            continue
        if s.key in ("secret_key_base", "master_key"):
            yield field_at(RAILS, s.value, s.offset, (("environment", s.path[0] if s.path else ""),
                                                      ("setting", s.key)), kind="key")
            continue
        if not secret_key(s.key) and not (connections.looks_like_connection(s.value) and re.search(
                r"(?i)url|uri|dsn", s.key)):
            continue
        if s.value.startswith(("ENC(", "!vault", "<%=")) or s.value in ("|", ">"):
            continue
        extra = (("path", ".".join(s.path)),) if s.path else ()
        rid = SPRING if "spring" in s.path or path.rsplit("/", 1)[-1].startswith(("application", "bootstrap")) \
            else YAMLCFG
        yield from _with_context(rid, s.key, s.value, s.offset, by_path.get(s.path, {}), extra)
    items = list(parse_env_items(text))
    others = {k: v for k, v, _ in items}
    for key, value, at in items:
        if secret_key(key):
            yield from _with_context(YAMLCFG, key, value, at, others)


_ENV_ITEM = lazy_re(r"^\s*-\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)=([^\s\"'#][^\"'\n]*?)[\"']?\s*$")


def parse_env_items(text: str) -> Iterator[tuple[str, str, int]]:
    """`- KEY=value` items of a compose file's `environment:` list."""
    for start, line in Lines(text):
        m = _ENV_ITEM.match(line)
        if m:
            yield m.group(1), m.group(2), start + m.start(2)


def claim_app_yaml(name: str) -> bool:
    return name.endswith((".yml", ".yaml")) and (
        name.startswith(("application", "bootstrap", "database", "secrets", "config", "settings", "parameters",
                         "credentials", "docker-compose", "compose", "values", "env", "app", "mongoid", "ldap",
                         "smtp", "mail", "redis", "storage", "production", "prod", "staging", "common", "hiera"))
        or "secret" in name or "credential" in name
    )


# -- Rails master.key ---------------------------------------------------------------------------------------------
def parse_master_key(text: str, path: str) -> Iterator[Field]:
    for start, line in Lines(text):
        value = line.strip()
        if re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{64}", value):
            yield field_at(RAILS, value, start + line.index(value), (("file", path.rsplit("/", 1)[-1]),),
                           kind="key")
            return


# -- my.cnf and odbc.ini -------------------------------------------------------------------------------------------
def parse_mycnf(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text, inline_comments=True))
    info = {(e.section, e.key.lower().replace("-", "_")): e.value for e in entries}
    for e in entries:
        if e.key.lower() not in ("password", "pass"):
            continue
        sec = e.section
        yield field_at(MYCNF, e.value, e.offset, (("group", sec), ("host", info.get((sec, "host"))),
                                                  ("port", info.get((sec, "port"))), ("user", info.get((sec, "user"))),
                                                  ("database", info.get((sec, "database")))))


def parse_mylogin(text: str, path: str) -> Iterator[Field]:
    from nhiguard.filekinds import crypto

    plain = crypto.mylogin_plain(text.encode("latin-1"))
    if plain is None:
        return
    entries = list(ini(plain))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        if e.key.lower() == "password":
            yield field_at(MYCNF, "", 0, (("group", e.section), ("host", info.get((e.section, "host"))),
                                          ("user", info.get((e.section, "user")))),
                           secret=e.value, decoded=("mylogin",))


def parse_odbc(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        if e.key.lower() in ("password", "pwd"):
            sec = e.section
            yield field_at(ODBC, e.value, e.offset, (("dsn", sec), ("host", info.get((sec, "server"),
                                                                                      info.get((sec, "servername")))),
                                                     ("database", info.get((sec, "database"))),
                                                     ("user", info.get((sec, "uid"), info.get((sec, "username"))))))


# -- SQL dumps -------------------------------------------------------------------------------------------------------
_INSERT = lazy_re(r"INSERT\s+INTO\s+[`\"\[]?([\w.]+)[`\"\]]?\s*(?:\(([^)]*)\))?\s*VALUES\s*", re.I)
_SQL_VALUE = lazy_re(r"'((?:[^'\\]|\\.|'')*)'|(NULL|-?[\d.]+)|([(),])", re.I)
_PW_COLUMN = lazy_re(r"(?i)^(?:user_?)?(?:pass(?:word)?|passwd|pwd|hash|password_?hash|encrypted_?password"
                        r"|\w*_digest|user_pass|authentication_string)$")
_USER_COLUMN = lazy_re(r"(?i)^(?:user_?(?:name|login)?|login|email|user_email|name|username)$")


_SQL_USER_PW = lazy_re(
    r"(?i)(?:(?:CREATE|ALTER)\s+(?:USER|ROLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?([`'\"]?[\w.$-]+[`'\"]?(?:@[`'\"]?[\w.%-]+[`'\"]?)?)"
    r"[^;]{0,1000}?|SET\s+PASSWORD\s+FOR\s+([^\s=]+)\s*=\s*|GRANT\s[^;]{0,1000}?TO\s+([^\s]+)[^;]{0,1000}?)"
    r"(?:IDENTIFIED\s+(?:WITH\s+\w+\s+)?BY\s+(?:PASSWORD\s+)?|(?:ENCRYPTED\s+|UNENCRYPTED\s+)?PASSWORD\s*\(?\s*)"
    r"'((?:[^'\\]|\\.|'')*)'"
)
_COPY = lazy_re(r"(?m)^COPY\s+([\w.\"]+)\s*\(([^)]*)\)\s+FROM\s+stdin;\s*$")


def _sql_statements(text: str) -> Iterator[Field]:
    for m in _SQL_USER_PW.finditer(text):
        user = re.sub(r"[`'\"]", "", m.group(1) or m.group(2) or m.group(3) or "")
        value, at = m.group(4), m.start(4)
        found = hash_field(value, at, (("user", user),), store=False)
        yield found or field_at(SQLPW, value, at, (("user", user),))


def _sql_copy(text: str) -> Iterator[Field]:
    """pg_dump's COPY … FROM stdin blocks: tab-separated rows until a line `\\.`."""
    for m in _COPY.finditer(text):
        columns = [c.strip(' "') for c in m.group(2).split(",")]
        pw_cols = [i for i, c in enumerate(columns) if _PW_COLUMN.match(c)]
        if not pw_cols:
            continue
        user_cols = [i for i, c in enumerate(columns) if _USER_COLUMN.match(c)]
        pos = m.end() + 1
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            line = text[pos:end]
            if line.startswith("\\."):
                break
            cells = line.split("\t")
            offsets = [pos]
            for cell in cells[:-1]:
                offsets.append(offsets[-1] + len(cell) + 1)
            user = cells[user_cols[0]] if user_cols and user_cols[0] < len(cells) else ""
            for i in pw_cols:
                if i < len(cells) and cells[i] not in ("", "\\N"):
                    found = hash_field(cells[i], offsets[i], (("table", m.group(1)), ("column", columns[i]),
                                                               ("user", user)))
                    if found is not None:
                        yield found
            pos = end + 1


def parse_sql_dump(text: str, path: str) -> Iterator[Field]:
    yield from _sql_statements(text)
    yield from _sql_copy(text)
    for m in _INSERT.finditer(text):
        table = m.group(1)
        columns = [c.strip(" `\"[]") for c in m.group(2).split(",")] if m.group(2) else []
        pw_cols = [i for i, c in enumerate(columns) if _PW_COLUMN.match(c)]
        user_cols = [i for i, c in enumerate(columns) if _USER_COLUMN.match(c)]
        pos = m.end()
        row: list[tuple[str, int]] = []
        depth = 0
        end = text.find(";\n", pos)
        end = len(text) if end < 0 else end + 1
        for v in _SQL_VALUE.finditer(text, pos, end):
            if v.group(3) == "(":
                depth += 1
                row = []
                continue
            if v.group(3) == ")":
                depth -= 1
                yield from _sql_row(table, columns, pw_cols, user_cols, row)
                continue
            if v.group(3) == ",":
                continue
            row.append((v.group(1), v.start(1)) if v.group(1) is not None else (v.group(2) or "", -1))


def _sql_row(table: str, columns: list[str], pw_cols: list[int], user_cols: list[int],
             row: list[tuple[str, int]]) -> Iterator[Field]:
    user = row[user_cols[0]][0] if user_cols and user_cols[0] < len(row) else ""
    for i, (value, at) in enumerate(row):
        if at < 0 or not value:
            continue
        store = i in pw_cols
        if not store and hash_scheme(value) is None:
            continue
        found = hash_field(value, at, (("table", table), ("column", columns[i] if i < len(columns) else ""),
                                       ("user", user)), store=store)
        if found is not None:
            yield found


KINDS = (
    FileKind("dotenv", parse_dotenv, RULES[0:1], claim=claim_dotenv,
             hint=r"env|^\.(?:bash|zsh|profile|exports)|^(?:vars|secrets|credentials)\.sh$"),
    FileKind("wordpress", parse_wordpress, RULES[1:2], names=("wp-config.php", "wp-config.php.bak",
                                                                "wp-config.php.old", "wp-config.php~",
                                                                "wp-config.bak", "wp-config.old", "wp-config.txt",
                                                                "wp-config.php.save", "wp-config.php.orig",
                                                                "wp-config-sample.php", "wp-config.php.swp",
                                                                "wp-config-local.php", "wp-config.php.txt")),
    FileKind("php-config", parse_php, RULES[2:3], claim=claim_php_config, hint=r"\.(?:php|inc)",
             sniff=lambda head: "<?" in head or
             "=>" in head or "$" in head),
    FileKind("python-settings", parse_python_settings, RULES[3:4], claim=claim_python_settings, hint=r"\.py$",
             paths=("settings/base.py", "settings/local.py", "settings/production.py", "settings/prod.py",
                    "settings/dev.py", "settings/development.py", "settings/staging.py", "settings/common.py"),
             sniff=sniff_python_settings),
    FileKind("java-properties", parse_properties, RULES[4:5], claim=claim_properties, hint=r"\.properties"),
    FileKind("app-yaml", parse_app_yaml, (*RULES[4:6], RULES[8]), claim=claim_app_yaml, hint=r"\.ya?ml$"),
    FileKind("rails-master-key", parse_master_key, RULES[5:6], names=("master.key",), suffixes=(),
             paths=("config/credentials/development.key", "config/credentials/production.key",
                    "config/credentials/staging.key", "config/credentials/test.key")),
    FileKind("mysql-options", parse_mycnf, RULES[6:7], names=("my.cnf", ".my.cnf", "my.ini", "debian.cnf",
                                                                ".mylogin.cnf.txt", "client.cnf", "mysql.cnf",
                                                                "mysqld.cnf", "my-default.ini", ".mysql.cnf"),
             suffixes=(".cnf",), sniff=lambda head: "[" in head),
    FileKind("mysql-login", parse_mylogin, RULES[6:7], names=(".mylogin.cnf", "mylogin.cnf"), binary=True),
    FileKind("odbc-ini", parse_odbc, RULES[7:8], names=("odbc.ini", ".odbc.ini", "odbcinst.ini")),
    FileKind("sql-dump", parse_sql_dump, RULES[9:10], suffixes=(".sql", ".sql.txt", ".dump"),
             sniff=lambda head: any(w in head.upper() for w in ("INSERT", "CREATE ", "COPY ", "ALTER ", "GRANT ",
                                                                "PASSWORD", "DUMP"))),
)
