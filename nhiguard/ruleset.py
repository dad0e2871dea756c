"""Rules are data: YAML records → validated, immutable Rule objects.

Errors always name the file and the rule id, so a user's broken rule file is a one-line message, not a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from nhiguard import _yaml
from nhiguard._paths import build_cache_dir
from nhiguard.engine.context import ContextError, expand
from nhiguard.engine.matcher import PatternError, compile_pattern
from nhiguard.engine.prefilter import gate_error
from nhiguard.engine.score import CHECKS, parse_check
from nhiguard.errors import RuleError
from nhiguard.model import (
    CONFIDENCES,
    SEVERITIES,
    Allow,
    Confidence,
    Dependency,
    Examples,
    PositiveExample,
    Rule,
    Severity,
)
from nhiguard.safeio import RULES_MAX_BYTES, read_capped
from nhiguard.verify import spec

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NHI = re.compile(r"^NHI(?:[1-9]|10)$")
_RULE_KEYS = frozenset(
    {
        "id", "name", "provider", "severity", "confidence", "keywords", "pattern", "entropy", "checks",
        "multiline", "generic", "report", "identifier", "depends_on", "allow", "nhi", "verify", "revoke",
        "examples", "aliases", "description", "references", "rotation_guide", "prefilter", "context",
    }
)
_FILE_KEYS = frozenset({"provider", "rules"})
_ALLOW_KEYS = frozenset({"values", "regexes", "stopwords", "paths"})


def builtin_rules_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_rules", here.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise RuleError(f"built-in rules not found (looked in {here / '_rules'} and {here.parent / 'rules'})")


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


class _Ctx:
    def __init__(self, source: str, rule_id: str) -> None:
        self.source = source
        self.rule_id = rule_id

    def fail(self, message: str) -> RuleError:
        return RuleError(f"{self.source}: rule {self.rule_id!r}: {message}")


def _str_list(ctx: _Ctx, raw: Any, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise ctx.fail(f"{key!r} must be a list of non-empty strings")
    return tuple(raw)


def _positive(ctx: _Ctx, raw: Any) -> PositiveExample:
    if isinstance(raw, str) and raw:
        return PositiveExample(text=raw, secret=raw, bare=True)
    if isinstance(raw, Mapping) and isinstance(raw.get("text"), str) and isinstance(raw.get("secret"), str):
        extra = set(raw) - {"text", "secret"}
        if extra:
            raise ctx.fail(f"positive example has unknown keys {sorted(extra)}")
        text, secret = raw["text"], raw["secret"]
        if secret not in text:
            raise ctx.fail(f"positive example secret is not inside its text: {secret[:12]!r}…")
        return PositiveExample(text=text, secret=secret, bare=False)
    raise ctx.fail("a positive example is a bare token string or {text, secret}")


def _examples(ctx: _Ctx, raw: Any) -> Examples:
    if raw is None:
        return Examples()
    if not isinstance(raw, Mapping) or set(raw) - {"positive", "negative"}:
        raise ctx.fail("'examples' takes 'positive' and 'negative' lists")
    pos = raw.get("positive") or []
    neg = raw.get("negative") or []
    if not isinstance(pos, list) or not isinstance(neg, list):
        raise ctx.fail("'examples.positive' and 'examples.negative' must be lists")
    if not all(isinstance(n, str) for n in neg):
        raise ctx.fail("negative examples must be strings")
    return Examples(positive=tuple(_positive(ctx, p) for p in pos), negative=tuple(neg))


def _allow(ctx: _Ctx, raw: Any, validate: bool = True) -> Allow:
    if raw is None:
        return Allow()
    if not isinstance(raw, Mapping):
        raise ctx.fail("'allow' must be a mapping")
    unknown = set(raw) - _ALLOW_KEYS
    if unknown:
        raise ctx.fail(f"'allow' has unknown keys {sorted(unknown)} (known: {sorted(_ALLOW_KEYS)})")
    regexes = _str_list(ctx, raw.get("regexes"), "allow.regexes")
    for pattern in regexes if validate else ():
        _compile(ctx, pattern, "allow.regexes")
    return Allow(
        values=frozenset(_str_list(ctx, raw.get("values"), "allow.values")),
        regexes=regexes,
        stopwords=tuple(s.lower() for s in _str_list(ctx, raw.get("stopwords"), "allow.stopwords")),
        paths=_str_list(ctx, raw.get("paths"), "allow.paths"),
    )


def _compile(ctx: _Ctx, pattern: str, key: str) -> Any:
    try:
        return compile_pattern(pattern)
    except (PatternError, TypeError, ValueError, RecursionError) as exc:
        raise ctx.fail(f"{key} does not compile: {exc}") from None


def _dependencies(ctx: _Ctx, raw: Any) -> tuple[Dependency, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ctx.fail("'depends_on' must be a list of {rule, within_lines, part}")
    deps = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("rule"), str):
            raise ctx.fail("each 'depends_on' entry needs a 'rule' id")
        within = item.get("within_lines", 5)
        if not isinstance(within, int) or within < 0:
            raise ctx.fail("'depends_on.within_lines' must be a non-negative integer")
        part = item.get("part", item["rule"])
        deps.append(Dependency(rule=item["rule"], within_lines=within, part=str(part)))
    return tuple(deps)


def _verify_spec(ctx: _Ctx, raw: Mapping[str, Any], validate: bool) -> spec.VerifySpec:
    """The `verify:` block, validated by the pure parser in verify.spec (placeholders must name real parts)."""
    try:
        return spec.parse(
            raw["verify"], parts=sorted(_rule_parts(raw)), compile_check=_group_names if validate else None
        )
    except spec.SpecError as exc:
        raise ctx.fail(str(exc)) from None


def _rule_parts(raw: Mapping[str, Any]) -> set[str]:
    parts = spec.pattern_parts(raw["pattern"])
    for dep in raw.get("depends_on") or ():
        if isinstance(dep, Mapping) and isinstance(dep.get("rule"), str):
            parts.add(str(dep.get("part", dep["rule"])))
    return parts


def revoke_spec(rule: Rule) -> spec.RevokeSpec | None:
    """A loaded rule's parsed `revoke:` block (validated when the rule was loaded), or None."""
    if rule.revoke is None:
        return None
    return _parsed(spec.parse_revoke, rule, rule.revoke)


