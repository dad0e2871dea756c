"""Verification throughput with bounded concurrency: N findings against a local HTTPS server on 127.0.0.1.

Findings are spread over every verified rule (each rule's own request, its recorded live answer), all routed to one
local host through the endpoint override, so nhiguard's per-host limit is what bounds the concurrency. The server
adds a fixed latency per request (a provider is never instant) and counts requests in flight and open TCP
connections; the client reports its own peak per host.

    python bench/verify_bench.py [--findings 500] [--per-host 8] [--workers 32] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nhiguard import ruleset  # noqa: E402
from nhiguard.http import HttpSettings  # noqa: E402
from nhiguard.verify.phase import Verification, VerifyOptions, parse_override  # noqa: E402
from tests.support.providers import ProviderServer, Reply  # noqa: E402
from tests.verify import kit  # noqa: E402


def measure(findings: int = 500, per_host: int = 8, workers: int = 32, latency_ms: float = 20.0,
            rate_per_host: float = 0.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = ProviderServer(work / "tls", latency=latency_ms / 1000)
        try:
            rules = kit.verified_rules(ruleset.load_builtin())
            rng = random.Random("verify-bench")
            targets = [kit.target_for(rules[i % len(rules)], rng) for i in range(findings)]
            for rule in rules:
                live = next(c for c in ruleset.verify_spec(rule).cases if c.expect == "live")  # type: ignore[union-attr]
                server.scenarios[rule.id] = Reply(live.status, dict(live.headers), live.body.encode())
            settings = HttpSettings(connect_timeout=5, read_timeout=10, retries=1, backoff=0.05,
                                    per_host=per_host, rate_per_host=rate_per_host)
            options = VerifyOptions(
                overrides=tuple(parse_override(f"{r.id}={server.endpoint(r.id)}") for r in rules),
                ca_bundle=str(server.ca_path), intrusive=True, audit_log=work / "audit.jsonl", workers=workers,
                http=settings,
            )
            items = [t.finding() for t in targets]
            started = time.monotonic()
            with Verification(options) as run:
                stats = run.verify(items)
            seconds = time.monotonic() - started
            statuses: dict[str, int] = {}
            for item in items:
                statuses[item.verdict.status] = statuses.get(item.verdict.status, 0) + 1
            audit_lines = len((work / "audit.jsonl").read_text(encoding="utf-8").splitlines())
            return {
                "findings": findings,
                "rules": len(rules),
                "per_host_limit": per_host,
                "workers": workers,
                "server_latency_ms": latency_ms,
                "seconds": round(seconds, 3),
                "findings_per_second": round(findings / seconds, 1),
                "verdicts": statuses,
                "requests_seen_by_server": len(server.seen),
                "peak_in_flight_server": server.peak_active,
                "peak_open_connections_server": server.peak_connections,
                "tcp_connections_opened": server.total_connections,
                "peak_in_flight_client_per_host": stats.peak_per_host,
                "audit_lines": audit_lines,
            }
        finally:
            server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=500)
    parser.add_argument("--per-host", type=int, default=8)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=0.0, help="requests per second per host (0: unlimited)")
    args = parser.parse_args()
    result = measure(args.findings, args.per_host, args.workers, args.latency_ms, args.rate)
    print(json.dumps(result, indent=2))
    bound = result["per_host_limit"]
    ok = result["peak_in_flight_server"] <= bound and result["peak_open_connections_server"] <= bound
    print(f"\n{result['findings']} findings verified in {result['seconds']} s "
          f"({result['findings_per_second']}/s); peak {result['peak_in_flight_server']} requests in flight and "
          f"{result['peak_open_connections_server']} open connections to the one host (limit {bound}): "
          f"{'within' if ok else 'OVER'} the bound")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
