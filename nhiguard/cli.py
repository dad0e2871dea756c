"""Command line: options → typed values → one orchestration call → exit code. The only click user.

Imports of the heavier modules happen inside commands, so `--help` and a pre-commit run start fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nhiguard import __version__
from nhiguard.constants import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INTERNAL, EXIT_USAGE
from nhiguard.errors import NhiguardError

if TYPE_CHECKING:
    from nhiguard.model import Report
    from nhiguard.scan import ScanSettings

FORMATS = ("text", "json", "sarif", "junit")


def _size(value: str | None) -> int | None:
    if value is None:
        return None
    from nhiguard.config import parse_size

    return parse_size(value, where="--max-file-size")


def _use_color(option: bool | None, output: str | None) -> bool:
    if option is not None:
        return option
    if output or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def emit(report: Report, fmt: str, output: str | None, *, show_secrets: bool, color: bool | None) -> None:
    from nhiguard.reporters import REPORTERS

    text = REPORTERS[fmt](report, show_secrets=show_secrets, color=_use_color(color, output))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        if fmt != "text":
            click.echo(f"nhiguard: {len(report.findings)} finding(s); {fmt} report written to {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def exit_code(report: Report) -> int:
    return EXIT_FINDINGS if report.findings else EXIT_CLEAN


# -- shared options -----------------------------------------------------------------------------------------
def scan_options(func: Any) -> Any:
    options = [
        click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), help="Config file."),
        click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True),
        click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file."),
        click.option("--baseline", type=click.Path(path_type=Path), help="Report only findings not in it."),
        click.option("--no-baseline", is_flag=True, help="Ignore the configured baseline."),
        click.option("--show-secrets", is_flag=True, help="Print secrets in full (redacted by default)."),
        click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal)."),
        click.option("--max-file-size", help="Skip larger files, e.g. 10MB (default from config, else 10MB)."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), help="Processes to use (default: all cores)."),
        click.option("--rules", "extra_rules", multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Extra rule file or folder (repeatable)."),
        click.option("--disable", "disabled", multiple=True, help="Rule id to turn off (repeatable)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings_from(opts: dict[str, Any]) -> ScanSettings:
    from nhiguard.scan import ScanSettings

    return ScanSettings(
        show_secrets=opts["show_secrets"],
        jobs=opts["jobs"],
        extra_rules=tuple(opts["extra_rules"]),
        disabled=tuple(opts["disabled"]),
        baseline_path=opts["baseline"],
        max_file_size=_size(opts["max_file_size"]),
        use_baseline=not opts["no_baseline"],
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="nhiguard")
def cli() -> None:
    """nhiguard: find leaked machine credentials, prove which are live, and clean them up."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@scan_options