def _group_names(pattern: str) -> frozenset[str]:
    return frozenset(compile_pattern(pattern).groupindex)


def verify_spec(rule: Rule) -> spec.VerifySpec | None:
    """A loaded rule's parsed `verify:` block (validated when the rule was loaded), or None."""
    if rule.verify is None:
        return None
    return _parsed(spec.parse, rule, rule.verify)


_Spec = TypeVar("_Spec", spec.VerifySpec, spec.RevokeSpec)


def _parsed(parse: Callable[..., _Spec], rule: Rule, raw: Any) -> _Spec:
    """A rule's verify: or revoke: block, parsed once per process (they are asked for per finding)."""
    key = json.dumps(raw, sort_keys=True, default=str)
    return cast(_Spec, _cached_block(parse, rule.id, rule.pattern, key, tuple(d.part for d in rule.depends_on)))


@lru_cache(maxsize=4096)
def _cached_block(parse: Callable[..., Any], rule_id: str, pattern: str, raw: str,
                  dep_parts: tuple[str, ...]) -> Any:
    parts = spec.pattern_parts(pattern) | set(dep_parts)
    try:
        return parse(json.loads(raw), parts=sorted(parts))
    except spec.SpecError as exc:
        raise RuleError(f"rule {rule_id!r}: {exc}") from None


