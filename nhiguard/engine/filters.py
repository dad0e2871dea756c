"""Small pure predicates that turn a candidate into a non-finding.

`looks_fake` applies to every rule, prefixed provider tokens included, so it only rejects what no random token
contains: placeholder words, long runs of one character, templates. `is_not_secret` adds the stronger heuristics
used for generic (prefix-less) rules, where false positives live: placeholder vocabulary, references to
variables and environment, identifiers and calls, hashes and ids, numbers and versions, paths, plain URLs,
e-mail addresses, masked values and prose.

Everything here is a pure function of the candidate string, compiled once at import and cheap enough to run on
every candidate.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from urllib.parse import unquote

from nhiguard import globs

# -- looks_fake: every rule ----------------------------------------------------------------------------------
_FAKE_MARKERS = (
    "example",
    "xxxxxx",
    "******",
    "placeholder",
    "your_",
    "your-",
    "yourapikey",
    "changeme",
    "change_me",
    "dummy",
    "redacted",
    "sample",
    "insert_",
    "replace_me",
    "replaceme",
    "notasecret",
    "not_a_secret",
    "fake_",
    "1234567890",
    "abcdefghij",
    "0000000000",
)

# Templates: a value that is filled in later. Unanchored forms need their closing delimiter, so a password that
# merely contains "${" or "$(" is not taken for a template.
_TEMPLATE = re.compile(
    r"""(
        \$\{[^{}\s]{0,200}\}           # ${VAR}, ${VAR:-default}
      | \$\([^()]{0,200}\)             # $(cmd)
      | \{\{.*?\}\}                    # {{ secrets.X }}, ${{ … }}, jinja, mustache
      | \{%.*?%\}                      # jinja blocks
      | <%.*?%>                        # erb / asp
      | \#\{[^{}]{1,200}\}             # ruby interpolation
      | ^\$[A-Za-z_][A-Za-z0-9_]*$     # $VAR
      | ^%[A-Za-z_][A-Za-z0-9_]*%$     # %VAR%
      | ^<[^<>]*>$                     # <TOKEN>
      | ^<(?P<tag>[A-Za-z]{1,10})>[^<>]{0,200}</(?P=tag)>$   # <i>admin_password</i>, <var>token</var> (API docs)
      | <[A-Za-z][\w.-]{2,40}>          # a named part of a URI or string: mongodb+srv://<db_username>:<db_password>@…
      | ^\[[^\[\]]*\]$                 # [TOKEN]
      | ^\{[A-Za-z_][\w.-]*\}$         # {token}
      | ^@[A-Za-z_][\w.]*@$            # @placeholder@
      | ^__[A-Z0-9_]+__$               # __TOKEN__
    )""",
    re.VERBOSE,
)


# Every form of _TEMPLATE holds one of these: most secrets hold none and skip its dozen alternatives.
_TEMPLATE_MARK = re.compile(r"[${<#%\[@]|__")


# Markers are matched as people write them (lower, UPPER or Capitalised), not in any mixed case: a random
# base64 token contains "vfAKE_" now and then, a placeholder never does.
_FAKE_VARIANTS = tuple(sorted({v for m in _FAKE_MARKERS for v in (m, m.upper(), m.capitalize())}))
_FAKE_ANY = re.compile("|".join(re.escape(v) for v in _FAKE_VARIANTS))  # one pass instead of one per marker


# a value counting through the hex digits (0123456789abcdef, a1b2c3d4e5f6…, 1a2b3c4d5e6f…): an example's filler;
# 12 characters in a row of a random hex value are 1 in 16**12
_COUNTING = re.compile(r"(?i)0123456789ab|3456789abcde|a1b2c3d4e5f6|1a2b3c4d5e6f|2b3c4d5e6f7a")


def looks_fake(secret: str) -> bool:
    """A placeholder inside an otherwise well-formed token. Never true for a random token."""
    if _FAKE_ANY.search(secret) or _COUNTING.search(secret):
        return True
    if len(set(secret.lower())) <= 2:
        return True
    return _TEMPLATE_MARK.search(secret) is not None and _TEMPLATE.search(secret) is not None


# -- is_not_secret: generic rules ----------------------------------------------------------------------------
# Documented example credentials that are not caught by a marker word.
_DOCUMENTED = frozenset(
    {
        # jwt.io's default token (HS256, "your-256-bit-secret")
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
        "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        # Google reCAPTCHA v2 test keys (always pass verification, documented in the reCAPTCHA FAQ)
        "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
        "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe",
        # RFC 7617 Basic credentials ("Aladdin:open sesame")
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        # RFC 6749 (OAuth 2.0) example access token, refresh token, code and client secret
        "2YotnFZFEjr1zCsicMWpAA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "SplxlOBeZQQYbYS6WxSbIA",
        "7Fjfp0ZBr1KtDRbnfVdmIw",
        "s6BhdRkqt3",
        "gX1fBat3bV",
        "czZCaGRSa3F0MzpnWDFmQmF0M2JW",  # Basic s6BhdRkqt3:gX1fBat3bV (RFC 6749, RFC 7009)
        "45ghiukldjahdnhzdauz",  # RFC 7009 revocation example
        # RFC 5849 (OAuth 1.0) example consumer key, token and secrets
        "0685bd9184jfhq22",
        "ad180jjd733klru7",
        "dj9rw8qhjd3",
        "kd94hf93k423kf44",
        "pfkkdhi9sl3r4s00",
        # (a provider's sample keys that its own rule takes are in that rule's allow list, which the engine applies to
        # generic rules too; these are the ones no provider rule takes)
        # Cloudflare's API-reference Global API key (32 hex: older keys are 37)
        "144c9defac04969c7bfad8efaa8ea194",
        # UptimeRobot's API documentation example key
        "u956-afus321g565fghr519",
        # PyJWT's README token ({"some": "payload"} signed with "secret")
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg",
    }
)

# The Azure storage emulator's connection string: it names the emulator's well-known account, no key of its own
_EMULATOR = "UseDevelopmentStorage=true"

# Publishable keys: meant to ship in browsers and apps (Stripe / Clerk pk_, Mapbox pk., Supabase sb_publishable_,
# PostHog phc_). Provider rules leave them alone; generic rules must too.
_PUBLISHABLE = re.compile(r"^(?:pk_(?:live|test)_|pk\.eyJ|sb_publishable_|phc_)")

# Masked or elided values: ****, •••, ..., …, xxxx, ####. A run of x only counts as a whole word ("xxxx-xxxx"),
# never inside key material, where "XXXX" turns up by chance.
_MASKED = re.compile(r"\*{3}|•{2}|\.{3}|…|(?<![A-Za-z0-9])(?:x{4,}|X{4,})(?![A-Za-z0-9])|#{4}|_{4}|\?{3}")

# Environment and configuration look-ups written as the value.
_REFERENCE = re.compile(
    r"""^(?:
        os\.environ | os\.getenv | os\.Getenv | process\.env | import\.meta\.env | Deno\.env | Bun\.env
      | System\.getenv | System\.getProperty | Environment\.GetEnvironmentVariable | Environment\.
      | ENV\s*[\[.] | \$_ENV | \$_SERVER | \$env: | getenv\s*\( | env\s*\( | env\s*\. | secrets\s*\.
      | vars\s*\. | inputs\s*\. | needs\s*\. | steps\s*\. | github\s*\. | matrix\s*\.
      | !(?:Ref|Sub|GetAtt|ImportValue|FindInMap|Join|Select|Base64|Split|If|Cidr|GetAZs)\b | !vault\b | !!\w+$
      | ENC\[ | \$ANSIBLE_VAULT | vault: | arn:aws | arn:aws-[a-z-]+: | ref\+ | sops:
      | %\(\w+\)[sd] | %[sd]$ | \{\d*\}$ | :[a-z_]\w*$
      | (?:self|this|cls|super|ctx|context|config|conf|cfg|settings|options|opts|params|props|args|kwargs
          |request|req|app|env|os|sys|globals|window|document|module|exports)\s*[.\[]
    )""",
    re.VERBOSE,
)

# A format field inside a value: f"{token}", "{0}-{name}", regexes built with "{_core_token}".
_FORMAT_FIELD = re.compile(r"\{[A-Za-z_][\w.]{0,60}\}|\{\d{1,2}\}")

# Identifier pieces: a run of capitals not followed by a lower-case letter (an acronym), a capitalised or
# lower-case word, or digits.
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_IDENT_SEP = re.compile(r"(?:\.|::|->|[-_/$:])+")
_ONE_CASE_PART = re.compile(r"^[A-Za-z]*\d{0,6}$")
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]{0,60}(?:(?:\.|::|->)[A-Za-z_$][\w$]{0,60}){1,10}(?:\(\))?$")
_IDENT = re.compile(r"^[$@&*:!]?[A-Za-z_][\w$]*(?:(?:\.|::|->|-|/)[\w$]+){0,12}$")
_CALL_OR_INDEX = re.compile(r"^[$@&*]?[A-Za-z_][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)*\s*[(\[]")
_VOWELS = frozenset("aeiouy")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xz]{4}")
_MAX_WORD_PIECE = 16
_ACRONYMS = frozenset(
    "db id pw pwd url uri jwt ssh tls ssl http https xml sql sms smtp gcp dns cdn cli sdk mfa otp rsa dsa hmac "
    "sha md cfg env tmp usr src dst pk sk rds ttl msg ctx req res cb fn str num obj val vm k s3 js ts rb php "
    "gh gl pg nt ftp ldap crm erp qa bq fd fs mgr mgmt pkg lib cmd fmt srv svc conn ctl ctrl btn txt img hdr tbl "
    "lst rng rnd pswd passwd kms hsm kv rpc grpc cdn vpn ip tcp udp jwk jwks pgp gpg mtls csr crl crt pem der pkcs "
    "rsa ecdsa dkim smtp imap nfs sftp scp aes gcm cbc xts sso saml oidc iam acl rbac ci cd gcs gcr ecr ecs eks "
    "aks gke vm vms db2 dsn ec ed openssl nginx ptr buf len idx cnt num seq hwnd pb kb mb gb".split()
)
_SHORT_WORDS = frozenset("of to in on at by up is it me my no or ok io ui os go do if as an be we us".split())

# A bare 40-hex value is not here: under a password, secret, token or key name it is that secret (GitHub OAuth
# app secrets and classic tokens, webhook secrets), and peers report it. A UUID is mostly a record's id; the
# providers whose keys are UUIDs (Heroku, Consul) have rules that need their own name.
_HASH = re.compile(
    r"""^(?:
        [0-9a-f]{7,12} | [0-9A-F]{7,12}                                                # short git commit ids
      | \{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?   # UUID / GUID
      | (?:sha1|sha224|sha256|sha384|sha512|sha3-\d{3}|md5|blake2[bs]?|blake3|xxh\d*|crc32|argon2(?:id|i|d)?)
        [-:=$].*                                                                        # SRI / prefixed digests
      | \$(?:2[abxy]?|1|5|6|y|gy|7|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?|sha\d+)\$.*   # crypt(3) hashes
      | (?:pbkdf2_sha\d+|bcrypt(?:_sha256)?|scrypt|unsalted_md5|unsalted_sha1)\$.*        # django hashers
      | \{(?:SSHA|SHA|MD5|SMD5|CRYPT|SSHA256|SSHA512|PBKDF2[-\w]*|ARGON2)\}.*            # LDAP userPassword
    )$""",
    re.VERBOSE,
)

_NUMBERISH = re.compile(
    r"""^(?:
        [+-]?\d+(?:[.,_]\d+)*                                                  # numbers
      | v?\d+(?:\.\d+){1,3}(?:[-.]?(?:alpha|beta|rc|dev|pre|post|snapshot|release|final|ga|lts|stable)
            [.-]?\d*)?(?:\+[\w.]+)?                                            # versions
      | \d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?   # dates
      | \d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5}|/\d{1,2})?                         # IPv4, :port, /cidr
      | \d+(?:\.\d+)?(?:ms|us|ns|s|m|h|d|w|y|k|kb|mb|gb|tb|ki|mi|gi|ti|%|px|em)
      | \#[0-9a-fA-F]{3,8}                                                     # colours
      | [\d.,:;/+_\x20-]+                                                       # digits and separators
      | v?\d+(?:\.\d+)*\s?(?:-|\.\.|to)\s?v?\d+(?:\.\d+)*                          # version ranges
    )$""",
    re.VERBOSE | re.IGNORECASE,
)

_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]{1,20}://|www\.)")
_URL_USERINFO = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^/@\s:]*:[^/@\s]+@")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\.?(?::\d{1,5})?$")
_EMAIL = re.compile(r"^[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+$")
# `apikey:PASSWORD@smtp.example.com:587`: a generic name's value that runs on to the host is the tail of a URL
# whose userinfo the URL rules report on its own
_AT_HOST = re.compile(r"^[^\s@/]{1,128}@[\w-]{1,63}(?:\.[\w-]{1,63})+(?::\d{1,5})?(?:[/?#]\S*)?$")
_PATH = re.compile(
    r"""^(?:
        (?:~|\.{1,2}|\$\w+|%\w+%)?/[\w.@~+, -]*(?:/[\w.@~+, -]*)*       # unix, ~/x, ./x, $HOME/x
      | [A-Za-z]:[\\/][\w\\/.@~+, -]*                                  # C:\x, C:/x
      | \\\\[\w.$-]+\\[\w\\.$ -]*                                      # \\server\share
      | file:.*
      | [\w.-]+(?:[\\/][\w.-]+){2,}                                     # a/b/c
      | [\w.-]+(?:[\\/][\w.-]+)+\.[A-Za-z0-9]{1,10}                       # a/b.ext
    )$""",
    re.VERBOSE,
)
_FILE_NAME = re.compile(
    r"^[\w.-]+\.(?:py|js|ts|json|ya?ml|toml|pem|key|crt|cer|der|p12|pfx|jks|keystore|txt|sh|cfg|conf|ini|env|"
    r"xml|properties|gpg|asc|pub|csv|log|db|sqlite|html?)$",
    re.IGNORECASE,
)

_PATH_SEP = re.compile(r"[\\/]+")
_PLAIN_SEGMENT = re.compile(r"^[a-z0-9._@+~, -]+$|^[A-Z0-9._@+~, -]+$|^\$\w+$|^%\w+%$")

_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_ADJACENT_TRIPLES = frozenset(
    t for row in _KEY_ROWS for r in (row, row[::-1]) for t in (r[i : i + 3] for i in range(len(r) - 2))
)
_HOME_ROW = frozenset("asdfghjkl")
_HEX_LETTERS = frozenset("abcdef")
_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/]{8,}={0,2}$")

_SEQUENCES = (
    "123456",
    "234567",
    "345678",
    "456789",
    "987654",
    "876543",
    "765432",
    "654321",
    "abcdef",
    "bcdefg",
    "qwerty",
    "qwertz",
    "azerty",
    "asdfgh",
    "zxcvbn",
)

# Words placeholder values are made of ("my_api_key_here", "test-token-1", "P@ssw0rd!", "admin123"). A value that
# is nothing but these words (after leet-speak folding and dropping digits and separators) is no secret.
_PLACEHOLDER_WORDS = frozenset(
    """
    password passwd passwort pass pwd pw passphrase secret secrets token tokens key keys api apikey access
    auth authorization authentication bearer basic oauth jwt client private public app application service
    account user username usr login admin administrator root guest default test tests testing tester example
    examples sample samples dummy fake mock demo foo bar baz qux quux foobar hello world hunter letmein welcome
    qwerty asdf changeme change me my your our the this that here there insert replace enter put set get value
    values string str text none null nil empty undefined true false yes no on off todo fixme tbd placeholder
    redacted hidden masked secure insecure super new old temp tmp local localhost dev devel develop development
    prod production stage staging qa env environment db database mysql postgres postgresql pg redis mongo
    mongodb rabbit rabbitmq sql session cookie signing encryption master required optional invalid wrong bad
    good valid some any abc xyz open sesame trustno iloveyou monkey dragon shadow secretkey mysecret mypassword
    topsecret confidential sensitive credential credentials creds config configuration setting settings option
    variable var generated random unknown unset missing not provided supplied goes real actual live base
    encoded encode decoded plain
    """.split()
)
_MAX_WORD = max(map(len, _PLACEHOLDER_WORDS))
_LEET = str.maketrans("@4310$57!|", "aaeiosstil")
_EDGE_NOISE = re.compile(r"^[\W\d_]+|(?<![\W\d_])[\W\d_]++$")  # (the last run tried from its start only)
_HEX_SUFFIX = re.compile(r"[-_.][0-9a-fA-F]{2,8}$")
_NON_LETTERS = re.compile(r"[^a-z]+")


def _made_of_words(letters: str) -> bool:
    """True when `letters` (lower-case a-z) splits entirely into placeholder words."""
    n = len(letters)
    if not n or n > 64:
        return False
    reach = [False] * (n + 1)
    reach[0] = True
    for i in range(n):
        if not reach[i]:
            continue
        for j in range(i + 2, min(n, i + _MAX_WORD) + 1):
            if letters[i:j] in _PLACEHOLDER_WORDS:
                reach[j] = True
    return reach[n]


def _is_placeholder_words(secret: str) -> bool:
    low = secret.lower()
    letters = _NON_LETTERS.sub("", low)
    if 2 * len(letters) >= sum(c.isalnum() for c in low) and _made_of_words(letters):
        return True
    core = _EDGE_NOISE.sub("", low)
    return 2 * len(core) >= len(low) and _made_of_words(_NON_LETTERS.sub("", core.translate(_LEET)))


def _wordy(piece: str) -> bool:
    """One identifier piece that reads like a word or a common abbreviation."""
    low = piece.lower()
    if low in _ACRONYMS or low in _SHORT_WORDS:
        return True
    return 3 <= len(low) <= _MAX_WORD_PIECE and not _VOWELS.isdisjoint(low) and _CONSONANT_RUN.search(low) is None


def _is_identifier(secret: str) -> bool:
    """Variable and attribute names, dotted paths, kebab-case words, calls and subscripts: what code writes
    where a literal could be. Pieces are split at separators and case changes; every letter piece must read as a
    word or a known abbreviation, so random tokens (which break into consonant clusters) do not pass."""
    if _CALL_OR_INDEX.match(secret):
        return True
    if not _IDENT.match(secret):
        return False
    digits = digit_runs = words = longest = 0
    for part in _IDENT_SEP.split(secret.lstrip("$@&*:!")):
        if not part:
            continue
        mixed = part != part.upper() and part != part.lower()
        if not mixed and not _ONE_CASE_PART.match(part):
            return False  # digits inside a one-case run ("k3jd9apq") are noise, not naming
        singles = 0
        pieces = _CAMEL.findall(part)
        for at, piece in enumerate(pieces):
            if piece.isdigit():
                digits += len(piece)
                digit_runs += 1
            elif len(piece) == 1:
                singles += 1
                if singles > 1 or (0 < at < len(pieces) - 1 and not pieces[at + 1].isdigit()):
                    return False  # one-letter pieces start or end a name (xOffset, getX, X25519Key)
            elif mixed and piece.isupper() and piece.lower() not in _ACRONYMS:
                return False  # "MUFWrlni": a capital run inside a mixed-case word is an acronym or noise
            elif _wordy(piece):
                words += 1
                longest = max(longest, len(piece))
            else:
                return False
    if words == 1 and longest > 12:
        return False  # one long unbroken "word" is more likely random letters than a name
    return words >= 1 and digit_runs <= 2 and (digits <= 3 or (words >= 2 and digits <= 12))


def _is_code_path(secret: str) -> bool:
    """A dotted chain (module.attr.Type, obj.method()) with most links reading as identifiers."""
    if not _DOTTED.match(secret):
        return False
    links = re.split(r"\.|::|->", secret.removesuffix("()"))
    return 2 * sum(1 for link in links if _is_identifier(link)) >= len(links)


def _is_prose(secret: str) -> bool:
    words = secret.split()
    if len(words) < 2 or any(len(w) > 24 for w in words):
        return False  # sentences are made of words; key material and tokens are long unbroken runs
    wordish = sum(1 for w in words if w.strip(".,:;!?'\"()[]-").isalpha())
    return wordish * 5 >= len(words) * 3


def _name_like_segment(segment: str) -> bool:
    return (
        not segment
        or segment in (".", "..", "~")
        or _PLAIN_SEGMENT.match(segment) is not None
        or _FILE_NAME.match(segment) is not None
        or _is_identifier(segment)
    )


def _is_path_or_url(secret: str) -> bool:
    if _URL.match(secret):
        return _URL_USERINFO.match(secret) is None
    if _FILE_NAME.match(secret) or _DOMAIN.match(secret) or _EMAIL.match(secret) or _AT_HOST.match(secret):
        return True
    if ("/" in secret or "\\" in secret) and _PATH.match(secret):
        rest = secret[2:] if secret[1:2] == ":" else secret  # C:\ drive
        return all(_name_like_segment(s) for s in _PATH_SEP.split(rest))
    return False


def _is_keyboard_mash(secret: str) -> bool:
    """Hand-typed filler: "qwe089234lkjsdf", "lsdkfol23w54jlksdef". Only for lower-case letters and digits."""
    if not secret.islower() or not secret.isalnum():
        return False
    letters = [c for c in secret if c.isalpha()]
    if len(letters) < 8:
        return False
    home = sum(c in _HOME_ROW for c in letters)
    if len(letters) >= 12 and home * 5 >= len(letters) * 4 and not set(letters) <= _HEX_LETTERS:
        return True
    runs = sum(secret[i : i + 3] in _ADJACENT_TRIPLES for i in range(len(secret) - 2))
    return runs >= max(3, len(secret) // 12)


def _is_encoded_text(secret: str) -> bool:
    """Base64 of a placeholder ("bm90IG15IHJlYWwgcGFzc3dvcmQ=" is "not my real password", "Y2hhbmdlbWU=" is
    "changeme": a Kubernetes Secret's `data:` carries its values so)."""
    if not _BASE64_TEXT.match(secret) or len(secret) % 4:
        return False
    try:
        text = base64.b64decode(secret, validate=True).decode("ascii")
    except ValueError:
        return False
    if not text.isprintable():
        return False
    return _is_prose(text) or _is_placeholder_words(text) or looks_fake(text)


def is_repetitive(secret: str) -> bool:
    """Few distinct characters, a short unit repeated (abcabcabc), or a keyboard / counting sequence."""
    n = len(secret)
    distinct = len(set(secret))
    if distinct <= 3 or (n >= 16 and distinct <= 5):
        return True
    for size in range(1, 9):
        if n >= 3 * size and (secret[:size] * (n // size + 1))[:n] == secret:
            return True
    return any(seq in secret or seq.upper() in secret for seq in _SEQUENCES)


def is_not_secret(secret: str) -> bool:
    """The generic-rule filter list: placeholders, templates, references, identifiers, hashes, ids, numbers,
    paths, plain URLs, masked values and prose."""
    if looks_fake(secret) or secret in _DOCUMENTED or _MASKED.search(secret) or _PUBLISHABLE.match(secret):
        return True
    if secret.startswith(_EMULATOR):
        return True
    if any(c.isspace() for c in secret) and _is_prose(secret):
        return True
    if _FORMAT_FIELD.search(secret):
        return True
    if "%" in secret:
        decoded = unquote(secret)
        if decoded != secret and _is_placeholder_words(decoded):
            return True
    core = _EDGE_NOISE.sub("", _HEX_SUFFIX.sub("", secret))
    if core != secret and len(core) >= 8 and (_is_identifier(core) or _is_placeholder_words(core)):
        return True  # "SomeKindOfPassword123!@#", "MyTestDatabaseSecret1-d4e5f6"
    return (
        _REFERENCE.match(secret) is not None
        or _HASH.match(secret) is not None
        or _NUMBERISH.match(secret) is not None
        or is_repetitive(secret)
        or _is_path_or_url(secret)
        or _is_identifier(secret)
        or _is_code_path(secret)
        or _is_placeholder_words(secret)
        or _is_keyboard_mash(secret)
        or _is_encoded_text(secret)
    )


# -- paths ----------------------------------------------------------------------------------------------------
_LOCKFILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "Cargo.lock",
        "go.sum",
        "go.work.sum",
        "composer.lock",
        "Gemfile.lock",
        "uv.lock",
        "pdm.lock",
        "packages.lock.json",
        "npm-shrinkwrap.json",
        "bun.lock",
        "flake.lock",
        "mix.lock",
        "Podfile.lock",
        "gradle.lockfile",
        "pubspec.lock",
        "Package.resolved",
        "conan.lock",
        "deno.lock",
        "shard.lock",
        "Manifest.toml",
        ".terraform.lock.hcl",
    }
)


def is_lockfile(path: str) -> bool:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name in _LOCKFILES


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> globs.Glob:
    return globs.gitignore(pattern)


def path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    normalized = path.replace("\\", "/")
    while normalized.startswith("./"):
        normalized = normalized[2:]
    return any(_glob(p.lstrip("/")).match(normalized) for p in patterns)
