"""What file-kind detectors cost on a tree of ordinary code: `nhiguard scan` with them and without them (every
file-kind rule disabled, so the engine skips the step), runs alternated, medians printed.

    python bench/filekind_cost.py --tree PATH [--runs 5] [--jobs N]
    python bench/filekind_cost.py --tree PATH --cpu      # in one process: CPU seconds of the engine, with and
                                                         # without file kinds (steadier on a loaded machine)
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nhiguard import filekinds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args()
    if args.cpu:
        return cpu(args.tree, args.runs)
    out = Path(tempfile.mkdtemp(prefix="nhiguard-fk-"))
    on = out / "on.yml"
    on.write_text("{}\n")
    off = out / "off.yml"
    off.write_text("disable:\n" + "".join(f"  - {r.id}\n" for r in filekinds.rules()))
    exe = str(Path(sys.executable).parent / "nhiguard")
    times: dict[str, list[float]] = {"with": [], "without": []}
    cpu_times: dict[str, list[float]] = {"with": [], "without": []}
    findings: dict[str, int] = {}
    for i in range(args.runs * 2):
        name, config = (("with", on), ("without", off))[i % 2] if (i // 2) % 2 == 0 else (("without", off),
                                                                                          ("with", on))[i % 2]
        cmd = [exe, "scan", str(args.tree), "-c", str(config), "-f", "json", "-o", str(out / f"{name}.json"),
               "--max-file-size", "1GB", "--no-color"] + (["-j", str(args.jobs)] if args.jobs else [])
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times[name].append(time.perf_counter() - started)
        cpu_times[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        import json

        findings[name] = len(json.loads((out / f"{name}.json").read_text())["findings"])
    medians = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    cpus = {k: sorted(v)[len(v) // 2] for k, v in cpu_times.items()}
    for k, v in times.items():
        print(f"{k:<8} median {medians[k]:.2f}s wall, {cpus[k]:.2f}s CPU  runs {', '.join(f'{t:.2f}' for t in v)}"
              f"  findings {findings[k]}")
    print(f"cost of file kinds: {medians['with'] / medians['without'] - 1:+.1%} wall, "
          f"{cpus['with'] / cpus['without'] - 1:+.1%} CPU")
    return 0


def cpu(tree: Path, runs: int) -> int:
    from nhiguard import ruleset
    from nhiguard.engine import Engine
    from nhiguard.model import Chunk
    from nhiguard.sources import files

    refs = [r for r in files.walk([tree], allow_paths=(), max_size=1 << 30, display_base=tree)
            if isinstance(r, files.FileRef)]
    chunks = [c for c in map(files.read, refs) if isinstance(c, Chunk)]
    rules = {"without": ruleset.load_builtin(), "with": [*ruleset.load_builtin(), *filekinds.rules()]}
    Engine(rules["with"]).scan(chunks[0])  # imports and lazy compilation out of the way
    times: dict[str, list[float]] = {"with": [], "without": []}
    for i in range(runs * 2):
        name = ("with", "without")[(i + i // 2) % 2]
        engine = Engine(rules[name])  # a fresh engine: no line cache carried over from the previous run
        started = time.process_time()
        found = sum(len(engine.scan(c)) for c in chunks)
        times[name].append(time.process_time() - started)
        print(f"  {name:<8} {times[name][-1]:.2f} CPU s, {found} matches", file=sys.stderr)
    medians = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"{len(chunks)} files; engine CPU median with {medians['with']:.2f}s, without {medians['without']:.2f}s: "
          f"{medians['with'] / medians['without'] - 1:+.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
