"""Render generated credentials and decoys into realistic files, and measure a scanner against them.

`build_corpus(seed)` returns a `Corpus`: relative path → text, every planted credential with its path, line span
and encoding, and every decoy with its path and line span (or whole decoy-only files).  `measure(corpus, scan)`
matches what a scanner found against that ground truth by (path, secret).

Files cover source code (.py .js .ts .go .java .rb .php .cs .sh), configuration (.env .yaml .json .toml .ini
.properties .xml .tf, Dockerfile, GitHub Actions and GitLab CI pipelines, a Kubernetes Secret with base64
`data`, .npmrc, docker config.json), documentation (.md), notebooks (.ipynb), raw key files, and lockfiles.
A value is sometimes base64-, hex- or percent-encoded, as configuration often carries it.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.corpus import tokens as T
from tests.corpus.tokens import DecoyValue, Token

PLAIN, BASE64, HEX, PERCENT = "plain", "base64", "hex", "percent"


# ---------------------------------------------------------------------------------------------------------------
# ground truth
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planted:
    path: str
    line: int  # first line of the planted assignment(s)
    end_line: int
    token: Token
    encoding: str
    fmt: str

    @property
    def secret(self) -> str:
        return self.token.secret


@dataclass(frozen=True)
class Decoy:
    path: str
    line: int  # 0: the whole file is a decoy file
    end_line: int
    kind: str
    value: str
    fmt: str


@dataclass
class Corpus:
    seed: int
    files: dict[str, str] = field(default_factory=dict)
    planted: list[Planted] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)
    decoy_files: set[str] = field(default_factory=set)

    def write(self, root: Path) -> None:
        for rel, text in self.files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def summary(self) -> dict[str, object]:
        return {
            "files": len(self.files),
            "decoy_files": len(self.decoy_files),
            "planted": len(self.planted),
            "decoy_lines": sum(1 for d in self.decoys if d.line),
            "planted_by_family": dict(sorted(Counter(p.token.family for p in self.planted).items())),
            "planted_by_label": dict(Counter(p.token.label for p in self.planted)),
            "encodings": dict(Counter(p.encoding for p in self.planted)),
            "formats": dict(sorted(Counter(p.fmt for p in self.planted).items())),
        }


# ---------------------------------------------------------------------------------------------------------------
# a file under construction
# ---------------------------------------------------------------------------------------------------------------
class Doc:
    def __init__(self, path: str, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.lines: list[str] = []
        self.planted: list[Planted] = []
        self.decoys: list[Decoy] = []

    def add(self, *texts: str) -> None:
        for text in texts:
            self.lines.extend(text.split("\n"))

    def plant(self, texts: Iterable[str], token: Token, encoding: str) -> None:
        start = len(self.lines) + 1
        self.add(*texts)
        self.planted.append(Planted(self.path, start, len(self.lines), token, encoding, self.fmt))

    def decoy(self, texts: Iterable[str], dv: DecoyValue) -> None:
        start = len(self.lines) + 1
        self.add(*texts)
        self.decoys.append(Decoy(self.path, start, len(self.lines), dv.kind, dv.value, self.fmt))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# naming styles
# ---------------------------------------------------------------------------------------------------------------
def _parts(name: str) -> list[str]:
    return [p for p in name.lower().split("_") if p]


def snake(name: str) -> str:
    return "_".join(_parts(name))


def camel(name: str) -> str:
    p = _parts(name)
    return p[0] + "".join(x.capitalize() for x in p[1:])


def pascal(name: str) -> str:
    return "".join(x.capitalize() for x in _parts(name))


def dotted(name: str) -> str:
    return ".".join(_parts(name))


def kebab(name: str) -> str:
    return "-".join(_parts(name))


def _json_str(value: str) -> str:
    return json.dumps(value)


# ---------------------------------------------------------------------------------------------------------------
# formats: how one assignment is written, and the file around it
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    name: str
    paths: tuple[str, ...]
    header: Callable[[random.Random], list[str]]
    assign: Callable[[random.Random, str, str], list[str]]
    footer: Callable[[random.Random], list[str]]
    multiline: Callable[[random.Random, str, str], list[str]] | None = None
    code: bool = False  # decoy values such as os.environ[...] render unquoted here
    code_assign: Callable[[str, str], list[str]] | None = None
    filler: tuple[str, ...] = ()


def _py_header(rng: random.Random) -> list[str]:
    return [
        '"""Service configuration."""',
        "",
        "import os",
        "import logging",
        "",
        "log = logging.getLogger(__name__)",
        "",
    ]


def _py_assign(rng: random.Random, name: str, value: str) -> list[str]:
    style = rng.random()
    if style < 0.6:
        return [f'{name} = "{value}"']
    if style < 0.8:
        return [f'client = ServiceClient({snake(name)}="{value}", timeout=30)']
    return [f'os.environ.setdefault("{name}", "{value}")']


FORMATS: dict[str, Format] = {}


def _register(f: Format) -> None:
    FORMATS[f.name] = f


_register(
    Format(
        "python",
        ("app/settings.py", "scripts/deploy.py", "src/{svc}/config.py", "tools/sync_{svc}.py"),
        _py_header,
        _py_assign,
        lambda rng: ["", "", "def configure():", '    log.info("configured %s", __name__)', "    return True"],
        multiline=lambda rng, n, v: [f'{n} = """{v}"""'],
        code=True,
        code_assign=lambda n, v: [f"{n} = {v}"],
        filler=("TIMEOUT_SECONDS = 30", "RETRIES = 3", 'REGION = "eu-west-1"', "DEBUG = False"),
    )
)

_register(
    Format(
        "javascript",
        ("src/config.js", "server/{svc}.js", "lib/clients/{svc}.js"),
        lambda rng: ["'use strict';", "", "const axios = require('axios');", ""],
        lambda rng, n, v: [f"const {camel(n)} = '{v}';"] if rng.random() < 0.6 else [f'let {camel(n)} = "{v}";'],
        lambda rng: ["", "module.exports = { axios };"],
        multiline=lambda rng, n, v: [f"const {camel(n)} = `{v}`;"],
        code=True,
        code_assign=lambda n, v: [f"const {camel(n)} = {v};"],
        filler=("const timeoutMs = 5000;", "const region = 'us-east-1';"),
    )
)

_register(
    Format(
        "typescript",
        ("src/lib/{svc}.ts", "apps/web/src/env.ts", "packages/api/src/config.ts"),
        lambda rng: ["import { z } from 'zod';", ""],
        lambda rng, n, v: [f'export const {n}: string = "{v}";'],
        lambda rng: ["", "export const schema = z.object({ region: z.string() });"],
        multiline=lambda rng, n, v: [f"export const {n} = `{v}`;"],
        code=True,
        code_assign=lambda n, v: [f"export const {n} = {v};"],
        filler=("export const RETRY_LIMIT = 3;",),
    )
)

_register(
    Format(
        "go",
        ("internal/config/{svc}.go", "cmd/worker/main.go", "pkg/{svc}/client.go"),
        lambda rng: ["package config", "", "import (", '\t"os"', '\t"time"', ")", "", "const ("],
        lambda rng, n, v: [f'\t{camel(n)} = "{v}"'],
        lambda rng: [
            ")",
            "",
            "var timeout = 30 * time.Second",
            "",
            "func Region() string {",
            '\treturn os.Getenv("AWS_REGION")',
            "}",
        ],
        multiline=lambda rng, n, v: [f"\t{camel(n)} = `{v}`"],
        filler=('\tserviceName = "orders"',),
    )
)

_register(
    Format(
        "java",
        ("src/main/java/com/acme/{Svc}Config.java", "src/main/java/com/acme/integration/Clients.java"),
        lambda rng: ["package com.acme;", "", "import java.time.Duration;", "", "public final class Config {"],
        lambda rng, n, v: [f'    private static final String {n} = "{v}";'],
        lambda rng: ["", "    private static final Duration TIMEOUT = Duration.ofSeconds(30);", "}"],
        multiline=lambda rng, n, v: [f'    private static final String {n} = """', v, '""";'],
        code=True,
        code_assign=lambda n, v: [f"    private static final String {n} = {v};"],
        filler=('    private static final String REGION = "eu-central-1";',),
    )
)

_register(
    Format(
        "ruby",
        ("config/initializers/{svc}.rb", "lib/tasks/{svc}.rake"),
        lambda rng: ["# frozen_string_literal: true", "", "Rails.application.configure do", "end", ""],
        lambda rng, n, v: [f"{n} = '{v}'"] if rng.random() < 0.6 else [f'config.{snake(n)} = "{v}"'],
        lambda rng: ["", "Rails.logger.info('services configured')"],
        multiline=lambda rng, n, v: [f"{n} = <<~KEY", v, "KEY"],
        filler=("RETRIES = 3",),
    )
)

_register(
    Format(
        "php",
        ("config/services.php", "wp-config.php", "app/Config/{Svc}.php"),
        lambda rng: ["<?php", "", "return ["],
        lambda rng, n, v: [f"    '{snake(n)}' => '{v}',"],
        lambda rng: ["    'timeout' => 30,", "];"],
        multiline=lambda rng, n, v: [f"    '{snake(n)}' => <<<EOT", v, "EOT,"],
        filler=("    'region' => 'eu-west-1',",),
    )
)

_register(
    Format(
        "csharp",
        ("src/Acme.Api/Settings.cs", "src/Acme.Worker/{Svc}Options.cs"),
        lambda rng: ["namespace Acme.Api;", "", "public static class Settings", "{"],
        lambda rng, n, v: [f'    public const string {pascal(n)} = "{v}";'],
        lambda rng: ["    public const int TimeoutSeconds = 30;", "}"],
        multiline=lambda rng, n, v: [f'    public const string {pascal(n)} = @"{v}";'],
        code=True,
        code_assign=lambda n, v: [f"    public static readonly string {pascal(n)} = {v};"],
        filler=('    public const string Region = "westeurope";',),
    )
)

_register(
    Format(
        "env",
        (".env", ".env.production", "deploy/{svc}.env", "services/{svc}/.env.local"),
        lambda rng: ["# generated by ops, do not commit", "NODE_ENV=production", "LOG_LEVEL=info"],
        lambda rng, n, v: [f"{n}={v}"] if rng.random() < 0.6 else [f'{n}="{v}"'],
        lambda rng: ["PORT=8080"],
        multiline=lambda rng, n, v: [f'{n}="{v}"'] if rng.random() < 0.5 else [f'{n}="' + v.replace("\n", "\\n") + '"'],
        filler=("AWS_REGION=eu-west-1", "WORKERS=4"),
    )
)

_register(
    Format(
        "yaml",
        ("config/application.yml", "helm/{svc}/values-prod.yaml", "config/{svc}.yaml", "docker-compose.yml"),
        lambda rng: ["# service configuration", "service:", "  name: orders", "  replicas: 3", "credentials:"],
        lambda rng, n, v: [f"  {snake(n)}: {v}"] if rng.random() < 0.5 else [f'  {snake(n)}: "{v}"'],
        lambda rng: ["logging:", "  level: info"],
        multiline=lambda rng, n, v: [f"  {snake(n)}: |", *("    " + ln for ln in v.split("\n"))],
        filler=("  region: eu-west-1",),
    )
)

_register(
    Format(
        "json",
        ("config/secrets.json", "appsettings.Production.json", "config/{svc}.json", ".vscode/settings.json"),
        lambda rng: ["{", '  "environment": "production",'],
        lambda rng, n, v: [f'  "{camel(n)}": {_json_str(v)},'],
        lambda rng: ['  "version": 2', "}"],
        multiline=lambda rng, n, v: [f'  "{camel(n)}": {_json_str(v)},'],
        filler=('  "region": "eu-west-1",',),
    )
)

_register(
    Format(
        "toml",
        ("config.toml", "config/{svc}.toml", ".cargo/config.toml"),
        lambda rng: ["[service]", 'name = "orders"', "", "[credentials]"],
        lambda rng, n, v: [f'{snake(n)} = "{v}"'],
        lambda rng: ["", "[logging]", 'level = "info"'],
        multiline=lambda rng, n, v: [f"{snake(n)} = '''", v, "'''"],
        filler=('region = "eu-west-1"',),
    )
)

_register(
    Format(
        "ini",
        ("app.ini", "setup.cfg", "config/{svc}.ini", ".pypirc"),
        lambda rng: ["[server]", "host = 0.0.0.0", "port = 8080", "", "[credentials]"],
        lambda rng, n, v: [f"{snake(n)} = {v}"],
        lambda rng: ["", "[logging]", "level = INFO"],
        multiline=lambda rng, n, v: [f"{snake(n)} =", *("    " + ln for ln in v.split("\n"))],
        filler=("region = eu-west-1",),
    )
)

_register(
    Format(
        "properties",
        ("src/main/resources/application.properties", "config/{svc}.properties", "gradle.properties"),
        lambda rng: ["# Spring configuration", "server.port=8080", "spring.application.name=orders"],
        lambda rng, n, v: [f"{dotted(n)}={v}"],
        lambda rng: ["logging.level.root=INFO"],
        multiline=lambda rng, n, v: [f"{dotted(n)}=" + v.replace("\n", "\\n")],
        filler=("spring.jpa.open-in-view=false",),
    )
)

_register(
    Format(
        "xml",
        ("web.config", "src/main/resources/{svc}-context.xml", "App.config"),
        lambda rng: ['<?xml version="1.0" encoding="utf-8"?>', "<configuration>", "  <appSettings>"],
        lambda rng, n, v: [f'    <add key="{pascal(n)}" value="{v}" />'],
        lambda rng: ["  </appSettings>", "</configuration>"],
        multiline=lambda rng, n, v: [f"    <{pascal(n)}><![CDATA[", v, f"]]></{pascal(n)}>"],
        filler=('    <add key="Region" value="westeurope" />',),
    )
)

_register(
    Format(
        "dockerfile",
        ("Dockerfile", "docker/{svc}/Dockerfile", "build/Dockerfile.ci"),
        lambda rng: ["FROM python:3.12-slim", "WORKDIR /app", "COPY requirements.txt ."],
        lambda rng, n, v: [f"ENV {n}={v}"] if rng.random() < 0.6 else [f"ARG {n}={v}"],
        lambda rng: ["RUN pip install --no-cache-dir -r requirements.txt", "COPY . .", 'CMD ["python", "-m", "app"]'],
        filler=("ENV PYTHONUNBUFFERED=1",),
    )
)

_register(
    Format(
        "github-workflow",
        (".github/workflows/deploy.yml", ".github/workflows/release.yml", ".github/workflows/{svc}.yml"),
        lambda rng: [
            "name: deploy",
            "on:",
            "  push:",
            "    branches: [main]",
            "jobs:",
            "  deploy:",
            "    runs-on: ubuntu-latest",
            "    env:",
        ],
        lambda rng, n, v: [f"      {n}: {v}"],
        lambda rng: ["    steps:", "      - uses: actions/checkout@v4", "      - run: make deploy"],
        multiline=lambda rng, n, v: [f"      {n}: |", *("        " + ln for ln in v.split("\n"))],
        filler=("      AWS_REGION: eu-west-1",),
    )
)

_register(
    Format(
        "gitlab-ci",
        (".gitlab-ci.yml", "ci/{svc}.gitlab-ci.yml"),
        lambda rng: ["stages: [build, deploy]", "", "variables:"],
        lambda rng, n, v: [f'  {n}: "{v}"'],
        lambda rng: ["", "deploy:", "  stage: deploy", "  script:", "    - make deploy"],
        multiline=lambda rng, n, v: [f"  {n}: |", *("    " + ln for ln in v.split("\n"))],
        filler=('  DOCKER_DRIVER: "overlay2"',),
    )
)

_register(
    Format(
        "terraform",
        ("infra/main.tf", "infra/modules/{svc}/main.tf", "terraform/providers.tf"),
        lambda rng: ["terraform {", '  required_version = ">= 1.5"', "}", "", "locals {"],
        lambda rng, n, v: [f'  {snake(n)} = "{v}"'],
        lambda rng: ["}", "", 'resource "null_resource" "noop" {}'],
        multiline=lambda rng, n, v: [f"  {snake(n)} = <<EOT", v, "EOT"],
        filler=('  region = "eu-west-1"',),
    )
)

_register(
    Format(
        "shell",
        ("scripts/deploy.sh", "bin/bootstrap.sh", "ops/{svc}-env.sh", "scripts/backup.sh"),
        lambda rng: ["#!/usr/bin/env bash", "set -euo pipefail", ""],
        lambda rng, n, v: [f"export {n}='{v}'"] if rng.random() < 0.7 else [f'{n}="{v}"'],
        lambda rng: ["", 'echo "done"'],
        multiline=lambda rng, n, v: ["cat > /tmp/credential <<'EOF'", v, "EOF"],
        filler=('REGION="eu-west-1"',),
    )
)

_register(
    Format(
        "markdown",
        ("README.md", "docs/setup.md", "docs/runbooks/{svc}.md", "CONTRIBUTING.md"),
        lambda rng: ["# Orders service", "", "Local setup notes for the on-call engineer.", "", "```bash"],
        lambda rng, n, v: [f"export {n}={v}"],
        lambda rng: ["```", "", "Run `make dev` afterwards."],
        multiline=lambda rng, n, v: [
            "```",
            "",
            f"The {n.lower().replace('_', ' ')}:",
            "",
            "```",
            v,
            "```",
            "",
            "```bash",
        ],
        filler=("export AWS_REGION=eu-west-1",),
    )
)

_register(
    Format(
        "notebook",
        ("notebooks/analysis.ipynb", "notebooks/{svc}-exploration.ipynb"),
        lambda rng: [
            "{",
            ' "cells": [',
            "  {",
            '   "cell_type": "code",',
            '   "execution_count": 1,',
            '   "metadata": {},',
            '   "outputs": [],',
            '   "source": [',
            '    "import os\\n",',
        ],
        lambda rng, n, v: ["    " + _json_str(f'os.environ["{n}"] = "{v}"\n') + ","],
        lambda rng: [
            "    \"print('ready')\\n\"",
            "   ]",
            "  }",
            " ],",
            ' "metadata": {"kernelspec": {"name": "python3"}},',
            ' "nbformat": 4,',
            ' "nbformat_minor": 5',
            "}",
        ],
        multiline=lambda rng, n, v: (
            ["    " + _json_str(f'{n} = """' + "\n") + ","]
            + ["    " + _json_str(ln + "\n") + "," for ln in v.split("\n")]
            + ["    " + _json_str('"""\n') + ","]
        ),
        filler=('    "REGION = \\"eu-west-1\\"\\n",',),
    )
)

