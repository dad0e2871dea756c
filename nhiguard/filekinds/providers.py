"""Providers' own configuration files: the file's name says whose credentials it holds (datadog.yaml,
newrelic.yml, .sentryclirc, ngrok.yml, .databrickscfg …), while the settings inside are named only `api_key`,
`token`, `license_key`. Each secret setting becomes a field that names its provider (`config_of`); the engine
then lets that provider's rule take the value as if it were written `datadog_api_key: …`, and a value none of
the provider's rules takes stays a finding of this file's generic rule."""

from __future__ import annotations

from collections.abc import Iterator

from nhiguard.filekinds.base import PROVIDER_CONFIG, Field, FileKind, field_at, rule
from nhiguard.filekinds.grammar import assignments, ini, json_tree, walk_json, yaml_scalars
from nhiguard.filekinds.names import secret_key

RULES = (
    rule(PROVIDER_CONFIG, "Secret in a provider's own configuration file", "filekind",
         description="A secret setting of a file whose name says which provider it configures (datadog.yaml, "
                     ".sentryclirc, ngrok.yml …), not taken by any rule of that provider."),
)

# base name, or path ending after a '/', → (the provider as its rules name it, the file's grammar, settings that
# hold a credential there although their names do not say so)
FILES: dict[str, tuple[str, str, frozenset[str]]] = {
    "datadog.yaml": ("datadog", "yaml", frozenset()),
    "datadog.yml": ("datadog", "yaml", frozenset()),
    "newrelic.yml": ("newrelic", "yaml", frozenset()),
    "newrelic.yaml": ("newrelic", "yaml", frozenset()),
    "newrelic-infra.yml": ("newrelic", "yaml", frozenset()),
    "newrelic.ini": ("newrelic", "ini", frozenset()),
    ".sentryclirc": ("sentry", "ini", frozenset()),
    "sentry.properties": ("sentry", "properties", frozenset()),
    "okta.yaml": ("okta", "yaml", frozenset()),
    "okta.yml": ("okta", "yaml", frozenset()),
    "ngrok.yml": ("ngrok", "yaml", frozenset()),
    "ngrok.yaml": ("ngrok", "yaml", frozenset()),
    ".databrickscfg": ("databricks", "ini", frozenset()),
    ".linode-cli": ("linode", "ini", frozenset()),
    "linode-cli": ("linode", "ini", frozenset()),
    ".vultr-cli.yaml": ("vultr", "yaml", frozenset({"api-key"})),
    "scw/config.yaml": ("scaleway", "yaml", frozenset()),
    "codecov.yml": ("codecov", "yaml", frozenset()),
    ".codecov.yml": ("codecov", "yaml", frozenset()),
    ".coveralls.yml": ("coveralls", "yaml", frozenset()),
    "sonar-project.properties": ("sonar", "properties", frozenset({"sonar.login"})),
    ".circleci/cli.yml": ("circleci", "yaml", frozenset()),
    "netlify/config.json": ("netlify", "json", frozenset()),
    ".transifexrc": ("transifex", "ini", frozenset()),
    "config/hub": ("github", "yaml", frozenset()),
}


def _owner(path: str) -> tuple[str, str, frozenset[str]] | None:
    low = path.replace("\\", "/").lower()
    name = low.rsplit("/", 1)[-1]
    if name in FILES:
        return FILES[name]
    low = "/" + low
    return next((entry for ending, entry in FILES.items() if "/" in ending and low.endswith("/" + ending)), None)


def parse_provider_config(text: str, path: str) -> Iterator[Field]:
    found = _owner(path)
    if found is None:
        return
    provider, grammar, extra = found
    for key, value, offset, parent in _settings(text, grammar):
        if not value or not (secret_key(key) or key.lower() in extra):
            continue
        context = [("config_of", provider), ("section" if grammar == "ini" else "path", parent), ("setting", key)]
        yield field_at(PROVIDER_CONFIG, value, offset, context, kind="key", generic=True)


def _settings(text: str, grammar: str) -> Iterator[tuple[str, str, int, str]]:
    """(setting, value, offset of the value, its section or parent keys) in the file's grammar."""
    if grammar == "yaml":
        for s in yaml_scalars(text):
            yield s.key, s.value, s.offset, ".".join(s.path)
    elif grammar == "ini":
        for e in ini(text, inline_comments=True):
            yield e.key, e.value, e.offset, e.section
    elif grammar == "properties":
        for e in assignments(text):
            yield e.key, e.value, e.offset, ""
    else:
        tree = json_tree(text)
        if tree is None:
            return
        for key_path, node in walk_json(tree):
            if node.kind == "string" and key_path and node.value:
                yield key_path[-1], str(node.value), node.offset, ".".join(key_path[:-1])


def _names() -> tuple[str, ...]:
    return tuple(n for n in FILES if "/" not in n)


def _paths() -> tuple[str, ...]:
    return tuple(n for n in FILES if "/" in n)


KINDS = (
    FileKind("provider-config", parse_provider_config, RULES, names=_names(), paths=_paths()),
)
