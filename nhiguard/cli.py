"""Command line: options → typed values → one orchestration call → exit code. The only click user.

Imports of the heavier modules happen inside commands, so `--help` and a pre-commit run start fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nhiguard import __version__, gcpace
from nhiguard.constants import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_INTERNAL, EXIT_USAGE
from nhiguard.errors import NhiguardError
from nhiguard.escape import printable, printable_lines
from nhiguard.model import SEVERITIES

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

    _verify_if_asked(report)
    _record_if_asked(report)
    text = REPORTERS[fmt](report, show_secrets=show_secrets, color=_use_color(color, output))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        if fmt != "text":
            click.echo(f"nhiguard: {len(report.findings)} finding(s); {fmt} report written to {printable(output)}",
                       err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def exit_code(report: Report, allow_incomplete: bool = False) -> int:
    """1 for findings; else 4 when part of the input was not checked (never 0 as if clean), unless allowed."""
    if report.findings:
        return EXIT_FINDINGS
    if report.stats.incomplete and not allow_incomplete:
        click.echo(f"nhiguard: incomplete: {report.stats.incomplete} file(s) not checked in full (see the notices);"
                   " exit 4 (--allow-incomplete or NHIGUARD_ALLOW_INCOMPLETE=1 accepts this)", err=True)
        return EXIT_INCOMPLETE
    return EXIT_CLEAN


def incomplete_allowed(opts: dict[str, Any]) -> bool:
    """Only the command line or the environment may accept an incomplete run: a repository's config is
    untrusted input, and a hostile pull request could otherwise blind the guard and pass."""
    return bool(opts.get("allow_incomplete")) or os.environ.get("NHIGUARD_ALLOW_INCOMPLETE", "") in ("1", "true")


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
        click.option("--archive-depth", type=click.IntRange(min=0), metavar="N",
                     help="Open archives (zip, jar, whl, tar, gz, bz2, xz…) nested up to N deep; 0 turns it off "
                          "(default from config archives.depth, else 4)."),
        click.option("--allow-incomplete", is_flag=True,
                     help="Exit 0, not 4, when no finding but part of the input was not read or not checked in "
                          "full (named in the notices)."),
        *verify_option_list(),
        click.option("--inventory", "inventory_path", is_flag=False, flag_value="", default=None, metavar="[PATH]",
                     help="Record this run in the NHI inventory (SQLite) at PATH (alone: NHIGUARD_INVENTORY, else "
                          "inventory.sqlite in nhiguard's data folder)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# -- live verification (shared by scan, git, history and verify) ----------------------------------------------------
_VERIFY_DEADLINE = click.option(
    "--verify-deadline", type=click.FloatRange(min=0.1), metavar="SECONDS",
    help="Time for the whole verification (default: 300); what is not checked by then is 'unknown'. "
         "Also NHIGUARD_VERIFY_DEADLINE.")


def verify_option_list() -> list[Any]:
    return [
        click.option("--verify", "verify_live", is_flag=True,
                     help="Ask each provider whether the credentials found are live (HTTPS to the rule's host only)."),
        click.option("--only-live", is_flag=True, help="Report only credentials verified live (implies --verify)."),
        click.option("--verify-intrusive", is_flag=True,
                     help="Also run checks with side effects at the provider (webhook posts, upload attempts)."),
        click.option("--verify-endpoint", "verify_endpoints", multiple=True, metavar="RULE_OR_PROVIDER=URL",
                     help="Send that rule's (or provider's, or '*') verification to URL instead: for tests and "
                          "self-hosted servers; announced on stderr. Also NHIGUARD_VERIFY_ENDPOINT."),
        click.option("--verify-ca", type=click.Path(exists=True, dir_okay=False),
                     help="Extra CA bundle trusted for --verify-endpoint URLs only. Also NHIGUARD_VERIFY_CA."),
        click.option("--audit-log", type=click.Path(dir_okay=False, path_type=Path),
                     help="Append verification calls here (default: nhiguard's data folder, audit.jsonl)."),
        _VERIFY_DEADLINE,
    ]


def _verify_base(params: dict[str, Any]) -> Path:
    """Where the report's relative paths live: the one folder scanned, or the repository."""
    paths = [p for p in params.get("paths") or () if str(p) != "-"]
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0])
    repo = params.get("repo")
    if repo is not None and Path(repo).is_dir():
        return Path(repo)
    return Path(".")


def verify_options_from(params: dict[str, Any]) -> Any:
    """Typed verification options from the command's parameters and the environment. The endpoint override
    comes only from --verify-endpoint / NHIGUARD_VERIFY_ENDPOINT and is always announced."""
    from nhiguard.verify.phase import VerifyOptions, parse_overrides

    raw = list(params.get("verify_endpoints") or ())
    if os.environ.get("NHIGUARD_VERIFY_ENDPOINT"):
        raw.append(os.environ["NHIGUARD_VERIFY_ENDPOINT"])
    overrides = parse_overrides(raw)
    ca = params.get("verify_ca") or os.environ.get("NHIGUARD_VERIFY_CA") or None
    for override in overrides:
        click.echo(f"nhiguard: warning: verification endpoint override: secrets of '{override.selector}' are sent "
                   f"to {override.base}, not to the provider", err=True)
    return VerifyOptions(
        overrides=overrides,
        ca_bundle=str(ca) if ca and overrides else None,
        intrusive=bool(params.get("verify_intrusive")),
        audit_log=params.get("audit_log"),
        trusted_rule_sources=tuple(Path(p) for p in params.get("extra_rules") or ()),
        base=_verify_base(params),
        deadline=_deadline(params.get("verify_deadline")),
    )