# formats written by dedicated renderers (not through `assign`)
SPECIAL_FORMATS = ("k8s-secret", "npmrc", "docker-config", "raw-key", "sa-json-file")


# ---------------------------------------------------------------------------------------------------------------
# encodings
# ---------------------------------------------------------------------------------------------------------------
def encode(value: str, encoding: str) -> str:
    if encoding == BASE64:
        return base64.b64encode(value.encode()).decode()
    if encoding == HEX:
        return value.encode().hex()
    if encoding == PERCENT:
        return quote(value, safe="")
    return value


_SUFFIX = {BASE64: "_B64", HEX: "_HEX", PERCENT: "_URLENCODED", PLAIN: ""}


def choose_encoding(rng: random.Random, token: Token) -> str:
    if token.multiline:
        return PLAIN
    r = rng.random()
    if "://" in token.value and r < 0.35:
        return PERCENT
    if not token.encodable or token.multiline:
        return PLAIN
    if len(token.prefix) >= 4 and token.value == token.secret:
        if r < 0.1:
            return BASE64
        if r < 0.15:
            return HEX
    return PLAIN


# ---------------------------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------------------------
_SVCS = ("billing", "orders", "search", "notify", "ingest", "payments", "reports", "auth", "gateway", "sync")


class _Paths:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def pick(self, templates: tuple[str, ...]) -> str:
        for _ in range(200):
            t = self.rng.choice(templates)
            svc = self.rng.choice(_SVCS)
            path = t.replace("{svc}", svc).replace("{Svc}", svc.capitalize())
            if path not in self.used:
                self.used.add(path)
                return path
        # every template taken: nest under a fresh directory
        n = len(self.used)
        path = f"services/s{n}/{self.rng.choice(templates).replace('{svc}', 'svc').replace('{Svc}', 'Svc')}"
        self.used.add(path)
        return path


