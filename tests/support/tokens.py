"""Fake credentials generated at test time (valid formats and checksums, random bodies).

Test files never hold token literals: the repository must scan clean with its own tool.
"""

from __future__ import annotations

import random
import string

from nhiguard.engine.score import base62_crc32

ALNUM = string.ascii_letters + string.digits


def github_classic(seed: int | str = 0) -> str:
    rng = random.Random(f"ghp:{seed}")
    body = "".join(rng.choice(ALNUM) for _ in range(30))
    return "ghp" + "_" + body + base62_crc32(body)


def github_classic_bad_checksum(seed: int | str = 0) -> str:
    good = github_classic(seed)
    last = "A" if good[-1] != "A" else "B"
    return good[:-1] + last


def _rand(kind: str, seed: int | str, n: int, alphabet: str = ALNUM) -> str:
    rng = random.Random(f"{kind}:{seed}")
    while True:
        body = "".join(rng.choice(alphabet) for _ in range(n))
        if alphabet != ALNUM or (any(c.isupper() for c in body) and any(c.islower() for c in body)
                                 and sum(c.isdigit() for c in body) >= 2):
            return body


def github_fine_grained(seed: int | str = 0) -> str:
    return "github" + "_pat_" + "11" + _rand("ghf", seed, 20) + "_" + _rand("ghf2", seed, 59)


def gitlab_pat(seed: int | str = 0) -> str:
    return "glpat" + "-" + _rand("glpat", seed, 20)


def slack_bot(seed: int | str = 0) -> str:
    digits = _rand("xoxbd", seed, 12, string.digits)
    return "xoxb" + "-" + digits[:10] + "-" + digits[:12] + "-" + _rand("xoxb", seed, 24)


def vault_token(seed: int | str = 0) -> str:
    return "hvs" + "." + _rand("hvs", seed, 90)


def doppler_personal(seed: int | str = 0) -> str:
    return "dp.pt" + "." + _rand("dppt", seed, 43)


def discord_webhook(seed: int | str = 0) -> str:
    return ("https://" + "discord.com/api/webhooks/" + _rand("dwid", seed, 18, string.digits) + "/"
            + _rand("dwtok", seed, 68))


def digitalocean_pat(seed: int | str = 0) -> str:
    return "dop" + "_v1_" + _rand("dop", seed, 64, "0123456789abcdef")


def npm_token(seed: int | str = 0) -> str:
    body = _rand("npm", seed, 30)
    return "npm" + "_" + body + base62_crc32(body)


def github_installation(seed: int | str = 0) -> str:
    body = _rand("ghs", seed, 30)
    return "ghs" + "_" + body + base62_crc32(body)


def heroku_api_key(seed: int | str = 0) -> str:
    return "HRKU" + "-AA" + _rand("hrku", seed, 58, ALNUM + "-_")


def heroku_authorization_id(seed: int | str = 0) -> str:
    hexa = _rand("hrkid", seed, 32, "0123456789abcdef")
    return "-".join((hexa[:8], hexa[8:12], hexa[12:16], hexa[16:20], hexa[20:]))