def _deadline(option: float | None) -> float:
    from nhiguard.errors import ConfigError
    from nhiguard.verify.phase import DEFAULT_DEADLINE

    if option is not None:
        return float(option)
    raw = os.environ.get("NHIGUARD_VERIFY_DEADLINE")
    if not raw:
        return DEFAULT_DEADLINE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"NHIGUARD_VERIFY_DEADLINE: expected a number of seconds, got {raw!r}")
    return value


def _verify_if_asked(report: Report) -> None:
    """With --verify or --only-live: set every finding's verdict; with --only-live keep only live ones."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    params = ctx.params
    if not (params.get("verify_live") or params.get("only_live")) or ctx.meta.get("nhiguard.verified"):
        return
    from nhiguard.verify.phase import only_live, verify_findings

    options = verify_options_from(params)
    stats = verify_findings(report.findings, options)
    ctx.meta["nhiguard.verified"] = True
    if params.get("only_live"):
        report.findings = only_live(report.findings)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(stats.by_status.items())) or "nothing to verify"
    click.echo(f"nhiguard: verified {stats.verified} finding(s): {counts}", err=True)


def _inventory_file(value: str | Path | None) -> Path:
    from nhiguard.inventory.record import default_path

    return Path(value) if value else default_path()


def _record_if_asked(report: Report) -> None:
    """With --inventory: record the run's findings (after verification, so verdicts are kept)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.params.get("inventory_path") is None or ctx.meta.get("nhiguard.recorded"):
        return
    from nhiguard import config as config_mod
    from nhiguard.inventory.record import record

    ctx.meta["nhiguard.recorded"] = True
    base = Path(ctx.params["root"]) if ctx.params.get("root") else _verify_base(ctx.params)
    if ctx.info_name == "verify" and not ctx.params.get("root") and report.target and Path(report.target).is_dir():
        base = Path(report.target)
    path = _inventory_file(ctx.params["inventory_path"])
    config = config_mod.load(ctx.params.get("config_path"), base)
    label = report.target if ctx.info_name == "image" else None  # an image is its own "repository"
    record(path, report, kind=ctx.info_name or "scan", base=base, config=config, repo=label)
    click.echo(f"nhiguard: {len(report.findings)} finding(s) recorded in the inventory {path}", err=True)


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
        archive_depth=opts.get("archive_depth"),
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
    if opts["config_path"] is None and len(targets) > 1:
        _one_config(config_mod, targets)
    config = config_mod.load(opts["config_path"], targets[0] if targets else Path("."))
    report = run_paths(targets, config, settings_from(opts), stdin=stdin)
    emit(report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
    return exit_code(report, incomplete_allowed(opts))


def _one_config(config_mod: Any, targets: list[Path]) -> None:
    """Targets under different configurations would each get the first one's allow lists: which files were
    skipped would depend on the order of the arguments."""
    found = {config_mod.discover(t) for t in targets}
    if len(found) > 1:
        shown = ", ".join(sorted(str(f) if f else "none" for f in found))
        raise click.UsageError(f"the targets fall under different configurations ({shown}): scan them one at a "
                               "time, or choose one with --config")


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
    return exit_code(report, incomplete_allowed(opts))


@cli.command("ci")
@click.argument("repo", required=False, type=click.Path(path_type=Path))
@click.option("--range", "revision_range", metavar="BASE..HEAD",
              help="Scan these commits instead of those the CI environment names.")
@click.option("--fail-on", type=click.Choice(("critical", "high", "medium", "low", "never")), default="low",
              show_default=True, help="Exit 1 only for new findings of this severity or higher.")
@click.option("--sarif", "sarif_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("nhiguard.sarif"),
              show_default=True, help="Where to write the SARIF file for code-scanning upload.")
@click.option("--remote", default="origin", show_default=True, help="Remote to fetch missing history from.")
@click.option("--fetch/--no-fetch", "allow_fetch", default=True, show_default=True,
              help="Fetch missing commits and deepen a shallow clone (a bounded number of times).")
@click.option("--comment", "pr_comment", is_flag=True,
              help="On a GitHub pull request: one comment with the summary, updated in place (needs a token with "
                   "pull-requests: write in NHIGUARD_GITHUB_TOKEN or GITHUB_TOKEN).")
@click.option("--api-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), hidden=True,
              help="Extra CA for GITHUB_API_URL (tests, or a GitHub Enterprise with a private CA).")
@scan_options
def ci_cmd(repo: Path | None, revision_range: str | None, fail_on: str, sarif_path: Path, remote: str,
           allow_fetch: bool, pr_comment: bool, api_ca: Path | None, **opts: Any) -> int:
    """Scan what this pull request or push adds, from the CI environment (GitHub Actions, GitLab CI, Bitbucket,
    Azure Pipelines). On GitHub: annotations, a job summary, step outputs; everywhere: a SARIF file. REPO
    defaults to GITHUB_WORKSPACE on GitHub, else '.'."""
    from nhiguard import ci

    options = ci.CiOptions(repo=repo, config_path=opts["config_path"], revision_range=revision_range,
                           fail_on=fail_on, sarif=sarif_path, remote=remote, fetch=allow_fetch)
    try:
        outcome = ci.run(options, settings_from(opts), os.environ)
        with ci.quoted_log(os.environ, click.echo):
            emit(outcome.report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
        ci.write_sarif(outcome)
    except NhiguardError as exc:
        ci.announce_error(str(exc), os.environ, click.echo)
        raise
    for command in outcome.fetches:
        click.echo(f"nhiguard: fetched history: {command}", err=True)
    ci.publish(outcome, os.environ, click.echo)
    if pr_comment:
        if api_ca is not None:
            click.echo(f"nhiguard: warning: trusting the extra CA {api_ca} for GITHUB_API_URL", err=True)
        ci.comment_on_pull_request(outcome, os.environ, click.echo, ca_bundle=str(api_ca) if api_ca else None)
    if outcome.exit_code == EXIT_CLEAN and outcome.report.stats.incomplete:
        return exit_code(replace(outcome.report, findings=[]), incomplete_allowed(opts))
    return outcome.exit_code


@cli.command("verify")
@click.argument("report_path", metavar="REPORT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder the report's paths are relative to (default: the report's target, else '.').")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), help="Config file.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option("--show-secrets", is_flag=True, help="Print secrets in full (redacted by default).")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Extra rule file or folder (repeatable).")
@click.option("--only-live", is_flag=True, help="Report only credentials verified live.")
@click.option("--verify-intrusive", is_flag=True, help="Also run checks with side effects at the provider.")
@click.option("--verify-endpoint", "verify_endpoints", multiple=True, metavar="RULE_OR_PROVIDER=URL",
              help="Send that rule's verification to URL instead (tests, self-hosted servers); announced.")