# Authorization headers are written where headers are written, not as variables.
HEADER_RENDER: dict[str, Callable[[str], str]] = {
    "shell": lambda v: f'curl -sS -H "Authorization: {v}" https://api.acme.io/v1/orders',
    "markdown": lambda v: f'curl -sS -H "Authorization: {v}" https://api.acme.io/v1/orders',
    "python": lambda v: f'headers = {{"Authorization": "{v}", "Accept": "application/json"}}',
    "javascript": lambda v: f"const headers = {{ Authorization: '{v}', 'Content-Type': 'application/json' }};",
    "typescript": lambda v: f'export const headers = {{ Authorization: "{v}" }};',
    "yaml": lambda v: f"  Authorization: {v}",
    "json": lambda v: f'  "Authorization": {_json_str(v)},',
    "notebook": lambda v: "    " + _json_str(f'headers = {{"Authorization": "{v}"}}' + "\n") + ",",
}


def _render_token(doc: Doc, fmt: Format, rng: random.Random, token: Token, encoding: str) -> None:
    lines: list[str] = []
    if token.name == "AUTHORIZATION":
        doc.plant([HEADER_RENDER[fmt.name](token.value)], token, encoding)
        return
    for i, (name, value) in enumerate(token.assignments):
        if i == token.primary:
            if token.multiline:
                assert fmt.multiline is not None
                lines += fmt.multiline(rng, name, value)
                continue
            lines += fmt.assign(rng, name + _SUFFIX[encoding], encode(value, encoding))
        else:
            lines += fmt.assign(rng, name, value)
    doc.plant(lines, token, encoding)


