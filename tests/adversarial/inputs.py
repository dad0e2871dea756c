"""Hostile inputs, generated at run time (no token literal is ever committed), shared by the adversarial tests
and `bench/adversarial_bench.py`. Each builder takes a size so a test can compare N with 4N."""

from __future__ import annotations

import random
import string

from tests.support.tokens import github_classic

ALNUM = string.ascii_letters + string.digits


def password(seed: int) -> str:
    rng = random.Random(f"pw:{seed}")
    return "".join(rng.choice(ALNUM) for _ in range(14)) + "!7"


def crowded_keywords(nbytes: int) -> tuple[bytes, str]:
    """`a.token=b;` repeated on one line, then a real assignment at the end of that line."""
    secret = "s3cr3tV" + password(1)
    filler = b"a.token=b;" * (nbytes // 10)
    return filler + f'token = "{secret}"\n'.encode(), secret


def nul_then_secret() -> tuple[bytes, str]:
    token = github_classic("nul")
    return b"\0" + b"x" * 100 + b"\n" + f"GITHUB_TOKEN={token}\n".encode(), token


def binary_with_token(nbytes: int = 64 << 10) -> tuple[bytes, str]:
    rng = random.Random("bin")
    token = github_classic("bin")
    blob = bytes(rng.randrange(256) for _ in range(nbytes))
    half = len(blob) // 2
    return blob[:half] + b"\0\0" + token.encode() + b"\0\0" + blob[half:], token


def tokens_per_line(count: int) -> bytes:
    return "".join(f"{github_classic(i)}\n" for i in range(count)).encode()


def tokens_one_line(count: int) -> bytes:
    return (" ".join(github_classic(i) for i in range(count)) + "\n").encode()


def escaped_json_lines(count: int) -> bytes:
    """JSON written inside a string on every line (`"{\\"token\\":\\"ghp_…\\"}"`): each line announces itself to be
    read again unescaped, and each token is found in clear and in the unescaped copy."""
    return "".join(f'body = "{{\\"token\\":\\"{github_classic(f"e{i}")}\\"}}";\n' for i in range(count)).encode()


def escaped_json_one_line(count: int) -> bytes:
    """The same escaped settings all on one line: the line is read unescaped piece by piece, each piece once."""
    return ('body = "{' + ",".join(f'\\"token\\":\\"{github_classic(f"o{i}")}\\"' for i in range(count))
            + '}";\n').encode()


def generic_passwords(count: int) -> bytes:
    return "".join(f'password = "{password(i)}"\n' for i in range(count)).encode()


def one_letter(nbytes: int, letter: bytes = b"A") -> bytes:
    return letter * nbytes


def percent_escapes(nbytes: int) -> bytes:
    return b"%2f" * (nbytes // 3)


def unicode_escapes(nbytes: int) -> bytes:
    """JSON's `\\u0041` on one line: every escape hits a needle, every window decodes to a needle too."""
    return b"\\u0041" * (nbytes // 6)


def aws_pairs(count: int) -> tuple[bytes, int]:
    """Key id and secret pairs, one pair per two lines (dependent-rule pairing over many candidates)."""
    rng = random.Random("aws")
    out = []
    for _ in range(count):
        key_id = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        secret = "".join(rng.choice(ALNUM + "+/") for _ in range(40))
        out.append(f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    return "".join(out).encode(), count


def provider_sections(count: int) -> bytes:
    """YAML sections named for a provider, each with its key a few settings down: every header widens its window."""
    rng = random.Random("sections")
    key = lambda: "".join(rng.choice(ALNUM) for _ in range(40))  # noqa: E731
    return "".join(f"abyssale:\n  enabled: true\n  region: eu\n  api_key: {key()}\n" for _ in range(count)).encode()


def named_log_lines(count: int) -> bytes:
    """Log lines naming a provider, each above a line that assigns a key: the name-above look-behind at every key."""
    rng = random.Random("logs")
    key = lambda: "".join(rng.choice(ALNUM) for _ in range(40))  # noqa: E731
    return "".join(f"[INFO] Sending request to the abyssale API\n[DEBUG] Using API_KEY={key()}\n"
                   for _ in range(count)).encode()


def env_pairs(count: int) -> bytes:
    """A Kubernetes container's env list of `count` two-line name/value pairs, each value a password under a
    token-like name (every pair is rescanned; the generic rule reports each)."""
    return "".join(f"        - name: SERVICE_{i}_TOKEN\n          value: \"{password(i)}\"\n"
                   for i in range(count)).encode()


def wrapped_base64(nbytes: int) -> bytes:
    """`base64` output (76 a line) of text full of token needles with no token: every line hits, one block."""
    import base64

    return base64.encodebytes(b"GITHUB_TOKEN=ghp_ " * (nbytes * 3 // 4 // 17))


def xml_doctype(repeats: int = 60) -> bytes:
    """A Maven settings.xml with a token, then a DOCTYPE of `[]` pairs that never closes (exponential for a
    backtracking tokenizer)."""
    token = github_classic("doctype")
    return (f"<settings><servers><server><id>gh</id><password>{token}</password></server></servers></settings>\n"
            f"<!DOCTYPE x {'[]' * repeats}\n").encode()


def yaml_blank_line(width: int = 6000) -> bytes:
    """A compose file with a token, then one line of spaces with no colon (cubic for a lazy key before blanks)."""
    token = github_classic("compose")
    return f"services:\n  app:\n    environment:\n      GITHUB_TOKEN: {token}\n{' ' * width}x\n".encode()
