"""What every file-kind detector shares: the value types, the rule declarations, positions in the text, and
the verdicts on a value (template, placeholder, weak default, password hash).

A detector sees the file as a latin-1 string (one character per byte), so an offset in the text is an offset in
the bytes and a column is a byte column, as for the regex rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from nhiguard.filekinds.lazyre import lazy_re
from nhiguard.model import Rule, Severity

Context = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Field:
    """One credential field a detector found. `offset`/`length` locate the value as written in the file;
    `value` is the secret (decoded when `decoded` names the encodings undone)."""

    rule: str
    value: str
    offset: int
    length: int
    context: Context = ()
    decoded: tuple[str, ...] = ()
    generic: bool = False  # chosen by a setting's name in free-form config: the generic filters apply too
    kind: str = "password"  # password: templates dropped, weak values downgraded; key: templates dropped;
    #                         hash: a password hash; raw: reported as found


Parser = Callable[[str, str], Iterable[Field]]


@dataclass(frozen=True, slots=True)
class FileKind:
    """A detector: chosen by base name, name ending or path ending (all lower case), then a cheap content test on
    the first 4 KiB, then `parse(text, path)`."""

    name: str
    parse: Parser
    rules: tuple[Rule, ...]
    names: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    sniff: Callable[[str], bool] | None = None
    claim: Callable[[str], bool] | None = None  # a test on the lower-case base name, for names with a pattern
    hint: str = ""  # a regex every name `claim` accepts matches (searched first, in C, for all claims at once)
    binary: bool = False  # accepts content the text decoder calls binary (encrypted stores)


ROTATE = (
    "Change the password (or revoke the key) at the service it opens, update the systems that use it from a secret "
    "store, then remove the file from the repository and its history."
)
HASH_ROTATE = (
    "Treat the account as exposed: a password hash can be cracked offline. Change the password, then remove the "
    "file from the repository and its history."
)


def rule(
    rule_id: str,
    name: str,
    provider: str,
    *,
    severity: Severity = "high",
    confidence: str = "high",
    description: str = "",
    rotation: str = ROTATE,
    nhi: tuple[str, ...] = ("NHI2",),
) -> Rule:
    """A file-kind rule: no keywords and no pattern (the engine never runs it as a regex); `source` names the
    detector module so `rules list` shows where it comes from."""
    return Rule(
        id=rule_id,
        name=name,
        provider=provider,
        severity=severity,
        confidence="high" if confidence == "high" else "medium" if confidence == "medium" else "low",
        keywords=(),
        pattern="",
        nhi=nhi,
        description=description or f"{name}, read from the file's own format.",
        rotation_guide=rotation,
        source="filekind",
    )


# Free-form configuration, where a value is chosen by its setting's name alone. Where a provider's rule takes the
# value under that name (or under its section's, or in the provider's own config file), that rule reports it.
PROVIDER_CONFIG = "file-provider-config-secret"
FREE_FORM = frozenset({"file-yaml-config-secret", "file-json-config-secret", "file-ini-config-secret",
                       "file-dotenv-secret", "file-spring-config-password", "file-django-settings-secret",
                       "file-tfvars-secret", "file-php-config-password", "file-gradle-properties-secret",
                       PROVIDER_CONFIG})
_PARENTS = ("path", "section")
_SETTINGS = ("setting", "secret_key", "variable")


def setting_names(f: Field) -> tuple[str, ...]:
    """The names a free-form field's value is assigned under, most specific first: the setting under its parent
    keys or section (`datadog.apiKey`), the setting alone, the setting in its provider's own config file
    (`datadog_api_key` for `api_key` in datadog.yaml)."""
    ctx: dict[str, str] = {}
    for key, value in f.context:
        ctx.setdefault(key, value)
    setting = next((ctx[k] for k in _SETTINGS if ctx.get(k)), "")
    if not setting:
        return ()
    out = [f"{ctx[k]}.{setting}" for k in _PARENTS if ctx.get(k) and ctx[k].lower() != "default"]
    out.append(setting)
    if ctx.get("config_of"):
        out.append(f"{ctx['config_of']}_{setting}")
    return tuple(dict.fromkeys(out))


# Shared rules: a weak or default password in a real configuration file, and password hashes.
DEFAULT_PASSWORD = "file-default-password"  # noqa: S105 (a rule id)
HASH = "file-password-hash"
HASH_FAST = "file-password-hash-unsalted"
SHARED_RULES = (
    rule(DEFAULT_PASSWORD, "Weak or default password in a configuration file", "filekind",
         severity="medium", confidence="low",
         description="A real but guessable password (admin, root, 123456…) in a credential field of a config file."),
    rule(HASH, "Password hash in a credential store", "filekind", severity="low", confidence="high",
         rotation=HASH_ROTATE,
         description="A salted password hash (bcrypt, sha512-crypt, PBKDF2…): crackable offline."),
    rule(HASH_FAST, "Unsalted or fast password hash in a credential store", "filekind", severity="medium",
         confidence="high", rotation=HASH_ROTATE,
         description="An unsalted or fast hash ({SHA}, MySQL, PostgreSQL md5, NT): cracks quickly or passes as is."),
)


# -- text positions -------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Lines:
    """The text's lines with their offsets; CR of CRLF endings and a UTF-8 BOM are not part of any value."""

    text: str
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """(offset of the line, line without its end)."""
        text = self.text
        for i, start in enumerate(self.starts):
            end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(text)
            line = text[start:end]
            if line.endswith("\r"):
                line = line[:-1]
            if start == 0 and line.startswith(BOM):
                yield 3, line[3:]
                continue
            yield start, line