def scan(paths: tuple[Path, ...], **opts: Any) -> int:
    """Scan files and folders (default: the current folder); '-' reads standard input."""
    from nhiguard import config as config_mod
    from nhiguard.errors import SourceError
    from nhiguard.scan import run_paths

    stdin = any(str(p) == "-" for p in paths)
    targets = [p for p in paths if str(p) != "-"] or ([] if stdin else [Path(".")])
    for target in targets:
        if not os.path.lexists(target):
            raise SourceError(f"{target}: no such file or folder")
    config = config_mod.load(opts["config_path"], targets[0] if targets else Path("."))
    report = run_paths(targets, config, settings_from(opts), stdin=stdin)
    emit(report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
    return exit_code(report)


@cli.command("git")
@click.argument("repo", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--staged", is_flag=True, help="Scan the lines the next commit would add (pre-commit).")
@click.option("--range", "revision_range", metavar="BASE..HEAD",
              help="Scan the lines added by the commits of HEAD that BASE lacks (an all-zero BASE: a new branch).")
@click.option("--since-commit", metavar="SHA", help="Same as --range SHA..HEAD.")
@click.option("--pre-push", is_flag=True,
              help="Scan the commits being pushed (pre-commit's PRE_COMMIT_FROM_REF/TO_REF, or git's hook input).")
@click.option("--remote", metavar="NAME", help="With --pre-push: the remote pushed to (default: from the hook).")
@scan_options
def git_cmd(repo: Path, staged: bool, revision_range: str | None, since_commit: str | None, pre_push: bool,
            remote: str | None, **opts: Any) -> int:
    """Scan only what git changes add: staged lines, a commit range, or a push. Findings name the commit,
    author, date, path and new line number that added them."""
    chosen = [name for name, on in (("--staged", staged), ("--range", revision_range is not None),
                                    ("--since-commit", since_commit is not None), ("--pre-push", pre_push)) if on]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --staged, --range, --since-commit, --pre-push"
                               + (f" (got {', '.join(chosen)})" if chosen else ""))
    from nhiguard import hook

    found = hook.open_repo(repo)
    config = hook.load_config(found, opts["config_path"])
    if staged:
        report = hook.run_git(found, config, settings_from(opts), staged=True, target=f"staged changes in {repo}")
    else:
        if revision_range is not None:
            walks = [hook.range_revisions(found, revision_range)]
        elif since_commit is not None:
            walks = [hook.since_revisions(found, since_commit)]
        else:
            framework = hook.under_pre_commit(os.environ)
            if not framework and (sys.stdin is None or sys.stdin.isatty()):
                raise click.UsageError("--pre-push runs as a pre-push hook: it reads pre-commit's PRE_COMMIT_FROM_REF/"
                                       "PRE_COMMIT_TO_REF or git's '<local ref> <oid> <remote ref> <oid>' lines on "
                                       "standard input (to scan commits by hand, use --range)")
            lines = [] if framework or sys.stdin is None else sys.stdin.read().splitlines()
            walks = hook.pre_push_revisions(found, os.environ, lines, remote)
        target = ", ".join(w.label for w in walks) or "nothing to push"
        report = hook.run_git(found, config, settings_from(opts), revisions=walks, target=target)
    emit(report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
    return exit_code(report)


@cli.group()
def rules() -> None:
    """List the rules, or check rule files."""


@rules.command("list")
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(exists=True, path_type=Path))
def rules_list(fmt: str, extra_rules: tuple[Path, ...]) -> int:
    """Every rule with its provider, severity and confidence."""
    import json

    from nhiguard import ruleset

    loaded = ruleset.merge(ruleset.load_builtin(), ruleset.load_paths(extra_rules))
    loaded.sort(key=lambda r: (r.provider, r.id))
    providers = sorted({r.provider for r in loaded})
    if fmt == "json":
        rows = [
            {
                "id": r.id, "name": r.name, "provider": r.provider, "severity": r.severity,
                "confidence": r.confidence, "keywords": list(r.keywords), "verify": r.verify is not None,
                "nhi": list(r.nhi),
            }
            for r in loaded
        ]
        click.echo(json.dumps({"rules": rows, "providers": len(providers)}, indent=2))
        return EXIT_CLEAN
    width = max(len(r.id) for r in loaded)
    pwidth = max(len(r.provider) for r in loaded)
    for r in loaded:
        click.echo(f"{r.id:<{width}}  {r.provider:<{pwidth}}  {r.severity:<8}  {r.confidence:<6}  {r.name}")
    click.echo(f"\n{len(loaded)} rules over {len(providers)} providers")
    return EXIT_CLEAN


@rules.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def rules_check(files: tuple[Path, ...]) -> int:
    """Run rule files' own examples through the whole engine (the built-in self-test)."""
    from nhiguard import ruleset, selftest
    from nhiguard.engine import Engine

    users = ruleset.load_paths(files)
    if not users:
        raise NhiguardError("no rules found in " + ", ".join(map(str, files)))
    merged = ruleset.merge(ruleset.load_builtin(), users)
    engine = Engine(merged)
    problems = []
    for rule in users:
        found = selftest.check_rule(rule, engine)
        problems.extend(found)
        mark = "ok " if not found else "FAIL"
        click.echo(f"{mark} {rule.id}")
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    click.echo(f"{len(users)} rule(s) checked, {len(problems)} problem(s)")
    return EXIT_FINDINGS if problems else EXIT_CLEAN


@cli.group()
def baseline() -> None:
    """Accept today's findings so that scans report only new ones."""


@baseline.command("create")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".nhiguard-baseline.json"), show_default=True)
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(exists=True, path_type=Path))
def baseline_create(paths: tuple[Path, ...], config_path: Path | None, output: Path,
                    extra_rules: tuple[Path, ...]) -> int:
    """Scan PATHS (default: .) and write every finding's fingerprint to the baseline file."""
    from nhiguard import baseline as baseline_mod
    from nhiguard import config as config_mod
    from nhiguard.scan import ScanSettings, run_paths

    targets = list(paths) or [Path(".")]
    config = config_mod.load(config_path, targets[0])
    report = run_paths(targets, config, ScanSettings(extra_rules=extra_rules, use_baseline=False))
    output.write_text(baseline_mod.dumps(baseline_mod.from_findings(report.findings)), encoding="utf-8")
    click.echo(f"baseline of {len(report.findings)} finding(s) written to {output}")
    return EXIT_CLEAN


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Build the sample repository here and keep it (default: a temporary folder).")
def demo(keep: Path | None) -> int:
    """Build a sample repository with planted fake credentials and scan it."""
    from nhiguard.demo import run_demo

    return run_demo(keep, echo=click.echo)