def _render_decoy(doc: Doc, fmt: Format, rng: random.Random, dv: DecoyValue) -> None:
    if dv.multiline:
        assert fmt.multiline is not None
        doc.decoy(fmt.multiline(rng, dv.name, dv.value), dv)
    elif "code" in dv.tags:
        assert fmt.code_assign is not None
        doc.decoy(fmt.code_assign(dv.name, dv.value), dv)
    else:
        doc.decoy(fmt.assign(rng, dv.name, dv.value), dv)


def _decoy_fits(fmt: Format, dv: DecoyValue) -> bool:
    if dv.multiline:
        return fmt.multiline is not None
    if "code" in dv.tags:
        return fmt.code
    return True


# neutral settings and comments written between planted values: realistic, and far enough apart (>= 5
# lines) that a paired part never pairs with a neighbouring credential
_NEUTRAL = (
    ("REGION", "eu-west-1"),
    ("TIMEOUT_SECONDS", "30"),
    ("MAX_RETRIES", "3"),
    ("LOG_LEVEL", "info"),
    ("FEATURE_NEW_CHECKOUT", "true"),
    ("CACHE_TTL", "300"),
    ("WORKER_CONCURRENCY", "8"),
    ("SERVICE_NAME", "orders"),
    ("METRICS_PORT", "9102"),
    ("BATCH_SIZE", "500"),
    ("PROXY_HOST", "proxy.internal"),
    ("UPLOAD_BUCKET", "acme-prod-uploads"),
    ("QUEUE_NAME", "orders-events"),
    ("DEFAULT_LOCALE", "en_GB"),
    ("SMTP_HOST", "smtp.acme.io"),
    ("SMTP_PORT", "587"),
    ("DB_HOST", "db.prod.acme.io"),
    ("DB_NAME", "orders"),
    ("DB_USER", "orders_app"),
    ("HEALTHCHECK_PATH", "/healthz"),
    ("SENTRY_ENVIRONMENT", "production"),
    ("TRACE_SAMPLE_RATE", "0.1"),
    ("PAGE_SIZE", "50"),
    ("CORS_ORIGIN", "https://app.acme.io"),
    ("RATE_LIMIT_PER_MINUTE", "600"),
    ("ARCHIVE_AFTER_DAYS", "90"),
    ("TIMEZONE", "Europe/London"),
)
_COMMENTS = (
    "retry budget tuned for the nightly batch window",
    "values below are read once at start-up",
    "TODO: move to the shared platform config",
    "keep in sync with the staging overlay",
    "owned by the payments team",
    "see docs/runbooks for rotation steps",
    "integration settings",
    "third-party services",
)
_COMMENT_PREFIX = {
    "python": "# ",
    "ruby": "# ",
    "yaml": "  # ",
    "env": "# ",
    "toml": "# ",
    "ini": "; ",
    "properties": "# ",
    "shell": "# ",
    "dockerfile": "# ",
    "github-workflow": "      # ",
    "gitlab-ci": "  # ",
    "terraform": "  # ",
    "javascript": "// ",
    "typescript": "// ",
    "go": "\t// ",
    "java": "    // ",
    "csharp": "    // ",
    "php": "    // ",
    "xml": "    <!-- ",
}


