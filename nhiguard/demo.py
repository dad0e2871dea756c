"""`nhiguard demo`: a sample project with planted, generated fake credentials, scanned end to end.

Tokens are generated at run time (valid formats and checksums, random bodies), so nothing in this source file
is itself a finding, and no demo token can be live.
"""

from __future__ import annotations

import base64
import random
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

from nhiguard.engine.score import base62_crc32

_ALNUM = string.ascii_letters + string.digits


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _github(rng: random.Random) -> str:
    body = _rand(rng, _ALNUM, 30)
    return "ghp" + "_" + body + base62_crc32(body)


def sample_files(seed: int = 7) -> dict[str, str]:
    rng = random.Random(seed)
    key_id = "AKIA" + _rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    secret_key = _rand(rng, _ALNUM + "+/", 40)
    upper = string.ascii_uppercase + string.digits
    team, bot, path = _rand(rng, upper, 10), _rand(rng, upper, 10), _rand(rng, _ALNUM, 24)
    slack = f"https://hooks.slack.com/services/T{team}/B{bot}/{path}"
    stripe = "sk" + "_live_" + _rand(rng, _ALNUM, 24)
    password = _rand(rng, _ALNUM + "!#%", 18)
    github = _github(rng)
    encoded = base64.b64encode(f"GITHUB_TOKEN={_github(rng)}\n".encode()).decode()
    return {
        "README.md": "# payments-service\n\nSet `STRIPE_KEY` in your environment (see `.env.example`).\n",
        ".env.example": "STRIPE_KEY=sk_live_your_key_here\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
        "config/settings.py": (
            "import os\n\n"
            f'GITHUB_TOKEN = "{github}"\n'
            'DATABASE_URL = os.environ["DATABASE_URL"]\n'
            f'SLACK_WEBHOOK = "{slack}"\n'
        ),
        "deploy/aws.env": f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret_key}\nAWS_REGION=eu-west-1\n",
        "src/billing.js": f"const stripe = require('stripe')('{stripe}');\nmodule.exports = stripe;\n",
        "docker-compose.yml": (
            "services:\n  db:\n    image: postgres:16\n    environment:\n"
            f"      POSTGRES_PASSWORD: {password}\n"
        ),
        "k8s/secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\ndata:\n"
            f"  env: {encoded}\n"
        ),
        "package-lock.json": '{"integrity": "sha512-'
        + base64.b64encode(rng.randbytes(64)).decode()
        + '"}\n',
    }


def write_sample(directory: Path, seed: int = 7) -> None:
    for name, content in sample_files(seed).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def run_demo(keep: Path | None, *, echo: Callable[[str], None]) -> int:
    from nhiguard import config
    from nhiguard.reporters import REPORTERS
    from nhiguard.scan import ScanSettings, run_paths

    with tempfile.TemporaryDirectory(prefix="nhiguard-demo-") as tmp:
        target = keep or Path(tmp) / "payments-service"
        target.mkdir(parents=True, exist_ok=True)
        write_sample(target)
        echo(f"Sample project with generated fake credentials: {target}\n")
        report = run_paths([target], config.load(None, target), ScanSettings())
        echo(REPORTERS["text"](report, show_secrets=False, color=False))
        echo("The demo planted these on purpose; `nhiguard scan PATH` exits 1 when it finds any.")
        return 0 if report.findings else 1
