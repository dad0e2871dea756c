"""File-kind detectors: the generated corpus of real layouts (recall, decoys, lines, context), the decoders of
reversible obfuscations, precision on templates and placeholders, and every source (directory, staged, commit
range, history)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiguard import filekinds
from nhiguard.config import Config
from nhiguard.engine import Engine
from nhiguard.filekinds import base, clients, crypto, grammar
from nhiguard.model import Chunk, Origin
from nhiguard.scan import ScanSettings, load_rules
from tests.filekinds.corpus import (
    b64,
    build,
    dbeaver_encrypt,
    heidi_encode,
    jetbrains_encode,
    navicat_encrypt,
    rclone_obscure,
    winscp_encode,
    write,
)
from tests.filekinds.measure import measure, scan_dir
from tests.history.kit import Repo, sweep
from tests.support.gitrepo import GitRepo, nhiguard_git

PW = "Vq7-" + "rT2x9" + "Lm4"  # assembled, so no line of this file holds a credential-shaped literal


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rules(Config(root=Path(".")), ScanSettings()))


def _scan(engine: Engine, path: str, text: str | bytes) -> list[tuple[str, str, int, int, dict[str, str]]]:
    data = text.encode() if isinstance(text, str) else text
    return [(m.rule_id, m.secret, m.line, m.column, dict(m.parts))
            for m in engine.scan(Chunk(data=data, origin=Origin(path=path)))]


# -- the corpus ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [7, 11])
def test_corpus_recall_decoys_lines_and_context(tmp_path: Path, seed: int) -> None:
    cases = build(seed)
    write(cases, tmp_path)
    result = measure(cases, scan_dir(tmp_path))
    assert result.recall >= 0.98, result.missed
    assert not result.decoys
    assert not result.wrong_line
    assert not result.wrong_context
    # nothing else from a file-kind rule: every file-kind finding was planted
    assert not [u for u in result.unplanted if " file-" in u], result.unplanted
    families = {c.path.split("/")[0] for c in cases}
    assert len(cases) >= 60 and len(families) >= 20


def test_every_builtin_kind_has_a_corpus_file() -> None:
    detectors = filekinds.Detectors(filekinds.all_kinds(), frozenset(r.id for r in filekinds.rules()))
    covered = {k.name for case in build(7) for k in detectors.kinds_for(case.path)}
    untested = {k.name for k in filekinds.all_kinds()} - covered
    assert not untested


# -- decoders -----------------------------------------------------------------------------------------------------
def test_winscp_round_trip_and_wrong_host() -> None:
    encoded = winscp_encode(PW, "bob", "h.invalid")
    assert clients.winscp_reveal(encoded, "bob", "h.invalid") == PW
    assert clients.winscp_reveal(encoded, "eve", "h.invalid") is None
    assert clients.winscp_reveal("zz", "bob", "h") is None


def test_heidisql_and_jetbrains() -> None:
    assert clients.heidi_reveal(heidi_encode(PW, 4)) == PW
    from nhiguard.filekinds.xmlstores import _jetbrains_reveal

    assert _jetbrains_reveal(jetbrains_encode(PW)) == PW


def test_cipher_obfuscations() -> None:
    assert crypto.rclone_reveal(rclone_obscure(PW)) == PW
    assert crypto.navicat_reveal(navicat_encrypt(PW)) == PW
    blob = dbeaver_encrypt({"c1": {"#connection": {"user": "u", "password": PW}}})
    assert json.loads(crypto.dbeaver_credentials(blob) or "{}")["c1"]["#connection"]["password"] == PW


def test_without_cryptography_the_stored_value_is_reported_with_a_note(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "_decrypt", lambda *a: None)
    obscured = rclone_obscure(PW)
    found = _scan(engine, "rclone.conf", f"[nas]\ntype = sftp\nhost = h.invalid\npass = {obscured}\n")
    hits = [f for f in found if f[0] == "file-rclone-secret"]
    assert hits and hits[0][1] == obscured and "not decoded" in hits[0][4]["note"]


def test_decoded_values_say_so_and_stay_redacted(tmp_path: Path) -> None:
    (tmp_path / "sitemanager.xml").write_text(
        f"<FileZilla3><Servers><Server><Host>h.invalid</Host><User>u</User><Pass encoding=\"base64\">{b64(PW)}"
        "</Pass></Server></Servers></FileZilla3>\n")
    from tests.support.cli import run_cli

    done = run_cli("scan", str(tmp_path), "-f", "json")
    assert done.returncode == 1
    assert PW not in done.stdout and b64(PW) not in done.stdout
    doc = json.loads(done.stdout)
    (finding,) = doc["findings"]
    assert finding["rule_id"] == "file-filezilla-password"
    assert finding["locations"][0]["decoded"] == ["base64"] and finding["locations"][0]["line"] == 1


# -- precision ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["${DB_PASSWORD}", "<password>", "%(pw)s", "****", "", "{{ .Values.db.pass }}",
                                   "os.environ['DB_PASSWORD']", "env('X')", "password_here", "your_password",
                                   "$DB_PASS", "%DB_PASS%", "null", "true", "xxxxxxxx", "ENC(abc)"])
def test_templates_and_references_are_not_findings(engine: Engine, value: str) -> None:
    assert _scan(engine, "home/.my.cnf", f"[client]\nuser=app\npassword={value}\n") == []


def test_weak_default_is_a_low_confidence_finding_in_a_real_file_only(engine: Engine) -> None:
    for weak in ("root", "admin123", "123456"):
        (hit,) = _scan(engine, "config/.env", f"DB_PASSWORD={weak}\n")
        assert hit[0] == base.DEFAULT_PASSWORD and hit[4]["rule"] == "file-dotenv-secret"
        assert _scan(engine, "config/.env.example", f"DB_PASSWORD={weak}\n") == []
    assert _scan(engine, "config/.env.example", "DB_PASSWORD=changeme\n") == []
    from nhiguard.scan import load_rules as rules_of

    rule = {r.id: r for r in rules_of(Config(root=Path(".")), ScanSettings())}[base.DEFAULT_PASSWORD]
    assert rule.confidence == "low"
    assert _scan(engine, "config/.env.example", f"DB_PASSWORD={PW}\n")  # a real one in an example file


def test_inline_allow_and_config_allow(tmp_path: Path) -> None:
    (tmp_path / ".netrc").write_text(f"machine h.invalid login u password {PW}  # nhiguard:allow\n")
    assert scan_dir(tmp_path) == []


def test_other_files_are_not_parsed(engine: Engine) -> None:
    # (the netrc-password regex rule may still see the line: it is not a file-kind detector)
    found = _scan(engine, "src/notes.txt", f"machine h.invalid login u password {PW}\n")
    assert [f for f in found if f[0].startswith("file-")] == []
    detectors = filekinds.Detectors(filekinds.all_kinds(), frozenset(r.id for r in filekinds.rules()))
    for path in ("src/main.py", "lib/util.go", "README.md", "src/app.ts", "pkg/a.json", "docs/x.yml"):
        assert detectors.kinds_for(path) == (), path


def test_a_regex_and_a_field_on_one_span_give_one_finding(engine: Engine) -> None:
    from tests.support.tokens import github_classic

    token = github_classic("filekind-overlap")
    found = _scan(engine, "proj/.npmrc", f"//npm.pkg.github.com/:_authToken={token}\n")
    assert [f[1] for f in found] == [token]
    (rule_id, _, _, _, parts) = found[0]
    assert not rule_id.startswith("file-") and parts["registry"] == "npm.pkg.github.com"  # provider rule, gains context
    found = _scan(engine, "home/.my.cnf", f"[client]\npassword = {PW}\n")
    assert [f[0] for f in found] == ["file-mysql-option-password"]  # the generic assignment gives way


def test_xml_entities_are_never_expanded() -> None:
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n<tomcat-users><user username="u" password="&b;&ext;"/>'
            "</tomcat-users>\n")
    root = grammar.xml_tree(bomb)
    user = next(e for e in root.iter() if e.tag == "user")
    assert user.attr("password") == "&b;&ext;"


def test_damaged_files_never_stop_a_scan(engine: Engine) -> None:
    for path, text in (("sitemanager.xml", "<FileZilla3><Server><Pass>"), ("home/.docker/config.json", '{"auths": {'),
                       ("kubeconfig", "users:\n- name: [\n"), (".pgpass", ":::::::\n\\"), ("dump.sql", "INSERT INTO")):
        _scan(engine, path, text)


def test_crlf_bom_and_utf16(engine: Engine) -> None:
    text = f"[client]\r\nuser = app\r\npassword = {PW}\r\n"
    (hit,) = _scan(engine, "my.cnf", b"\xef\xbb\xbf" + text.encode())
    assert hit[1] == PW and hit[2] == 3 and hit[3] == 12


def test_rules_are_listed_and_ids_do_not_clash() -> None:
    from nhiguard import ruleset
    from tests.support.cli import run_cli

    builtin = {r.id for r in ruleset.load_builtin()}
    mine = [r.id for r in filekinds.rules()]
    assert len(mine) == len(set(mine)) and not builtin & set(mine)
    done = run_cli("rules", "list", "-f", "json")
    listed = {r["id"] for r in json.loads(done.stdout)["rules"]}
    assert {"file-netrc-password", "file-password-hash", "file-winscp-password"} <= listed


def test_a_plugin_kind_is_found_through_its_entry_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An installed distribution (a .dist-info with entry_points.txt on sys.path) that declares a detector."""
    from nhiguard import registry

    (tmp_path / "acme_kinds.py").write_text(
        "from nhiguard.filekinds import base\n"
        "KIND = base.FileKind('acme', lambda text, path: [base.field_at('file-acme-secret', text.strip(), 0)],\n"
        "                     (base.rule('file-acme-secret', 'Acme', 'acme'),), names=('acme.cfg',))\n")
    info = tmp_path / "acme_kinds-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-kinds\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{filekinds.ENTRY_POINT_GROUP}]\nacme = acme_kinds:KIND\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._declared_groups.cache_clear()
    filekinds.all_kinds.cache_clear()
    try:
        assert "file-acme-secret" in {r.id for r in filekinds.rules()}
        engine = Engine(filekinds.rules())
        (m,) = engine.scan(Chunk(data=f"{PW}\n".encode(), origin=Origin(path="etc/acme.cfg")))
        assert m.rule_id == "file-acme-secret" and m.secret == PW
    finally:
        registry._declared_groups.cache_clear()
        filekinds.all_kinds.cache_clear()


