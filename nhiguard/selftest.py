"""Runs a rule's own examples through the whole engine. Shared by the test suite and `nhiguard rules check`.

For every rule: each positive yields exactly its secret in every seeded context, a keyword of the rule is in
every positive, each negative yields nothing from the rule, no other rule claims the secret, the pattern
finishes within its time bound on adversarial input, and each recorded `verify.cases` response of a declarative
check maps to its expected verdict.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nhiguard import ruleset
from nhiguard.engine import Engine
from nhiguard.engine.matcher import compile_gate, compile_pattern, compile_plain, finditer
from nhiguard.model import Chunk, Origin, PositiveExample, Rule
from nhiguard.verify.spec import case_answer, check_case, evaluate

ADVERSARIAL_SIZE = 1 << 20
ADVERSARIAL_SECONDS = 5.0
# Vetting a repository's rules and allow regexes before a scan: the widest line window the engine hands a pattern
# (4 KiB either side of a hit) twice over, and 16x the slowest built-in rule's time on it (15 ms).
VET_SIZE = 16 << 10
VET_SECONDS = 0.25
ALLOW_VET_SIZE = 4 << 10  # an allow regex sees one candidate secret
_PROBE_CLASSES = "aA1_-/= \t."
EXAMPLE_PATH = "src/app/settings.txt"

Context = Callable[[str], str]

# Each context puts a bare token where real code and config put credentials.
CONTEXTS: dict[str, Context] = {
    "raw": lambda t: t,
    "env": lambda t: f"NHIGUARD_EXAMPLE={t}\n",
    "yaml": lambda t: f"service:\n  value: {t}\n  region: eu-west-1\n",
    "json": lambda t: f'{{"name": "svc", "value": "{t}", "retries": 3}}\n',
    "python": lambda t: f'import os\n\nVALUE = "{t}"\nprint(len(VALUE))\n',
    "shell": lambda t: f"#!/bin/sh\nexport NHIGUARD_EXAMPLE='{t}'\n./run.sh\n",
}

_FILLER = (
    "# configuration follows\n",
    "timeout = 30\n",
    "def handler(event):\n    return event\n",
    "<!-- generated -->\n",
    "name: build\n",
)


@dataclass(frozen=True, slots=True)
class Problem:
    rule_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.message}"


def _seeded(rule: Rule, text: str, salt: int) -> str:
    rng = random.Random(f"{rule.id}:{salt}")
    return rng.choice(_FILLER) + text + ("\n" if not text.endswith("\n") else "") + rng.choice(_FILLER)


def _scan(engine: Engine, text: str, *, helpers: bool = False) -> list[tuple[str, str, int, int]]:
    data = text.encode("utf-8")
    chunk = Chunk(data=data, origin=Origin(path=EXAMPLE_PATH))
    return [(m.rule_id, m.secret, m.start, m.end) for m in engine.scan(chunk, include_helpers=helpers)]


def named_contexts(name: str) -> dict[str, Context]:
    """Where a `context:` rule's bare token sits: always beside its provider's name, in one-line and two-line
    forms (Kubernetes env, a YAML section, a JSON object)."""
    parts = [p for p in name.replace(".", "_").split("_") if p]
    upper = "_".join(p.upper() for p in parts)
    snake = "_".join(parts)
    camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
    return {
        "env": lambda t: f"{upper}_API_KEY={t}\n",
        "k8s": lambda t: f"env:\n  - name: {upper}_TOKEN\n    value: \"{t}\"\n",
        "section": lambda t: f"{snake}:\n  api_key: {t}\n  timeout: 30\n",
        "json": lambda t: f'{{"{camel}ApiKey": "{t}", "retries": 3}}\n',
        "python": lambda t: f'{upper}_SECRET = "{t}"\nprint(len({upper}_SECRET))\n',
        "shell": lambda t: f"#!/bin/sh\nexport {upper}_KEY='{t}'\n./run.sh\n",
    }


def _contexts(example: PositiveExample, rule: Rule | None = None) -> list[tuple[str, str]]:
    if not example.bare:
        return [("text", example.text)]
    if rule is not None and rule.names:
        return [(name, wrap(example.secret)) for name, wrap in named_contexts(rule.names[0]).items()]
    usable = {"raw", "env"} if any(q in example.secret for q in "\"'\n") else set(CONTEXTS)
    return [(name, CONTEXTS[name](example.secret)) for name in CONTEXTS if name in usable]


def check_positive(rule: Rule, engine: Engine, index: int, example: PositiveExample) -> list[Problem]:
    problems: list[Problem] = []
    label = f"positive #{index + 1}"
    if not rule.names and not any(k in example.text.lower() for k in rule.keywords):
        problems.append(Problem(rule.id, f"{label} contains none of the keywords {list(rule.keywords)}"))
        return problems
    if rule.prefilter and not compile_gate(rule.prefilter).search(example.text):
        problems.append(Problem(rule.id, f"{label} does not contain the rule's prefilter gate"))
    allowed_neighbours = {d.rule for d in rule.depends_on}
    for salt, (context, text) in enumerate(_contexts(example, rule)):
        seeded = _seeded(rule, text, salt)
        found = _scan(engine, seeded, helpers=not rule.report)
        own = [m for m in found if m[0] == rule.id]
        secrets = {m[1] for m in own}
        if secrets != {example.secret}:
            got = ", ".join(sorted(repr(s[:40]) for s in secrets)) or "nothing"
            problems.append(Problem(rule.id, f"{label} in {context} context: expected exactly the secret, got {got}"))
            continue
        spans = [(s, e) for r, _, s, e in own]
        for other, _, s, e in found:
            if other == rule.id or other in allowed_neighbours:
                continue
            if any(s < oe and os_ < e for os_, oe in spans):
                problems.append(Problem(rule.id, f"{label} in {context} context is also claimed by rule {other!r}"))
    return problems


def check_negative(rule: Rule, engine: Engine, index: int, text: str) -> list[Problem]:
    for context in ("raw", "python", "env"):
        found = _scan(engine, CONTEXTS[context](text), helpers=not rule.report)
        if any(m[0] == rule.id for m in found):
            return [Problem(rule.id, f"negative #{index + 1} matched in {context} context")]
    return []


def adversarial_inputs(rule: Rule, size: int = ADVERSARIAL_SIZE) -> list[str]:
    keyword = rule.keywords[0]
    half = size // 2
    return [
        (keyword + "a" * 61 + " ") * (size // (len(keyword) + 62)),
        keyword + "A1_-+/=" * (size // 7),
        (keyword + "=") * (half // (len(keyword) + 1)) + "\t" * half,
        (keyword + ':"' + "x" * 40 + '"\n') * (size // (len(keyword) + 44)),
    ]


CONTEXT_ADVERSARIAL_SIZE = 1 << 17


def probe_inputs(pattern: str, size: int, prefix: str = "") -> list[str]:
    """Long runs of each character the pattern names and of common classes, each ending in a character that
    fails the match: where nested or overlapping repeats backtrack exponentially (`(\\w|\\w\\w)+_$`)."""
    chars = sorted({c for c in pattern if c.isprintable() and c not in "()[]{}?*+|^$\\"} | set(_PROBE_CLASSES))
    runs = [c * size for c in chars] + ["aA1_" * (size // 4), "a " * (size // 2)]
    return [prefix + run + end for run in runs for end in ("\x00", "!")]


def _finishes(pattern: Any, texts: list[str], seconds: float) -> bool:
    """Whether the pattern runs over each text within `seconds`."""
    try:
        for text in texts:
            for _ in finditer(pattern, text, seconds):
                pass
    except TimeoutError:
        return False
    return True


def check_bounded(rule: Rule, *, size: int = ADVERSARIAL_SIZE, seconds: float = ADVERSARIAL_SECONDS) -> list[Problem]:
    if rule.names:
        # a `context:` rule's pattern is the shorthand's (bounded repeats, anchored at the name or host) around the
        # rule's own value shape: 128 KiB still turns any super-linear shape into a timeout, in an eighth the time
        size = min(size, CONTEXT_ADVERSARIAL_SIZE)
    texts = adversarial_inputs(rule, size)
    if size <= VET_SIZE:  # (cheap at this size; the 1 MiB self-test keeps its four inputs)
        texts += probe_inputs(rule.pattern, size, rule.keywords[0])
        # the rule's own examples lead its pattern into the secret: from there, a long run that fails at its end
        texts += [t for lead in _leads(rule) for t in probe_inputs(rule.pattern + lead[1], size // 4, lead[0])]
    if not _finishes(compile_pattern(rule.pattern), texts, seconds):
        shown = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"
        return [Problem(rule.id, f"pattern did not finish within {seconds}s on {shown} of adversarial input "
                                 "(nested or overlapping repeats backtrack without bound)")]
    return []


def _leads(rule: Rule) -> list[tuple[str, str]]:
    """(text before the secret, the secret) where the pattern matches its first positive examples."""
    pattern = compile_pattern(rule.pattern)
    out = []
    for example in rule.examples.positive[:2]:
        try:
            m = next(iter(finditer(pattern, example.text, VET_SECONDS)), None)
        except TimeoutError:
            m = None
        if m is not None and "secret" in m.groupdict() and m.start("secret") >= 0:
            out.append((example.text[: m.start("secret")], m.group("secret")))
    return out


def vet_allow_regex(pattern: str) -> str | None:
    """Why an allow regex cannot be used (it backtracks without bound on some secret), or None."""
    if not _finishes(compile_plain(pattern), probe_inputs(pattern, ALLOW_VET_SIZE), VET_SECONDS):
        return (f"allow regex {pattern!r} did not finish within {VET_SECONDS}s on a {ALLOW_VET_SIZE >> 10} KiB "
                "candidate (nested or overlapping repeats backtrack without bound)")
    return None


def vet_rule(rule: Rule) -> list[Problem]:
    """What `rules check` would say about a rule's cost, cheaply: run before a scan on a repository's own rules."""
    problems = check_bounded(rule, size=VET_SIZE, seconds=VET_SECONDS)
    for pattern in rule.allow.regexes:
        why = vet_allow_regex(pattern)
        if why:
            problems.append(Problem(rule.id, why))
    return problems


def check_rule(rule: Rule, engine: Engine, *, bounded: bool = True) -> list[Problem]:
    """Every problem with one rule; empty means the rule is sound. `engine` holds the whole rule set."""
    problems: list[Problem] = []
    if not rule.examples.positive:
        problems.append(Problem(rule.id, "has no positive examples"))
    if not rule.examples.negative:
        problems.append(Problem(rule.id, "has no negative examples"))
    for i, example in enumerate(rule.examples.positive):
        problems.extend(check_positive(rule, engine, i, example))
    for i, text in enumerate(rule.examples.negative):
        problems.extend(check_negative(rule, engine, i, text))
    if bounded:
        problems.extend(check_bounded(rule))
    problems.extend(check_verify_cases(rule))
    return problems


def check_verify_cases(rule: Rule) -> list[Problem]:
    """Each recorded response of a declarative `verify:` block maps to its expected verdict (offline: the
    evaluator is pure; the test suite replays the same cases through a local HTTPS server as well)."""
    spec = ruleset.verify_spec(rule)
    if spec is None or spec.request is None:
        return []
    problems = []
    for i, case in enumerate(spec.cases):
        verdict = evaluate(spec, case_answer(case))
        for problem in check_case(spec, case, verdict):
            problems.append(Problem(rule.id, f"verify case {case.name or i}: {problem}"))
    return problems


def check_rules(rules: Sequence[Rule], engine: Engine | None = None) -> list[Problem]:
    engine = engine or Engine(rules)
    problems: list[Problem] = []
    for rule in rules:
        problems.extend(check_rule(rule, engine))
    return problems