BOM = "\xef\xbb\xbf"


def unbom(text: str) -> str:
    """The BOM replaced by spaces: offsets stay those of the bytes."""
    return "   " + text[3:] if text.startswith(BOM) else text


def as_text(raw: str) -> str:
    """A value sliced from the latin-1 view, back to the characters it was written with."""
    if raw.isascii():
        return raw
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeError, ValueError):
        return raw


def unquote(value: str, offset: int) -> tuple[str, int]:
    """Strip one pair of matching quotes (and surrounding blanks), moving the offset with it."""
    stripped = value.strip()
    offset += len(value) - len(value.lstrip())
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'`":
        return stripped[1:-1], offset + 1
    return stripped, offset


def field_at(rule_id: str, value: str, offset: int, context: Iterable[tuple[str, str | None]] = (),
             *, kind: str = "password", decoded: tuple[str, ...] = (), secret: str | None = None,
             generic: bool = False) -> Field:
    ctx = tuple((k, as_text(v)) for k, v in context if v)
    return Field(rule_id, as_text(value) if secret is None else secret, offset, len(value), ctx, decoded, generic,
                 kind)


# -- verdicts on values ---------------------------------------------------------------------------------------
# Values that stand for a secret filled in elsewhere: never a finding.
_REFERENCE = lazy_re(
    r"""^(?:
        \$\{[^}]*\}?$ | \$\([^)]*\)?$ | \$[A-Za-z_]\w*$ | %[A-Za-z_]\w*%$ | \{\{.*\}\}$ | \{%.*%\}$ | <%.*%>$
      | \#\{.*\}$ | %\(\w+\)[sd]$ | %[sd]$ | \{\d*\}$ | <[^<>]*>$ | \[[^\[\]]*\]$ | @[A-Za-z_][\w.]*@$ | __[A-Z0-9_]+__$
      | (?:os\.environ|os\.getenv|getenv|env|ENV|process\.env|System\.getenv|config|Config|settings|secrets
          |Environment\.GetEnvironmentVariable|\$_ENV|\$_SERVER|get_env|getenv_or|decouple\.config|var|vars
          |lookup|vault|Secret|secret|sys\.argv|input|getpass\.getpass|args|params)\s*[.(\[]
      | ENC\(.*\)$ | ENC\[.*\]$ | \$ANSIBLE_VAULT | !vault | ref\+ | op:// | vault: | arn:aws
      | \{[a-z]+\}$ | \$\{.*
    )""",
    re.VERBOSE,
)
_MASKED = lazy_re(r"^(?:[*•.xX#?_-]{3,}|\*+.*\*+)$|\*{3}|•{2}|…")
# Whole values that say "fill me in".
_PLACEHOLDERS = frozenset(
    """
    password_here username_here database_name_here put_your_unique_phrase_here your_password yourpassword
    your-password your_password_here your_secret your_token your_api_key password123_here changeit? change_this
    replace_me replaceme replace-me redacted removed hidden masked secret_here token_here placeholder none null nil
    undefined empty todo tbd fixme xxx n/a na - -- dummy example sample foo bar baz test testing mypassword
    my_password my-password mysecret my_secret some_password somepassword enter_password enter_your_password
    insert_password_here insert_password pass_here pwd_here passw0rd_here your_db_password db_password
    your_db_pass secretpassword secret_password thepassword password passwd pass pwd secret changeme change_me
    string p@ssword passw0rd_placeholder value
    """.split()
)
_PLACEHOLDER_PARTS = lazy_re(
    r"(?i)your[_ -]?(?:own[_ -]?)?(?:pass|secret|token|key|api|pw|db|user)|_here\b|here$|^put[_ ]|^insert[_ ]"
    r"|^enter[_ ]|^replace|placeholder|redacted|example|dummy|^<[^<>]*>$|\bTODO\b|\bFIXME\b|^xxx|xxx$"
    r"|^(?:fill|set)[_ -]?(?:me|in|this)"
)
_WEAK = frozenset(
    """
    passw0rd p@ssw0rd changeit admin administrator
    root toor guest user test test123 demo default 123 1234 12345 123456 1234567 12345678 123456789 1234567890
    qwerty letmein welcome master abc123 password1 password123 admin123 root123 secret123 pass123 mysql postgres
    oracle sa manager tomcat jenkins ubuntu vagrant raspberry openstack redhat rabbit guest123 s3cr3t
    """.split()
)
_EXAMPLE_PATH = lazy_re(
    r"(?i)(?:[._-](?:example|sample|dist|template|tmpl|tpl|default|defaults|orig|skel)(?:[._-]|$))|example|sample"
)


