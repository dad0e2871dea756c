"""Seeded generators of fake credentials in the providers' real, documented formats, and of decoys.

Every generator takes a `random.Random` and returns a `Token`: the canonical secret, the assignment(s) a
developer would write (variable name → value), the substrings that identify the secret in a finding
(`needles`), and a label: `prefixed` (a self-identifying format) or `generic` (contextual/generic: needs a
nearby keyword, a pairing or an assignment to be recognisable).

Formats follow the providers, not nhiguard's rules: GitHub/npm tokens carry the CRC32/base62 checksum,
routable GitLab tokens the base36 CRC32 over `glpat-<payload>.01.<len>`, age keys a bech32 checksum, private
keys are real keys (pure-Python RSA, P-256 and Ed25519 arithmetic, DER/PEM/OpenSSH encodings), JWTs decode
to JSON.  No value is a real credential.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from nhiguard.engine.filters import looks_fake
from nhiguard.engine.score import base36_crc32, base62_crc32

PREFIXED = "prefixed"
GENERIC = "generic"

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "_-"
B64 = ALNUM + "+/"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# A random body that the engine would take for a placeholder is redrawn, so a positive is never lost to chance;
# "test" and "demo" are avoided too, since some rules' allow lists use them as stopwords.
_ALSO_AVOIDED = ("test", "demo")


def _clean(value: str) -> bool:
    low = value.lower()
    return not looks_fake(value) and not any(m in low for m in _ALSO_AVOIDED)


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        out = "".join(rng.choice(alphabet) for _ in range(n))
        if _clean(out) and len(set(out)) > min(4, n // 2):
            return out


def rand_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Token:
    """One planted credential.

    `assignments` are (canonical UPPER_SNAKE name, value) pairs written next to each other; the secret sits in
    `assignments[primary]`.  `needles`: a finding whose secret (or one of its parts) contains one of them is
    this credential (e.g. the password of a DB URI, whether a rule captures the URI or the password).
    `prefix` is the literal the format starts with (for choosing encodings).  `multiline` values span lines.
    """

    family: str
    kind: str
    label: str
    secret: str
    assignments: tuple[tuple[str, str], ...]
    needles: tuple[str, ...]
    primary: int = 0
    prefix: str = ""
    multiline: bool = False
    encodable: bool = True
    notes: str = ""

    @property
    def value(self) -> str:
        return self.assignments[self.primary][1]

    @property
    def name(self) -> str:
        return self.assignments[self.primary][0]


def _tok(
    family: str,
    kind: str,
    label: str,
    secret: str,
    name: str,
    *,
    value: str | None = None,
    needles: tuple[str, ...] | None = None,
    extra_before: tuple[tuple[str, str], ...] = (),
    extra_after: tuple[tuple[str, str], ...] = (),
    prefix: str = "",
    multiline: bool = False,
    encodable: bool = True,
) -> Token:
    assignments = (*extra_before, (name, secret if value is None else value), *extra_after)
    return Token(
        family=family,
        kind=kind,
        label=label,
        secret=secret,
        assignments=assignments,
        needles=needles or (secret,),
        primary=len(extra_before),
        prefix=prefix,
        multiline=multiline,
        encodable=encodable and not multiline,
    )


# ---------------------------------------------------------------------------------------------------------------
# checksummed formats
# ---------------------------------------------------------------------------------------------------------------
def github_style(rng: random.Random, prefix: str, body_len: int = 30) -> str:
    body = rand(rng, ALNUM, body_len)
    return f"{prefix}_{body}{base62_crc32(body)}"


def gitlab_routable(rng: random.Random, prefix: str = "glpat-") -> str:
    """GitLab routable token: prefix + base64url(16 random bytes + length byte + routing payload) + `.01.` +
    2 base36 payload length + 7 base36 CRC32 of everything before the CRC (gitlab-org/gitlab RoutableToken)."""
    routing = {"c": format(rng.randint(1, 9), "x"), "o": _b36(rng.randint(1, 10**6)), "u": _b36(rng.randint(1, 10**8))}
    if rng.random() < 0.3:
        routing["g"] = _b36(rng.randint(1, 10**6))
    routing_payload = "\n".join(f"{k}:{v}" for k, v in sorted(routing.items()))
    while True:
        raw = rand_bytes(rng, 16)
        payload = b64url(routing_payload.encode() + raw + bytes([16]))
        if _clean(payload):
            break
    length = _b36(len(payload)).rjust(2, "0")
    checksummable = f"{prefix}{payload}.01.{length}"
    return checksummable + base36_crc32(checksummable)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_encode(hrp: str, data: bytes) -> str:
    acc, bits, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod([*expanded, *five, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in five + checksum)


# ---------------------------------------------------------------------------------------------------------------
# real private keys (pure Python, deterministic under the seed)
# ---------------------------------------------------------------------------------------------------------------
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p**0.5) + 1))]


def _is_probable_prime(n: int, rng: random.Random) -> bool:
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(6):  # random candidates: a few rounds make an error vanishingly unlikely
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        n = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if _is_probable_prime(n, rng):
            return n


@dataclass(frozen=True)
class RSAKey:
    n: int
    e: int
    d: int
    p: int
    q: int

    @property
    def dp(self) -> int:
        return self.d % (self.p - 1)

    @property
    def dq(self) -> int:
        return self.d % (self.q - 1)

    @property
    def qinv(self) -> int:
        return pow(self.q, -1, self.p)


def rsa_key(rng: random.Random, bits: int = 2048) -> RSAKey:
    e = 65537
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        if p == q:
            continue
        phi = (p - 1) * (q - 1)
        if phi % e == 0:
            continue
        n = p * q
        if n.bit_length() != bits:
            continue
        if p < q:
            p, q = q, p
        return RSAKey(n=n, e=e, d=pow(e, -1, phi), p=p, q=q)


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def der_int(n: int) -> bytes:
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return _der(0x02, raw)


def der_seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def der_oid(dotted: str) -> bytes:
    nums = [int(x) for x in dotted.split(".")]
    out = bytearray([40 * nums[0] + nums[1]])
    for n in nums[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out.extend(reversed(chunk))
    return _der(0x06, bytes(out))


def der_octets(b: bytes) -> bytes:
    return _der(0x04, b)


def der_bits(b: bytes) -> bytes:
    return _der(0x03, b"\x00" + b)


DER_NULL = b"\x05\x00"
OID_RSA = "1.2.840.113549.1.1.1"
OID_EC = "1.2.840.10045.2.1"
OID_P256 = "1.2.840.10045.3.1.7"


def rsa_pkcs1_der(k: RSAKey) -> bytes:
    return der_seq(*(der_int(x) for x in (0, k.n, k.e, k.d, k.p, k.q, k.dp, k.dq, k.qinv)))


def rsa_pkcs8_der(k: RSAKey) -> bytes:
    return der_seq(der_int(0), der_seq(der_oid(OID_RSA), DER_NULL), der_octets(rsa_pkcs1_der(k)))


def rsa_spki_der(k: RSAKey) -> bytes:
    return der_seq(der_seq(der_oid(OID_RSA), DER_NULL), der_bits(der_seq(der_int(k.n), der_int(k.e))))


# P-256
_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_A = _P - 3
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)


def _ec_add(p1: tuple[int, int] | None, p2: tuple[int, int] | None) -> tuple[int, int] | None:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    if p1[0] == p2[0] and (p1[1] + p2[1]) % _P == 0:
        return None
    if p1 == p2:
        lam = (3 * p1[0] * p1[0] + _A) * pow(2 * p1[1], -1, _P) % _P
    else:
        lam = (p2[1] - p1[1]) * pow(p2[0] - p1[0], -1, _P) % _P
    x = (lam * lam - p1[0] - p2[0]) % _P
    return x, (lam * (p1[0] - x) - p1[1]) % _P


def _ec_mul(k: int, point: tuple[int, int]) -> tuple[int, int]:
    result: tuple[int, int] | None = None
    addend: tuple[int, int] | None = point
    while k:
        if k & 1:
            result = _ec_add(result, addend)
        addend = _ec_add(addend, addend)
        k >>= 1
    assert result is not None
    return result


def ec_p256_sec1_der(rng: random.Random) -> bytes:
    d = rng.randrange(1, _N)
    x, y = _ec_mul(d, _G)
    public = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
    return der_seq(
        der_int(1),
        der_octets(d.to_bytes(32, "big")),
        _der(0xA0, der_oid(OID_P256)),
        _der(0xA1, der_bits(public)),
    )


# Ed25519 (RFC 8032), only what a public key derivation needs
_EP = 2**255 - 19
_ED = -121665 * pow(121666, -1, _EP) % _EP
_I = pow(2, (_EP - 1) // 4, _EP)


def _ed_xrecover(y: int) -> int:
    xx = (y * y - 1) * pow(_ED * y * y + 1, -1, _EP)
    x = pow(xx, (_EP + 3) // 8, _EP)
    if (x * x - xx) % _EP:
        x = x * _I % _EP
    return _EP - x if x % 2 else x


_BY = 4 * pow(5, -1, _EP) % _EP
_B = (_ed_xrecover(_BY), _BY)


def _ed_add(p: tuple[int, int], q: tuple[int, int]) -> tuple[int, int]:
    x1, y1 = p
    x2, y2 = q
    t = _ED * x1 * x2 * y1 * y2
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, -1, _EP)
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _EP)
    return x3 % _EP, y3 % _EP


def _ed_mul(k: int, p: tuple[int, int]) -> tuple[int, int]:
    result = (0, 1)
    while k:
        if k & 1:
            result = _ed_add(result, p)
        p = _ed_add(p, p)
        k >>= 1
    return result


def ed25519_keypair(rng: random.Random) -> tuple[bytes, bytes]:
    seed = rand_bytes(rng, 32)
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    x, y = _ed_mul(a, _B)
    public = (y | ((x & 1) << 255)).to_bytes(32, "little")
    return seed, public


def _ssh_string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _ssh_mpint(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 8) // 8, "big") if n else b""
    return _ssh_string(raw)


def openssh_private(rng: random.Random, key_type: str, comment: str) -> tuple[str, str]:
    """(`-----BEGIN OPENSSH PRIVATE KEY-----` block, matching `ssh-… AAAA… comment` public line)."""
    if key_type == "ed25519":
        seed, public = ed25519_keypair(rng)
        pub_blob = _ssh_string(b"ssh-ed25519") + _ssh_string(public)
        priv_fields = _ssh_string(b"ssh-ed25519") + _ssh_string(public) + _ssh_string(seed + public)
        pub_line = "ssh-ed25519 " + b64(pub_blob)
    else:
        k = rsa_key(rng, 2048)
        pub_blob = _ssh_string(b"ssh-rsa") + _ssh_mpint(k.e) + _ssh_mpint(k.n)
        priv_fields = (
            _ssh_string(b"ssh-rsa")
            + _ssh_mpint(k.n)
            + _ssh_mpint(k.e)
            + _ssh_mpint(k.d)
            + _ssh_mpint(k.qinv)
            + _ssh_mpint(k.p)
            + _ssh_mpint(k.q)
        )
        pub_line = "ssh-rsa " + b64(pub_blob)
    check = struct.pack(">I", rng.getrandbits(32)) * 2
    section = check + priv_fields + _ssh_string(comment.encode())
    pad = 1
    while len(section) % 8:
        section += bytes([pad])
        pad += 1
    blob = (
        b"openssh-key-v1\x00"
        + _ssh_string(b"none")
        + _ssh_string(b"none")
        + _ssh_string(b"")
        + struct.pack(">I", 1)
        + _ssh_string(pub_blob)
        + _ssh_string(section)
    )
    return pem("OPENSSH PRIVATE KEY", blob, width=70), f"{pub_line} {comment}"


def pem(label: str, der: bytes, width: int = 64) -> str:
    body = b64(der)
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def _pem_needle(block: str) -> str:
    """A full body line from the middle of a PEM block: contained in any capture of the block, raw or
    JSON-escaped."""
    lines = [ln for ln in block.splitlines() if ln and not ln.startswith("-----")]
    return lines[len(lines) // 2]


# ---------------------------------------------------------------------------------------------------------------
# generators
# ---------------------------------------------------------------------------------------------------------------
Gen = Callable[[random.Random], Token]
GENERATORS: dict[str, tuple[str, str, Gen]] = {}  # kind → (family, label, generator)


def gen(kind: str, family: str, label: str = PREFIXED) -> Callable[[Gen], Gen]:
    def register(fn: Gen) -> Gen:
        GENERATORS[kind] = (family, label, fn)
        return fn

    return register


def _pick(rng: random.Random, *names: str) -> str:
    return rng.choice(names)


# -- GitHub ------------------------------------------------------------------------------------------------------
@gen("github-ghp", "github")
def _ghp(rng: random.Random) -> Token:
    s = github_style(rng, "ghp")
    return _tok(
        "github", "github-ghp", PREFIXED, s, _pick(rng, "GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT"), prefix="ghp_"
    )


@gen("github-gho", "github")
def _gho(rng: random.Random) -> Token:
    s = github_style(rng, "gho")
    return _tok("github", "github-gho", PREFIXED, s, "GITHUB_OAUTH_TOKEN", prefix="gho_")


@gen("github-ghu", "github")
def _ghu(rng: random.Random) -> Token:
    s = github_style(rng, "ghu")
    return _tok("github", "github-ghu", PREFIXED, s, "GITHUB_APP_USER_TOKEN", prefix="ghu_")


@gen("github-ghs", "github")
def _ghs(rng: random.Random) -> Token:
    s = github_style(rng, "ghs")
    return _tok("github", "github-ghs", PREFIXED, s, "GITHUB_INSTALLATION_TOKEN", prefix="ghs_")


@gen("github-ghr", "github")
def _ghr(rng: random.Random) -> Token:
    s = github_style(rng, "ghr", 70)  # ghr_ + 76 = 70 random + 6 checksum
    return _tok("github", "github-ghr", PREFIXED, s, "GITHUB_REFRESH_TOKEN", prefix="ghr_")


@gen("github-fine-grained", "github")
def _github_pat(rng: random.Random) -> Token:
    head = "11" + rand(rng, UPPER_ALNUM, 20)  # 22 chars, starting with digits like real ones
    s = f"github_pat_{head}_{rand(rng, ALNUM, 59)}"
    return _tok(
        "github", "github-fine-grained", PREFIXED, s, _pick(rng, "GITHUB_TOKEN", "GH_PAT"), prefix="github_pat_"
    )


# -- GitLab ------------------------------------------------------------------------------------------------------
@gen("gitlab-pat-legacy", "gitlab")
def _glpat_legacy(rng: random.Random) -> Token:
    s = "glpat-" + rand(rng, B64URL, 20)
    return _tok(
        "gitlab",
        "gitlab-pat-legacy",
        PREFIXED,
        s,
        _pick(rng, "GITLAB_TOKEN", "GL_TOKEN", "CI_PUSH_TOKEN"),
        prefix="glpat-",
    )


@gen("gitlab-pat-routable", "gitlab")
def _glpat_routable(rng: random.Random) -> Token:
    s = gitlab_routable(rng, "glpat-")
    return _tok(
        "gitlab", "gitlab-pat-routable", PREFIXED, s, _pick(rng, "GITLAB_TOKEN", "GITLAB_API_TOKEN"), prefix="glpat-"
    )


@gen("gitlab-other", "gitlab")
def _gitlab_other(rng: random.Random) -> Token:
    choice = rng.choice(["glrt", "gldt", "glptt", "glcbt", "glft", "glimt", "glagent", "gloas", "GR1348941", "glsoat"])
    if choice == "glrt":
        s, name = "glrt-" + rand(rng, B64URL, 20), "CI_RUNNER_TOKEN"
    elif choice == "gldt":
        s, name = "gldt-" + rand(rng, B64URL, 20), "GITLAB_DEPLOY_TOKEN"
    elif choice == "glptt":
        s, name = "glptt-" + rand(rng, HEX, 40), "GITLAB_TRIGGER_TOKEN"
    elif choice == "glcbt":
        s, name = f"glcbt-{rng.randint(1, 99)}_" + rand(rng, B64URL, 20), "CI_JOB_TOKEN_COPY"
    elif choice == "glft":
        s, name = "glft-" + rand(rng, B64URL, 20), "GITLAB_FEED_TOKEN"
    elif choice == "glimt":
        s, name = "glimt-" + rand(rng, LOWER_ALNUM, 25), "GITLAB_INCOMING_EMAIL_TOKEN"
    elif choice == "glagent":
        s, name = "glagent-" + rand(rng, B64URL, 50), "GITLAB_AGENT_TOKEN"
    elif choice == "gloas":
        s, name = "gloas-" + rand(rng, HEX, 64), "GITLAB_OAUTH_SECRET"
    elif choice == "glsoat":
        s, name = "glsoat-" + rand(rng, B64URL, 20), "GITLAB_SCIM_TOKEN"
    else:
        s, name = "GR1348941" + rand(rng, B64URL, 20), "RUNNER_REGISTRATION_TOKEN"
    prefix = s[: s.index("-") + 1] if "-" in s[:9] else "GR1348941"
    return _tok("gitlab", "gitlab-other", PREFIXED, s, name, prefix=prefix)


# -- package registries -----------------------------------------------------------------------------------------
@gen("npm", "npm")
def _npm(rng: random.Random) -> Token:
    s = github_style(rng, "npm")
    return _tok("npm", "npm", PREFIXED, s, _pick(rng, "NPM_TOKEN", "NODE_AUTH_TOKEN"), prefix="npm_")


def pypi_token(rng: random.Random, host: str = "pypi.org") -> str:
    """A macaroon V2 (location, identifier, one caveat, signature) in base64url, as PyPI issues them."""
    ident = b"%08x-%04x-4%03x-%04x-%012x" % (
        rng.getrandbits(32),
        rng.getrandbits(16),
        rng.getrandbits(12),
        0x8000 | rng.getrandbits(14),
        rng.getrandbits(48),
    )
    caveat = json.dumps({"version": 1, "permissions": "user"}, separators=(",", ":")).encode()
    raw = (
        b"\x02"
        + b"\x01"
        + bytes([len(host)])
        + host.encode()
        + b"\x02"
        + bytes([len(ident)])
        + ident
        + b"\x00"
        + b"\x02"
        + bytes([len(caveat)])
        + caveat
        + b"\x00\x00"
        + b"\x06\x20"
        + rand_bytes(rng, 32)
    )
    return "pypi-" + b64url(raw)


@gen("pypi", "pypi")
def _pypi(rng: random.Random) -> Token:
    s = pypi_token(rng)
    return _tok(
        "pypi",
        "pypi",
        PREFIXED,
        s,
        _pick(rng, "PYPI_API_TOKEN", "TWINE_PASSWORD", "PYPI_TOKEN"),
        prefix="pypi-AgEIcHlwaS5vcmc",
    )


@gen("dockerhub", "docker")
def _docker(rng: random.Random) -> Token:
    s = "dckr_pat_" + rand(rng, B64URL, 27) if rng.random() < 0.8 else "dckr_oat_" + rand(rng, B64URL, 32)
    return _tok(
        "docker",
        "dockerhub",
        PREFIXED,
        s,
        _pick(rng, "DOCKERHUB_TOKEN", "DOCKER_PASSWORD"),
        prefix=s[:9],
        extra_before=(("DOCKERHUB_USERNAME", rng.choice(["ci-bot", "acme-builds", "release-robot"])),),
    )


# -- chat / messaging -------------------------------------------------------------------------------------------
def _digits(rng: random.Random, n: int) -> str:
    first = str(rng.randint(1, 9))
    return first + "".join(rng.choice(string.digits) for _ in range(n - 1))


@gen("slack-bot", "slack")
def _slack_bot(rng: random.Random) -> Token:
    s = f"xoxb-{_digits(rng, rng.choice([11, 12, 13]))}-{_digits(rng, 13)}-{rand(rng, ALNUM, 24)}"
    return _tok("slack", "slack-bot", PREFIXED, s, _pick(rng, "SLACK_BOT_TOKEN", "SLACK_TOKEN"), prefix="xoxb-")


@gen("slack-user", "slack")
def _slack_user(rng: random.Random) -> Token:
    s = f"xoxp-{_digits(rng, 12)}-{_digits(rng, 12)}-{_digits(rng, 13)}-{rand(rng, HEX, 32)}"
    return _tok("slack", "slack-user", PREFIXED, s, "SLACK_USER_TOKEN", prefix="xoxp-")


@gen("slack-app", "slack")
def _slack_app(rng: random.Random) -> Token:
    s = f"xapp-1-A{rand(rng, UPPER_ALNUM, 10)}-{_digits(rng, 13)}-{rand(rng, HEX, 64)}"
    return _tok("slack", "slack-app", PREFIXED, s, "SLACK_APP_TOKEN", prefix="xapp-")


@gen("slack-webhook", "slack")
def _slack_webhook(rng: random.Random) -> Token:
    tail = rand(rng, ALNUM, 24)
    s = f"https://hooks.slack.com/services/T{rand(rng, UPPER_ALNUM, 10)}/B{rand(rng, UPPER_ALNUM, 10)}/{tail}"
    return _tok(
        "slack",
        "slack-webhook",
        PREFIXED,
        s,
        _pick(rng, "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK"),
        needles=(tail,),
        prefix="https://hooks.slack.com",
    )


@gen("discord-webhook", "discord")
def _discord_webhook(rng: random.Random) -> Token:
    tail = rand(rng, B64URL, 68)
    host = rng.choice(["discord.com", "discordapp.com"])
    s = f"https://{host}/api/webhooks/{_digits(rng, 19)}/{tail}"
    return _tok(
        "discord", "discord-webhook", PREFIXED, s, "DISCORD_WEBHOOK_URL", needles=(tail,), prefix="https://discord"
    )


@gen("telegram", "telegram", GENERIC)
def _telegram(rng: random.Random) -> Token:
    s = f"{_digits(rng, rng.choice([9, 10]))}:AA{rand(rng, B64URL, 33)}"
    return _tok("telegram", "telegram", GENERIC, s, _pick(rng, "TELEGRAM_BOT_TOKEN", "TELEGRAM_TOKEN"), encodable=False)


@gen("twilio-api-key", "twilio")
def _twilio_key(rng: random.Random) -> Token:
    sid = "SK" + rand(rng, HEX, 32)
    secret = rand(rng, ALNUM, 32)
    return _tok(
        "twilio",
        "twilio-api-key",
        PREFIXED,
        secret,
        "TWILIO_API_SECRET",
        needles=(secret, sid),
        extra_before=(("TWILIO_API_KEY", sid),),
        encodable=False,
    )


@gen("twilio-auth-token", "twilio", GENERIC)
def _twilio_auth(rng: random.Random) -> Token:
    sid = "AC" + rand(rng, HEX, 32)
    secret = rand(rng, HEX, 32)
    return _tok(
        "twilio",
        "twilio-auth-token",
        GENERIC,
        secret,
        "TWILIO_AUTH_TOKEN",
        extra_before=(("TWILIO_ACCOUNT_SID", sid),),
        encodable=False,
    )


@gen("sendgrid", "sendgrid")
def _sendgrid(rng: random.Random) -> Token:
    s = f"SG.{rand(rng, B64URL, 22)}.{rand(rng, B64URL, 43)}"
    return _tok("sendgrid", "sendgrid", PREFIXED, s, _pick(rng, "SENDGRID_API_KEY", "SMTP_PASSWORD"), prefix="SG.")


@gen("mailgun", "mailgun")
def _mailgun(rng: random.Random) -> Token:
    if rng.random() < 0.5:
        s = "key-" + rand(rng, HEX, 32)
        return _tok("mailgun", "mailgun", PREFIXED, s, "MAILGUN_API_KEY", prefix="key-", encodable=False)
    s = f"{rand(rng, HEX, 32)}-{rand(rng, HEX, 8)}-{rand(rng, HEX, 8)}"
    return _tok("mailgun", "mailgun", PREFIXED, s, "MAILGUN_API_KEY", encodable=False)


# -- payments / commerce ----------------------------------------------------------------------------------------
@gen("stripe-secret", "stripe")
def _stripe_sk(rng: random.Random) -> Token:
    body = "51" + rand(rng, ALNUM, 97) if rng.random() < 0.7 else rand(rng, ALNUM, 24)
    s = "sk_live_" + body
    return _tok(
        "stripe", "stripe-secret", PREFIXED, s, _pick(rng, "STRIPE_SECRET_KEY", "STRIPE_API_KEY"), prefix="sk_live_"
    )


@gen("stripe-restricted", "stripe")
def _stripe_rk(rng: random.Random) -> Token:
    s = "rk_live_51" + rand(rng, ALNUM, 97)
    return _tok("stripe", "stripe-restricted", PREFIXED, s, "STRIPE_RESTRICTED_KEY", prefix="rk_live_")


@gen("stripe-webhook", "stripe")
def _stripe_whsec(rng: random.Random) -> Token:
    s = "whsec_" + rand(rng, ALNUM, 32)
    return _tok("stripe", "stripe-webhook", PREFIXED, s, "STRIPE_WEBHOOK_SECRET", prefix="whsec_")


@gen("square", "square")
def _square(rng: random.Random) -> Token:
    r = rng.random()
    if r < 0.5:
        s, name = "EAAA" + rand(rng, B64URL, 60), "SQUARE_ACCESS_TOKEN"
    elif r < 0.75:
        s, name = "sq0atp-" + rand(rng, B64URL, 22), "SQUARE_ACCESS_TOKEN"
    else:
        s, name = "sq0csp-" + rand(rng, B64URL, 43), "SQUARE_APPLICATION_SECRET"
    return _tok("square", "square", PREFIXED, s, name, prefix=s[:7] if s.startswith("sq0") else "EAAA")


@gen("shopify", "shopify")
def _shopify(rng: random.Random) -> Token:
    prefix = rng.choice(["shpat_", "shpca_", "shppa_", "shpss_"])
    s = prefix + rand(rng, HEX, 32)
    name = "SHOPIFY_API_SECRET" if prefix == "shpss_" else "SHOPIFY_ACCESS_TOKEN"
    return _tok(
        "shopify",
        "shopify",
        PREFIXED,
        s,
        name,
        prefix=prefix,
        extra_before=(("SHOPIFY_SHOP", f"{rng.choice(['acme', 'north-wind', 'bluebird'])}-store.myshopify.com"),),
    )


# -- AI --------------------------------------------------------------------------------------------------------
@gen("openai-project", "openai")
def _openai_proj(rng: random.Random) -> Token:
    n = rng.choice([58, 74])
    s = f"sk-proj-{rand(rng, B64URL, n)}T3BlbkFJ{rand(rng, B64URL, n)}"
    return _tok("openai", "openai-project", PREFIXED, s, "OPENAI_API_KEY", prefix="sk-proj-")


@gen("openai-svcacct", "openai")
def _openai_svc(rng: random.Random) -> Token:
    s = f"sk-svcacct-{rand(rng, B64URL, 74)}T3BlbkFJ{rand(rng, B64URL, 74)}"
    return _tok("openai", "openai-svcacct", PREFIXED, s, "OPENAI_API_KEY", prefix="sk-svcacct-")


@gen("openai-admin", "openai")
def _openai_admin(rng: random.Random) -> Token:
    s = f"sk-admin-{rand(rng, B64URL, 58)}T3BlbkFJ{rand(rng, B64URL, 58)}"
    return _tok("openai", "openai-admin", PREFIXED, s, "OPENAI_ADMIN_KEY", prefix="sk-admin-")


@gen("openai-legacy", "openai")
def _openai_legacy(rng: random.Random) -> Token:
    s = f"sk-{rand(rng, ALNUM, 20)}T3BlbkFJ{rand(rng, ALNUM, 20)}"
    return _tok("openai", "openai-legacy", PREFIXED, s, "OPENAI_API_KEY", prefix="sk-", encodable=False)


@gen("anthropic-api", "anthropic")
def _anthropic(rng: random.Random) -> Token:
    s = f"sk-ant-api03-{rand(rng, B64URL, 93)}AA"
    return _tok("anthropic", "anthropic-api", PREFIXED, s, "ANTHROPIC_API_KEY", prefix="sk-ant-api03-")


@gen("anthropic-admin", "anthropic")
def _anthropic_admin(rng: random.Random) -> Token:
    s = f"sk-ant-admin01-{rand(rng, B64URL, 93)}AA"
    return _tok("anthropic", "anthropic-admin", PREFIXED, s, "ANTHROPIC_ADMIN_KEY", prefix="sk-ant-admin01-")


@gen("huggingface", "huggingface")
def _hf(rng: random.Random) -> Token:
    s = "hf_" + rand(rng, string.ascii_letters, 34)
    return _tok("huggingface", "huggingface", PREFIXED, s, _pick(rng, "HF_TOKEN", "HUGGINGFACE_TOKEN"), prefix="hf_")


@gen("groq", "groq")
def _groq(rng: random.Random) -> Token:
    s = "gsk_" + rand(rng, ALNUM, 52)
    return _tok("groq", "groq", PREFIXED, s, "GROQ_API_KEY", prefix="gsk_")


@gen("replicate", "replicate")
def _replicate(rng: random.Random) -> Token:
    s = "r8_" + rand(rng, ALNUM, 37)
    return _tok("replicate", "replicate", PREFIXED, s, "REPLICATE_API_TOKEN", prefix="r8_")


@gen("perplexity", "perplexity")
def _pplx(rng: random.Random) -> Token:
    s = "pplx-" + rand(rng, ALNUM, 48)
    return _tok("perplexity", "perplexity", PREFIXED, s, "PERPLEXITY_API_KEY", prefix="pplx-")


@gen("xai", "xai")
def _xai(rng: random.Random) -> Token:
    s = "xai-" + rand(rng, ALNUM, 80)
    return _tok("xai", "xai", PREFIXED, s, "XAI_API_KEY", prefix="xai-")


# -- observability / SaaS ---------------------------------------------------------------------------------------
@gen("datadog", "datadog", GENERIC)
def _datadog(rng: random.Random) -> Token:
    if rng.random() < 0.6:
        s = rand(rng, HEX, 32)
        return _tok("datadog", "datadog", GENERIC, s, _pick(rng, "DATADOG_API_KEY", "DD_API_KEY"), encodable=False)
    api = rand(rng, HEX, 32)
    s = rand(rng, HEX, 40)
    return _tok(
        "datadog",
        "datadog",
        GENERIC,
        s,
        _pick(rng, "DATADOG_APP_KEY", "DD_APP_KEY"),
        extra_before=(("DATADOG_API_KEY", api),),
        needles=(s,),
        encodable=False,
    )


@gen("newrelic", "newrelic")
def _newrelic(rng: random.Random) -> Token:
    if rng.random() < 0.7:
        s, name = "NRAK-" + rand(rng, UPPER_ALNUM, 27), "NEW_RELIC_API_KEY"
    else:
        s, name = "NRII-" + rand(rng, LOWER_ALNUM + "-", 32), "NEW_RELIC_INSERT_KEY"
    return _tok("newrelic", "newrelic", PREFIXED, s, name, prefix=s[:5])


@gen("sentry", "sentry")
def _sentry(rng: random.Random) -> Token:
    if rng.random() < 0.5:
        s = "sntryu_" + rand(rng, HEX, 64)
        return _tok("sentry", "sentry", PREFIXED, s, "SENTRY_AUTH_TOKEN", prefix="sntryu_")
    org = rng.choice(["acme", "northwind", "globex"])
    # getsentry/sentry orgauthtoken_token.generate_token: standard base64 of the JSON payload (padding kept),
    # "_", standard base64 of 32 random bytes without padding (43 chars of [A-Za-z0-9+/]).
    payload = {
        "iat": rng.randint(1_700_000_000, 1_760_000_000) + rng.randint(0, 999999) / 1e6,
        "url": "https://sentry.io",
        "region_url": rng.choice(["https://us.sentry.io", "https://de.sentry.io"]),
        "org": org,
    }
    s = (
        "sntrys_"
        + b64(json.dumps(payload, separators=(",", ":")).encode())
        + "_"
        + b64(rand_bytes(rng, 32)).rstrip("=")
    )
    return _tok("sentry", "sentry", PREFIXED, s, "SENTRY_AUTH_TOKEN", prefix="sntrys_eyJ")


@gen("grafana", "grafana")
def _grafana(rng: random.Random) -> Token:
    if rng.random() < 0.5:
        body = rand(rng, ALNUM, 32)
        s = f"glsa_{body}_{zlib.crc32(f'glsa_{body}'.encode()).to_bytes(4, 'little').hex()}"
        return _tok("grafana", "grafana", PREFIXED, s, "GRAFANA_SERVICE_ACCOUNT_TOKEN", prefix="glsa_")
    payload = {
        "o": str(rng.randint(100000, 999999)),
        "n": f"stack-{rng.randint(100000, 999999)}-hm-read",
        "k": rand(rng, ALNUM, 24),
        "m": {"r": rng.choice(["us", "eu", "prod-us-east-0"])},
    }
    s = "glc_" + b64(json.dumps(payload, separators=(",", ":")).encode())
    return _tok("grafana", "grafana", PREFIXED, s, "GRAFANA_CLOUD_TOKEN", prefix="glc_eyJ")


@gen("linear", "linear")
def _linear(rng: random.Random) -> Token:
    s = "lin_api_" + rand(rng, ALNUM, 40)
    return _tok("linear", "linear", PREFIXED, s, "LINEAR_API_KEY", prefix="lin_api_")


@gen("notion", "notion")
def _notion(rng: random.Random) -> Token:
    s = "ntn_" + _digits(rng, 11) + rand(rng, ALNUM, 35)
    return _tok("notion", "notion", PREFIXED, s, "NOTION_TOKEN", prefix="ntn_")


@gen("figma", "figma")
def _figma(rng: random.Random) -> Token:
    s = "figd_" + rand(rng, B64URL, 40)
    return _tok("figma", "figma", PREFIXED, s, "FIGMA_TOKEN", prefix="figd_")


@gen("hubspot", "hubspot")
def _hubspot(rng: random.Random) -> Token:
    region = rng.choice(["na1", "eu1", "na2"])
    s = f"pat-{region}-{_uuid(rng)}"
    return _tok("hubspot", "hubspot", PREFIXED, s, "HUBSPOT_ACCESS_TOKEN", prefix=f"pat-{region}-")


@gen("postman", "postman")
def _postman(rng: random.Random) -> Token:
    s = f"PMAK-{rand(rng, HEX, 24)}-{rand(rng, HEX, 34)}"
    return _tok("postman", "postman", PREFIXED, s, "POSTMAN_API_KEY", prefix="PMAK-")


@gen("contentful", "contentful")
def _contentful(rng: random.Random) -> Token:
    s = "CFPAT-" + rand(rng, B64URL, 43)
    return _tok("contentful", "contentful", PREFIXED, s, "CONTENTFUL_MANAGEMENT_TOKEN", prefix="CFPAT-")


@gen("typeform", "typeform")
def _typeform(rng: random.Random) -> Token:
    s = f"tfp_{rand(rng, ALNUM, 44)}_{rand(rng, ALNUM, 14)}"
    return _tok("typeform", "typeform", PREFIXED, s, "TYPEFORM_TOKEN", prefix="tfp_")


@gen("doppler", "doppler")
def _doppler(rng: random.Random) -> Token:
    kind = rng.choice(["pt", "st", "sa", "ct"])
    if kind == "st":
        s = f"dp.st.{rng.choice(['prd', 'dev', 'stg'])}.{rand(rng, ALNUM, 40)}"
    else:
        s = f"dp.{kind}.{rand(rng, ALNUM, 43)}"
    return _tok("doppler", "doppler", PREFIXED, s, "DOPPLER_TOKEN", prefix=s[:6])


# -- infrastructure ---------------------------------------------------------------------------------------------
@gen("vault-service", "vault")
def _vault_s(rng: random.Random) -> Token:
    s = "hvs." + rand(rng, B64URL, 91)
    return _tok(
        "vault",
        "vault-service",
        PREFIXED,
        s,
        "VAULT_TOKEN",
        prefix="hvs.",
        extra_before=(("VAULT_ADDR", "https://vault.internal.acme.io:8200"),),
    )


@gen("vault-batch", "vault")
def _vault_b(rng: random.Random) -> Token:
    s = "hvb." + rand(rng, B64URL, 150)
    return _tok("vault", "vault-batch", PREFIXED, s, "VAULT_TOKEN", prefix="hvb.")


@gen("terraform", "terraform")
def _terraform(rng: random.Random) -> Token:
    s = f"{rand(rng, ALNUM, 14)}.atlasv1.{rand(rng, ALNUM + '_-', 67)}"
    return _tok("terraform", "terraform", PREFIXED, s, _pick(rng, "TFE_TOKEN", "TF_TOKEN_app_terraform_io"), prefix="")


@gen("digitalocean", "digitalocean")
def _do(rng: random.Random) -> Token:
    prefix = rng.choice(["dop_v1_", "doo_v1_", "dor_v1_"])
    s = prefix + rand(rng, HEX, 64)
    return _tok("digitalocean", "digitalocean", PREFIXED, s, "DIGITALOCEAN_TOKEN", prefix=prefix)


@gen("heroku", "heroku")
def _heroku(rng: random.Random) -> Token:
    s = "HRKU-AA" + rand(rng, B64URL, 58)
    return _tok("heroku", "heroku", PREFIXED, s, "HEROKU_API_KEY", prefix="HRKU-AA")


@gen("aws-access-key", "aws")
def _aws(rng: random.Random) -> Token:
    key_id = "AKIA" + rand(rng, BASE32, 16)
    secret = rand(rng, B64, 40)
    return _tok(
        "aws",
        "aws-access-key",
        PREFIXED,
        secret,
        "AWS_SECRET_ACCESS_KEY",
        needles=(secret, key_id),
        extra_before=(("AWS_ACCESS_KEY_ID", key_id),),
        encodable=False,
    )


@gen("aws-session", "aws")
def _aws_session(rng: random.Random) -> Token:
    key_id = "ASIA" + rand(rng, BASE32, 16)
    secret = rand(rng, B64, 40)
    inner = b"\x0a\x0c" + rand_bytes(rng, 20) + b"aws:origin_ec" + rand_bytes(rng, 240)
    session = "IQoJb3JpZ2luX2Vj" + b64(inner)[:300]
    return _tok(
        "aws",
        "aws-session",
        PREFIXED,
        secret,
        "AWS_SECRET_ACCESS_KEY",
        needles=(secret, key_id, session),
        extra_before=(("AWS_ACCESS_KEY_ID", key_id),),
        extra_after=(("AWS_SESSION_TOKEN", session),),
        encodable=False,
    )


@gen("gcp-api-key", "gcp")
def _gcp_key(rng: random.Random) -> Token:
    s = "AIza" + rand(rng, B64URL, 35)
    return _tok("gcp", "gcp-api-key", PREFIXED, s, _pick(rng, "GOOGLE_API_KEY", "GOOGLE_MAPS_API_KEY"), prefix="AIza")


@gen("gcp-oauth-secret", "gcp")
def _gcp_secret(rng: random.Random) -> Token:
    s = "GOCSPX-" + rand(rng, B64URL, 28)
    client_id = f"{_digits(rng, 12)}-{rand(rng, LOWER_ALNUM, 32)}.apps.googleusercontent.com"
    return _tok(
        "gcp",
        "gcp-oauth-secret",
        PREFIXED,
        s,
        "GOOGLE_CLIENT_SECRET",
        prefix="GOCSPX-",
        extra_before=(("GOOGLE_CLIENT_ID", client_id),),
    )


def service_account_json(rng: random.Random) -> tuple[str, str]:
    project = f"{rng.choice(['acme', 'orbit', 'nimbus'])}-{rng.choice(['prod', 'data', 'ml'])}-{_digits(rng, 6)}"
    key = rsa_key(rng, 2048)
    private = pem("PRIVATE KEY", rsa_pkcs8_der(key)) + "\n"
    email = f"{rng.choice(['deployer', 'etl-runner', 'ci'])}@{project}.iam.gserviceaccount.com"
    doc = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": rand(rng, HEX, 40),
        "private_key": private,
        "client_email": email,
        "client_id": _digits(rng, 21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }
    return json.dumps(doc, indent=2) + "\n", private


@gen("gcp-service-account", "gcp")
def _gcp_sa(rng: random.Random) -> Token:
    doc, private = service_account_json(rng)
    return _tok(
        "gcp",
        "gcp-service-account",
        PREFIXED,
        doc,
        "GOOGLE_CREDENTIALS_JSON",
        needles=(_pem_needle(private),),
        multiline=True,
    )


@gen("azure-storage", "azure", GENERIC)
def _azure(rng: random.Random) -> Token:
    account = rng.choice(["acmeprodlogs", "stdatalake01", "nwbackups"]) + _digits(rng, 3)
    key = b64(rand_bytes(rng, 64))
    s = f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
    return _tok(
        "azure",
        "azure-storage",
        GENERIC,
        key,
        "AZURE_STORAGE_CONNECTION_STRING",
        value=s,
        needles=(key,),
        encodable=False,
    )


@gen("planetscale", "planetscale")
def _pscale(rng: random.Random) -> Token:
    kind = rng.choice(["pw", "tkn", "oauth"])
    s = f"pscale_{kind}_" + rand(rng, B64URL, 43)
    return _tok(
        "planetscale",
        "planetscale",
        PREFIXED,
        s,
        "PLANETSCALE_PASSWORD" if kind == "pw" else "PLANETSCALE_TOKEN",
        prefix=f"pscale_{kind}_",
    )


@gen("databricks", "databricks")
def _databricks(rng: random.Random) -> Token:
    s = "dapi" + rand(rng, HEX, 32) + (rng.choice(["", "-2", "-3"]))
    return _tok(
        "databricks",
        "databricks",
        PREFIXED,
        s,
        "DATABRICKS_TOKEN",
        prefix="dapi",
        extra_before=(("DATABRICKS_HOST", f"https://adb-{_digits(rng, 16)}.{rng.randint(1, 19)}.azuredatabricks.net"),),
    )


@gen("pulumi", "pulumi")
def _pulumi(rng: random.Random) -> Token:
    s = "pul-" + rand(rng, HEX, 40)
    return _tok("pulumi", "pulumi", PREFIXED, s, "PULUMI_ACCESS_TOKEN", prefix="pul-")


@gen("supabase", "supabase")
def _supabase(rng: random.Random) -> Token:
    s = "sbp_" + rand(rng, HEX, 40)
    return _tok("supabase", "supabase", PREFIXED, s, "SUPABASE_ACCESS_TOKEN", prefix="sbp_")


@gen("flyio", "flyio")
def _fly(rng: random.Random) -> Token:
    if rng.random() < 0.5:
        s = "fo1_" + rand(rng, B64URL, 43)
        return _tok("flyio", "flyio", PREFIXED, s, "FLY_API_TOKEN", prefix="fo1_")
    body = b64(rand_bytes(rng, 150))
    s = "fm2_" + body
    return _tok("flyio", "flyio", PREFIXED, s, "FLY_API_TOKEN", value="FlyV1 " + s, prefix="fm2_")


@gen("1password", "1password")
def _op(rng: random.Random) -> Token:
    payload = {
        "signInAddress": "my.1password.com",
        "userAuth": {
            "method": "SRPg-4096",
            "alg": "PBES2g-HS256",
            "iterations": 650000,
            "salt": b64url(rand_bytes(rng, 16)),
        },
        "email": f"{rand(rng, LOWER_ALNUM, 13)}@1passwordserviceaccounts.com",
        "srpX": rand(rng, HEX, 64),
        "muk": {
            "alg": "A256GCM",
            "ext": True,
            "k": b64url(rand_bytes(rng, 32)),
            "key_ops": ["encrypt", "decrypt"],
            "kty": "oct",
            "kid": "mp",
        },
        "secretKey": "A3-" + "-".join(rand(rng, UPPER_ALNUM, 5) for _ in range(6)),
        "throttleSecret": {"seed": rand(rng, HEX, 64), "uuid": rand(rng, UPPER_ALNUM, 26)},
        "deviceUuid": rand(rng, LOWER_ALNUM, 26),
    }
    s = "ops_" + b64(json.dumps(payload, separators=(",", ":")).encode()).rstrip("=")
    return _tok("1password", "1password", PREFIXED, s, "OP_SERVICE_ACCOUNT_TOKEN", prefix="ops_eyJ")


@gen("age", "age")
def _age(rng: random.Random) -> Token:
    s = bech32_encode("age-secret-key-", rand_bytes(rng, 32)).upper()
    return _tok("age", "age", PREFIXED, s, "SOPS_AGE_KEY", prefix="AGE-SECRET-KEY-1")


# -- private keys, JWT ------------------------------------------------------------------------------------------
@gen("private-key-rsa", "private-key")
def _pk_rsa(rng: random.Random) -> Token:
    block = pem("RSA PRIVATE KEY", rsa_pkcs1_der(rsa_key(rng, 2048)))
    return _tok(
        "private-key", "private-key-rsa", PREFIXED, block, "TLS_KEY", needles=(_pem_needle(block),), multiline=True
    )


@gen("private-key-ec", "private-key")
def _pk_ec(rng: random.Random) -> Token:
    block = pem("EC PRIVATE KEY", ec_p256_sec1_der(rng))
    return _tok(
        "private-key", "private-key-ec", PREFIXED, block, "SIGNING_KEY", needles=(_pem_needle(block),), multiline=True
    )


@gen("private-key-openssh", "private-key")
def _pk_ssh(rng: random.Random) -> Token:
    block, _ = openssh_private(
        rng, rng.choice(["ed25519", "rsa"]), f"deploy@{rng.choice(['ci', 'bastion', 'build-01'])}"
    )
    return _tok(
        "private-key",
        "private-key-openssh",
        PREFIXED,
        block,
        "SSH_PRIVATE_KEY",
        needles=(_pem_needle(block),),
        multiline=True,
    )


@gen("private-key-pkcs8", "private-key")
def _pk_pkcs8(rng: random.Random) -> Token:
    block = pem("PRIVATE KEY", rsa_pkcs8_der(rsa_key(rng, 2048)))
    return _tok(
        "private-key",
        "private-key-pkcs8",
        PREFIXED,
        block,
        "PRIVATE_KEY",
        needles=(_pem_needle(block),),
        multiline=True,
    )


def jwt(rng: random.Random) -> str:
    alg = rng.choice(["HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = rand(rng, B64URL, 16)
    now = rng.randint(1_700_000_000, 1_760_000_000)
    claims = {
        "sub": rand(rng, LOWER_ALNUM, 12),
        "iss": rng.choice(["https://auth.acme.io/", "https://login.northwind.dev", "api-gateway"]),
        "aud": rng.choice(["orders-api", "billing", "internal"]),
        "iat": now,
        "exp": now + rng.choice([3600, 86400, 31536000]),
        "scope": rng.choice(["read write", "admin", "orders:read"]),
    }
    sig_len = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
    return ".".join(
        (
            b64url(json.dumps(header, separators=(",", ":")).encode()),
            b64url(json.dumps(claims, separators=(",", ":")).encode()),
            b64url(rand_bytes(rng, sig_len)),
        )
    )


@gen("jwt", "jwt")
def _jwt(rng: random.Random) -> Token:
    s = jwt(rng)
    return _tok("jwt", "jwt", PREFIXED, s, _pick(rng, "ACCESS_TOKEN", "SERVICE_JWT", "AUTH_TOKEN"), prefix="eyJ")


# -- structural / generic ---------------------------------------------------------------------------------------
_WORDS = ("harbor", "velvet", "quartz", "maple", "orbit", "falcon", "cobalt", "ember", "tundra", "saffron", "glacier")
_PASSWORD_SYMBOLS = "!-_.*~^"


def password(rng: random.Random, n: int | None = None) -> str:
    """A realistic strong password: mixed classes, no characters that need quoting in URLs or configs."""
    while True:
        n = n or rng.randint(14, 24)
        chars = [
            rng.choice(string.ascii_uppercase),
            rng.choice(string.ascii_lowercase),
            rng.choice(string.digits),
            rng.choice(_PASSWORD_SYMBOLS),
        ]
        chars += [rng.choice(ALNUM + _PASSWORD_SYMBOLS) for _ in range(n - 4)]
        rng.shuffle(chars)
        out = "".join(chars)
        if _clean(out) and out[0].isalnum() and out[-1].isalnum():
            return out


def _host(rng: random.Random) -> str:
    return rng.choice(
        [
            "db.prod.acme.io",
            "10.20.4.17",
            "orders-db.cluster-cz1x.eu-west-1.rds.amazonaws.com",
            "pg-main.internal",
            "mysql.northwind.net",
            "cluster0.x7kq2.mongodb.net",
        ]
    )


@gen("postgres-uri", "database", GENERIC)
def _pg(rng: random.Random) -> Token:
    pw = password(rng)
    scheme = rng.choice(["postgres", "postgresql"])
    user, db = rng.choice(["app", "orders_rw", "etl"]), rng.choice(["orders", "app", "analytics"])
    uri = f"{scheme}://{user}:{pw}@{_host(rng)}:5432/{db}"
    if rng.random() < 0.4:
        uri += "?sslmode=require"
    return _tok("database", "postgres-uri", GENERIC, pw, "DATABASE_URL", value=uri, needles=(pw,), encodable=False)


@gen("mysql-uri", "database", GENERIC)
def _mysql(rng: random.Random) -> Token:
    pw = password(rng)
    user, db = rng.choice(["root", "wp_user", "svc_billing"]), rng.choice(["wordpress", "billing"])
    uri = f"mysql://{user}:{pw}@{_host(rng)}:3306/{db}"
    return _tok(
        "database",
        "mysql-uri",
        GENERIC,
        pw,
        _pick(rng, "MYSQL_URL", "DATABASE_URL"),
        value=uri,
        needles=(pw,),
        encodable=False,
    )


@gen("mongodb-uri", "database", GENERIC)
def _mongo(rng: random.Random) -> Token:
    pw = password(rng)
    if rng.random() < 0.5:
        user, cluster = rng.choice(["admin", "api-svc"]), rand(rng, LOWER_ALNUM, 5)
        uri = f"mongodb+srv://{user}:{pw}@cluster0.{cluster}.mongodb.net/app?retryWrites=true&w=majority"
    else:
        user = rng.choice(["root", "reporting"])
        uri = f"mongodb://{user}:{pw}@mongo-0.mongo:27017,mongo-1.mongo:27017/admin?replicaSet=rs0"
    return _tok("database", "mongodb-uri", GENERIC, pw, "MONGODB_URI", value=uri, needles=(pw,), encodable=False)


@gen("basic-auth-url", "url-credentials", GENERIC)
def _basic_url(rng: random.Random) -> Token:
    pw = password(rng)
    host = rng.choice(
        [
            "nexus.acme.io/repository/pypi-internal/simple",
            "artifactory.northwind.net/api/npm/npm-local/",
            "git.acme.io/platform/infra.git",
            "registry.internal:5000/v2/",
        ]
    )
    uri = f"https://{rng.choice(['deploy', 'ci-reader', 'jenkins'])}:{pw}@{host}"
    return _tok(
        "url-credentials",
        "basic-auth-url",
        GENERIC,
        pw,
        _pick(rng, "PIP_INDEX_URL", "REPO_URL", "REGISTRY_URL"),
        value=uri,
        needles=(pw,),
        encodable=False,
    )


@gen("auth-header-bearer", "auth-header", GENERIC)
def _bearer(rng: random.Random) -> Token:
    s = rand(rng, ALNUM, rng.choice([32, 40, 48]))
    return _tok("auth-header", "auth-header-bearer", GENERIC, s, "AUTHORIZATION", value=f"Bearer {s}", encodable=False)


@gen("auth-header-basic", "auth-header", GENERIC)
def _basic_header(rng: random.Random) -> Token:
    pw = password(rng)
    enc = b64(f"{rng.choice(['admin', 'svc-report', 'grafana'])}:{pw}".encode())
    return _tok(
        "auth-header",
        "auth-header-basic",
        GENERIC,
        enc,
        "AUTHORIZATION",
        value=f"Basic {enc}",
        needles=(enc, pw),
        encodable=False,
    )


@gen("generic-password", "generic", GENERIC)
def _generic_password(rng: random.Random) -> Token:
    pw = password(rng)
    name = rng.choice(
        ["DB_PASSWORD", "PASSWORD", "SMTP_PASSWORD", "ADMIN_PASSWORD", "REDIS_PASSWORD", "KEYSTORE_PASSWORD"]
    )
    return _tok("generic", "generic-password", GENERIC, pw, name, encodable=False)


@gen("generic-api-key", "generic", GENERIC)
def _generic_api_key(rng: random.Random) -> Token:
    s = rand(rng, rng.choice([ALNUM, ALNUM + "_-"]), rng.choice([32, 40, 48]))
    name = rng.choice(
        ["API_KEY", "SECRET_KEY", "CLIENT_SECRET", "AUTH_TOKEN", "ACCESS_TOKEN", "APP_SECRET", "API_SECRET"]
    )
    return _tok("generic", "generic-api-key", GENERIC, s, name, encodable=False)


# ---------------------------------------------------------------------------------------------------------------
# decoys: values that look like credentials but are not; each is (name, value, kind)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecoyValue:
    kind: str
    name: str
    value: str
    multiline: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)


AWS_EXAMPLE_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def wrong_checksum(rng: random.Random, prefix: str) -> str:
    good = github_style(rng, prefix)
    body, check = good[:-6], good[-6:]
    while True:
        bad = rand(rng, ALNUM, 6)
        if bad != check:
            return body + bad


def decoy_values(rng: random.Random) -> list[DecoyValue]:
    """One of every decoy kind, freshly drawn."""
    sha = rand(rng, HEX, 40)
    out = [
        DecoyValue("placeholder", "API_KEY", "your_api_key_here"),
        DecoyValue("placeholder", "GITHUB_TOKEN", "<TOKEN>"),
        DecoyValue("placeholder", "STRIPE_SECRET_KEY", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"),
        DecoyValue("placeholder", "SECRET_KEY", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        DecoyValue("placeholder", "DB_PASSWORD", "changeme"),
        DecoyValue("placeholder", "AUTH_TOKEN", "<your-token-here>"),
        DecoyValue("placeholder", "SLACK_BOT_TOKEN", "xoxb-your-bot-token"),
        DecoyValue("placeholder", "OPENAI_API_KEY", "sk-...your-key..."),
        DecoyValue("placeholder", "ADMIN_PASSWORD", "********"),
        DecoyValue("placeholder", "CLIENT_SECRET", "REPLACE_ME"),
        DecoyValue("placeholder", "GITHUB_TOKEN", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        DecoyValue("template", "GITHUB_TOKEN", "${GITHUB_TOKEN}"),
        DecoyValue("template", "NPM_TOKEN", "${{ secrets.NPM_TOKEN }}"),
        DecoyValue("template", "API_KEY", "{{ .Values.apiKey }}"),
        DecoyValue("template", "DB_PASSWORD", "{{ vault_db_password }}"),
        DecoyValue("template", "SECRET_KEY", "%SECRET_KEY%"),
        DecoyValue("template", "AUTH_TOKEN", "$AUTH_TOKEN"),
        DecoyValue("env-reference", "STRIPE_SECRET_KEY", 'os.environ["STRIPE_SECRET_KEY"]', tags=frozenset({"code"})),
        DecoyValue("env-reference", "OPENAI_API_KEY", 'os.getenv("OPENAI_API_KEY")', tags=frozenset({"code"})),
        DecoyValue("env-reference", "SLACK_TOKEN", "process.env.SLACK_TOKEN", tags=frozenset({"code"})),
        DecoyValue("env-reference", "DB_PASSWORD", 'System.getenv("DB_PASSWORD")', tags=frozenset({"code"})),
        DecoyValue("aws-example", "AWS_ACCESS_KEY_ID", AWS_EXAMPLE_ID),
        DecoyValue("aws-example", "AWS_SECRET_ACCESS_KEY", AWS_EXAMPLE_SECRET),
        DecoyValue("github-doc-example", "GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        DecoyValue("git-sha", "GIT_COMMIT", sha),
        DecoyValue("git-sha", "BASE_SHA", rand(rng, HEX, 40)),
        DecoyValue("git-sha", "SHORT_SHA", sha[:7]),
        DecoyValue("uuid", "REQUEST_ID", _uuid(rng)),
        DecoyValue("uuid", "IDEMPOTENCY_KEY", _uuid(rng)),
        DecoyValue("uuid", "TENANT_ID", _uuid(rng)),
        DecoyValue("sha256", "IMAGE_DIGEST", "sha256:" + rand(rng, HEX, 64)),
        DecoyValue("sha256", "CHECKSUM", rand(rng, HEX, 64)),
        DecoyValue("sha256", "INTEGRITY", "sha512-" + b64(rand_bytes(rng, 64))),
        DecoyValue("path", "PASSWORD_FILE", "/run/secrets/db_password"),
        DecoyValue("path", "PRIVATE_KEY_PATH", "./certs/server.key"),
        DecoyValue("path", "GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/google/key.json"),
        DecoyValue("path", "SSH_KEY_FILE", "~/.ssh/id_ed25519"),
        DecoyValue("url", "DATABASE_URL", "postgres://db.internal:5432/orders"),
        DecoyValue("url", "API_BASE_URL", "https://api.stripe.com/v1"),
        DecoyValue("url", "AUTH_URL", "https://login.microsoftonline.com/common/oauth2/v2.0/token"),
        DecoyValue("url", "MONGODB_URI", "mongodb://mongo-0.mongo:27017/app?replicaSet=rs0"),
        DecoyValue("url", "REDIS_URL", "redis://cache.internal:6379/0"),
        DecoyValue("wrong-checksum", "GITHUB_TOKEN", wrong_checksum(rng, "ghp")),
        DecoyValue("wrong-checksum", "GITHUB_OAUTH_TOKEN", wrong_checksum(rng, "gho")),
        DecoyValue("wrong-checksum", "NPM_TOKEN", wrong_checksum(rng, "npm")),
        DecoyValue("wrong-checksum", "GITLAB_TOKEN", _gitlab_wrong_crc(rng)),
        DecoyValue("publishable", "STRIPE_PUBLISHABLE_KEY", "pk_live_51" + rand(rng, ALNUM, 97)),
        DecoyValue("publishable", "STRIPE_PUBLISHABLE_KEY", "pk_test_51" + rand(rng, ALNUM, 97)),
        DecoyValue("publishable", "MAPBOX_ACCESS_TOKEN", _mapbox_public(rng)),
        DecoyValue("publishable", "STRIPE_API_KEY", "pk_live_51" + rand(rng, ALNUM, 97)),
        DecoyValue("password-word", "PASSWORD", "password"),
        DecoyValue("password-word", "DB_PASSWORD", "secret"),
        DecoyValue("password-word", "PASSWORD_FIELD", "required"),
        DecoyValue("password-word", "PASSWORD", "string"),
        DecoyValue("password-word", "PASSWORD_LABEL", "Password"),
        DecoyValue("password-word", "PASSWORD_POLICY", "strong"),
        DecoyValue("password-word", "TOKEN_TYPE", "bearer"),
        DecoyValue("version", "API_VERSION", "2023-10-16"),
        DecoyValue("version", "SDK_VERSION", "v4.12.3"),
        DecoyValue("identifier", "SECRET_NAME", "prod/orders/db-credentials"),
        DecoyValue("identifier", "TOKEN_HEADER", "X-Auth-Token"),
        DecoyValue("identifier", "KEY_ID", "alias/orders-kms-key"),
        DecoyValue("non-credential-token", "NEXT_PAGE_TOKEN", b64url(rand_bytes(rng, 24))),
        DecoyValue("non-credential-token", "TOKENIZER", "bert-base-uncased"),
        DecoyValue("documented-example", "SLACK_BOT_TOKEN", "xoxb-not-a-real-token-this-will-not-work"),
    ]
    return out


def public_material(rng: random.Random) -> list[DecoyValue]:
    """Multi-line public material: public keys, an OpenSSH public key line, a certificate."""
    k = rsa_key(rng, 2048)
    pub_pem = pem("PUBLIC KEY", rsa_spki_der(k))
    _, ssh_pub = openssh_private(rng, "ed25519", "ops@laptop")
    tbs = der_seq(
        _der(0xA0, der_int(2)),
        der_int(rng.getrandbits(64)),
        der_seq(der_oid("1.2.840.113549.1.1.11"), DER_NULL),
        der_seq(_der(0x31, der_seq(der_oid("2.5.4.3"), _der(0x0C, b"acme internal CA")))),
        der_seq(_der(0x17, b"250101000000Z"), _der(0x17, b"350101000000Z")),
        der_seq(_der(0x31, der_seq(der_oid("2.5.4.3"), _der(0x0C, b"api.acme.io")))),
        rsa_spki_der(k),
    )
    cert = der_seq(tbs, der_seq(der_oid("1.2.840.113549.1.1.11"), DER_NULL), der_bits(rand_bytes(rng, 256)))
    return [
        DecoyValue("public-key", "PUBLIC_KEY", pub_pem, multiline=True),
        DecoyValue("public-key", "AUTHORIZED_KEY", ssh_pub),
        DecoyValue("certificate", "TLS_CERT", pem("CERTIFICATE", cert), multiline=True),
    ]


def _uuid(rng: random.Random) -> str:
    h = rand(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _gitlab_wrong_crc(rng: random.Random) -> str:
    good = gitlab_routable(rng)
    while True:
        bad = rand(rng, LOWER_ALNUM, 7)
        if bad != good[-7:]:
            return good[:-7] + bad


def _mapbox_public(rng: random.Random) -> str:
    claims = b64url(
        json.dumps(
            {"u": rng.choice(["acme-maps", "northwind"]), "a": rand(rng, LOWER_ALNUM, 25)}, separators=(",", ":")
        ).encode()
    )
    return f"pk.{claims}.{rand(rng, B64URL, 22)}"