# -- every source ------------------------------------------------------------------------------------------------
def _pgpass(*rows: str) -> str:
    return "".join(f"{r}\n" for r in rows)


def test_staged_and_range_report_fields_on_added_lines_only(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    old, new = PW + "old", PW + "new"
    xml = ("<FileZilla3><Servers>\n<Server><Host>a.invalid</Host>\n<Pass>{a}</Pass></Server>\n"
           "<Server><Host>b.invalid</Host>\n<Pass>{b}</Pass></Server>\n</Servers></FileZilla3>\n")
    repo.write("cfg/sitemanager.xml", xml.format(a=old, b="x"))
    base_commit = repo.commit("first")
    repo.write("cfg/sitemanager.xml", xml.format(a=old, b=new))
    repo.git("add", "-A")
    code, doc, _ = nhiguard_git(repo.path, "--staged")
    assert code == 1
    hits = [(f["secret"], f["locations"][0]["line"], f["parts"]["host"]) for f in doc["findings"]]
    assert hits == [(new, 5, "b.invalid")]  # the unchanged first server is not reported again
    repo.commit("second")
    code, doc, _ = nhiguard_git(repo.path, "--range", f"{base_commit.sha}..HEAD")
    assert [(f["secret"], f["locations"][0]["line"]) for f in doc["findings"]] == [(new, 5)]


def test_history_scans_blobs_at_their_path(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "h")
    repo.write("home/.pgpass", _pgpass(f"db.invalid:5432:app:svc:{PW}"))
    repo.write("notes.txt", _pgpass(f"db.invalid:5432:app:svc:{PW}x"))
    repo.commit("add")
    repo.remove("home/.pgpass")
    repo.commit("remove")
    for jobs in (1, 2):
        result = sweep(repo.path, jobs=jobs)
        hits = [(f.secret, f.locations[0].path, f.locations[0].line, dict(f.parts).get("host"))
                for f in result.report.findings if f.rule.id.startswith("file-")]
        assert hits == [(PW, "home/.pgpass", 1, "db.invalid")], jobs


def test_compose_template_defaults(engine: Engine) -> None:
    """`${VAR:-fallback}` writes only its fallback, which is reported when it looks like a secret; `${VAR:?msg}`
    writes an error message and a short fallback (`dev`) is the template's own placeholder."""
    text = (
        "services:\n  web:\n    environment:\n"
        "      - SECRET_KEY=${SECRET_KEY:-dev}\n"
        "      - DB_PASSWORD=${DB_PASSWORD:?required}\n"
        "      - API_TOKEN=${API_TOKEN:-}\n"
        "      - DB_PASS=${DB_PASS:-Xq7Lp2Wz9Kc4vB}\n"
        "      - OTHER_SECRET=${OTHER_SECRET-Rt5Yh8Kk2Mn4Pq}\n"
    )
    found = [(secret, line) for _, secret, line, _, _ in _scan(engine, "docker-compose.yml", text)]
    assert found == [("Xq7Lp2Wz9Kc4vB", 7), ("Rt5Yh8Kk2Mn4Pq", 8)]
    spring = "spring:\n  datasource:\n    password: ${DB_PASSWORD:Zx9Cv7Bn5Mq3Wl}\n"
    assert [s for _, s, _, _, _ in _scan(engine, "application.yml", spring)] == ["Zx9Cv7Bn5Mq3Wl"]


def test_a_private_key_in_a_json_setting_is_named_a_private_key(engine: Engine) -> None:
    """A JSON config's `private_key` holds the key with `\\n` escapes: the setting's parser unescapes it, the PEM rule
    takes the unescaped value whole, so the finding is the private key's (not a generic config secret)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    text = json.dumps({"jwt": {"private_key": pem, "issuer": "svc"}}, indent=2) + "\n"
    found = _scan(engine, "config/settings.json", text)
    assert [(rule, secret.strip()) for rule, secret, _, _, _ in found] == [("private-key-pem", pem.strip())]


# -- provider attribution -----------------------------------------------------------------------------------------
_DD = "".join("0123456789abcdef"[(i * 7 + 3) % 16] for i in range(32))  # 32 hex, a Datadog API key's shape


def test_a_kubernetes_secret_value_is_named_by_its_key(engine: Engine) -> None:
    """The regex rules see only the base64 text, never the decoded key beside its name: the field's key names it."""
    text = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: agent\ndata:\n  DD_API_KEY: {b64(_DD)}\n" \
           f"  API_KEY: {b64(_DD[::-1])}\n"
    found = {(rule, secret, line) for rule, secret, line, _, _ in _scan(engine, "k8s/secret.yaml", text)}
    assert found == {("datadog-api-key", _DD, 6), ("file-yaml-config-secret", _DD[::-1], 7)}


def test_a_setting_under_its_providers_section_and_in_its_providers_file(engine: Engine) -> None:
    helm = f"datadog:\n  site: datadoghq.com\n  clusterName: prod\n  apiKey: {_DD}\n"
    assert [r for r, *_ in _scan(engine, "chart/values.yaml", helm)] == ["datadog-api-key"]
    # the same key under another provider's section is not Datadog's
    other = helm.replace("datadog:", "tracker:")
    assert "datadog-api-key" not in [r for r, *_ in _scan(engine, "chart/values.yaml", other)]
    agent = f"site: datadoghq.eu\napi_key: {_DD}\n"
    found = _scan(engine, "etc/datadog-agent/datadog.yaml", agent)
    assert [(r, s, ctx.get("config_of")) for r, s, _, _, ctx in found] == [("datadog-api-key", _DD, "datadog")]
    # a value of no shape the provider issues stays this file's generic finding; a file of another name is not read
    odd = "Zq8" + _DD[:17]
    assert [r for r, *_ in _scan(engine, "datadog.yaml", f"api_key: {odd}\n")] == ["file-provider-config-secret"]
    assert "datadog-api-key" not in [r for r, *_ in _scan(engine, "agent/monitor.yaml", agent)]


def test_a_jwt_in_a_settings_file_is_named_a_jwt(engine: Engine) -> None:
    """A JWT's structure (JSON header and claims) says what it is; the setting that holds it only that it is a
    secret: the JWT rule names it, with the setting's context, in .env, YAML and JSON alike."""
    import base64
    import json

    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    token = (part({"alg": "HS256", "typ": "JWT"}) + "." + part({"sub": "svc-billing", "iat": 1765000000}) + "."
             + base64.urlsafe_b64encode(bytes(range(7, 39))).decode().rstrip("="))
    for path, text in (("app/.env", f"JWT_TOKEN={token}\n"),
                       ("app/config/application.yml", f"jwt:\n  token: {token}\n"),
                       ("app/appsettings.json", json.dumps({"Jwt": {"Token": token}}) + "\n")):
        found = _scan(engine, path, text)
        assert [(f[0], f[1]) for f in found] == [("jwt", token)], path


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("app/.env", "API_TOKEN=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY\n"),  # Cloudflare's API-reference token
        ("app/config/settings.yaml", 'settings:\n  token: "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"\n'),
        ("app/storage.py", 'account_key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOt'
                           'r/KBHBeksoGMGw=="\n'),  # Azurite's
        ("app/mail.py", 'api_key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"\n'),  # Mailgun's sample
    ],
)
def test_a_providers_sample_key_is_no_finding_under_any_name(engine: Engine, path: str, text: str) -> None:
    """A provider rule's allow list (its documented sample keys) holds for the generic rules and the file-kind
    fields too: under a name no provider rule reads, the sample is still the sample."""
    assert _scan(engine, path, text) == []


def test_a_uri_password_the_reader_decoded_keeps_its_provider_rule(engine: Engine) -> None:
    """The URI rule takes the password as written (`%21`), the dotenv reader decodes it (`!`): one finding, the
    provider's rule, with the password the server checks."""
    found = _scan(engine, "app/.env", "DATABASE_URL=postgresql://svc:2g90aJB6lguAFTQN%21j5josc@pg.acme.test/orders\n")
    assert [(f[0], f[1]) for f in found] == [("postgres-uri-password", "2g90aJB6lguAFTQN!j5josc")]


def test_a_private_key_on_one_dotenv_line_is_named_a_private_key(engine: Engine) -> None:
    """Compose and the dotenv libraries expand `\\n` in a double-quoted value: the key written on one line is the
    key, the PEM rule's finding, with its line breaks; single quotes keep the escapes as text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode().strip()
    one_line = pem.replace("\n", "\\n")
    found = _scan(engine, "deploy/.env", f'APP_NAME=shop\nJWT_PRIVATE_KEY="{one_line}"\n')
    assert [(rule, secret.strip(), line) for rule, secret, line, _, _ in found] == [("private-key-pem", pem, 2)]
