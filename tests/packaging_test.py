"""The wheel ships every rule file inside the package and the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_rules_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("nhiguard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    rule_files = sorted(p.name for p in (ROOT / "rules").glob("*.yml"))
    assert rule_files
    missing = [n for n in rule_files if f"nhiguard/_rules/{n}" not in names]
    assert not missing, missing
    assert "nhiguard/cli.py" in names and "nhiguard/reporters/sarif.py" in names
    assert not any(n.startswith("tests/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nhiguard = nhiguard.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
