"""Remediation: a saved report → a deterministic plan (one action per finding: ticket, revoke or nothing, chosen by
the `remediate:` policy in .nhiguard.yml) → applied only with `--apply`. Orchestration (L4).

Planning makes no network request. Applying files tickets through a ticket backend and revokes through a revoker
(`nhiguard.remediate.plugins`), each request going through `nhiguard.http` to the hosts fixed for that action: the
rule's `revoke.hosts` (a trusted rule only, as for verification), the ticket system's host, or the explicit
endpoint override (`--remediate-endpoint`, announced by the CLI). Every planned and applied action, every call, its
result and the responder are appended to the audit log (the same JSON Lines file as verification's) and, when
asked, to the inventory. One failed action never stops the others. After a revocation the credential is verified
again.
"""

from __future__ import annotations

import fnmatch
import json
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhiguard import redact, ruleset
from nhiguard.cache import default_store
from nhiguard.config import Config
from nhiguard.engine import Engine
from nhiguard.errors import ConfigError
from nhiguard.fingerprint import matches
from nhiguard.http import HttpClient, HttpError, HttpSettings, Request, Response
from nhiguard.inventory import codeowners, govern
from nhiguard.inventory.record import locate
from nhiguard.inventory.store import Inventory
from nhiguard.model import Finding, Rule, Verdict
from nhiguard.remediate.plugins import (
    TICKET_BACKENDS,
    Outcome,
    Registry,
    RemediationError,
    RevokeTarget,
    Ticket,
    TicketLocation,
    revoker_name,
)
from nhiguard.safeio import REPORT_MAX_BYTES, read_capped
from nhiguard.sources import gitinfo
from nhiguard.verify.phase import (
    AuditLog,
    Override,
    Verification,
    VerifyOptions,
    default_audit_log,
    find_override,
    recover,
    route,
    rule_names,
    saved_locations,
)
from nhiguard.verify.spec import RevokeSpec

PLAN_KIND = "nhiguard-remediation-plan"
ACTIONS = ("revoke", "ticket", "none")
_WHEN_KEYS = frozenset({"verdict", "provider", "rule", "severity", "path"})
_BACKEND_ALIASES = {"github": "github-issues", "gitlab": "gitlab-issues", "jira": "jira"}
_SETTINGS_KEY = {"github-issues": "github", "gitlab-issues": "gitlab", "jira": "jira"}


# -- the policy ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PolicyRule:
    when: tuple[tuple[str, tuple[str, ...]], ...]
    then: str
    backend: str | None = None

    def matches(self, facts: Mapping[str, Sequence[str]]) -> bool:
        for key, wanted in self.when:
            values = facts.get(key, ())
            if key == "path":
                if not any(fnmatch.fnmatchcase(v, w) for v in values for w in wanted):
                    return False
            elif not any(v in wanted for v in values):
                return False
        return True

    def describe(self) -> str:
        return " ".join(f"{k}={'|'.join(v)}" for k, v in self.when) or "always"


@dataclass(frozen=True, slots=True)
class RemediatePolicy:
    rules: tuple[PolicyRule, ...] = ()
    otherwise: str = "ticket"
    backend: str | None = None  # the default ticket backend
    tickets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # backend name → its settings
    assignees: tuple[tuple[str, str], ...] = ()
    default_owner: str | None = None
    labels: tuple[str, ...] = ()


def _backend(value: Any, where: str) -> str:
    name = _BACKEND_ALIASES.get(str(value), str(value))
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: a ticket backend name ({', '.join(TICKET_BACKENDS)})")
    return name


def _then(raw: Any, where: str) -> tuple[str, str | None]:
    text = str(raw or "")
    action, _, backend = text.partition(":")
    if action not in ACTIONS:
        raise ConfigError(f"{where}: must be one of {', '.join(ACTIONS)} (optionally ticket:BACKEND), got {raw!r}")
    return action, (_backend(backend, where) if backend else None)