@click.option("--verify-ca", type=click.Path(exists=True, dir_okay=False),
              help="Extra CA bundle trusted for --verify-endpoint URLs only.")
@click.option("--audit-log", type=click.Path(dir_okay=False, path_type=Path), help="Append verification calls here.")
@_VERIFY_DEADLINE
@click.option("--inventory", "inventory_path", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Record the verdicts in the NHI inventory at PATH (alone: the default inventory).")
def verify_cmd(report_path: Path, root: Path | None, **opts: Any) -> int:
    """(Re)verify a saved JSON report. Reports hold no secrets: each one is found again by re-scanning the
    reported files and matching its fingerprint; a location that no longer holds it is said so."""
    from dataclasses import replace

    from nhiguard import config as config_mod
    from nhiguard.engine import Engine
    from nhiguard.model import Report
    from nhiguard.scan import ScanSettings, load_rules
    from nhiguard.verify.phase import load_saved_report, only_live, recover, verify_findings

    target, saved = load_saved_report(report_path)
    base = root or (Path(target) if target and Path(target).is_dir() else Path("."))
    config = config_mod.load(opts["config_path"], base)
    rules = load_rules(config, ScanSettings(extra_rules=tuple(opts["extra_rules"])))
    from nhiguard.cache import default_store

    engine = Engine(rules, store=default_store())
    recovered = recover(saved, {r.id: r for r in rules}, base, engine)
    for note in recovered.gone:
        click.echo(f"nhiguard: {printable(note)}", err=True)
    options = replace(verify_options_from(opts), base=base)
    stats = verify_findings(recovered.found, options)
    ctx = click.get_current_context()
    ctx.meta["nhiguard.verified"] = True
    findings = only_live(recovered.findings) if opts["only_live"] else recovered.findings
    counts = ", ".join(f"{n} {s}" for s, n in sorted(stats.by_status.items())) or "nothing to verify"
    click.echo(f"nhiguard: verified {stats.verified} of {len(saved)} saved finding(s): {counts}"
               + (f"; {len(recovered.gone)} not found again" if recovered.gone else ""), err=True)
    report = Report(findings=findings, target=target, tool_version=__version__)
    emit(report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
    return exit_code(report, incomplete_allowed(opts))


@cli.command("remediate")
@click.argument("report_path", metavar="[REPORT.json]", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder the report's paths are relative to (default: the report's target, else '.').")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
              help="Config file (its 'remediate:' section is the policy).")
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Extra rule file or folder (repeatable); their revoke blocks are trusted.")
@click.option("--plan-out", type=click.Path(dir_okay=False, path_type=Path), help="Write the plan (JSON) here.")
@click.option("--apply", "apply_plan", is_flag=False, flag_value="", default=None, metavar="[PLAN.json]",
              help="Act: alone, on the plan just built from REPORT.json; with a file, on that saved plan.")
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--remediate-endpoint", "endpoints", multiple=True, metavar="NAME=URL",
              help="Send that rule's, provider's or ticket backend's requests (and the re-verification) to URL "
                   "instead: for tests and self-hosted servers; announced on stderr.")
@click.option("--remediate-ca", type=click.Path(exists=True, dir_okay=False),
              help="Extra CA bundle trusted for --remediate-endpoint URLs only.")
@click.option("--audit-log", type=click.Path(dir_okay=False, path_type=Path),
              help="Append planned and applied actions here (default: the verification audit log).")