def parse_rule(raw: Any, *, source: str, default_provider: str | None = None, validate: bool = True) -> Rule:
    """`validate=False` skips compiling the patterns: only for records this module validated before (cache)."""
    rule_id = raw.get("id") if isinstance(raw, Mapping) else None
    ctx = _Ctx(source, str(rule_id))
    if not isinstance(raw, Mapping):
        raise ctx.fail("a rule must be a mapping")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise ctx.fail("'id' must be kebab-case like 'github-pat-classic'")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ctx.fail(f"unknown keys {sorted(unknown)}")
    if raw.get("context") is not None:
        raw = _with_context(ctx, raw, validate)
    for key in ("name", "pattern"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ctx.fail(f"{key!r} is required and must be a string")
    provider = raw.get("provider", default_provider)
    if not isinstance(provider, str) or not provider:
        raise ctx.fail("'provider' is required (in the rule or at the top of the file)")
    severity = raw.get("severity", "high")
    if severity not in SEVERITIES:
        raise ctx.fail(f"'severity' must be one of {', '.join(SEVERITIES)}")
    confidence = raw.get("confidence", "medium")
    if confidence not in CONFIDENCES:
        raise ctx.fail(f"'confidence' must be one of {', '.join(CONFIDENCES)}")
    keywords = _str_list(ctx, raw.get("keywords"), "keywords")
    if not keywords:
        raise ctx.fail("'keywords' needs at least one literal for the prefilter")
    if any(k != k.lower() or not k.isascii() for k in keywords):
        raise ctx.fail("keywords must be lowercase ASCII literals")
    if validate and "secret" not in _compile(ctx, raw["pattern"], "pattern").groupindex:
        raise ctx.fail("pattern needs a named group 'secret'")
    entropy = raw.get("entropy")
    if entropy is not None and (not isinstance(entropy, int | float) or not 0 <= entropy <= 8):
        raise ctx.fail("'entropy' must be a number of bits per character between 0 and 8")
    prefilter = raw.get("prefilter")
    if prefilter is not None:
        if not isinstance(prefilter, str) or not prefilter:
            raise ctx.fail("'prefilter' must be a regex string")
        if validate:
            _compile(ctx, prefilter, "prefilter")
            problem = gate_error(prefilter)
            if problem:
                raise ctx.fail(f"prefilter is not a Hyperscan pattern: {problem}")
    checks = _str_list(ctx, raw.get("checks"), "checks")
    for check in checks:
        name, _ = parse_check(check)
        if name not in CHECKS:
            raise ctx.fail(f"unknown check {check!r} (known: {', '.join(sorted(CHECKS))})")
    nhi = _str_list(ctx, raw.get("nhi"), "nhi") or ("NHI2",)
    if not all(_NHI.match(n) for n in nhi):
        raise ctx.fail("'nhi' ids look like NHI1 … NHI10")
    for key in ("verify", "revoke"):
        if raw.get(key) is not None and not isinstance(raw[key], Mapping):
            raise ctx.fail(f"{key!r} must be a mapping")
    # (only validated here: `verify_spec`/`revoke_spec` parse a block when a run needs it; cached records were
    # validated when the cache was written, and a pre-commit run never verifies)
    if validate and raw.get("verify") is not None:
        _verify_spec(ctx, raw, validate)
    if validate and raw.get("revoke") is not None:
        try:
            spec.parse_revoke(raw["revoke"], parts=sorted(_rule_parts(raw)))
        except spec.SpecError as exc:
            raise ctx.fail(str(exc)) from None
    flags = {}
    for key, default in (("multiline", False), ("generic", False), ("report", True),
                         ("identifier", False)):
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise ctx.fail(f"{key!r} must be true or false")
        flags[key] = value
    aliases = _str_list(ctx, raw.get("aliases"), "aliases")
    return Rule(
        id=rule_id,
        name=raw["name"],
        provider=provider,
        severity=_as_severity(severity),
        confidence=_as_confidence(confidence),
        keywords=keywords,
        pattern=raw["pattern"],
        entropy=float(entropy) if entropy is not None else None,
        checks=checks,
        multiline=flags["multiline"],
        generic=flags["generic"],
        report=flags["report"],
        identifier=flags["identifier"],
        depends_on=_dependencies(ctx, raw.get("depends_on")),
        allow=_allow(ctx, raw.get("allow"), validate),
        nhi=nhi,
        verify=raw.get("verify"),
        revoke=raw.get("revoke"),
        examples=_examples(ctx, raw.get("examples")),
        aliases=aliases,
        description=str(raw.get("description", "")),
        references=_str_list(ctx, raw.get("references"), "references"),
        rotation_guide=str(raw.get("rotation_guide", "")),
        prefilter=prefilter,
        names=tuple(raw.get("_names", ())),
        source=source,
    )


def _with_context(ctx: _Ctx, raw: Mapping[str, Any], validate: bool) -> dict[str, Any]:
    """A `context:` rule: its keywords and pattern come from the provider's names and the value's shape."""
    for key in ("pattern", "keywords", "prefilter", "multiline"):
        if key in raw:
            raise ctx.fail(f"a rule with 'context' derives its own {key!r}; remove it")
    try:
        expanded = expand(raw["context"], validate=validate)
    except ContextError as exc:
        raise ctx.fail(str(exc)) from None
    return {**raw, "pattern": expanded.pattern, "keywords": list(expanded.keywords), "_names": expanded.names}


def _as_severity(value: str) -> Severity:
    for s in SEVERITIES:
        if s == value:
            return s
    raise AssertionError(value)


def _as_confidence(value: str) -> Confidence:
    for c in CONFIDENCES:
        if c == value:
            return c
    raise AssertionError(value)


def _read_records(path: Path) -> tuple[str | None, list[Any]]:
    source = str(path)
    raw = read_capped(path, limit=RULES_MAX_BYTES, what="rule file", error=RuleError)
    try:
        data = _yaml.load(raw)
    except RecursionError:
        raise RuleError(f"{source}: not valid YAML: nested too deeply") from None
    except _yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from None
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{source}: a rule file is a mapping with a 'rules' list")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise RuleError(f"{source}: unknown top-level keys {sorted(unknown)}")
    provider = data.get("provider")
    return (provider if isinstance(provider, str) else None), list(data["rules"])


def parse_file(path: Path) -> list[Rule]:
    provider, records = _read_records(path)
    return [parse_rule(r, source=str(path), default_provider=provider) for r in records]


def check_references(rules: Sequence[Rule]) -> None:
    """Duplicate ids or aliases and dangling depends_on targets are errors."""
    seen: dict[str, str] = {}
    for rule in rules:
        for name in (rule.id, *rule.aliases):
            if name in seen:
                raise RuleError(f"{rule.source}: rule {rule.id!r}: id {name!r} already defined in {seen[name]}")
            seen[name] = rule.source
    ids = {r.id for r in rules}
    for rule in rules:
        for dep in rule.depends_on:
            if dep.rule not in ids:
                raise RuleError(f"{rule.source}: rule {rule.id!r}: depends_on names unknown rule {dep.rule!r}")


def load_paths(paths: Iterable[Path]) -> list[Rule]:
    rules: list[Rule] = []
    for path in paths:
        if path.is_dir():
            for file in rule_files(path):
                rules.extend(parse_file(file))
        else:
            rules.extend(parse_file(path))
    return rules


def _relative_source(rules: list[Rule], base: Path) -> list[Rule]:
    out = []
    for rule in rules:
        try:
            out.append(replace(rule, source=os.path.relpath(rule.source, base.parent)))
        except ValueError:
            out.append(rule)
    return out


def _cache_key(directory: Path) -> str:
    """The rule files' names, sizes and modification times: one directory read, no per-file resolve."""
    from nhiguard import __version__

    digest = hashlib.sha256(f"{__version__}\0{_CACHE_FORMAT}\0{directory.resolve()}\n".encode())
    # the code that derives a context rule's pattern is part of the key: an edit to it never loads rows it made before
    with contextlib.suppress(OSError):  # (not a plain file, a zipped install: the version alone keys it then)
        digest.update(Path(__file__).resolve().parent.joinpath("engine", "context.py").read_bytes())
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith((".yml", ".yaml")) and entry.is_file():
                st = entry.stat()
                digest.update(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


_CACHE_FORMAT = 2  # a row per parsed rule (below); bump when Rule's fields change


def _to_row(rule: Rule) -> list[Any]:
    """A validated rule as plain JSON values, in Rule's field order: loading it back skips validation, the
    `context:` expansion and the YAML records (a warm pre-commit hook must start in well under 0.3 s)."""
    return [
        rule.id, rule.name, rule.provider, rule.severity, rule.confidence, list(rule.keywords), rule.pattern,
        rule.entropy, list(rule.checks), rule.multiline, rule.generic, rule.report, rule.identifier,
        [[d.rule, d.within_lines, d.part] for d in rule.depends_on],
        [sorted(rule.allow.values), list(rule.allow.regexes), list(rule.allow.stopwords), list(rule.allow.paths)],
        list(rule.nhi), rule.verify, rule.revoke,
        [[[e.text, e.secret, e.bare] for e in rule.examples.positive], list(rule.examples.negative)],
        list(rule.aliases), rule.description, list(rule.references), rule.rotation_guide, rule.prefilter,
        list(rule.names), rule.source,
    ]


def _from_row(row: list[Any]) -> Rule:
    (rid, name, provider, severity, confidence, keywords, pattern, entropy, checks, multiline, generic, report,
     identifier, depends_on, allow, nhi, verify, revoke, examples, aliases, description, references,
     rotation_guide, prefilter, names, source) = row
    return Rule(
        id=rid, name=name, provider=provider, severity=_as_severity(severity),
        confidence=_as_confidence(confidence), keywords=tuple(keywords), pattern=pattern, entropy=entropy,
        checks=tuple(checks), multiline=multiline, generic=generic, report=report, identifier=identifier,
        depends_on=tuple(Dependency(r, w, part) for r, w, part in depends_on),
        allow=Allow(frozenset(allow[0]), tuple(allow[1]), tuple(allow[2]), tuple(allow[3])) if any(allow)
        else _NO_ALLOW,
        nhi=tuple(nhi), verify=verify, revoke=revoke,
        examples=Examples(tuple(PositiveExample(t, sec, bare) for t, sec, bare in examples[0]),
                          tuple(examples[1])),
        aliases=tuple(aliases), description=description, references=tuple(references),
        rotation_guide=rotation_guide, prefilter=prefilter, names=tuple(names), source=source,
    )


_NO_ALLOW = Allow()


def _load_cached(directory: Path) -> list[Rule]:
    """Built-in rules, validated once and then cached as parsed rows: validation compiles every pattern, which
    would otherwise cost a pre-commit hook most of its time budget. The cache is ours (the user's cache folder),
    and read as JSON only: a damaged or foreign file is rebuilt, never executed."""
    cache = build_cache_dir() / f"rules-{_cache_key(directory)}.json"
    try:
        return [_from_row(row) for row in json.loads(cache.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError, AssertionError, IndexError, KeyError):
        pass
    rules: list[Rule] = []
    for file in rule_files(directory):
        provider, records = _read_records(file)
        rules.extend(parse_rule(record, source=str(file), default_provider=provider) for record in records)
    rules = _relative_source(rules, directory)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([_to_row(r) for r in rules]), encoding="utf-8")
        os.replace(tmp, cache)
    except (OSError, TypeError, ValueError):
        pass  # a read-only home or an unserialisable record only costs speed
    return rules


def load_builtin() -> list[Rule]:
    directory = builtin_rules_dir()
    rules = _load_cached(directory)
    check_references(rules)
    return rules


@lru_cache(maxsize=1)
def _builtin_by_id() -> dict[str, Rule]:
    return {r.id: r for r in load_builtin()}


def trusted_rule(rule: Rule, trusted: Sequence[Path]) -> Rule | None:
    """The rule whose verify: and revoke: blocks may be used for `rule`'s findings: itself when it is built-in or
    comes from a trusted file (`--rules`), else the built-in rule of the same id, else None. A repository's own
    configuration never chooses where its secrets are sent."""
    builtin = _builtin_by_id().get(rule.id)
    if builtin is not None and builtin == rule:
        return rule
    if rule.source:
        path = Path(rule.source).resolve()
        if any(path == t.resolve() or t.resolve() in path.parents for t in trusted):
            return rule
    return builtin


def merge(base: Sequence[Rule], extra: Sequence[Rule], disabled: Iterable[str] = ()) -> list[Rule]:
    """User rules replace built-ins with the same id; disabled ids (or aliases) are dropped."""
    off = set(disabled)
    by_id = {r.id: r for r in base}
    for rule in extra:
        by_id[rule.id] = rule
    rules = [r for r in by_id.values() if r.id not in off and not off.intersection(r.aliases)]
    check_references(rules)
    return rules