class _Filler:
    def __init__(self, rng: random.Random, fmt: Format) -> None:
        self.rng = rng
        self.fmt = fmt
        self.names = list(_NEUTRAL)
        rng.shuffle(self.names)

    def line(self) -> list[str]:
        prefix = _COMMENT_PREFIX.get(self.fmt.name)
        if prefix and self.rng.random() < 0.25:
            text = self.rng.choice(_COMMENTS)
            return [prefix + text + (" -->" if self.fmt.name == "xml" else "")]
        if self.names and self.fmt.name != "markdown":
            name, value = self.names.pop()
            return self.fmt.assign(self.rng, name, value)
        if self.fmt.name == "notebook":
            return ['    "\\n",']
        if self.fmt.name in ("json", "github-workflow"):
            return [_COMMENT_PREFIX.get("yaml", "") + "# -"] if self.fmt.name == "github-workflow" else []
        return [""]

    def lines(self, n: int) -> list[str]:
        out: list[str] = []
        for _ in range(n):
            out += self.line()
        return out


def _render_generic_file(
    path: str, fmt: Format, rng: random.Random, items: list[tuple[Token, str]], decoys: list[DecoyValue]
) -> Doc:
    doc = Doc(path, fmt.name)
    doc.add(*fmt.header(rng))
    filler = _Filler(rng, fmt)
    entries: list[tuple[Token, str] | DecoyValue] = [*items, *decoys]
    rng.shuffle(entries)
    for entry in entries:
        if isinstance(entry, DecoyValue):
            _render_decoy(doc, fmt, rng, entry)
            doc.add(*filler.lines(rng.randint(0, 2)))
        else:
            _render_token(doc, fmt, rng, *entry)
            doc.add(*filler.lines(6))  # keep neighbouring credentials apart so pairings stay unambiguous
    doc.add(*fmt.footer(rng))
    return doc


def _render_k8s(path: str, rng: random.Random, items: list[tuple[Token, str]]) -> Doc:
    doc = Doc(path, "k8s-secret")
    doc.add(
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        f"  name: {rng.choice(_SVCS)}-credentials",
        "  namespace: production",
        "type: Opaque",
        "data:",
    )
    for token, _ in items:
        doc.plant([f"  {kebab(token.name)}: {encode(token.value, BASE64)}"], token, BASE64)
    return doc


def _render_npmrc(path: str, rng: random.Random, items: list[tuple[Token, str]]) -> Doc:
    doc = Doc(path, "npmrc")
    doc.add("registry=https://registry.npmjs.org/", "always-auth=true")
    for token, _ in items:
        host = "registry.npmjs.org" if token.family == "npm" else "npm.pkg.github.com"
        if token.family == "gitlab":
            host = "gitlab.com/api/v4/packages/npm"
        doc.plant([f"//{host}/:_authToken={token.value}"], token, PLAIN)
    return doc