@click.option("--inventory", "inventory_path", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Also record tickets and revocations in the NHI inventory at PATH.")
@click.option("--responder", help="Who acts (default: git config user.email, else $USER).")
@click.option("--from-inventory", "from_inventory", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Plan for the identities in the NHI inventory at PATH instead of a report (paths relative to "
                   "--root).")
def remediate_cmd(report_path: Path | None, root: Path | None, config_path: Path | None,
                  extra_rules: tuple[Path, ...], plan_out: Path | None, apply_plan: str | None, fmt: str,
                  endpoints: tuple[str, ...], remediate_ca: str | None, audit_log: Path | None,
                  inventory_path: str | None, responder: str | None, from_inventory: str | None) -> int:
    """Plan tickets and revocations for a saved JSON report, and apply them with --apply. Without --apply
    nothing leaves the machine: the plan is printed (and written with --plan-out)."""
    import json as json_mod
    from dataclasses import replace

    from nhiguard import config as config_mod
    from nhiguard.remediate import phase as remediate
    from nhiguard.scan import ScanSettings, load_rules
    from nhiguard.verify.phase import load_saved_report, parse_overrides

    if apply_plan:
        plan = remediate.load_plan(Path(apply_plan))
        base = root or Path(plan.root)
        plan = replace(plan, root=str(base))
    elif from_inventory is not None:
        base = root or Path(".")
        target, saved = str(base), remediate.saved_from_inventory(_inventory_file(from_inventory))
        plan = None
    elif report_path is None:
        raise click.UsageError("give REPORT.json, --from-inventory, or --apply PLAN.json")
    else:
        target, saved = load_saved_report(report_path)
        plan = None
        base = root or (Path(target) if target and Path(target).is_dir() else Path("."))
    config = config_mod.load(config_path, base)
    rules = load_rules(config, ScanSettings(extra_rules=extra_rules))
    if plan is None:
        plan = remediate.build_plan(saved, {r.id: r for r in rules}, target=target, base=base, config=config,
                                    trusted=extra_rules)
    if plan_out is not None:
        plan_out.write_text(json_mod.dumps(plan.document(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        click.echo(f"nhiguard: plan written to {printable(str(plan_out))}", err=True)
    if fmt == "json":
        click.echo(json_mod.dumps(plan.document(), indent=2, sort_keys=True))
    else:
        click.echo(printable_lines(plan.text()))
    overrides = parse_overrides(list(endpoints))
    for override in overrides:
        click.echo(f"nhiguard: warning: remediation endpoint override: requests of '{override.selector}' are sent "
                   f"to {override.base}, not to the provider", err=True)
    options = remediate.ApplyOptions(
        overrides=overrides,
        ca_bundle=str(remediate_ca) if remediate_ca and overrides else None,
        audit_log=audit_log,
        inventory=_inventory_file(inventory_path) if inventory_path is not None else None,
        responder=remediate.responder_identity(responder, base),
        trusted_rule_sources=tuple(extra_rules),
    )
    applier = remediate.Applier(options)
    try:
        applier.record_plan(plan)
        missing = applier.preflight(plan, {r.id: r for r in rules})
        if apply_plan is None:
            for problem in missing:
                click.echo(f"nhiguard: --apply would stop first: {problem}", err=True)
            click.echo("nhiguard: nothing done (dry run); pass --apply to act", err=True)
            return EXIT_CLEAN
        if missing:
            raise NhiguardError("nothing done: the plan needs what is missing here:\n  " + "\n  ".join(missing))
        results = applier.apply(plan, {r.id: r for r in rules})
    finally:
        applier.close()
    failed = sum(1 for r in results if not r.outcome.ok)
    click.echo("applied:\n" + printable_lines(remediate.results_text(results)), err=fmt == "json")
    click.echo(f"nhiguard: {len(results) - failed} action(s) done, {failed} failed", err=True)
    return EXIT_FINDINGS if failed else EXIT_CLEAN


@cli.group()
def rules() -> None:
    """List the rules, or check rule files."""


@rules.command("list")
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Add rules from these files (as a scan's --rules would).")
@click.option("--provider", "providers", multiple=True, metavar="NAME",
              help="Only this provider (repeatable), e.g. --provider github --provider gitlab.")
@click.option("--severity", "severities", multiple=True, type=click.Choice(SEVERITIES),
              help="Only rules of this severity (repeatable).")
@click.option("--verifiable", is_flag=True, help="Only rules whose findings can be verified live.")
@click.option("--revocable", is_flag=True, help="Only rules whose findings can be revoked through an API.")
def rules_list(fmt: str, extra_rules: tuple[Path, ...], providers: tuple[str, ...], severities: tuple[str, ...],
               verifiable: bool, revocable: bool) -> int:
    """Every rule with its provider, severity, confidence and whether it can be verified and revoked."""
    import json

    from nhiguard import catalogue, filekinds, ruleset

    loaded = ruleset.merge([*ruleset.load_builtin(), *filekinds.rules()], ruleset.load_paths(extra_rules))
    keep = catalogue.Filter(frozenset(p.lower() for p in providers), frozenset(severities), verifiable, revocable)
    items = catalogue.entries(loaded, keep)
    totals = catalogue.totals(items)
    if fmt == "json":
        rows = [
            {
                "id": e.rule.id, "name": e.rule.name, "provider": e.rule.provider, "severity": e.rule.severity,
                "confidence": e.rule.confidence, "keywords": list(e.rule.keywords), "verify": e.verifiable,
                "revoke": e.revocable, "nhi": list(e.rule.nhi), "rotation_guide": e.rule.rotation_guide,
            }
            for e in items
        ]
        click.echo(json.dumps({
            "rules": rows, "providers": totals.providers, "verifiable": totals.verifiable,
            "revocable_rules": totals.revocable_rules, "revocable_providers": totals.revocable_providers,
        }, indent=2))
        return EXIT_CLEAN
    if not items:
        click.echo("no rule matches these filters")
        return EXIT_CLEAN
    width = max(len(e.rule.id) for e in items)
    pwidth = max(len(e.rule.provider) for e in items)
    for e in items:
        r = e.rule
        marks = ("verify" if e.verifiable else "").ljust(6) + "  " + ("revoke" if e.revocable else "").ljust(6)
        click.echo(f"{r.id:<{width}}  {r.provider:<{pwidth}}  {r.severity:<8}  {r.confidence:<6}  {marks}  {r.name}")
    click.echo(
        f"\n{totals.rules} rules over {totals.providers} providers; {totals.verifiable} verifiable; "
        f"{totals.revocable_rules} revocable over {totals.revocable_providers} providers"
    )
    return EXIT_CLEAN


@rules.command("catalogue")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page here (docs/catalogue.md in this repository) instead of to standard output.")
def rules_catalogue(output: Path | None) -> int:
    """The detector catalogue as Markdown: every provider, its credential kinds, verify and revoke support."""
    from nhiguard import catalogue, ruleset

    page = catalogue.markdown(catalogue.entries(ruleset.load_builtin()))
    if output is None:
        click.echo(page, nl=False)
    else:
        output.write_text(page, encoding="utf-8")
        click.echo(f"nhiguard: wrote {output}", err=True)
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
    from nhiguard.cache import default_store

    engine = Engine(merged, store=default_store())
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
@click.argument("fingerprints", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why the finding is safe to accept (recorded in the baseline).")
@click.option("--decision", type=click.Choice(("false-positive", "accepted", "true-positive")),
              default="false-positive", show_default=True,
              help="false-positive and accepted are not reported again; true-positive stays reported until fixed.")
@click.option("-b", "--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Baseline file to record in (default: the config's `baseline`, else .nhiguard-baseline.json).")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path))
def ignore(fingerprints: tuple[str, ...], reason: str, decision: str, baseline_path: Path | None,
           config_path: Path | None) -> int:
    """Accept findings by FINGERPRINT as reports print it (nhg1: and at least 12 hex digits).

    Each decision is recorded in the baseline with the reason, who (git user.email) and when; scans, hooks and CI
    then honour it. Example: nhiguard ignore nhg1:533f905d4406 --reason "fixture key, never deployed"
    """
    from nhiguard import config as config_mod
    from nhiguard import triage
    from nhiguard.fingerprint import normalize
    from nhiguard.sources.gitinfo import current_user

    bad = [f for f in fingerprints if normalize(f) is None]
    if bad:
        raise click.UsageError(f"not a fingerprint: {', '.join(bad)} (expected nhgN: and 12+ hex digits)")
    if not reason.strip():
        raise click.UsageError("--reason must say why")
    config = config_mod.load(config_path, Path.cwd())
    path = triage.baseline_file(config, baseline_path)
    decisions = [triage.Decision(str(normalize(f)), "", "", decision, reason.strip()) for f in fingerprints]
    triage.record(path, decisions, current_user(config.root))
    click.echo(f"nhiguard: recorded {len(decisions)} decision(s) ({decision}) in {path}", err=True)
    if baseline_path is not None and baseline_path.resolve() != (config.baseline or Path()).resolve():
        click.echo(f"nhiguard: scans use it with --baseline {path} or `baseline: {path.name}` in .nhiguard.yml",
                   err=True)
    return EXIT_CLEAN


_AUDIT_KEYS = {"t": "true-positive", "f": "false-positive", "a": "accepted"}


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-b", "--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Baseline to record decisions in (default: the config's `baseline`, else .nhiguard-baseline.json).")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path))
@click.option("--all", "again", is_flag=True, help="Also show findings already decided.")
@click.option("--show-secrets", is_flag=True, help="Show secrets in the context (redacted by default).")
def audit(paths: tuple[Path, ...], baseline_path: Path | None, config_path: Path | None, again: bool,
          show_secrets: bool) -> int:
    """Step through the findings of PATHS (default: .) one by one: see each in its (redacted) context and mark it
    [t]rue positive, [f]alse positive or [a]ccepted risk with a reason, [s]kip it or [q]uit. Decisions are recorded
    in the baseline with who and when; false positives and accepted risks are not reported again, true positives
    stay reported until the secret is gone."""
    from nhiguard import baseline as baseline_mod
    from nhiguard import config as config_mod
    from nhiguard import redact, triage
    from nhiguard.reporters.text import clean, short_fingerprint
    from nhiguard.scan import ScanSettings, run_paths
    from nhiguard.sources.gitinfo import current_user

    targets = list(paths) or [Path(".")]
    config = config_mod.load(config_path, targets[0])
    path = triage.baseline_file(config, baseline_path)
    known = baseline_mod.load(path) if path.exists() else None
    report = run_paths(targets, config, ScanSettings(use_baseline=False))
    todo = triage.pending(report.findings, known, again=again)
    base = targets[0] if targets[0].is_dir() else targets[0].parent
    click.echo(f"{len(todo)} finding(s) to review ({len(report.findings) - len(todo)} already decided)")
    decisions: list[triage.Decision] = []
    for n, finding in enumerate(todo, 1):
        rule, where = finding.rule, finding.first_location
        click.echo(f"\n[{n}/{len(todo)}] {clean(rule.name)} [{rule.id}] {short_fingerprint(finding)}")
        click.echo(f"  {clean(where.path)}:{where.line}" + (f" (+{len(finding.locations) - 1} more)"
                                                           if len(finding.locations) > 1 else ""))
        for line in triage.context(finding, where, base, show=show_secrets, others=report.findings):
            click.echo("  " + line)
        answer = click.prompt("  [t]rue positive, [f]alse positive, [a]ccepted risk, [s]kip, [q]uit",
                              type=click.Choice(["t", "f", "a", "s", "q"]), show_choices=False)
        if answer == "q":
            break
        if answer == "s":
            continue
        reason = click.prompt("  reason", type=str).strip() or "(no reason given)"
        decisions.append(triage.Decision(finding.fingerprint, rule.id, redact.preview(finding.secret),
                                         _AUDIT_KEYS[answer], reason))
    if decisions:
        triage.record(path, decisions, current_user(config.root))
    click.echo(f"nhiguard: recorded {len(decisions)} decision(s) in {path}", err=True)
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
    from nhiguard.history.sweep import HistoryOptions, Interrupted, run_history, summary

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
    return exit_code(result.report, incomplete_allowed(opts))


@cli.command()
@click.argument("image_ref", metavar="IMAGE")
@click.option("--platform", default="linux/amd64", show_default=True, metavar="OS/ARCH[/VARIANT]",
              help="The image to pick from a multi-platform index.")
@click.option("--insecure-registry", is_flag=True,
              help="Allow plain HTTP to the registry (a loopback registry is always allowed it).")
@click.option("--registry-ca", type=click.Path(exists=True, dir_okay=False),
              help="Extra CA bundle trusted for the registry (a registry with its own CA).")
@click.option("--progress/--no-progress", "show_progress", default=None, help="Progress bar (default: on a terminal).")
@scan_options
def image(image_ref: str, platform: str, insecure_registry: bool, registry_ca: str | None,
          show_progress: bool | None, **opts: Any) -> int:
    """Scan a container image without a daemon: IMAGE is a `docker save`/`podman save` tarball, an OCI image
    layout folder, or a registry reference (alpine:3.20, ghcr.io/org/app@sha256:…) pulled through the registry v2
    API. Every layer's files (also those a later layer deleted), the config's ENV, LABEL, CMD, ENTRYPOINT and the
    history's build commands are scanned. Registry credentials: NHIGUARD_REGISTRY_USERNAME and
    NHIGUARD_REGISTRY_PASSWORD, or NHIGUARD_REGISTRY_TOKEN, else the Docker config's `auths`."""
    import sys

    from nhiguard import config as config_mod
    from nhiguard.progress import Progress, size, wanted
    from nhiguard.scan import archive_limits, run_source
    from nhiguard.sources.image import ImageOptions, chunks, open_image

    config = config_mod.load(opts["config_path"], Path("."))
    settings = settings_from(opts)
    max_size = settings.max_file_size or config.max_file_size
    limits = archive_limits(config, settings)
    options = ImageOptions(platform=platform, insecure_registry=insecure_registry, registry_ca=registry_ca,
                           max_size=max_size, archive_limits=limits if limits.depth > 0 else None)
    found = open_image(image_ref, options)
    try:
        bar = Progress(sys.stderr, f"image {found.name}", len(found.layers), found.total_bytes, "layer(s)") \
            if wanted(show_progress, sys.stderr) else None

        def on_layer(layers: int, nbytes: int, what: str) -> None:
            if bar is not None:
                bar.advance(layers - bar.done_units, nbytes - bar.done_bytes, what=what, force=True)

        report = run_source(f"image:{found.name}", chunks(found, options, on_layer), config, settings)
    finally:
        found.close()
    if bar is not None:
        bar.close()
    emit(report, opts["fmt"], opts["output"], show_secrets=opts["show_secrets"], color=opts["color"])
    click.echo(f"image {found.name}: {len(found.layers)} layer(s), {size(found.total_bytes)} stored, "
               f"{report.stats.files:,} file(s) scanned ({size(report.stats.bytes)}), {report.stats.skipped:,} "
               f"notice(s); {len(report.findings)} new finding(s)", err=True)
    return exit_code(report)


@cli.command()
@click.argument("repo_list", metavar="[LIST]", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--github-org", "github_orgs", multiple=True, metavar="ORG",
              help="Sweep every repository of this GitHub organisation (repeatable).")
@click.option("--github-user", "github_users", multiple=True, metavar="USER",
              help="Sweep every repository this GitHub user owns (repeatable).")
@click.option("--gitlab-group", "gitlab_groups", multiple=True, metavar="GROUP",
              help="Sweep every project of this GitLab group and its subgroups (repeatable).")
@click.option("--github-url", default="https://api.github.com", show_default=True, metavar="URL",
              help="GitHub API base (GitHub Enterprise: https://HOST/api/v3). Token: GITHUB_TOKEN or "
                   "NHIGUARD_GITHUB_TOKEN, from the environment only.")
@click.option("--gitlab-url", default="https://gitlab.com", show_default=True, metavar="URL",
              help="GitLab base URL (self-managed: https://HOST). Token: GITLAB_TOKEN or NHIGUARD_GITLAB_TOKEN.")
@click.option("--include-forks/--exclude-forks", default=False, show_default=True, help="Forks listed by a forge.")
@click.option("--include-archived/--exclude-archived", default=False, show_default=True,
              help="Archived repositories listed by a forge.")
@click.option("--include-private/--exclude-private", default=True, show_default=True,
              help="Private (and internal) repositories listed by a forge.")
@click.option("--rate-limit-wait", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
              help="Wait at most this long for a forge's rate limit to reset; a longer wait stops with a message.")
@click.option("--inventory", "inventory_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Inventory file (default: NHIGUARD_INVENTORY, else inventory.sqlite in the data folder).")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
              help="Config file for every repository (default: each repository's own).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Repositories swept at once (default: all cores).")
@click.option("--executor", type=click.Choice(("local", "dask")), default="local", show_default=True,
              help="local: a process pool on this machine; dask: a Dask distributed cluster (--scheduler).")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="The Dask scheduler (with --executor dask).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where clones of URLs are kept between sweeps (default: nhiguard's cache folder).")
@click.option("--progress/--no-progress", "show_progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--allow-incomplete", is_flag=True,
              help="Exit 0, not 4, when part of a repository could not be read (it is still named).")
def sweep(repo_list: Path | None, github_orgs: tuple[str, ...], github_users: tuple[str, ...],
          gitlab_groups: tuple[str, ...], github_url: str, gitlab_url: str, include_forks: bool,
          include_archived: bool, include_private: bool, rate_limit_wait: float, inventory_path: Path | None,
          config_path: Path | None, jobs: int | None, executor: str, scheduler: str | None, workdir: Path | None,
          show_progress: bool | None, fmt: str, allow_incomplete: bool) -> int:
    """Sweep every repository in LIST (local paths or clone URLs, one a line) and of the GitHub organisations,
    users and GitLab groups named, into one inventory, several at a time. Resumable (run it again) and
    incremental: a re-sweep scans only the commits new since the last one."""
    import json

    from nhiguard import sweep as sweep_mod
    from nhiguard._paths import cache_dir
    from nhiguard.sources import forges

    if repo_list is None and not (github_orgs or github_users or gitlab_groups):
        raise click.UsageError("give a LIST file, or --github-org, --github-user or --gitlab-group")
    sources = sweep_mod.read_list(repo_list) if repo_list is not None else []
    filters = forges.Filters(forks=include_forks, archived=include_archived, private=include_private)
    forge_of: dict[str, str] = {}
    listings: list[tuple[str, str, forges.Listing]] = []
    for kind, names in (("org", github_orgs), ("user", github_users)):
        for name in names:
            listings.append(("github", f"GitHub {kind} {name}", forges.github(
                kind, name, base=github_url, token=forges.token_for("github"), filters=filters,
                wait_cap=rate_limit_wait)))
    for group in gitlab_groups:
        listings.append(("gitlab", f"GitLab group {group}", forges.gitlab(
            group, base=gitlab_url, token=forges.token_for("gitlab"), filters=filters, wait_cap=rate_limit_wait)))
    for forge, what, listing in listings:
        base = github_url if forge == "github" else gitlab_url
        for repo in listing.kept:
            sources.append(repo.clone_url)
            if forges.trusted_clone(repo, base):
                forge_of[repo.clone_url] = forge
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(listing.skipped.items()))
        click.echo(f"nhiguard: {what}: {len(listing.kept)} repositories to sweep"
                   + (f" ({skipped} skipped)" if skipped else ""), err=True)
    if executor == "dask":
        if not scheduler:
            raise click.UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
        runner = sweep_mod.dask_runner(scheduler)
    else:
        runner = sweep_mod.local_runner(jobs or os.cpu_count() or 1)
    summary = sweep_mod.run_sweep(sources, _inventory_file(inventory_path), workdir=workdir or cache_dir() / "clones",
                                  runner=runner, config_path=config_path, progress=show_progress, forge_of=forge_of)
    if fmt == "json":
        click.echo(json.dumps(sweep_mod.as_dict(summary), indent=2))
    click.echo(sweep_mod.describe(summary), err=True)
    if summary.errors:
        return EXIT_USAGE
    if summary.incomplete and not incomplete_allowed({"allow_incomplete": allow_incomplete}):
        click.echo("nhiguard: incomplete: part of a repository could not be read (see above); exit 4 "
                   "(--allow-incomplete or NHIGUARD_ALLOW_INCOMPLETE=1 accepts this)", err=True)
        return EXIT_INCOMPLETE
    return EXIT_CLEAN


# -- the NHI inventory ----------------------------------------------------------------------------------------------
def inventory_options(func: Any) -> Any:
    options = [
        click.option("--inventory", "inventory_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Inventory file (default: NHIGUARD_INVENTORY, else inventory.sqlite in the data folder)."),
        click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                     help="Config file with the policy: section (default: discovered from the current folder)."),
        click.option("--as-of", metavar="DATE", help="Judge ages and expiries as of DATE (ISO 8601; default: now)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _assessed(params: dict[str, Any]) -> list[Any]:
    from datetime import UTC, datetime

    from nhiguard import config as config_mod
    from nhiguard.inventory.govern import assess_all, parse_time, policy_config
    from nhiguard.inventory.store import Inventory

    path = _inventory_file(params.get("inventory_path"))
    if not path.exists():
        raise NhiguardError(f"{path}: no inventory yet (record one with --inventory on scan, git or history)")
    now = datetime.now(UTC)
    if params.get("as_of"):
        parsed = parse_time(params["as_of"])
        if parsed is None:
            raise click.BadParameter(f"not an ISO 8601 date: {params['as_of']}", param_hint="--as-of")
        now = parsed
    from nhiguard.inventory.record import reresolve_owners, rotation_guides

    config = config_mod.load(params.get("config_path"), Path("."))
    policy = policy_config(config.sections)
    with Inventory(path) as store:
        identities = store.identities()
        reresolve_owners(identities, config)
        return assess_all(identities, store.repo_contexts(), policy, now, rotation_guides())


@cli.group()
def inventory() -> None:
    """The NHI inventory: every credential recorded across repositories and runs, with owner, age, expiry,
    policy violations, risk and OWASP NHI Top 10 (2025) ids."""


@inventory.command("list")
@inventory_options
@click.option("-f", "--format", "fmt", type=click.Choice(("table", "json", "csv")), default="table", show_default=True)
@click.option("--owner", help="Only identities of this owner ('(unowned)' for none).")
@click.option("--provider", help="Only this provider.")
@click.option("--nhi", "nhi_id", metavar="NHIn", help="Only identities evidencing this OWASP NHI id.")
@click.option("--violations", "only_violations", is_flag=True, help="Only identities breaking the policy.")
def inventory_list(fmt: str, owner: str | None, provider: str | None, nhi_id: str | None, only_violations: bool,
                   **params: Any) -> int:
    """Identities, riskiest first."""
    from nhiguard.inventory import report as inv_report

    items = [a for a in _assessed(params)
             if (owner is None or (a.owner or "(unowned)") == owner)
             and (provider is None or a.identity.provider == provider)
             and (nhi_id is None or nhi_id.upper() in a.nhi_ids)
             and (not only_violations or a.violations)]
    text = {"table": inv_report.to_table, "csv": inv_report.to_csv}.get(fmt)
    click.echo(text(items) if text else inv_report.to_json(items, full=False), nl=False)
    return EXIT_CLEAN


@inventory.command("show")
@click.argument("fingerprint")
@inventory_options
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def inventory_show(fingerprint: str, fmt: str, **params: Any) -> int:
    """One identity in full: locations, verdicts, owner, expiry, OWASP ids with reasons, violations."""
    import json

    from nhiguard.inventory import report as inv_report

    found = [a for a in _assessed(params) if a.identity.fingerprint.startswith(fingerprint)
             or a.identity.fingerprint.split(":", 1)[-1].startswith(fingerprint)]
    if len(found) != 1:
        raise NhiguardError(f"{fingerprint}: {'no' if not found else len(found)} identities match")
    if fmt == "json":
        click.echo(json.dumps(inv_report.detail(found[0]), indent=2))
    else:
        click.echo(inv_report.show_text(found[0]), nl=False)
    return EXIT_CLEAN


@inventory.command("stats")
@inventory_options
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def inventory_stats(fmt: str, **params: Any) -> int:
    """Counts per owner, provider, status, age and OWASP NHI id."""
    import json

    from nhiguard.inventory import report as inv_report

    numbers = inv_report.stats(_assessed(params))
    click.echo(json.dumps(numbers, indent=2) if fmt == "json" else inv_report.stats_text(numbers), nl=fmt == "json")
    return EXIT_CLEAN


@inventory.command("export")
@inventory_options
@click.option("-f", "--format", "fmt", type=click.Choice(("json", "csv")), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
def inventory_export(fmt: str, output: Path | None, **params: Any) -> int:
    """Everything, for other tools: JSON with locations and verdicts, or CSV one row per identity."""
    from nhiguard.inventory import report as inv_report

    items = _assessed(params)
    text = inv_report.to_json(items) if fmt == "json" else inv_report.to_csv(items)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"nhiguard: {len(items)} identities exported to {output}", err=True)
    else:
        click.echo(text, nl=False)
    return EXIT_CLEAN


@inventory.command("report")
@inventory_options
@click.option("--html", "html_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML page here.")
def inventory_report(html_path: Path, **params: Any) -> int:
    """A single HTML page for a security lead: risk-ordered table with filters, counts per owner and provider,
    an age histogram and OWASP NHI coverage. Nothing is loaded from the network when it is viewed."""
    from nhiguard.inventory import report as inv_report
    from nhiguard.inventory.store import now_iso

    items = _assessed(params)
    stamp = f"As of {params.get('as_of') or now_iso()}; nhiguard {__version__}."
    html_path.write_text(inv_report.to_html(items, generated=stamp), encoding="utf-8")
    click.echo(f"nhiguard: {len(items)} identities; HTML report written to {html_path}", err=True)
    return EXIT_CLEAN


def main(argv: list[str] | None = None) -> int:
    try:
        with gcpace.paced():
            result = cli.main(args=argv, prog_name="nhiguard", standalone_mode=False)
            sys.stdout.flush()  # (a full disk or a closed pipe behind stdout surfaces here, not at exit)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("nhiguard: aborted", err=True)
        return 130
    except NhiguardError as exc:
        # (messages quote paths, config values and report fields: a repository's bytes, escaped for the terminal)
        click.echo(f"nhiguard: error: {printable(str(exc))}", err=True)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_CLEAN
    except OSError as exc:
        # an output that cannot be written (a missing folder, a full disk, /dev/full): the user's to fix
        where = printable(os.fsdecode(exc.filename)) if exc.filename else "output"
        click.echo(f"nhiguard: error: {where}: {exc.strerror or exc}", err=True)
        return EXIT_USAGE
    except Exception as exc:
        if os.environ.get("NHIGUARD_DEBUG"):
            raise
        click.echo(f"nhiguard: internal error: {type(exc).__name__}: {exc} (set NHIGUARD_DEBUG=1 for details)",
                   err=True)
        return EXIT_INTERNAL
    return int(result) if isinstance(result, int) else EXIT_CLEAN
