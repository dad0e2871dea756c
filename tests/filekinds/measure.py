"""Scan the generated file-kind corpus as `nhiguard scan` does and measure it: recall, decoys reported, line and
context of every planted credential, findings nobody planted."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nhiguard.config import Config
from nhiguard.model import Finding
from nhiguard.scan import ScanSettings, run_paths
from tests.filekinds.corpus import Case, build, line_of, write


@dataclass
class Result:
    planted: int = 0
    found: int = 0
    wrong_line: list[str] = field(default_factory=list)
    wrong_context: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    decoys: list[str] = field(default_factory=list)
    unplanted: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0


def scan_dir(root: Path) -> list[Finding]:
    report = run_paths([root], Config(root=root), ScanSettings(jobs=1, use_baseline=False))
    return report.findings


def measure(cases: list[Case], findings: list[Finding]) -> Result:
    result = Result()
    by_path: dict[str, list[tuple[Finding, int]]] = {}
    for f in findings:
        for loc in f.locations:
            by_path.setdefault(loc.path, []).append((f, loc.line))
    for case in cases:
        seen = by_path.get(case.path, [])
        claimed: set[int] = set()
        for p in case.planted:
            result.planted += 1
            hits = [(i, f, line) for i, (f, line) in enumerate(seen) if f.secret == p.secret]
            if not hits:
                result.missed.append(f"{case.path}: {p.secret[:4]}… ({p.rule or 'any rule'})")
                continue
            result.found += 1
            claimed.update(i for i, _, _ in hits)
            want = line_of(case, p)
            if not any(line == want for _, _, line in hits):
                result.wrong_line.append(f"{case.path}: want line {want}, got {[ln for _, _, ln in hits]}")
            parts = {k: v for _, f, _ in hits for k, v in f.parts}
            if "username" in parts:  # a provider rule's own name for the user
                parts.setdefault("user", parts["username"])
            bad = {k: v for k, v in p.context.items() if parts.get(k) != v}
            if bad:
                result.wrong_context.append(f"{case.path}: {bad} not in {sorted(parts)}")
            if p.rule and not any(f.rule.id == p.rule for _, f, _ in hits):
                result.wrong_context.append(f"{case.path}: rule {p.rule} not in {[f.rule.id for _, f, _ in hits]}")
        for i, (f, line) in enumerate(seen):
            if i in claimed:
                continue
            if f.secret in case.decoys or any(d in f.secret for d in case.decoys):
                result.decoys.append(f"{case.path}:{line} {f.rule.id}")
            else:
                result.unplanted.append(f"{case.path}:{line} {f.rule.id} {f.secret[:6]}…")
    return result


def run(seed: int = 7) -> tuple[list[Case], Result]:
    cases = build(seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(cases, root)
        findings = scan_dir(root)
    return cases, measure(cases, findings)


if __name__ == "__main__":
    import sys

    for seed in [int(a) for a in sys.argv[1:]] or [7]:
        cases, r = run(seed)
        print(f"seed {seed}: {len(cases)} files, recall {r.found}/{r.planted} = {r.recall:.1%}, decoys "
              f"{len(r.decoys)}, unplanted {len(r.unplanted)}, wrong lines {len(r.wrong_line)}, "
              f"wrong context {len(r.wrong_context)}")
        for name in ("missed", "decoys", "unplanted", "wrong_line", "wrong_context"):
            for item in getattr(r, name):
                print(f"  {name}: {item}")