def _render_docker_config(path: str, rng: random.Random, items: list[tuple[Token, str]]) -> Doc:
    doc = Doc(path, "docker-config")
    doc.add("{", '  "auths": {')
    for i, (token, _) in enumerate(items):
        host = {"docker": "https://index.docker.io/v1/", "github": "ghcr.io", "gitlab": "registry.gitlab.com"}[
            token.family
        ]
        user = rng.choice(["ci-bot", "release-robot", "acme-deploy"])
        auth = base64.b64encode(f"{user}:{token.value}".encode()).decode()
        doc.add(f'    "{host}": {{')
        doc.plant([f'      "auth": "{auth}"'], token, BASE64)
        doc.add("    }" + ("," if i < len(items) - 1 else ""))
    doc.add("  },", '  "credsStore": ""', "}")
    return doc


def _render_raw_key(path: str, token: Token) -> Doc:
    doc = Doc(path, "raw-key")
    doc.plant([token.value.rstrip("\n")], token, PLAIN)
    return doc


_RAW_KEY_PATHS = {
    "private-key-rsa": ("certs/server.key", "deploy/tls/{svc}.key", "config/ssl/private.pem"),
    "private-key-ec": ("certs/{svc}-ec.pem", "keys/signing.key"),
    "private-key-openssh": (".ssh/id_ed25519", "deploy/keys/id_rsa", "ansible/files/deploy_key"),
    "private-key-pkcs8": ("keys/jwt-private.pem", "secrets/{svc}.pem"),
    "gcp-service-account": ("credentials/{svc}-sa.json", "gcp/service-account.json", "terraform/gcp-key.json"),
}


# ---------------------------------------------------------------------------------------------------------------
# decoy-only files
# ---------------------------------------------------------------------------------------------------------------
def _package_lock(rng: random.Random) -> str:
    packages = {"": {"name": "web", "version": "1.0.0", "dependencies": {}}}
    for name in ("react", "lodash", "axios", "express", "zod", "chalk", "dotenv", "uuid"):
        version = f"{rng.randint(1, 18)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        packages[f"node_modules/{name}"] = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
            "integrity": "sha512-" + base64.b64encode(T.rand_bytes(rng, 64)).decode(),
            "license": "MIT",
        }
    return (
        json.dumps(
            {"name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": packages}, indent=2
        )
        + "\n"
    )


def _yarn_lock(rng: random.Random) -> str:
    out = ["# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.", "# yarn lockfile v1", ""]
    for name in ("react", "lodash", "axios", "express", "dotenv"):
        version = f"{rng.randint(1, 18)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        out += [
            f"{name}@^{version}:",
            f'  version "{version}"',
            f'  resolved "https://registry.yarnpkg.com/{name}/-/{name}-{version}.tgz#{T.rand(rng, T.HEX, 40)}"',
            "  integrity sha512-" + base64.b64encode(T.rand_bytes(rng, 64)).decode(),
            "",
        ]
    return "\n".join(out)


def _go_sum(rng: random.Random) -> str:
    out = []
    for mod in ("github.com/stretchr/testify", "golang.org/x/crypto", "github.com/google/uuid"):
        v = f"v{rng.randint(0, 1)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        out.append(f"{mod} {v} h1:{base64.b64encode(T.rand_bytes(rng, 32)).decode()}")
        out.append(f"{mod} {v}/go.mod h1:{base64.b64encode(T.rand_bytes(rng, 32)).decode()}")
    return "\n".join(out) + "\n"


def _workflow_templates() -> str:
    return "\n".join(
        [
            "name: publish",
            "on: [release]",
            "jobs:",
            "  publish:",
            "    runs-on: ubuntu-latest",
            "    env:",
            "      NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}",
            "      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
            "      SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}",
            "      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}",
            "      DATABASE_URL: postgres://${{ secrets.DB_USER }}:${{ secrets.DB_PASSWORD }}@db.internal:5432/app",
            "    steps:",
            "      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11",
            '      - run: echo "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}" > ~/.npmrc',
            '      - run: curl -H "Authorization: Bearer ${{ secrets.API_TOKEN }}" https://api.acme.io/deploy',
            "",
        ]
    )


def _code_references() -> str:
    return "\n".join(
        [
            "import { Client } from '@acme/sdk';",
            "",
            "const apiKey = process.env.API_KEY;",
            "const stripeSecretKey = process.env.STRIPE_SECRET_KEY ?? '';",
            "const password = config.get('db.password');",
            "const token = await vault.read('secret/data/orders').then((r) => r.data.token);",
            "const headers = { Authorization: `Bearer ${token}` };",
            "export const client = new Client({ apiKey, password, headers });",
            "",
        ]
    )


def _python_references() -> str:
    return "\n".join(
        [
            "import os",
            "",
            'API_KEY = os.environ["API_KEY"]',
            'DB_PASSWORD = os.getenv("DB_PASSWORD", "")',
            "SECRET_KEY = settings.SECRET_KEY",
            "password = getpass.getpass('Password: ')",
            "token = self.get_token()",
            "auth = (username, password)",
            'headers = {"Authorization": f"Bearer {token}"}',
            'conn = psycopg2.connect(host=host, user=user, password=password, dbname="orders")',
            "",
        ]
    )