def is_example_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return bool(_EXAMPLE_PATH.search(name))


def verdict(value: str, path: str, kind: str) -> str:
    """"drop" (empty, template, reference, mask, placeholder), "weak" (a guessable default in a real file) or
    "report"."""
    v = value.strip()
    if kind == "raw":
        return "report" if v else "drop"
    if not v or (len(v) < 3 and kind != "password"):
        return "drop"
    if _REFERENCE.search(v) or _MASKED.search(v) or v.startswith("`") or not any(c.isalnum() for c in v):
        return "drop"
    low = v.lower()
    if kind == "hash":
        return "report"
    if low in _PLACEHOLDERS or _PLACEHOLDER_PARTS.search(v):
        return "drop"
    if low in ("true", "false", "yes", "no", "on", "off", "prompt", "ask", "required", "optional"):
        return "drop"
    if kind == "key":
        return "drop" if len(set(v)) <= 2 else "report"
    if len(set(v)) <= 1 and len(v) > 1:
        return "drop"
    if low in _WEAK or len(v) < 4:
        return "drop" if is_example_path(path) else "weak"
    return "report"


# -- password hashes ------------------------------------------------------------------------------------------
_HASHES: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (lazy_re(p), scheme, fast)
    for p, scheme, fast in (
        (r"^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$", "bcrypt", False),
        (r"^\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}$", "apr1", False),
        (r"^\$1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$", "md5-crypt", False),
        (r"^\$5\$(?:rounds=\d+\$)?[^$]{1,16}\$[./A-Za-z0-9]{43}$", "sha256-crypt", False),
        (r"^\$6\$(?:rounds=\d+\$)?[^$]{1,16}\$[./A-Za-z0-9]{86}$", "sha512-crypt", False),
        (r"^\$6\$[A-Za-z0-9+/=]{8,}\$[A-Za-z0-9+/=]{40,}$", "mosquitto-sha512", False),
        (r"^\$7\$[^$\s]{10,}$", "scrypt-or-pbkdf2", False),
        (r"^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$", "yescrypt", False),
        (r"^\$gy\$[^\s]+$", "gost-yescrypt", False),
        (r"^\$argon2(?:id|i|d)\$[^\s]+$", "argon2", False),
        (r"^\{SSHA(?:256|512)?\}[A-Za-z0-9+/=]{20,}$", "ssha", False),
        (r"^\{SHA\}[A-Za-z0-9+/]{27}=$", "sha1", True),
        (r"^\{MD5\}[A-Za-z0-9+/]{22}==$", "md5", True),
        (r"^\{(?:CRYPT|crypt)\}\S+$", "crypt", False),
        (r"^\*[0-9A-F]{40}$", "mysql41", True),
        (r"^md5[0-9a-f]{32}$", "postgres-md5", True),
        (r"^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$", "scram-sha-256", False),
        (r"^(?:pbkdf2_sha(?:1|256)|bcrypt_sha256|sha1|md5|argon2|scrypt)\$[^\s$]*\$[^\s]+$", "django", False),
        (r"^\$pbkdf2(?:-sha(?:1|256|512))?\$\d+\$[./A-Za-z0-9+=]+\$[./A-Za-z0-9+=]+$", "pbkdf2", False),
        (r"^\$A\$0\d\d\$.+$", "mysql-caching-sha2", False),
        (r"^[0-9a-f]{64}\$\d+\$[0-9a-f]{64,}$|^[0-9a-f]{16,}\$\d+\$[0-9a-f]{32,}$", "tomcat-pbkdf2", False),
    )
)
_HASH_MARK = lazy_re(r"\$|^[{*]|^md5")
_DES = lazy_re(r"^[./A-Za-z0-9]{13}$")
_HEXDIGEST = lazy_re(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$")


def hash_scheme(value: str, *, store: bool = False) -> tuple[str, bool] | None:
    """(scheme, fast) when `value` is a password hash. `store`: the field holds hashes by format (shadow,
    htpasswd), so bare DES-crypt and hex digests count too."""
    if _HASH_MARK.search(value):  # (every scheme above has one: tests/filekinds/hashes_test.py holds them to it)
        for pattern, scheme, fast in _HASHES:
            if pattern.match(value):
                return scheme, fast
    if store:
        if _DES.match(value) and not value.isalpha() and not value.isdigit():
            return "des-crypt", True
        if _HEXDIGEST.match(value):
            return {32: "md5-or-nt", 40: "sha1", 64: "sha256", 128: "sha512"}[len(value)], True
    return None


def hash_field(value: str, offset: int, context: Iterable[tuple[str, str | None]], *, store: bool = True,
               fallback: str | None = None) -> Field | None:
    """A field of a credential store: a hash when it looks like one, else a plaintext password under
    `fallback` (None: not reported)."""
    found = hash_scheme(value, store=store)
    if found is None:
        return field_at(fallback, value, offset, context) if fallback else None
    scheme, fast = found
    return field_at(HASH_FAST if fast else HASH, value, offset, (*context, ("scheme", scheme)), kind="hash")

