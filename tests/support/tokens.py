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