def _docs_placeholders() -> str:
    return "\n".join(
        [
            "# Configuration",
            "",
            "Set these variables before running the service:",
            "",
            "```bash",
            "export GITHUB_TOKEN=<your-github-token>",
            "export OPENAI_API_KEY=sk-...",
            "export STRIPE_SECRET_KEY=sk_live_...",
            "export DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DB",
            "export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/XXXXXXXXX/XXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
            "```",
            "",
            "The AWS documentation uses `AKIAIOSFODNN7EXAMPLE` as an access key id and",
            "`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY` as its secret.",
            "",
            "See https://docs.github.com/en/authentication for token scopes; the request id looks like",
            "`3f2b8c1e-9a4d-4e2f-b6c7-1d8e9f0a2b3c`.",
            "",
        ]
    )


# ---------------------------------------------------------------------------------------------------------------
# the corpus
# ---------------------------------------------------------------------------------------------------------------
_MULTILINE_FORMATS = tuple(n for n, f in FORMATS.items() if f.multiline is not None)


def _formats_for(token: Token) -> list[str]:
    if token.kind == "gcp-service-account":
        return ["sa-json-file", "sa-json-file", "yaml", "python", "terraform", "markdown", "k8s-secret", "shell"]
    if token.multiline:
        return ["raw-key", "raw-key", "k8s-secret", *_MULTILINE_FORMATS]
    if token.name == "AUTHORIZATION":
        return list(HEADER_RENDER)
    out = [n for n in FORMATS]
    if token.encodable and len(token.prefix) >= 4:
        out.append("k8s-secret")
    if token.family == "npm" or token.kind in ("github-ghp", "github-fine-grained"):
        out += ["npmrc"] * 3
    if token.family == "docker" or token.kind == "github-ghp" or token.kind == "gitlab-pat-legacy":
        out += ["docker-config"] * 3
    return out


def build_corpus(seed: int, per_kind: int = 3, decoy_files_per_format: int = 1) -> Corpus:
    rng = random.Random(seed)
    corpus = Corpus(seed=seed)
    paths = _Paths(rng)

    # 1. tokens
    by_format: dict[str, list[tuple[Token, str]]] = defaultdict(list)
    singles: list[tuple[str, Token]] = []
    for _kind, (_family, _label, generator) in sorted(T.GENERATORS.items()):
        for _ in range(per_kind):
            token = generator(rng)
            fmt = rng.choice(_formats_for(token))
            if fmt in ("raw-key", "sa-json-file"):
                singles.append((fmt, token))
                continue
            encoding = (
                BASE64 if fmt == "k8s-secret" else PLAIN if fmt in SPECIAL_FORMATS else choose_encoding(rng, token)
            )
            by_format[fmt].append((token, encoding))

    docs: list[Doc] = []
    for fmt_name, items in sorted(by_format.items()):
        rng.shuffle(items)
        size = 3 if fmt_name in ("k8s-secret", "npmrc", "docker-config") else 4
        for i in range(0, len(items), size):
            group = items[i : i + size]
            if fmt_name == "k8s-secret":
                docs.append(
                    _render_k8s(
                        paths.pick(
                            ("k8s/{svc}-secret.yaml", "deploy/k8s/secrets.yaml", "charts/{svc}/templates/secret.yaml")
                        ),
                        rng,
                        group,
                    )
                )
            elif fmt_name == "npmrc":
                docs.append(
                    _render_npmrc(paths.pick((".npmrc", "frontend/.npmrc", "packages/{svc}/.npmrc")), rng, group)
                )
            elif fmt_name == "docker-config":
                docs.append(
                    _render_docker_config(
                        paths.pick((".docker/config.json", "ci/docker/config.json", "deploy/{svc}/docker-config.json")),
                        rng,
                        group,
                    )
                )
            else:
                spec = FORMATS[fmt_name]
                pool = [d for d in T.decoy_values(rng) if _decoy_fits(spec, d) and d.kind != "aws-example"]
                decoys = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
                docs.append(_render_generic_file(paths.pick(spec.paths), spec, rng, group, decoys))
    for _fmt, token in singles:
        docs.append(_render_raw_key(paths.pick(_RAW_KEY_PATHS[token.kind]), token))

    # 2. decoy-only files: every decoy kind in every format, plus lockfiles, docs, references and public keys
    decoy_docs: list[Doc] = []
    public = [T.public_material(rng) for _ in range(2)]  # real RSA keys are slow to draw: reuse two sets
    for spec in (FORMATS[name] for name in sorted(FORMATS)):
        for _ in range(decoy_files_per_format):
            values = [d for d in T.decoy_values(rng) if _decoy_fits(spec, d)]
            if spec.multiline is not None:
                values += rng.choice(public)
            else:
                values += [d for d in rng.choice(public) if not d.multiline]
            doc = _render_generic_file(paths.pick(tuple(_decoy_path(p) for p in spec.paths)), spec, rng, [], values)
            decoy_docs.append(doc)
    whole_files = {
        "package-lock.json": _package_lock(rng),
        "web/yarn.lock": _yarn_lock(rng),
        "go.sum": _go_sum(rng),
        ".github/workflows/publish.yml": _workflow_templates(),
        "web/src/api/client.ts": _code_references(),
        "app/db.py": _python_references(),
        "docs/configuration.md": _docs_placeholders(),
    }
    for dv in public[0]:
        if dv.kind == "public-key" and dv.multiline:
            whole_files["keys/jwt-public.pem"] = dv.value + "\n"
        elif dv.kind == "public-key":
            whole_files["deploy/keys/id_ed25519.pub"] = dv.value + "\n"
        else:
            whole_files["certs/api.acme.io.crt"] = dv.value + "\n"

    for doc in docs:
        corpus.files[doc.path] = doc.text()
        corpus.planted += doc.planted
        corpus.decoys += doc.decoys
    for doc in decoy_docs:
        corpus.files[doc.path] = doc.text()
        corpus.decoys += doc.decoys
        corpus.decoy_files.add(doc.path)
    for path, text in whole_files.items():
        corpus.files[path] = text
        corpus.decoy_files.add(path)
        corpus.decoys.append(Decoy(path, 0, 0, "file", path, "file"))
    return corpus


