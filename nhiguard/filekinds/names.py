"""Which setting names hold a secret, and which give context, in free-form configuration (dotenv, properties,
PHP arrays, Django settings, YAML)."""

from __future__ import annotations

import re
from functools import lru_cache

from nhiguard.filekinds.lazyre import lazy_re

_SECRET = lazy_re(
    r"(?ix)(?:^|[._\-\['\"]|(?-i:(?<=[a-z])(?=[A-Z])))"
    r"(?:password|passwd|passwort|passphrase|pass|pwd|secret|secret_?key|token|api_?key|apikey|access_?key"
    r"|private_?key|auth_?key|auth_?token|client_?secret|app_?key|salt|credentials?|signing_?key"
    r"|encryption_?key|master_?key|session_?key|license_?key|secret_?key_?base|dsn|connection_?string"
    r"|database_?url|db_?url|redis_?url|amqp_?url|mongo(?:db)?_?(?:uri|url)|broker_?url)"
    r"(?:$|[._\-\]'\"\d]|(?-i:(?=[A-Z])))"
)
_SECRET_TAIL = lazy_re(r"(?i)(?:password|passwd|pwd|secret|token|apikey|api_key|_key|salt|_pass)$")
_NOT_SECRET = lazy_re(
    r"(?ix)(?:_?(?:file|path|dir|length|len|min|max|policy|hint|prompt|field|reset|expir\w*|ttl|timeout|lifetime"
    r"|rounds|iterations|cost|algo|algorithm|hash(?:er|ing)?|type|name|id|user(?:name)?|url_?path|header|param"
    r"|prefix|suffix|env|var|enabled|enable|required|validation|validator|regex|pattern|format|mode|label|placeholder"
    r"|confirmation|confirm|strength|changed|change|recovery|remember|storage|store|provider|class|command|cmd"
    r"|endpoint|location|route|uri_?template|reset_?url|_at|_on|count|attempts|cookie_?name|session_?name"
    r"|public_?key|publishable|pub|file_?path|key_?id|keyid|id_?token_?url|usernames?|page_?token|next_?token"
    r"|continuation_?token|csrf_?token|tokenizer|token_?type|token_?url|token_?endpoint|key_?vault|keystore_?type"
    r"|secret_?name|secret_?ref|secret_?arn|password_?file|credentials?_?(?:file|path|provider|json_?path))$)"
)


_NEVER = lazy_re(r"(?i)(?:page|next|continuation|csrf|xsrf|sync|cursor|pagination|resume|tokenizer|token[._-]?type"
                    r"|public|publishable)[._\-]?(?:token|key)?$")


@lru_cache(maxsize=4096)  # a configuration file repeats a few setting names (50,000 AWS profiles: two)
def secret_key(name: str) -> bool:
    """True for names like DB_PASSWORD, spring.datasource.password, 'secret_key', authToken; false for
    PASSWORD_MIN_LENGTH, password_reset_url, TOKEN_FILE, public_key."""
    if not name or len(name) > 120 or _NEVER.search(name):
        return False
    if _NOT_SECRET.search(name) and not _SECRET_TAIL.search(name):
        return False
    return bool(_SECRET.search(name) or _GLUED.search(name))


# Names glued without a separator (wgDBpassword, dbpasswd, requirepass, bindpw): only these well-known endings.
_GLUED = lazy_re(
    r"(?i)(?:password|passwd|passwort|secret|secretkey|apikey|authtoken|accesstoken|privatekey|authtok)$"
    r"|^(?:db|sql|mysql|pg|ftp|smtp|mail|admin|root|user|ldap|bind|master|require|redis|mq|amqp|ssh|sftp|proxy|wifi"
    r"|vnc|rdp|api|app|auth|web)(?:pass|pwd|pw)$|^(?:bindpw|rootpw|requirepass|masterauth|masterpass|authpass)$"
)


_USER = lazy_re(r"(?i)(?:^|[._\-'\"])(?:user(?:name)?|login|uid|user_?id|account)$|(?<=[a-z])User(?:name)?$")
_HOST = lazy_re(r"(?i)(?:^|[._\-'\"])(?:host(?:name)?|server|address|endpoint)$|(?<=[a-z])Host$")
_PORT = lazy_re(r"(?i)(?:^|[._\-'\"])port$")
_DB = lazy_re(r"(?i)(?:^|[._\-'\"])(?:database|db_?name|dbname|schema|catalog|db)$")


@lru_cache(maxsize=4096)
def context_role(name: str) -> str | None:
    """"user", "host", "port" or "database" for a context setting, else None."""
    for pattern, role in ((_USER, "user"), (_HOST, "host"), (_PORT, "port"), (_DB, "database")):
        if pattern.search(name):
            return role
    return None


def value_kind(name: str) -> str:
    """"password" for a password setting (its value may look like a word or a path), else "key"."""
    return "password" if re.search(r"(?i)pass|pwd|pw$|passphrase", name) else "key"


def stem(name: str) -> str:
    """The prefix a group of settings shares: DB_ of DB_PASSWORD, spring.datasource. of …password."""
    m = re.search(r"(?i)(password|passwd|pwd|pass|secret|token|key|user(?:name)?|host|port|database|name)$", name)
    return name[: m.start()] if m else name