def policy_from(sections: Mapping[str, Any]) -> RemediatePolicy:
    raw = sections.get("remediate") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("remediate: must be a mapping")
    unknown = set(raw) - {"policy", "else", "tickets"}
    if unknown:
        raise ConfigError(f"remediate: unknown key(s) {sorted(unknown)} (known: policy, else, tickets)")
    rules = []
    for i, item in enumerate(raw.get("policy") or []):
        where = f"remediate.policy[{i}]"
        if not isinstance(item, Mapping) or set(item) - {"when", "then", "backend"} or "then" not in item:
            raise ConfigError(f"{where}: expected {{when: {{...}}, then: revoke|ticket|none}}")
        when = item.get("when") or {}
        if not isinstance(when, Mapping) or set(when) - _WHEN_KEYS:
            raise ConfigError(f"{where}.when: keys are {', '.join(sorted(_WHEN_KEYS))}")
        conds = []
        for key in sorted(when):
            value = when[key]
            values = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
            conds.append((str(key), values))
        action, backend = _then(item["then"], f"{where}.then")
        if item.get("backend") is not None:
            backend = _backend(item["backend"], f"{where}.backend")
        rules.append(PolicyRule(tuple(conds), action, backend))
    otherwise, else_backend = _then(raw.get("else", "ticket"), "remediate.else")
    tickets = raw.get("tickets") or {}
    if not isinstance(tickets, Mapping):
        raise ConfigError("remediate.tickets: must be a mapping")
    known = {"backend", "github", "gitlab", "jira", "assignees", "default_owner", "labels"}
    if set(tickets) - known:
        raise ConfigError(f"remediate.tickets: unknown key(s) {sorted(set(tickets) - known)}")
    backend = else_backend or (_backend(tickets["backend"], "remediate.tickets.backend")
                               if tickets.get("backend") else None)
    settings: dict[str, Mapping[str, Any]] = {}
    for name, key in _SETTINGS_KEY.items():
        value = tickets.get(key) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"remediate.tickets.{key}: must be a mapping")
        settings[name] = dict(value)
    assignees = tickets.get("assignees") or {}
    if not isinstance(assignees, Mapping):
        raise ConfigError("remediate.tickets.assignees: must map owners to assignees")
    labels = tickets.get("labels") or []
    return RemediatePolicy(
        rules=tuple(rules), otherwise=otherwise, backend=backend, tickets=settings,
        assignees=tuple((str(k), str(v)) for k, v in assignees.items()),
        default_owner=str(tickets["default_owner"]) if tickets.get("default_owner") else None,
        labels=tuple(str(x) for x in labels) if isinstance(labels, list) else (str(labels),),
    )


# -- the plan --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Action:
    fingerprint: str
    rule_id: str
    provider: str
    action: str  # revoke | ticket | none
    backend: str | None
    why: str
    verdict: str
    ticket: Ticket
    identity: str | None = None
    first_seen: str | None = None

    def document(self) -> dict[str, Any]:
        t = self.ticket
        return {
            "fingerprint": self.fingerprint, "rule_id": self.rule_id, "provider": self.provider,
            "action": self.action, "backend": self.backend, "why": self.why, "verdict": self.verdict,
            "identity": self.identity, "first_seen": self.first_seen,
            "ticket": {
                "rule_name": t.rule_name, "severity": t.severity, "redacted": t.redacted,
                "verdict_detail": t.verdict_detail, "rotation_guide": t.rotation_guide, "owner": t.owner,
                "owner_source": t.owner_source, "assignee": t.assignee, "labels": list(t.labels),
                "locations": [{"repo": loc.repo, "path": loc.path, "line": loc.line, "commit": loc.commit,
                               "author": loc.author, "date": loc.date} for loc in t.locations],
            },
        }