@cli.command()
@click.argument("repo", required=False, default=".", type=click.Path(path_type=Path))
@scan_options
@click.option("--since", metavar="DATE", help="Only commits after DATE (e.g. 2024-01-01, '6 months ago').")
@click.option("--branch", "branches", multiple=True, metavar="REF",
              help="Sweep these branches, tags or commits only (repeatable; default: every ref).")
@click.option("--exclude-path", "exclude_paths", multiple=True, metavar="GLOB",
              help="Skip files at paths matching GLOB (repeatable).")
@click.option("--max-blob-size", metavar="SIZE", help="Skip larger blobs, e.g. 5MB (default: --max-file-size).")
@click.option("--stashes", is_flag=True, help="Also sweep stashed changes.")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Progress line on stderr (default: on a terminal, never in CI).")
@click.option("--resume", is_flag=True, help="Go on from where an interrupted sweep of the same repository stopped.")
def history(repo: Path, since: str | None, branches: tuple[str, ...], exclude_paths: tuple[str, ...],
            max_blob_size: str | None, stashes: bool, show_progress: bool | None, resume: bool,
            **opts: Any) -> int:
    """Sweep every blob ever committed (all refs) once; attribute findings to the commits that introduced them."""
    from nhiguard import config as config_mod
    from nhiguard.config import parse_size
    from nhiguard.history import HistoryOptions, Interrupted, run_history, summary

    options = HistoryOptions(
        branches=branches, since=since, exclude_paths=exclude_paths, stashes=stashes, resume=resume,
        max_blob_size=parse_size(max_blob_size, where="--max-blob-size") if max_blob_size else None,
        progress=show_progress,
    )
    config = config_mod.load(opts["config_path"], repo if repo.is_dir() else Path("."))
    try:
        result = run_history(repo, config, settings_from(opts), options)
    except Interrupted as exc:
        click.echo(f"nhiguard: {exc} (state in {exc.state})", err=True)
        return 130
    emit(result.report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
    click.echo(summary(result), err=True)
    return exit_code(result.report)


def main(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="nhiguard", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("nhiguard: aborted", err=True)
        return 130
    except NhiguardError as exc:
        click.echo(f"nhiguard: error: {exc}", err=True)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_CLEAN
    except Exception as exc:
        if os.environ.get("NHIGUARD_DEBUG"):
            raise
        click.echo(f"nhiguard: internal error: {type(exc).__name__}: {exc} (set NHIGUARD_DEBUG=1 for details)",
                   err=True)
        return EXIT_INTERNAL
    return int(result) if isinstance(result, int) else EXIT_CLEAN
