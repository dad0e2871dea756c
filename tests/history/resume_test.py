"""An interrupted sweep goes on where it stopped, with the same result as one uninterrupted run, and its saved
state never holds a secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nhiguard.history import sweep as history_sweep
from nhiguard.history.resume import cache_dir
from nhiguard.history.sweep import HistoryOptions, Interrupted, run_history
from tests.history.kit import ALICE, BOB, Repo, locations, sweep, token


@pytest.fixture
def busy(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "busy")
    for i in range(12):
        for j in range(4):
            body = f"file {i}.{j}\n" * (j + 1)
            if (i + j) % 5 == 0:
                body += f"TOKEN_{j} = '{token(f'busy-{i}-{j}')}'\n"
            repo.write(f"d{j}/f{i}.txt", body)
        repo.commit(f"round {i}", ALICE if i % 2 else BOB)
        if i % 4 == 3:
            repo.remove(f"d0/f{i - 1}.txt")
    repo.commit("tidy")
    return repo


def _state_bytes() -> bytes:
    out = b""
    for root, _, files in os.walk(cache_dir()):
        for name in files:
            out += Path(root, name).read_bytes()
    return out


def test_interrupt_then_resume_equals_one_run(busy: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = sweep(busy.path)
    assert len(whole.report.findings) >= 8
    monkeypatch.setattr(history_sweep, "BATCH_BLOBS", 4)
    with pytest.raises(Interrupted) as stopped:
        run_history(busy.path, *_defaults(busy.path), HistoryOptions(progress=False), stop_after=3)
    assert stopped.value.done == 12 and stopped.value.total == whole.blobs
    assert "--resume" in str(stopped.value)
    saved = _state_bytes()
    assert saved and not any(f.secret.encode() in saved for f in whole.report.findings)
    resumed = sweep(busy.path, HistoryOptions(resume=True, progress=False))
    assert resumed.resumed == 12
    assert locations(resumed) == locations(whole)
    assert resumed.present_at_head == whole.present_at_head
    assert resumed.report.stats.files == whole.report.stats.files
    assert resumed.report.stats.bytes == whole.report.stats.bytes
    assert _state_bytes() == b""  # finished: the state is gone


def test_twice_interrupted_and_workers(busy: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = sweep(busy.path)
    monkeypatch.setattr(history_sweep, "BATCH_BLOBS", 3)
    monkeypatch.setattr(history_sweep, "PARALLEL_MIN_STORED", 0)
    monkeypatch.setattr(history_sweep, "PARALLEL_MIN_BYTES", 0)
    for _ in range(2):
        # (workers scan ahead of the history walk: the total is the walk's, or the listing's if the walk is not done)
        with pytest.raises(Interrupted) as stopped:
            run_history(busy.path, *_defaults(busy.path, jobs=2), HistoryOptions(resume=True, progress=False),
                                 stop_after=2)
        assert stopped.value.total == whole.blobs
    resumed = sweep(busy.path, HistoryOptions(resume=True, progress=False), jobs=2)
    assert resumed.resumed >= 12
    assert locations(resumed) == locations(whole)


def test_without_resume_a_sweep_starts_over(busy: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_sweep, "BATCH_BLOBS", 4)
    with pytest.raises(Interrupted):
        run_history(busy.path, *_defaults(busy.path), HistoryOptions(progress=False), stop_after=2)
    fresh = sweep(busy.path)
    assert fresh.resumed == 0


def test_other_options_do_not_share_state(busy: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_sweep, "BATCH_BLOBS", 4)
    with pytest.raises(Interrupted):
        run_history(busy.path, *_defaults(busy.path), HistoryOptions(progress=False), stop_after=2)
    other = sweep(busy.path, HistoryOptions(resume=True, exclude_paths=("d3/**",), progress=False))
    assert other.resumed == 0


def test_a_killed_cli_run_resumes(busy: Repo, tmp_path: Path) -> None:
    """SIGTERM in the middle of a real run (slowed down by a tiny batch size), then `--resume`."""
    script = (
        "import sys, time\n"
        "from nhiguard import cli\n"
        "from nhiguard.history import sweep\n"
        "sweep.BATCH_BLOBS = 1\n"
        "real = sweep._scan_batch\n"
        "def slow(batch):\n"
        "    time.sleep(0.05)\n"
        "    return real(batch)\n"
        "sweep._scan_batch = slow\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    args = [sys.executable, "-c", script, "history", str(busy.path), "--no-progress", "-j", "1", "-f", "json"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    log = None
    while time.monotonic() < deadline:
        logs = list(cache_dir().glob("*/blobs.log")) if cache_dir().exists() else []
        if logs and logs[0].stat().st_size >= 21 * 5:
            log = logs[0]
            break
        time.sleep(0.02)
    assert log is not None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err
    from tests.support.cli import run_cli

    done = run_cli("history", busy.path, "--no-progress", "--resume", "-f", "json", "--show-secrets")
    assert done.returncode == 1
    assert "done by the interrupted run" in done.stderr
    whole = sweep(busy.path)
    import json

    doc = json.loads(done.stdout)
    assert {f["secret"] for f in doc["findings"]} == {f.secret for f in whole.report.findings}


def _defaults(path: Path, **settings: object) -> tuple[object, object]:
    from nhiguard.config import Config
    from nhiguard.scan import ScanSettings

    return Config(root=path), ScanSettings(**settings)  # type: ignore[arg-type]