def _decoy_path(template: str) -> str:
    """Decoy-only files live beside the real ones, e.g. `.env.example`, `config/defaults/...`."""
    if template.startswith(".env"):
        return ".env.example" if template == ".env" else template + ".template"
    head, _, tail = template.rpartition("/")
    return f"{head}/defaults/{tail}" if head else f"defaults/{tail}"


# ---------------------------------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    path: str
    line: int
    rule_id: str
    secret: str
    parts: tuple[tuple[str, str], ...] = ()


@dataclass
class Measurement:
    corpus: Corpus
    found: list[Found]
    hits: dict[int, list[Found]]  # index into corpus.planted → findings that matched it
    false_positives: list[tuple[Found, str]]  # (finding, what it hit: decoy kind / "decoy-file" / "filler")
    extras: list[tuple[Found, Planted]]  # on a planted line but not the planted secret (e.g. an id part)

    def misses(self) -> list[Planted]:
        return [p for i, p in enumerate(self.corpus.planted) if i not in self.hits]

    def recall(self, select: Callable[[Planted], bool] = lambda p: True) -> tuple[int, int]:
        chosen = [i for i, p in enumerate(self.corpus.planted) if select(p)]
        return sum(1 for i in chosen if i in self.hits), len(chosen)

    def table(self, key: Callable[[Planted], str]) -> list[tuple[str, int, int]]:
        totals: Counter[str] = Counter()
        hit: Counter[str] = Counter()
        for i, p in enumerate(self.corpus.planted):
            totals[key(p)] += 1
            hit[key(p)] += i in self.hits
        return [(k, hit[k], totals[k]) for k in sorted(totals)]

    def report(self, limit: int = 400) -> str:
        out = []
        misses = self.misses()
        if misses:
            out.append(f"MISSED ({len(misses)}):")
            for p in misses[:limit]:
                out.append(
                    f"  [{p.token.label}] {p.token.kind:<22} {p.path}:{p.line} ({p.fmt}, {p.encoding}) "
                    f"{_short(p.token.secret)}"
                )
        if self.false_positives:
            out.append(f"FALSE POSITIVES ({len(self.false_positives)}):")
            for f, what in self.false_positives[:limit]:
                out.append(f"  {f.rule_id:<32} {f.path}:{f.line} [{what}] {_short(f.secret)}")
        if self.extras:
            out.append(f"EXTRA FINDINGS ON PLANTED LINES ({len(self.extras)}, tolerated):")
            for f, p in self.extras[:limit]:
                out.append(f"  {f.rule_id:<32} {f.path}:{f.line} (planted {p.token.kind}) {_short(f.secret)}")
        return "\n".join(out)


def _short(secret: str) -> str:
    flat = secret.replace("\n", "\\n")
    return flat if len(flat) <= 90 else flat[:60] + "…" + flat[-20:]


def _matches(f: Found, p: Planted) -> bool:
    values = [f.secret, *(v for _, v in f.parts)]
    return any(v == p.token.secret or any(n and n in v for n in p.token.needles) for v in values)


def measure(corpus: Corpus, found: list[Found]) -> Measurement:
    planted_by_path: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(corpus.planted):
        planted_by_path[p.path].append(i)
    decoys_by_path: dict[str, list[Decoy]] = defaultdict(list)
    for d in corpus.decoys:
        decoys_by_path[d.path].append(d)
    hits: dict[int, list[Found]] = defaultdict(list)
    fps: list[tuple[Found, str]] = []
    extras: list[tuple[Found, Planted]] = []
    for f in found:
        matched = [i for i in planted_by_path.get(f.path, []) if _matches(f, corpus.planted[i])]
        for i in matched:
            hits[i].append(f)
        if matched:
            continue
        if f.path in corpus.decoy_files:
            on = [d for d in decoys_by_path[f.path] if d.line and d.line <= f.line <= d.end_line]
            fps.append((f, on[0].kind if on else "decoy-file"))
            continue
        on_decoy = [d for d in decoys_by_path.get(f.path, []) if d.line <= f.line <= d.end_line]
        if on_decoy:
            fps.append((f, on_decoy[0].kind))
            continue
        on_plant = [
            corpus.planted[i]
            for i in planted_by_path.get(f.path, [])
            if corpus.planted[i].line <= f.line <= corpus.planted[i].end_line
        ]
        if on_plant:
            extras.append((f, on_plant[0]))
        else:
            fps.append((f, "filler"))
    return Measurement(corpus=corpus, found=found, hits=dict(hits), false_positives=fps, extras=extras)


def scan_tree(root: Path, corpus: Corpus, scan: Callable[[str, bytes], Iterable[Found]]) -> list[Found]:
    """Scan every corpus file as written under `root` with `scan(relpath, data)`."""
    found: list[Found] = []
    for rel in sorted(corpus.files):
        found.extend(scan(rel, (root / rel).read_bytes()))
    return found


def engine_scanner(engine: object) -> Callable[[str, bytes], list[Found]]:
    """Adapt nhiguard's Engine.scan(Chunk) → list[Match] to the corpus' Found records."""
    from nhiguard.model import Chunk, Origin

    def scan(rel: str, data: bytes) -> list[Found]:
        matches = engine.scan(Chunk(data=data, origin=Origin(path=rel)))  # type: ignore[attr-defined]
        return [Found(rel, m.line, m.rule_id, m.secret, tuple(m.parts)) for m in matches]

    return scan
