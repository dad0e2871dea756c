"""Package registries, build tools, cloud and container credentials: .npmrc, .pypirc, gem credentials, Docker
config.json, kubeconfig, AWS credentials/config, gcloud JSON, .s3cfg, rclone.conf, gradle.properties, Composer
auth.json, Terraform state and .tfvars, Ansible inventories and vars."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from nhiguard.filekinds import crypto
from nhiguard.filekinds.base import Field, FileKind, field_at, rule
from nhiguard.filekinds.grammar import Node, assignments, ini, json_tree, walk_json, yaml_scalars
from nhiguard.filekinds.lazyre import lazy_re
from nhiguard.filekinds.names import secret_key, value_kind

NPM = "file-npmrc-credential"
PYPI = "file-pypirc-password"
GEM = "file-gem-credentials-key"
DOCKER = "file-docker-config-auth"
KUBE = "file-kubeconfig-credential"
AWS = "file-aws-credentials-secret"
GCP = "file-gcloud-credential"
S3CFG = "file-s3cfg-secret"
RCLONE = "file-rclone-secret"
GRADLE = "file-gradle-properties-secret"
COMPOSER = "file-composer-auth-secret"
TFSTATE = "file-terraform-state-secret"
TFVARS = "file-tfvars-secret"
ANSIBLE = "file-ansible-password"

RULES = (
    rule(NPM, ".npmrc registry credential", "npm", severity="high"),
    rule(PYPI, ".pypirc index password", "pypi"),
    rule(GEM, "RubyGems credentials key", "rubygems"),
    rule(DOCKER, "Docker registry credential (config.json)", "docker"),
    rule(KUBE, "kubeconfig user credential", "kubernetes", severity="critical"),
    rule(AWS, "AWS shared credentials file secret", "aws", severity="critical"),
    rule(GCP, "gcloud credential file secret", "gcp", severity="critical"),
    rule(S3CFG, "s3cmd configuration secret", "aws"),
    rule(RCLONE, "rclone remote secret", "rclone"),
    rule(GRADLE, "gradle.properties credential", "gradle"),
    rule(COMPOSER, "Composer auth.json credential", "composer"),
    rule(TFSTATE, "Secret in Terraform state", "terraform", severity="critical"),
    rule(TFVARS, "Secret in Terraform variables file", "terraform"),
    rule(ANSIBLE, "Ansible connection or become password", "ansible"),
)


def _b64(value: str) -> str | None:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


# -- .npmrc ----------------------------------------------------------------------------------------------------
_NPM_SCOPE = lazy_re(r"^(//[^:]*/?):(.+)$")


def parse_npmrc(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text, separators="="))
    users = {e.key: e.value for e in entries}
    for e in entries:
        m = _NPM_SCOPE.match(e.key)
        scope, key = (m.group(1), m.group(2)) if m else ("", e.key)
        registry = scope.strip("/") or users.get("registry", "")
        ctx = [("registry", registry), ("field", key),
               ("user", users.get(f"{scope}:username", users.get("username", "")))]
        if key in ("_authToken", "_authtoken", "npmAuthToken"):
            yield field_at(NPM, e.value, e.offset, ctx, kind="key")
        elif key == "_auth":
            plain = _b64(e.value)
            if plain and ":" in plain:
                user, _, pw = plain.partition(":")
                yield field_at(NPM, e.value, e.offset, [*ctx[:2], ("user", user)], secret=pw, decoded=("base64",))
            else:
                yield field_at(NPM, e.value, e.offset, ctx, kind="key")
        elif key == "_password":
            plain = _b64(e.value)
            yield field_at(NPM, e.value, e.offset, ctx, secret=plain, decoded=("base64",) if plain else ())


# -- .pypirc, .s3cfg, AWS: INI ----------------------------------------------------------------------------------
def parse_pypirc(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        if e.key.lower() == "password":
            user = info.get((e.section, "username"), "")
            yield field_at(PYPI, e.value, e.offset, (("index", e.section), ("repository", info.get(
                (e.section, "repository"), "")), ("user", user)), kind="key" if user == "__token__" else "password")


_AWS_SECRET = ("aws_secret_access_key", "aws_session_token", "aws_security_token")


def parse_aws(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        if e.key.lower() in _AWS_SECRET:
            yield field_at(AWS, e.value, e.offset, (("profile", e.section.removeprefix("profile ")),
                                                    ("access_key_id", info.get((e.section, "aws_access_key_id"), "")),
                                                    ("region", info.get((e.section, "region"), "")),
                                                    ("field", e.key.lower())), kind="key")


def parse_s3cfg(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        if e.key.lower() in ("secret_key", "access_token", "gpg_passphrase", "proxy_password"):
            yield field_at(S3CFG, e.value, e.offset, (("access_key", info.get((e.section, "access_key"), "")),
                                                      ("host", info.get((e.section, "host_base"), "")),
                                                      ("field", e.key.lower())),
                           kind="password" if "pass" in e.key else "key")


# -- rclone.conf --------------------------------------------------------------------------------------------------
_RCLONE_OBSCURED = ("pass", "password", "password2", "sftp_pass")
_RCLONE_PLAIN = ("client_secret", "secret_access_key", "key", "token", "access_token", "refresh_token",
                 "account_key", "sas_url", "api_key", "app_key", "bearer_token", "session_token")


def parse_rclone(text: str, path: str) -> Iterator[Field]:
    entries = list(ini(text))
    info = {(e.section, e.key.lower()): e.value for e in entries}
    for e in entries:
        key = e.key.lower()
        ctx = [("remote", e.section), ("type", info.get((e.section, "type"), "")),
               ("host", info.get((e.section, "host"), info.get((e.section, "url"), ""))),
               ("user", info.get((e.section, "user"), "")), ("field", key)]
        if key in _RCLONE_OBSCURED:
            plain = crypto.rclone_reveal(e.value)
            if plain is not None:
                yield field_at(RCLONE, e.value, e.offset, ctx, secret=plain, decoded=("rclone-obscure",))
            else:
                yield field_at(RCLONE, e.value, e.offset, [*ctx, ("note", "rclone-obscured, not decoded")],
                               kind="key")
        elif key in _RCLONE_PLAIN:
            if key == "token" and e.value.startswith("{"):
                tree = json_tree(e.value)
                for name in ("access_token", "refresh_token"):
                    node = tree.get(name) if tree is not None else None
                    if node is not None and node.kind == "string":
                        yield field_at(RCLONE, str(node.value), e.offset + node.offset, [*ctx[:-1], ("field", name)],
                                       kind="key")
                continue
            yield field_at(RCLONE, e.value, e.offset, ctx, kind="key")


# -- gradle.properties -------------------------------------------------------------------------------------------
def parse_gradle(text: str, path: str) -> Iterator[Field]:
    entries = list(assignments(text))
    info = {e.key: e.value for e in entries}
    for e in entries:
        if secret_key(e.key):
            stem = re.sub(r"(?i)(password|token|secret|key)$", "", e.key)
            user = info.get(f"{stem}Username", info.get(f"{stem}User", ""))
            yield field_at(GRADLE, e.value, e.offset, (("property", e.key), ("user", user)), generic=True,
                           kind=value_kind(e.key))


# -- gem credentials (YAML) -------------------------------------------------------------------------------------
def parse_gem(text: str, path: str) -> Iterator[Field]:
    for s in yaml_scalars(text):
        yield field_at(GEM, s.value, s.offset, (("host", s.key.lstrip(":")),), kind="key")


# -- Docker config.json ------------------------------------------------------------------------------------------
def parse_docker(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is None:
        return
    auths = tree.get("auths") or tree  # ~/.dockercfg holds the map at the top
    for registry, entry in auths.items():
        if entry.kind != "object":
            continue
        user = entry.text("username") or ""
        auth = entry.get("auth")
        if auth is not None and auth.kind == "string" and auth.value:
            plain = _b64(str(auth.value))
            if plain and ":" in plain:
                u, _, pw = plain.partition(":")
                yield field_at(DOCKER, str(auth.value), auth.offset, (("registry", registry), ("user", u)),
                               secret=pw, decoded=("base64",))
            else:
                yield field_at(DOCKER, str(auth.value), auth.offset, (("registry", registry),), kind="key")
        for name in ("password", "identitytoken", "registrytoken"):
            node = entry.get(name)
            if node is not None and node.kind == "string":
                yield field_at(DOCKER, str(node.value), node.offset, (("registry", registry), ("user", user),
                                                                      ("field", name)))


# -- kubeconfig --------------------------------------------------------------------------------------------------
_KUBE_SECRETS = {"token", "password", "client-key-data", "client-secret", "id-token", "refresh-token",
                 "access-token"}


def parse_kubeconfig(text: str, path: str) -> Iterator[Field]:
    scalars = list(yaml_scalars(text))
    servers = [s.value for s in scalars if s.key == "server"]
    for s in scalars:
        if s.key not in _KUBE_SECRETS or ("users" not in s.path and "user" not in s.path):
            continue
        # the user's name is the `name:` sibling of `user:` in the list item
        name = next((o.value for o in scalars if o.key == "name" and o.path == s.path[: s.path.index("user")]
                     and "users" in o.path), "") if "user" in s.path else ""
        yield field_at(KUBE, s.value, s.offset, (("user", name), ("server", servers[0] if len(servers) == 1 else ""),
                                                 ("field", s.key)),
                       kind="key" if s.key != "password" else "password")


# -- gcloud / service account JSON -------------------------------------------------------------------------------
def parse_gcloud(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is None:
        return
    kind = tree.text("type") or ""
    ctx = (("type", kind), ("client_id", tree.text("client_id")), ("client_email", tree.text("client_email")),
           ("project_id", tree.text("project_id") or tree.text("quota_project_id")))
    for name in ("private_key", "client_secret", "refresh_token"):
        node = tree.get(name)
        if node is not None and node.kind == "string":
            yield field_at(GCP, str(node.value), node.offset, (*ctx, ("field", name)), kind="key")


def sniff_gcloud(head: str) -> bool:
    return '"type"' in head and ("service_account" in head or "authorized_user" in head
                                 or "external_account" in head)


# -- Composer auth.json ------------------------------------------------------------------------------------------
def parse_composer(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is None:
        return
    for section, hosts in tree.items():
        for host, entry in hosts.items() if hosts.kind == "object" else ():
            if entry.kind == "string":
                yield field_at(COMPOSER, str(entry.value), entry.offset, (("host", host), ("type", section)),
                               kind="key")
                continue
            for name in ("password", "consumer-secret", "token"):
                node = entry.get(name)
                if node is not None and node.kind == "string":
                    yield field_at(COMPOSER, str(node.value), node.offset,
                                   (("host", host), ("type", section), ("user", entry.text("username")
                                                                        or entry.text("consumer-key")),
                                    ("field", name)))


# -- Terraform state and tfvars ----------------------------------------------------------------------------------
def parse_tfstate(text: str, path: str) -> Iterator[Field]:
    tree = json_tree(text)
    if tree is None:
        return
    for name, output in (tree.get("outputs") or Node("object", [], 0, 0)).items():
        value = output.get("value")
        if output.text("sensitive") == "True" and value is not None and value.kind == "string":
            yield field_at(TFSTATE, str(value.value), value.offset, (("output", name),), kind="key")
    resources = tree.get("resources")
    for resource in resources.elements() if resources is not None else ():
        rtype, rname = resource.text("type") or "", resource.text("name") or ""
        instances = resource.get("instances")
        for instance in instances.elements() if instances is not None else ():
            attrs = instance.get("attributes")
            if attrs is None:
                continue
            for key_path, node in walk_json(attrs):
                if node.kind != "string" or not key_path or not secret_key(key_path[-1]) or not node.value:
                    continue
                yield field_at(TFSTATE, str(node.value), node.offset,
                               (("resource", f"{rtype}.{rname}"), ("attribute", ".".join(key_path))), kind="key",
                               generic=True)


_HCL = lazy_re(r'^\s*([A-Za-z_][\w-]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse_tfvars(text: str, path: str) -> Iterator[Field]:
    if path.endswith(".json"):
        tree = json_tree(text)
        for key_path, node in walk_json(tree) if tree is not None else ():
            if node.kind == "string" and key_path and secret_key(key_path[-1]):
                yield field_at(TFVARS, str(node.value), node.offset, (("variable", ".".join(key_path)),), generic=True,
                               kind=value_kind(key_path[-1]))
        return
    offset = 0
    for line in text.splitlines(keepends=True):
        m = _HCL.match(line)
        if m and secret_key(m.group(1)):
            yield field_at(TFVARS, m.group(2), offset + m.start(2), (("variable", m.group(1)),), generic=True,
                           kind=value_kind(m.group(1)))
        offset += len(line)


# -- Ansible ----------------------------------------------------------------------------------------------------
_ANSIBLE_KEYS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_pass",
                 "ansible_become_password", "ansible_sudo_pass", "ansible_su_pass", "ansible_winrm_password",
                 "ansible_httpapi_pass", "ansible_net_auth_pass")
_INLINE = lazy_re(r"(?<!\w)(\w++)=(\"[^\"]*\"|'[^']*'|\S+)")  # (from a word's start only: linear)


def parse_ansible(text: str, path: str) -> Iterator[Field]:
    if path.endswith((".yml", ".yaml")) or ":" in text.split("\n", 1)[0]:
        scalars = list(yaml_scalars(text))
        info = {s.key: s.value for s in scalars}
        for s in scalars:
            if s.key in _ANSIBLE_KEYS:
                host = s.path[-1] if s.path else ""
                yield field_at(ANSIBLE, s.value, s.offset, (("host", info.get("ansible_host", host)),
                                                            ("user", info.get("ansible_user", "")),
                                                            ("field", s.key)))
        return
    section = ""
    offset = 0
    group_vars: dict[str, str] = {}
    for line in text.splitlines(keepends=True):
        bare = line.strip()
        if bare.startswith("["):
            section = bare.strip("[]")
        elif bare and not bare.startswith(("#", ";")):
            words = bare.split()
            host = words[0] if "=" not in words[0] else ""
            pairs = {m.group(1): m for m in _INLINE.finditer(line)}
            if section.endswith(":vars"):
                group_vars.update({k: m.group(2) for k, m in pairs.items()})
            for key, m in pairs.items():
                if key in _ANSIBLE_KEYS:
                    raw, at = m.group(2), offset + m.start(2)
                    if raw[:1] and raw[:1] in "\"'":
                        raw, at = raw[1:-1], at + 1
                    user = pairs["ansible_user"].group(2) if "ansible_user" in pairs else group_vars.get(
                        "ansible_user", "")
                    target = pairs["ansible_host"].group(2) if "ansible_host" in pairs else host or section
                    yield field_at(ANSIBLE, raw, at, (("host", target), ("user", user), ("group", section),
                                                      ("field", key)))
        offset += len(line)


def sniff_ansible(head: str) -> bool:
    return "ansible_" in head


KINDS = (
    FileKind("npmrc", parse_npmrc, RULES[0:1], names=(".npmrc", "npmrc", ".yarnrc")),
    FileKind("pypirc", parse_pypirc, RULES[1:2], names=(".pypirc", "pypirc")),
    FileKind("gem-credentials", parse_gem, RULES[2:3], paths=(".gem/credentials",)),
    FileKind("docker-config", parse_docker, RULES[3:4], names=(".dockercfg", "auth.json"),
             paths=(".docker/config.json", "docker/config.json"),
             sniff=lambda head: '"auths"' in head or '"auth"' in head),
    FileKind("kubeconfig", parse_kubeconfig, RULES[4:5], names=("kubeconfig", "admin.conf", "kubeconfig.yaml",
                                                                  "kubeconfig.yml", "kubelet.conf",
                                                                  "controller-manager.conf", "scheduler.conf"),
             paths=(".kube/config",), suffixes=(".kubeconfig",),
             sniff=lambda head: "clusters:" in head or "users:" in head),
    FileKind("aws-credentials", parse_aws, RULES[5:6], paths=(".aws/credentials", ".aws/config", "aws/credentials"),
             names=("credentials", "aws_credentials", "aws-credentials"),
             sniff=lambda head: "aws_secret_access_key" in head.lower() or "aws_session_token" in head.lower()),
    FileKind("gcloud", parse_gcloud, RULES[6:7], names=("application_default_credentials.json", "credentials.json",
                                                          "service-account.json", "service_account.json",
                                                          "client_secret.json", "keyfile.json", "gcp-key.json",
                                                          "key.json", "sa.json", "gcloud.json"),
             sniff=sniff_gcloud),  # (key files under other names: the GCP regex rules find their private keys)
    FileKind("s3cfg", parse_s3cfg, RULES[7:8], names=(".s3cfg", "s3cfg", ".s3cfg.bak")),
    FileKind("rclone", parse_rclone, RULES[8:9], names=("rclone.conf",), sniff=lambda head: "type" in head),
    FileKind("gradle-properties", parse_gradle, RULES[9:10], names=("gradle.properties",)),
    FileKind("composer-auth", parse_composer, RULES[10:11], names=("auth.json",),
             sniff=lambda head: any(k in head for k in ("http-basic", "github-oauth", "gitlab-token", "bearer",
                                                         "bitbucket-oauth", "gitlab-oauth"))),
    FileKind("terraform-state", parse_tfstate, RULES[11:12], names=("terraform.tfstate", "terraform.tfstate.backup"),
             suffixes=(".tfstate", ".tfstate.backup")),
    FileKind("tfvars", parse_tfvars, RULES[12:13], suffixes=(".tfvars", ".tfvars.json")),
    FileKind("ansible", parse_ansible, RULES[13:14],
             names=("hosts", "inventory", "inventory.ini", "hosts.ini", "inventory.yml", "inventory.yaml",
                    "hosts.yml", "hosts.yaml", "all.yml", "all.yaml", "vars.yml", "main.yml", "secrets.yml"),
             paths=("group_vars/", "host_vars/", "inventory/", "inventories/", "vars/"), sniff=sniff_ansible),
)
