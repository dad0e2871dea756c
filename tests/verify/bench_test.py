"""The measurement in bench/verify_bench.py as a test: 500 findings against the local server with bounded
concurrency. It asserts the bound (requests in flight and open connections to the one host), never a time."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "verify_bench.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_500_findings_stay_within_the_per_host_bound() -> None:
    result = _bench().measure(findings=500, per_host=6, workers=32, latency_ms=10)
    assert result["verdicts"] == {"live": 500}
    assert 2 <= result["peak_in_flight_server"] <= 6
    assert result["peak_open_connections_server"] <= 6
    assert all(peak <= 6 for peak in result["peak_in_flight_client_per_host"].values())
    assert result["audit_lines"] == result["requests_seen_by_server"] >= 450
    print(f"\n500 findings: {result['seconds']} s, peak {result['peak_in_flight_server']} in flight, "
          f"{result['peak_open_connections_server']} connections per host (limit 6)")
