"""action.yml: valid against the published GitHub Actions metadata schema, free of script injection, and its scan
script turns the inputs into exactly the intended `nhiguard ci` arguments."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
INPUTS = {"config", "baseline", "fail-on", "verify", "sarif", "args", "python-version", "comment", "github-token"}


def _action() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return doc


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _action()["runs"]["steps"]
    return steps


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-actions", str(path)],
                          capture_output=True, text=True, check=False, timeout=120)


def test_action_validates_against_the_github_actions_schema() -> None:
    done = _schema_check(ACTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_the_schema_check_rejects_a_broken_action(tmp_path: Path) -> None:
    """The check has teeth: a composite `run` step without `shell` is invalid metadata."""
    broken = tmp_path / "action.yml"
    broken.write_text(ACTION.read_text(encoding="utf-8").replace("      shell: bash\n", "", 1), encoding="utf-8")
    done = _schema_check(broken)
    assert done.returncode == 1, done.stdout


def test_no_expression_is_interpolated_inside_a_run_script() -> None:
    """`${{ … }}` in a `run:` is pasted into the script before the shell parses it: script injection. Inputs (and
    every other expression) must reach the shell through `env:`."""
    scripts = [step["run"] for step in _steps() if "run" in step]
    assert len(scripts) == 2
    for script in scripts:
        assert "${{" not in script, script
    # Nor anywhere else an input could be evaluated as code: the only expressions are in `env:`, `with:` and
    # the outputs' `value:`.
    for step in _steps():
        for key, value in step.items():
            if key not in ("env", "with"):
                assert "${{" not in str(value), (key, value)


def test_every_input_reaches_the_scan_through_env_and_outputs_map_to_the_step() -> None:
    action = _action()
    assert set(action["inputs"]) == INPUTS
    used = set()
    for step in _steps():
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values()]:
            used.update(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", str(value)))
    assert used == INPUTS
    assert {name: out["value"] for name, out in action["outputs"].items()} == {
        "findings": "${{ steps.scan.outputs.findings }}",
        "new-findings": "${{ steps.scan.outputs.new-findings }}",
        "sarif": "${{ steps.scan.outputs.sarif }}",
    }
    assert action["runs"]["using"] == "composite"
    assert _steps()[0]["uses"].startswith("actions/setup-python@")
    install = _steps()[1]["run"]
    assert '"$GITHUB_ACTION_PATH"' in install  # the action's own checkout: `@TAG` runs that tag's code


def _scan_step() -> dict[str, Any]:
    return next(step for step in _steps() if step.get("id") == "scan")


def _run_scan_script(tmp_path: Path, inputs: dict[str, str], *, status: int = 0) -> list[str]:
    """Run the scan step's script as the runner would (bash, the step's env with inputs substituted), with a
    stand-in `nhiguard` that prints the arguments it was given, one per line."""
    tmp_path.mkdir(exist_ok=True)
    runner_temp = tmp_path / "runner"
    bin_dir = runner_temp / "nhiguard-venv" / "bin"
    bin_dir.mkdir(parents=True)
    stub = bin_dir / "nhiguard"
    stub.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n', encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "python").symlink_to(sys.executable)
    defaults = {name: str(spec.get("default", "")) for name, spec in _action()["inputs"].items()}
    values = {**defaults, **inputs}
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(runner_temp), "RUNNER_OS": "Linux"}
    for name, expression in _scan_step()["env"].items():
        m = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", expression)
        assert m is not None, expression
        env[name] = values[m[1]]
    done = subprocess.run(["bash", "-c", _scan_step()["run"]], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == status, done.stderr
    return done.stdout.splitlines()


def test_scan_script_passes_the_defaults(tmp_path: Path) -> None:
    assert _run_scan_script(tmp_path, {}) == ["ci", "--fail-on", "low", "--sarif", "nhiguard.sarif"]


def test_scan_script_passes_every_input(tmp_path: Path) -> None:
    argv = _run_scan_script(tmp_path, {
        "config": "ci/nhiguard config.yml", "baseline": ".nhiguard-baseline.json", "fail-on": "high",
        "verify": "true", "sarif": "out/results.sarif", "args": "--disable generic-password  --jobs 2",
    })
    assert argv == ["ci", "--fail-on", "high", "--sarif", "out/results.sarif", "--config", "ci/nhiguard config.yml",
                    "--baseline", ".nhiguard-baseline.json", "--verify", "--disable", "generic-password", "--jobs",
                    "2"]


@pytest.mark.parametrize("hostile", [
    '$(touch PWNED) `touch PWNED` ; touch PWNED && echo "quoted" *',
    "x'; touch PWNED; echo '",
])
def test_hostile_inputs_stay_data(tmp_path: Path, hostile: str) -> None:
    argv = _run_scan_script(tmp_path, {"config": hostile, "args": hostile, "sarif": hostile})
    assert argv[:5] == ["ci", "--fail-on", "low", "--sarif", hostile]
    assert argv[5:7] == ["--config", hostile]
    assert argv[7:] == shlex.split(hostile)  # split like a shell: no expansion, no globbing, no command run
    assert not (tmp_path / "PWNED").exists()


def test_args_are_split_like_a_shell_and_a_bad_quote_stops_the_step(tmp_path: Path) -> None:
    argv = _run_scan_script(tmp_path / "a", {"args": "--exclude-path 'docs/my notes/*' --disable \"generic password\""})
    assert argv[5:] == ["--exclude-path", "docs/my notes/*", "--disable", "generic password"]
    stopped = _run_scan_script(tmp_path / "b", {"args": "--exclude-path 'unclosed"}, status=2)
    assert stopped == ["::error title=nhiguard::the args input is not valid shell words (an unclosed quote?)"]


def test_comment_input_asks_for_the_pull_request_comment(tmp_path: Path) -> None:
    assert _run_scan_script(tmp_path, {"comment": "true"})[5:] == ["--comment"]
    assert _scan_step()["env"]["NHIGUARD_GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    assert _action()["inputs"]["github-token"]["default"] == "${{ github.token }}"


def test_verify_input_matches_an_existing_option() -> None:
    from tests.support.cli import run_cli

    done = run_cli("ci", "--help")
    assert done.returncode == 0
    for option in ("--fail-on", "--sarif", "--config", "--baseline", "--verify", "--range", "--comment"):
        assert option in done.stdout, option


def test_the_readme_workflows_validate_against_the_github_workflow_schema(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    workflows = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "\njobs:" in block]
    assert len(workflows) == 2
    for i, block in enumerate(workflows):
        path = tmp_path / f"workflow-{i}.yml"
        path.write_text(block, encoding="utf-8")
        done = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
                              capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        uses = re.findall(r"uses: (\S+)", block)
        assert all("${{" not in u for u in uses)
    assert "security-events: write" in workflows[0] and "fetch-depth: 0" in workflows[0]
    assert "nhiguard history" in workflows[1]