@dataclass(frozen=True, slots=True)
class Plan:
    target: str
    root: str
    actions: tuple[Action, ...]
    tickets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {"version": 1, "kind": PLAN_KIND, "target": self.target, "root": self.root,
                "tickets": {k: dict(v) for k, v in sorted(self.tickets.items())},
                "actions": [a.document() for a in self.actions]}

    def text(self) -> str:
        counts = {a: sum(1 for x in self.actions if x.action == a) for a in ACTIONS}
        lines = [f"remediation plan: {len(self.actions)} finding(s): {counts['revoke']} revoke, "
                 f"{counts['ticket']} ticket, {counts['none']} nothing"]
        for a in self.actions:
            where = a.ticket.locations[0] if a.ticket.locations else None
            place = f"{where.path}:{where.line}" if where else "?"
            target = f" via {a.backend}" if a.backend else ""
            owner = f" owner {a.ticket.owner}" if a.ticket.owner and a.action == "ticket" else ""
            lines.append(f"  {a.action:<6} {a.fingerprint[:17]} {a.rule_id} ({a.verdict}) {place}{target}{owner}"
                         f"  [{a.why}]")
        return "\n".join(lines)


def _trusted_revoke(rule: Rule, trusted: Sequence[Path]) -> RevokeSpec | None:
    """The revoke: block that may be used for the rule's findings (`ruleset.trusted_rule`)."""
    chosen = ruleset.trusted_rule(rule, trusted)
    return ruleset.revoke_spec(chosen) if chosen is not None else None


def _owner(path: str, rule: Rule, author: str | None, email: str | None, entries: list[codeowners.Entry],
           owners_cfg: govern.OwnersConfig, policy: RemediatePolicy) -> tuple[str | None, str | None]:
    """The inventory's owner of the path (`govern.resolve_owner`), else the policy's default owner."""
    owner, source = govern.resolve_owner(path, rule.provider, codeowners.owners_of(entries, path), author, email,
                                         owners_cfg)
    if owner is None and policy.default_owner:
        return policy.default_owner, "default"
    return owner, source


def _assignee(owner: str | None, policy: RemediatePolicy) -> str | None:
    if owner is None:
        return None
    mapping = dict(policy.assignees)
    for one in owner.split():
        if one in mapping:
            return mapping[one]
    return None


def build_plan(saved: Sequence[Mapping[str, Any]], rules: Mapping[str, Rule], *, target: str, base: Path,
               config: Config, trusted: Sequence[Path] = ()) -> Plan:
    """One action per saved finding, sorted by fingerprint: the same report and policy give the same plan."""
    policy = policy_from(config.sections)
    owners_cfg = govern.owners_config(config.sections)
    where = locate(base)
    entries = codeowners.load(where.top)
    actions = []
    for item in sorted(saved, key=lambda f: (str(f.get("fingerprint")), str(f.get("rule_id")))):
        rule = rules.get(str(item.get("rule_id")))
        fp = str(item.get("fingerprint", ""))
        verdict_raw = item.get("verdict") if isinstance(item.get("verdict"), Mapping) else {}
        assert isinstance(verdict_raw, Mapping)
        status = str(verdict_raw.get("status") or "not_checked")
        locations = saved_locations(item.get("locations"))  # (fields of the wrong kind leave a location out)
        paths = [where.prefix + loc.path for loc in locations]
        first = locations[0] if locations else None
        if rule is None:
            continue
        owner, owner_source = _owner(paths[0] if paths else "", rule, first.author if first else None,
                                     first.email if first else None, entries, owners_cfg, policy)
        shown = str(item.get("secret") or "")
        # a report saved with --show-secrets holds the secret itself: tickets and plans get its preview only
        secrets = [shown] if shown and matches(rule, shown, fp) else []
        identity = verdict_raw.get("identity")
        if isinstance(identity, str):
            identity = redact.scrub(identity, secrets)
        ticket = Ticket(
            fingerprint=fp, rule_id=rule.id, rule_name=rule.name, provider=rule.provider, severity=rule.severity,
            redacted=redact.preview(shown) if secrets else shown, verdict=status,
            verdict_detail=redact.scrub(str(verdict_raw.get("detail") or ""), secrets),
            identity=identity, rotation_guide=rule.rotation_guide,
            locations=tuple(TicketLocation(Path(where.repo).name, loc.path, loc.line, loc.commit,
                                           loc.email or loc.author, loc.date) for loc in locations),
            owner=owner, owner_source=owner_source, assignee=_assignee(owner, policy), labels=policy.labels,
        )
        facts: dict[str, list[str]] = {"verdict": [status], "provider": [rule.provider],
                                       "rule": [rule.id, *rule.aliases], "severity": [rule.severity], "path": paths}
        chosen = next((r for r in policy.rules if r.matches(facts)), None)
        action = chosen.then if chosen else policy.otherwise
        why = f"policy: {chosen.describe()}" if chosen else "policy: else"
        backend = (chosen.backend if chosen and chosen.backend else None) or policy.backend
        if action == "revoke":
            spec = _trusted_revoke(rule, trusted)
            if spec is not None and spec.acts:
                backend = revoker_name(spec)
            else:
                reason = spec.reason if spec is not None and spec.reason else "the rule has no revocation API"
                action, why = "ticket", f"{why}; cannot revoke: {reason}"
                backend = policy.backend
        if action == "ticket" and backend is None:
            action, why = "none", f"{why}; no ticket backend configured (remediate.tickets.backend)"
        if action == "none":
            backend = None
        dates = sorted(loc.date for loc in locations if loc.date)
        actions.append(Action(fp, rule.id, rule.provider, action, backend, why, status, ticket,
                              identity, dates[0] if dates else None))
    return Plan(target=target, root=str(base), actions=tuple(actions), tickets=policy.tickets)


def saved_from_inventory(path: Path) -> list[Mapping[str, Any]]:
    """The inventory's identities in the shape of a saved report's findings (latest verdict, every location)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no inventory there")
    with Inventory(path) as store:
        identities = store.identities()
    out: list[Mapping[str, Any]] = []
    for ident in identities:
        latest = ident.latest_verdict
        out.append({
            "rule_id": ident.rule_id, "fingerprint": ident.fingerprint, "secret": ident.preview,
            "verdict": {"status": latest.status if latest else "not_checked",
                        "identity": latest.identity if latest else None, "detail": latest.detail if latest else ""},
            "locations": [{"path": loc.path, "line": loc.line, "commit": loc.commit, "author": loc.author,
                           "email": loc.email, "date": loc.date} for loc in ident.locations],
        })
    return out


def load_plan(path: Path) -> Plan:
    raw = read_capped(path, limit=REPORT_MAX_BYTES, what="plan", error=ConfigError)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: cannot read the plan: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: cannot read the plan: nested too deeply") from None
    if not isinstance(doc, Mapping) or doc.get("kind") != PLAN_KIND or doc.get("version") != 1:
        raise ConfigError(f"{path}: not an nhiguard remediation plan (version 1)")
    actions = []
    for a in doc.get("actions") or []:
        t = a["ticket"]
        ticket = Ticket(
            fingerprint=a["fingerprint"], rule_id=a["rule_id"], rule_name=t["rule_name"], provider=a["provider"],
            severity=t["severity"], redacted=t["redacted"], verdict=a["verdict"], verdict_detail=t["verdict_detail"],
            identity=a.get("identity"), rotation_guide=t["rotation_guide"], owner=t.get("owner"),
            owner_source=t.get("owner_source"), assignee=t.get("assignee"), labels=tuple(t.get("labels") or ()),
            locations=tuple(TicketLocation(loc["repo"], loc["path"], int(loc["line"]), loc.get("commit"),
                                           loc.get("author"), loc.get("date")) for loc in t["locations"]),
        )
        if a["action"] not in ACTIONS:
            raise ConfigError(f"{path}: unknown action {a['action']!r}")
        actions.append(Action(a["fingerprint"], a["rule_id"], a["provider"], a["action"], a.get("backend"), a["why"],
                              a["verdict"], ticket, a.get("identity"), a.get("first_seen")))
    return Plan(target=str(doc.get("target") or ""), root=str(doc.get("root") or "."), actions=tuple(actions),
                tickets=doc.get("tickets") or {})


# -- applying --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ApplyOptions:
    overrides: tuple[Override, ...] = ()
    ca_bundle: str | None = None
    audit_log: Path | None = None
    inventory: Path | None = None
    responder: str = "unknown"
    http: HttpSettings = field(default_factory=HttpSettings)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    trusted_rule_sources: tuple[Path, ...] = ()
    reverify: bool = True


@dataclass(frozen=True, slots=True)
class Result:
    action: Action
    outcome: Outcome
    reverified: str | None = None


def responder_identity(explicit: str | None, cwd: Path) -> str:
    return explicit or gitinfo.current_user(cwd)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Transport:
    """Pins one action's hosts (or the override), audits every call by host and status (never the URL, which may
    hold the secret), and keeps the secrets out of error texts."""

    def __init__(self, run: Applier, hosts: tuple[str, ...], override: Override | None, action: Action,
                 secrets: Sequence[str]) -> None:
        self._run, self._hosts, self._override, self._action = run, hosts, override, action
        self._secrets = [s for s in secrets if len(s) >= 6]

    def send(self, request: Request, *, from_secret: bool = False) -> Response:
        where = route(request.url, self._hosts, self._override, self._run.options.ca_bundle, from_secret=from_secret)
        if where is None:
            raise RemediationError("needs the address of your own server: pass --remediate-endpoint NAME=https://HOST")
        url, policy = where
        host = (urllib.parse.urlsplit(url).hostname or "?").lower()
        record: dict[str, Any] = {"event": "remediate.call", "fingerprint": self._action.fingerprint,
                                  "rule_id": self._action.rule_id, "backend": self._action.backend,
                                  "method": request.method, "host": host,
                                  "endpoint_override": self._override is not None}
        try:
            response = self._run.client.send(replace(request, url=url), policy)
        except HttpError as exc:
            self._run.write({**record, "http_status": None, "error": redact.scrub(str(exc), self._secrets)})
            raise
        self._run.write({**record, "http_status": response.status, "error": None})
        return response


class Applier:
    def __init__(self, options: ApplyOptions, *, registry: Registry | None = None,
                 client: HttpClient | None = None) -> None:
        self.options = options
        self.registry = registry or Registry()
        self.client = client or HttpClient(options.http)
        self.audit = AuditLog(options.audit_log or default_audit_log())

    def write(self, record: Mapping[str, Any]) -> None:
        self.audit.write({"time": _now(), "responder": self.options.responder, **record})

    def close(self) -> None:
        self.audit.close()
        self.client.close()

    def record_plan(self, plan: Plan) -> None:
        for a in plan.actions:
            self.write({"event": "remediate.plan", "fingerprint": a.fingerprint, "rule_id": a.rule_id,
                        "provider": a.provider, "action": a.action, "backend": a.backend, "why": a.why,
                        "verdict": a.verdict, "owner": a.ticket.owner})

    def _result(self, action: Action, outcome: Outcome, secrets: Sequence[str], reverified: str | None = None
                ) -> Result:
        outcome = replace(outcome, detail=redact.scrub(outcome.detail, [s for s in secrets if len(s) >= 6]))
        self.write({"event": "remediate.apply", "fingerprint": action.fingerprint, "rule_id": action.rule_id,
                    "provider": action.provider, "action": action.action, "backend": action.backend,
                    "ok": outcome.ok, "state": outcome.state, "ref": outcome.ref, "http_status": outcome.http_status,
                    "detail": outcome.detail, "reverified": reverified})
        return Result(action, outcome, reverified)

    def preflight(self, plan: Plan, rules: Mapping[str, Rule]) -> list[str]:
        """Everything the plan's actions will need (tokens, confirmed hosts, settings, plugins), checked before
        the first action, so a missing token stops the run with one message instead of failing action by action.
        A plugin without a `preflight` method is trusted to say so when it acts."""
        problems: list[str] = []
        env = self.options.env
        for name in sorted({a.backend or "" for a in plan.actions if a.action == "ticket"}):
            backend = self.registry.ticket_backend(name)
            if backend is None:
                problems.append(f"no ticket backend named {name!r}")
                continue
            check = getattr(backend, "preflight", None)
            if check is not None:
                problems.extend(f"{name}: {p}" for p in check(plan.tickets.get(name) or {}, env))
        for rule_id in sorted({a.rule_id for a in plan.actions if a.action == "revoke"}):
            rule = rules.get(rule_id)
            spec = _trusted_revoke(rule, self.options.trusted_rule_sources) if rule else None
            if spec is None or not spec.acts:
                problems.append(f"{rule_id}: the rule has no revocation")
                continue
            revoker = self.registry.revoker(revoker_name(spec))
            if revoker is None:
                problems.append(f"{rule_id}: no revoker named {revoker_name(spec)!r}")
                continue
            check = getattr(revoker, "preflight", None)
            if check is not None:
                problems.extend(f"{rule_id}: {p}" for p in check(env))
        return sorted(set(problems))

    def apply(self, plan: Plan, rules: Mapping[str, Rule]) -> list[Result]:
        results: dict[int, Result] = {}
        revokes = [i for i, a in enumerate(plan.actions) if a.action == "revoke"]
        for i, action in enumerate(plan.actions):
            if action.action == "ticket":
                results[i] = self._ticket(action, plan)
            elif action.action == "none":
                results[i] = self._result(action, Outcome(True, "skipped", detail=action.why), ())
        if revokes:
            results.update(self._revoke_all(plan, [plan.actions[i] for i in revokes], revokes, rules))
        if self.options.inventory is not None:
            self._record_inventory(list(results.values()))
        return [results[i] for i in range(len(plan.actions))]

    def _ticket(self, action: Action, plan: Plan) -> Result:
        name = action.backend or ""
        backend = self.registry.ticket_backend(name)
        if backend is None:
            return self._result(action, Outcome(False, "failed", detail=f"no ticket backend named {name!r}"), ())
        settings = plan.tickets.get(name) or {}
        env = self.options.env
        tokens = [v for k, v in env.items() if k in ("GITHUB_TOKEN", "GITLAB_TOKEN", "JIRA_API_TOKEN")]
        ticket = action.ticket
        if action.first_seen:
            try:
                seen = datetime.fromisoformat(action.first_seen.replace("Z", "+00:00"))
                ticket = replace(ticket, age_days=max(0, (datetime.now(UTC) - seen).days))
            except ValueError:
                pass
        try:
            transport = _Transport(self, backend.hosts(settings), find_override(self.options.overrides, name),
                                   action, tokens)
            outcome = backend.file(ticket, settings, transport, env)
        except (RemediationError, HttpError) as exc:
            outcome = Outcome(False, "failed", detail=str(exc))
        except Exception as exc:  # a backend bug never stops the other actions
            outcome = Outcome(False, "failed", detail=f"ticket backend {name} failed: {type(exc).__name__}")
        return self._result(action, outcome, tokens)

    def _revoke_all(self, plan: Plan, actions: list[Action], indexes: list[int],
                    rules: Mapping[str, Rule]) -> dict[int, Result]:
        out: dict[int, Result] = {}
        base = Path(plan.root)
        saved = [{"rule_id": a.rule_id, "fingerprint": a.fingerprint,
                  "locations": [{"path": loc.path, "line": loc.line, "commit": loc.commit}
                                for loc in a.ticket.locations]} for a in actions]
        # (the compiled prefilter comes from the cache: compiling it for a thousand rules takes seconds)
        recovered = recover(saved, rules, base, Engine(list(rules.values()), store=default_store()))
        by_fp = {f.fingerprint: f for f in recovered.found}
        groups: dict[tuple[str, str, tuple[str, ...]],
                     list[tuple[int, Action, Finding, RevokeSpec, Override | None]]] = {}
        for index, action in zip(indexes, actions, strict=True):
            finding = by_fp.get(action.fingerprint)
            rule = rules.get(action.rule_id)
            spec = _trusted_revoke(rule, self.options.trusted_rule_sources) if rule else None
            if finding is None or rule is None:
                out[index] = self._result(action, Outcome(False, "failed", detail="location gone: the secret is no "
                                                          "longer where the report saw it"), ())
                continue
            if spec is None or not spec.acts:
                out[index] = self._result(action, Outcome(False, "failed", detail="the rule has no revocation"),
                                          [finding.secret])
                continue
            override = find_override(self.options.overrides, *rule_names(rule))
            key = (revoker_name(spec), override.selector if override else "", spec.hosts)
            groups.setdefault(key, []).append((index, action, finding, spec, override))
        for (name, _, _), members in sorted(groups.items(), key=lambda kv: kv[0]):
            revoker = self.registry.revoker(name)
            secrets = [m[2].secret for m in members] + [v for m in members for _, v in m[2].parts]
            if revoker is None:
                for index, action, *_ in members:
                    out[index] = self._result(action, Outcome(False, "failed", detail=f"no revoker named {name!r}"),
                                              secrets)
                continue
            # (one override per group: it is part of the group's key)
            transport = _Transport(self, revoker.hosts(members[0][3]), members[0][4], members[0][1], secrets)
            targets = [RevokeTarget(rule_id=f.rule.id, provider=f.rule.provider, fingerprint=f.fingerprint,
                                    secret=f.secret, spec=spec, parts=dict(f.parts), identity=a.identity)
                       for _, a, f, spec, _ in members]
            try:
                outcomes = revoker.revoke(targets, transport, self.options.env)
            except (RemediationError, HttpError) as exc:
                outcomes = [Outcome(False, "failed", detail=str(exc))] * len(members)
            except Exception as exc:
                outcomes = [Outcome(False, "failed", detail=f"revoker {name} failed: {type(exc).__name__}")] * len(
                    members)
            revoked = [m[2] for m, o in zip(members, outcomes, strict=True) if o.ok]
            after = self._reverify(revoked)
            for (index, action, finding, *_), outcome in zip(members, outcomes, strict=True):
                status = after.get(finding.fingerprint) if outcome.ok else None
                out[index] = self._result(action, outcome, secrets, status)
        return out

    def _reverify(self, findings: list[Finding]) -> dict[str, str]:
        if not findings or not self.options.reverify:
            return {}
        options = VerifyOptions(overrides=self.options.overrides, ca_bundle=self.options.ca_bundle,
                                audit_log=self.audit.path, http=self.options.http,
                                trusted_rule_sources=self.options.trusted_rule_sources)
        copies = [replace(f, verdict=Verdict()) for f in findings]
        with Verification(options, client=self.client) as run:
            run.verify(copies, None)
        return {f.fingerprint: f.verdict.status for f in copies}

    def _record_inventory(self, results: list[Result]) -> None:
        assert self.options.inventory is not None
        with Inventory(self.options.inventory) as store:
            for r in results:
                if r.action.action == "ticket":
                    store.set_remediation(r.action.fingerprint, ticket_ref=r.outcome.ref,
                                          ticket_state="open" if r.outcome.ok else "failed")
                elif r.action.action == "revoke":
                    store.set_remediation(r.action.fingerprint,
                                          revocation_state="revoked" if r.outcome.ok else "failed",
                                          revoked_at=_now() if r.outcome.ok else None)


def results_text(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        a, o = r.action, r.outcome
        mark = "ok  " if o.ok else "FAIL"
        extra = f" {o.ref}" if o.ref else ""
        after = f"; verified again: {r.reverified}" if r.reverified else ""
        lines.append(f"  {mark} {a.action:<6} {a.fingerprint[:17]} {a.rule_id}: {o.state}{extra}"
                     f"{' - ' + o.detail if o.detail and not o.ok else ''}{after}")
    return "\n".join(lines)
