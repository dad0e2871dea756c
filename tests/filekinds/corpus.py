"""A generated corpus of credential-bearing files in their real layouts: every format the file-kind detectors
read, with planted credentials (random, so nothing real is in the repository) and decoys (templates, references,
placeholders, empty values) that must not be reported.

`build(seed)` returns the cases; each planted credential names the secret, the text written in the file (to
find the expected line), and context the finding must carry.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Planted:
    secret: str
    written: str  # as it appears in the file (encoded form for decoded values)
    context: dict[str, str] = field(default_factory=dict)
    rule: str | None = None
    nth: int = 0  # which occurrence of `written` (0 = first)


@dataclass
class Case:
    path: str
    content: bytes
    planted: list[Planted]
    decoys: list[str] = field(default_factory=list)


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pw(self, n: int = 14) -> str:
        """A strong password: letters, digits and a few symbols that every format can hold unquoted."""
        alphabet = string.ascii_letters + string.digits + "!%^-_+."
        while True:
            out = "".join(self.rng.choice(alphabet) for _ in range(n))
            if any(c.isdigit() for c in out) and any(c.isupper() for c in out) and any(c.islower() for c in out):
                return out

    def hexs(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def b64chars(self, n: int, alphabet: str = string.ascii_letters + string.digits + "./") -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def host(self) -> str:
        return f"{self.rng.choice(['db', 'srv', 'ftp', 'mail', 'api'])}{self.rng.randint(1, 99)}.corp.invalid"

    def user(self) -> str:
        return self.rng.choice(["deploy", "svc_app", "backup", "jenkins", "alice", "webadmin", "reporting"])


# -- encoders for the reversible obfuscations ---------------------------------------------------------------------
def winscp_encode(password: str, user: str, host: str) -> str:
    def enc(b: int) -> str:
        return f"{((~b) & 0xFF) ^ 0xA3:02X}"

    data = (user + host + password).encode()
    return enc(0xFF) + enc(0) + enc(len(data)) + enc(0) + "".join(enc(b) for b in data)


def heidi_encode(password: str, salt: int) -> str:
    return "".join(f"{(b + salt) % 256:02x}" for b in password.encode()) + str(salt)


def jetbrains_encode(password: str) -> str:
    return "".join(f"{ord(c) ^ 0xDFAA:04x}" for c in password)


def _aes(mode: str, key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    m = modes.CTR(iv) if mode == "ctr" else modes.CBC(iv)
    enc = Cipher(algorithms.AES(key), m).encryptor()
    return enc.update(data) + enc.finalize()


def _pad(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def rclone_obscure(password: str) -> str:
    key = bytes.fromhex("9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638")
    iv = os.urandom(16)
    return base64.urlsafe_b64encode(iv + _aes("ctr", key, iv, password.encode())).decode().rstrip("=")


def dbeaver_encrypt(doc: dict[str, object]) -> bytes:
    iv = os.urandom(16)
    return iv + _aes("cbc", bytes.fromhex("babb4a9f774ab853c96c2d653dfe544a"), iv, _pad(json.dumps(doc).encode()))


def mylogin_encrypt(ini: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw_key = os.urandom(20)
    key = bytearray(16)
    for i, b in enumerate(raw_key):
        key[i % 16] ^= b
    out = b"\0\0\0\0" + raw_key
    for line in ini.splitlines(keepends=True):
        enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
        data = enc.update(_pad(line.encode())) + enc.finalize()
        out += len(data).to_bytes(4, "little") + data
    return out


def navicat_encrypt(password: str) -> str:
    return _aes("cbc", b"libcckeylibcckey", b"libcciv libcciv ", _pad(password.encode())).hex().upper()


def cisco7_encode(password: str, seed: int = 9) -> str:
    key = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"
    return f"{seed:02d}" + "".join(f"{ord(c) ^ ord(key[(seed + i) % len(key)]):02X}" for i, c in enumerate(password))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- the formats --------------------------------------------------------------------------------------------------
def _cases(g: Gen) -> list[Case]:
    cases: list[Case] = []

    def add(path: str, text: str, planted: list[Planted], decoys: list[str] | None = None, *, crlf: bool = False,
            bom: bool = False) -> None:
        if crlf:
            text = text.replace("\n", "\r\n")
        data = text.encode()
        if bom:
            data = b"\xef\xbb\xbf" + data
        cases.append(Case(path, data, planted, decoys or []))

    # Unix and mail
    h1, u1, p1, p2 = g.host(), g.user(), g.pw(), g.pw(10)
    add("home/.netrc", f"# saved by curl\nmachine {h1}\n  login {u1}\n  password {p1}\n\nmachine ci.invalid login x "
        "password ${{CI_PASS}}\ndefault login anonymous password\n",
        [Planted(p1, p1, {"host": h1, "user": u1})], ["${CI_PASS}"])
    add("win/_netrc", f'machine {h1} login {u1} password "{p2}"\n', [Planted(p2, p2, {"host": h1})], crlf=True)
    p1 = g.pw()
    add("home/.pgpass", f"# host:port:db:user:password\n{h1}:5432:orders:{u1}:{p1}\n*:*:*:replica:*\n",
        [Planted(p1, p1, {"host": h1, "port": "5432", "database": "orders", "user": u1})], ["*"])
    p1 = g.pw()
    add("home/.git-credentials", f"https://{u1}:{p1}@github.com\nhttps://gitlab.invalid\n",
        [Planted(p1, p1, {"host": "github.com", "user": u1})])
    p1 = g.pw()
    add("home/.my.cnf", f"[client]\nuser = {u1}\npassword = \"{p1}\"\nhost = {h1}\n\n[mysqldump]\n"
        "password =\n", [Planted(p1, p1, {"user": u1, "host": h1, "group": "client"})])
    p1 = g.pw()
    add("etc/mysql/debian.cnf", f"[client]\nhost     = localhost\nuser     = debian-sys-maint\npassword = {p1}\n"
        "socket   = /var/run/mysqld/mysqld.sock\n", [Planted(p1, p1, {"user": "debian-sys-maint"})])
    p1 = g.pw()
    cases.append(Case("home/.mylogin.cnf", mylogin_encrypt(f"[client]\nuser = \"{u1}\"\npassword = \"{p1}\"\n"
                                                           f"host = \"{h1}\"\n"),
                      [Planted(p1, "", {"group": "client", "user": u1, "host": h1})]))
    bc = "$2y$10$" + g.b64chars(53)
    apr = "$apr1$" + g.b64chars(8) + "$" + g.b64chars(22)
    sha = "{SHA}" + base64.b64encode(os.urandom(20)).decode()
    add("site/.htpasswd", f"admin:{bc}\nops:{apr}\nlegacy:{sha}\n",
        [Planted(bc, bc, {"user": "admin", "scheme": "bcrypt"}, "file-password-hash"),
         Planted(apr, apr, {"user": "ops", "scheme": "apr1"}, "file-password-hash"),
         Planted(sha, sha, {"user": "legacy", "scheme": "sha1"}, "file-password-hash-unsalted")])
    s6 = "$6$" + g.b64chars(16) + "$" + g.b64chars(86)
    y = "$y$j9T$" + g.b64chars(22) + "$" + g.b64chars(43)
    add("etc/shadow", f"root:{s6}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nsvc:{y}:19000:0:99999:7:::\n"
        "nobody:!:19000::::::\nlocked:!$6$abc$def:19000::::::\n",
        [Planted(s6, s6, {"user": "root", "scheme": "sha512-crypt"}), Planted(y, y, {"user": "svc",
                                                                                    "scheme": "yescrypt"})])
    md5c = "$1$" + g.b64chars(8) + "$" + g.b64chars(22)
    add("etc/pureftpd.passwd", f"ftpuser:{md5c}:1001:1001::/srv/ftp/./::::::::::::\n",
        [Planted(md5c, md5c, {"user": "ftpuser", "scheme": "md5-crypt", "home": "/srv/ftp/./"})])
    pb = "$7$101$" + g.b64chars(16, string.ascii_letters + string.digits + "+/") + "$" + g.b64chars(
        86, string.ascii_letters + string.digits + "+/") + "=="
    add("etc/mosquitto/passwd", f"sensor:{pb}\n", [Planted(pb, pb, {"user": "sensor"})])
    p1 = g.pw()
    add("vpn/auth.txt", f"{u1}\n{p1}\n", [Planted(p1, p1, {"user": u1})])
    p1, p2, p3 = g.pw(), g.pw(), g.pw()
    add("home/.msmtprc", f"defaults\nauth on\ntls on\n\naccount work\nhost smtp.corp.invalid\nport 587\nfrom "
        f"{u1}@corp.invalid\nuser {u1}\npassword {p1}\n\naccount gmail\nhost smtp.gmail.com\npasswordeval \"pass "
        "mail/gmail\"\n", [Planted(p1, p1, {"host": "smtp.corp.invalid", "user": u1, "account": "work"})])
    add("home/.esmtprc", f"identity = {u1}@corp.invalid\n  hostname = mail.corp.invalid:587\n  username = \"{u1}\"\n"
        f"  password = \"{p2}\"\n  starttls = required\n", [Planted(p2, p2, {"host": "mail.corp.invalid:587"})])
    add("home/.fetchmailrc", f"set daemon 300\npoll pop.corp.invalid proto pop3 port 995\n   user '{u1}' there with "
        f"password '{p3}' is localuser here\n   ssl\n", [Planted(p3, p3, {"host": "pop.corp.invalid", "user": u1})])
    p1 = g.pw()
    add("home/.muttrc", f"set imap_user = \"{u1}@corp.invalid\"\nset imap_pass = \"{p1}\"\nset smtp_url = "
        f"\"smtps://{u1}@smtp.corp.invalid\"\nset smtp_pass = `pass show mail`\n",
        [Planted(p1, p1, {"imap_user": f"{u1}@corp.invalid"})], ["`pass show mail`"])
    psk, eap = g.pw(16), g.pw()
    add("boot/wpa_supplicant.conf", f"ctrl_interface=DIR=/var/run/wpa_supplicant\nnetwork={{\n    ssid=\"HomeNet\"\n"
        f"    psk=\"{psk}\"\n    key_mgmt=WPA-PSK\n}}\nnetwork={{\n    ssid=\"Corp\"\n    key_mgmt=WPA-EAP\n"
        f"    eap=PEAP\n    identity=\"{u1}\"\n    password=\"{eap}\"\n}}\n",
        [Planted(psk, psk, {"ssid": "HomeNet"}), Planted(eap, eap, {"ssid": "Corp", "identity": u1})])
    psk = g.pw(16)
    add("etc/NetworkManager/system-connections/Office.nmconnection", f"[connection]\nid=Office\ntype=wifi\n\n[wifi]\n"
        f"ssid=OfficeWiFi\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk={psk}\n\n[802-1x]\npassword-flags=1\n"
        "password=agent-owned\n", [Planted(psk, psk, {"connection": "Office", "ssid": "OfficeWiFi"})])

    vnc = g.hexs(16)
    add("Program Files/uvnc bvba/UltraVNC/ultravnc.ini", f"[ultravnc]\npasswd={vnc.upper()}\npasswd2=\n[admin]\n"
        "UseRegistry=0\n", [Planted(vnc.upper(), vnc.upper(), {"field": "passwd"})])

    nt = g.hexs(32)
    add("loot/secretsdump.txt", "Administrator:500:aad3b435b51404eeaad3b435b51404ee:" + nt + ":::\n"
        "Guest:501:aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0:::\n",
        [Planted(nt, nt, {"user": "Administrator", "rid": "500", "scheme": "nt"}, "file-password-hash-unsalted")])

    # Developer tools
    tok, p1 = "npm_" + g.b64chars(36, string.ascii_letters + string.digits), g.pw()
    add("proj/.npmrc", f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={tok}\n"
        f"//npm.corp.invalid/:_auth={b64(u1 + ':' + p1)}\n//npm.pkg.github.com/:_authToken=${{GITHUB_TOKEN}}\n",
        [Planted(tok, tok, {"registry": "registry.npmjs.org"}),
         Planted(p1, b64(u1 + ":" + p1), {"user": u1, "registry": "npm.corp.invalid"})], ["${GITHUB_TOKEN}"])
    p1 = g.pw()
    add("home/.pypirc", f"[distutils]\nindex-servers =\n    pypi\n    private\n\n[pypi]\nusername = __token__\n"
        f"password = pypi-{g.b64chars(60, string.ascii_letters + string.digits)}\n\n[private]\nrepository = "
        f"https://pypi.corp.invalid/\nusername = {u1}\npassword = {p1}\n",
        [Planted(p1, p1, {"index": "private", "user": u1})])
    cases[-1].planted.append(Planted(cases[-1].content.decode().split("password = ")[1].split("\n")[0],
                                     cases[-1].content.decode().split("password = ")[1].split("\n")[0],
                                     {"index": "pypi"}))
    k = "rubygems_" + g.hexs(48)
    add("home/.gem/credentials", f"---\n:rubygems_api_key: {k}\n", [Planted(k, k, {})])
    p1, p2 = g.pw(), g.pw()
    add("home/.docker/config.json", json.dumps({"auths": {"registry.corp.invalid": {"auth": b64(f"{u1}:{p1}")},
                                                          "https://index.docker.io/v1/": {}},
                                                "credsStore": "desktop"}, indent="\t") + "\n",
        [Planted(p1, b64(f"{u1}:{p1}"), {"registry": "registry.corp.invalid", "user": u1})])
    tok = g.b64chars(40, string.ascii_letters + string.digits)
    key_data = b64("-----BEGIN RSA PRIVATE KEY-----\n" + g.b64chars(64) + "\n-----END RSA PRIVATE KEY-----\n")
    add("home/.kube/config", f"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://k8s.corp.invalid:6443\n"
        f"  name: prod\ncontexts:\n- context:\n    cluster: prod\n    user: admin\n  name: prod\n"
        f"users:\n- name: admin\n"
        f"  user:\n    token: {tok}\n- name: cert-user\n  user:\n    client-key-data: {key_data}\n"
        f"- name: exec-user\n  user:\n    exec:\n      command: aws\n",
        [Planted(tok, tok, {"user": "admin", "server": "https://k8s.corp.invalid:6443"}),
         Planted(key_data, key_data, {"user": "cert-user"})])
    sk = g.b64chars(40, string.ascii_letters + string.digits + "/+")
    kid = "AKIA" + "".join(g.rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
    add("home/.aws/credentials", f"[default]\naws_access_key_id = {kid}\naws_secret_access_key = {sk}\n\n[sandbox]\n"
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        [Planted(sk, sk, {"profile": "default", "access_key_id": kid})],
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"])
    cs, rt = "GOCSPX-" + g.b64chars(28, string.ascii_letters + string.digits), "1//0" + g.b64chars(
        60, string.ascii_letters + string.digits + "-_")
    add("home/.config/gcloud/application_default_credentials.json", json.dumps(
        {"client_id": "764086051850-abc.apps.googleusercontent.com", "client_secret": cs, "refresh_token": rt,
         "type": "authorized_user"}, indent=2) + "\n", [Planted(cs, cs, {"type": "authorized_user"}),
                                                        Planted(rt, rt, {"type": "authorized_user"})])
    sk = g.b64chars(40, string.ascii_letters + string.digits)
    add("home/.s3cfg", f"[default]\naccess_key = AK{g.hexs(18).upper()}\nsecret_key = {sk}\nhost_base = "
        "s3.corp.invalid\ngpg_passphrase =\n", [Planted(sk, sk, {"host": "s3.corp.invalid"})])
    p1, cs = g.pw(), g.b64chars(30, string.ascii_letters + string.digits)
    add("home/.config/rclone/rclone.conf", f"[nas]\ntype = sftp\nhost = {h1}\nuser = {u1}\npass = "
        f"{rclone_obscure(p1)}\n\n[gdrive]\ntype = drive\nclient_id = 123.apps.googleusercontent.com\n"
        f"client_secret = {cs}\nscope = drive\n", [Planted(p1, "pass = ", {"remote": "nas", "host": h1, "user": u1}),
                                                   Planted(cs, cs, {"remote": "gdrive", "type": "drive"})])
    p1, p2 = g.pw(), g.pw()
    add("home/.m2/settings.xml", f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<settings>\n  <servers>\n    <server>\n"
        f"      <id>corp-releases</id>\n      <username>{u1}</username>\n      <password>{p1}</password>\n"
        f"    </server>\n    <server>\n      <id>env</id>\n      <username>ci</username>\n"
        f"      <password>${{env.MVN_PASSWORD}}</password>\n    </server>\n  </servers>\n  <proxies><proxy><host>"
        f"proxy.invalid</host><username>px</username><password>{p2}</password></proxy></proxies>\n</settings>\n",
        [Planted(p1, p1, {"server_id": "corp-releases", "user": u1}), Planted(p2, p2, {"proxy_host": "proxy.invalid"})],
        ["${env.MVN_PASSWORD}"], crlf=True)
    p1, p2 = g.pw(), g.pw()
    add("proj/gradle.properties", f"org.gradle.jvmargs=-Xmx2g\nnexusUsername={u1}\nnexusPassword={p1}\n"
        f"signing.keyId=ABCD1234\nsigning.password={p2}\nsigning.secretKeyRingFile=/home/ci/.gnupg/secring.gpg\n",
        [Planted(p1, p1, {"user": u1}), Planted(p2, p2, {})])
    p1 = g.pw()
    add("proj/NuGet.Config", f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n"
        f"    <add key=\"Corp\" value=\"https://nuget.corp.invalid/v3/index.json\" />\n  </packageSources>\n"
        f"  <packageSourceCredentials>\n    <Corp>\n      <add key=\"Username\" value=\"{u1}\" />\n"
        f"      <add key=\"ClearTextPassword\" value=\"{p1}\" />\n    </Corp>\n  </packageSourceCredentials>\n"
        f"</configuration>\n", [Planted(p1, p1, {"source": "Corp", "user": u1,
                                                 "url": "https://nuget.corp.invalid/v3/index.json"})], bom=True)
    p1, tok = g.pw(), "ghp_" + g.b64chars(36, string.ascii_letters + string.digits)
    add("proj/auth.json", json.dumps({"http-basic": {"repo.corp.invalid": {"username": u1, "password": p1}},
                                      "github-oauth": {"github.com": tok}}, indent=4) + "\n",
        [Planted(p1, p1, {"host": "repo.corp.invalid", "user": u1}), Planted(tok, tok, {"host": "github.com"})])
    p1, p2 = g.pw(20), g.pw()
    add("infra/terraform.tfstate", json.dumps({
        "version": 4, "terraform_version": "1.6.0", "serial": 3, "lineage": "0b1e",
        "outputs": {"db_password": {"value": p1, "type": "string", "sensitive": True}},
        "resources": [{"mode": "managed", "type": "aws_db_instance", "name": "main", "provider": "aws",
                       "instances": [{"attributes": {"username": "admin", "password": p2, "engine": "postgres"}}]}]},
        indent=2) + "\n", [Planted(p1, p1, {"output": "db_password"}),
                           Planted(p2, p2, {"resource": "aws_db_instance.main"})])
    p1 = g.pw()
    add("infra/prod.tfvars", f"region = \"eu-west-1\"\ndb_password = \"{p1}\"\napi_token = var.token\n",
        [Planted(p1, p1, {"variable": "db_password"})])
    p1, p2 = g.pw(), g.pw()
    add("ansible/inventory.ini", f"[web]\nweb1 ansible_host=10.0.0.11 ansible_user={u1} ansible_password={p1}\n"
        "web2 ansible_host=10.0.0.12 ansible_password=\"{{ vault_pw }}\"\n\n[db:vars]\n"
        f"ansible_become_pass={p2}\n", [Planted(p1, p1, {"host": "10.0.0.11", "user": u1}),
                                        Planted(p2, p2, {"group": "db:vars"})], ["{{ vault_pw }}"])
    p1 = g.pw()
    add("ansible/group_vars/all.yml", f"---\nansible_user: {u1}\nansible_become_password: \"{p1}\"\n"
        "ansible_password: \"{{ lookup('env', 'PW') }}\"\n", [Planted(p1, p1, {"user": u1})])
    p1 = g.pw()
    add("deploy/site.PublishSettings", f"<publishData><publishProfile profileName=\"site - Web Deploy\" "
        f"publishMethod=\"MSDeploy\" publishUrl=\"site.scm.azurewebsites.net:443\" msdeploySite=\"site\" "
        f"userName=\"$site\" userPWD=\"{p1}\" destinationAppUrl=\"https://site.azurewebsites.net\" /></publishData>\n",
        [Planted(p1, p1, {"user": "$site", "publish_url": "site.scm.azurewebsites.net:443"})])

    # FTP, SSH and database clients
    p1, p2 = g.pw(), g.pw()
    add("AppData/Roaming/FileZilla/sitemanager.xml", f"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\n"
        f"<FileZilla3 version=\"3.60.2\" platform=\"windows\">\n  <Servers>\n    <Server>\n      <Host>{h1}</Host>\n"
        f"      <Port>21</Port>\n      <Protocol>0</Protocol>\n      <Type>0</Type>\n      <User>{u1}</User>\n"
        f"      <Pass encoding=\"base64\">{b64(p1)}</Pass>\n      <Logontype>1</Logontype>\n      <Name>prod</Name>\n"
        f"    </Server>\n    <Server>\n      <Host>legacy.invalid</Host>\n      <Port>22</Port>\n"
        f"      <User>old</User>\n"
        f"      <Pass>{p2}</Pass>\n    </Server>\n  </Servers>\n</FileZilla3>\n",
        [Planted(p1, b64(p1), {"host": h1, "port": "21", "user": u1}), Planted(p2, p2, {"host": "legacy.invalid"})],
        crlf=True)
    p1 = g.pw()
    add("AppData/Roaming/FileZilla/recentservers.xml", f"<?xml version=\"1.0\"?>\n<FileZilla3>\n<RecentServers>\n"
        f"<Server><Host>{h1}</Host><Port>990</Port><Protocol>3</Protocol><User>{u1}</User><Pass encoding=\"base64\">"
        f"{b64(p1)}</Pass></Server>\n</RecentServers>\n</FileZilla3>\n", [Planted(p1, b64(p1), {"port": "990"})])
    p1 = g.pw()
    add("tools/WinSCP.ini", f"[Configuration\\Interface]\nRandomSeedFile=%APPDATA%\\winscp.rnd\n\n"
        f"[Sessions\\{u1}@{h1}]\nHostName={h1}\nUserName={u1}\nPassword={winscp_encode(p1, u1, h1)}\n"
        "PortNumber=2222\nFSProtocol=2\n", [Planted(p1, "Password=", {"host": h1, "user": u1, "port": "2222"})],
        crlf=True)
    priv = g.b64chars(64, string.ascii_letters + string.digits + "+/")
    add("keys/deploy.ppk", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@ci\n"
        "Public-Lines: 2\n"
        f"AAAAC3NzaC1lZDI1NTE5AAAAI{g.b64chars(43, string.ascii_letters + string.digits)}\n"
        f"{g.b64chars(20, string.ascii_letters)}\nPrivate-Lines: 1\n{priv}\nPrivate-MAC: {g.hexs(64)}\n",
        [Planted(priv, priv, {"comment": "deploy@ci", "algorithm": "ssh-ed25519"})])
    add("keys/locked.ppk", f"PuTTY-User-Key-File-2: ssh-rsa\nEncryption: aes256-cbc\nComment: locked\nPublic-Lines: 1\n"
        f"AAAAB3NzaC1yc2E\nPrivate-Lines: 1\n{g.b64chars(64)}\nPrivate-MAC: {g.hexs(40)}\n", [])
    p1 = g.pw()
    add("proj/.vscode/sftp.json", json.dumps({"name": "Prod", "host": h1, "protocol": "sftp", "port": 22,
                                              "username": u1, "password": p1, "remotePath": "/var/www",
                                              "passphrase": True, "uploadOnSave": True}, indent=4) + "\n",
        [Planted(p1, p1, {"host": h1, "user": u1, "port": "22"})])
    p1 = g.pw()
    add("proj/.remote-sync.json", json.dumps({"transport": "ftp", "hostname": h1, "port": "21", "username": u1,
                                              "password": p1, "target": "/htdocs"}, indent=2) + "\n",
        [Planted(p1, p1, {"host": h1, "user": u1})])
    p1 = g.pw()
    add("proj/.ftpconfig", json.dumps({"protocol": "sftp", "host": h1, "port": 22, "user": u1, "pass": p1,
                                       "promptForPass": False, "remote": "/"}, indent=2) + "\n",
        [Planted(p1, p1, {"host": h1, "user": u1})])
    p1 = g.pw()
    add("proj/sftp-config.json", "{\n    // The tab key will cycle through the settings when first created\n"
        "    \"type\": \"sftp\",\n    \"save_before_upload\": true,\n    \"upload_on_save\": false,\n"
        f"    \"host\": \"{h1}\",\n    \"user\": \"{u1}\",\n    \"password\": \"{p1}\",\n    //\"password\": "
        "\"password\",\n    \"port\": \"22\",\n    \"remote_path\": \"/example/path/\",\n}\n",
        [Planted(p1, p1, {"host": h1, "user": u1})])
    p1 = g.pw()
    add("proj/.idea/webServers.xml", f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project version=\"4\">\n"
        f"  <component name=\"WebServers\">\n    <option name=\"servers\">\n      <webServer id=\"1\" name=\"prod\">\n"
        f"        <fileTransfer host=\"{h1}\" port=\"21\" accessType=\"FTP\" username=\"{u1}\" "
        f"password=\"{jetbrains_encode(p1)}\" />\n      </webServer>\n    </option>\n  </component>\n</project>\n",
        [Planted(p1, jetbrains_encode(p1), {"host": h1, "user": u1})])
    p1 = g.pw()
    add("proj/.idea/dataSources.xml", f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project version=\"4\">\n"
        f"  <component name=\"DataSourceManagerImpl\" format=\"xml\" multifile-model=\"true\">\n"
        f"    <data-source source=\"LOCAL\" name=\"prod@{h1}\" uuid=\"1a2b\">\n"
        f"      <driver-ref>postgresql</driver-ref>\n      <jdbc-url>jdbc:postgresql://{h1}:5432/sales?user={u1}"
        f"&amp;password={p1}</jdbc-url>\n    </data-source>\n  </component>\n</project>\n",
        [Planted(p1, p1, {"host": h1, "database": "sales"})])
    p1, p2 = g.pw(), g.pw()
    add("DBeaverData/workspace6/General/.dbeaver/data-sources.json", json.dumps(
        {"folders": {}, "connections": {"postgres-jdbc-1": {"provider": "postgresql", "driver": "postgres-jdbc",
                                                            "name": "orders", "save-password": True,
                                                            "configuration": {"host": h1, "port": "5432",
                                                                              "database": "orders", "user": u1,
                                                                              "password": p1, "url":
                                                                                  f"jdbc:postgresql://{h1}:5432/orders"}}}},
        indent="\t") + "\n", [Planted(p1, p1, {"connection": "orders", "host": h1, "user": u1})])
    cases.append(Case("DBeaverData/workspace6/General/.dbeaver/credentials-config.json",
                      dbeaver_encrypt({"postgres-jdbc-1": {"#connection": {"user": u1, "password": p2}}}),
                      [Planted(p2, "", {"connection": "postgres-jdbc-1", "user": u1})]))
    p1 = g.pw()
    add("home/.3T/robo-3t/1.4.4/robo3t.json", json.dumps({"connections": [{"connectionName": "prod",
                                                                            "serverHost": h1, "serverPort": 27017,
                                                                            "credentials": [{"databaseName": "admin",
                                                                                             "userName": u1,
                                                                                             "userPassword": p1}]}]},
                                                         indent=4) + "\n",
        [Planted(p1, p1, {"host": h1, "user": u1})])
    p1 = g.pw()
    add("export/portable_settings.txt", f"Servers\\prod\\Host<|||>1<|||>{h1}\nServers\\prod\\User<|||>1<|||>{u1}\n"
        f"Servers\\prod\\Password<|||>1<|||>{heidi_encode(p1, 7)}\nServers\\prod\\Port<|||>1<|||>3306\n",
        [Planted(p1, heidi_encode(p1, 7), {"host": h1, "user": u1, "port": "3306"})], crlf=True)
    p1 = g.pw()
    add("export/connections.ncx", f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Connections Ver=\"1.5\">\n"
        f"  <Connection ConnectionName=\"prod\" ConnType=\"MYSQL\" Host=\"{h1}\" Port=\"3306\" Database=\"\" "
        f"UserName=\"{u1}\" Password=\"{navicat_encrypt(p1)}\" SSH=\"false\" />\n</Connections>\n",
        [Planted(p1, navicat_encrypt(p1), {"host": h1, "user": u1, "name": "prod"})])

    # Frameworks and servers
    add("app/config/master.key", g.hexs(32) + "\n", [])
    cases[-1].planted.append(Planted(cases[-1].content.decode().strip(), cases[-1].content.decode().strip(), {}))
    skb = g.hexs(128)
    add("app/config/secrets.yml", f"development:\n  secret_key_base: {g.hexs(128)}\n\nproduction:\n"
        "  secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>\n", [])
    dev = cases[-1].content.decode().split("secret_key_base: ")[1].split("\n")[0]
    cases[-1].planted.append(Planted(dev, dev, {"environment": "development"}))
    del skb
    dj, p1, p2 = "django-insecure-" + g.b64chars(50, string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)"), \
        g.pw(), g.pw()
    add("app/mysite/settings.py", f"import os\n\nSECRET_KEY = '{dj}'\n\nDEBUG = False\n\nDATABASES = {{\n"
        f"    'default': {{\n        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'shop',\n"
        f"        'USER': '{u1}',\n        'PASSWORD': '{p1}',\n        'HOST': '{h1}',\n        'PORT': '5432',\n"
        f"    }}\n}}\n\nEMAIL_HOST_PASSWORD = os.environ['EMAIL_PASSWORD']\nAWS_SECRET = os.getenv('AWS_SECRET', "
        f"'{p2}')\n", [Planted(dj, dj, {}), Planted(p1, p1, {"host": h1, "user": u1}), Planted(p2, p2, {})],
        ["os.environ['EMAIL_PASSWORD']"])
    p1 = g.pw()
    keys = [g.b64chars(64, string.ascii_letters + string.digits + "!@#$%^&*()-_[]{}<>~+=,.;:/?|") for _ in range(2)]
    keys = [k.replace("'", "") for k in keys]
    add("www/wp-config.php", "<?php\n/** The name of the database for WordPress */\n"
        "define( 'DB_NAME', 'wordpress' );\n"
        f"define( 'DB_USER', '{u1}' );\ndefine( 'DB_PASSWORD', '{p1}' );\ndefine( 'DB_HOST', 'localhost' );\n"
        f"define( 'AUTH_KEY',         '{keys[0]}' );\ndefine( 'SECURE_AUTH_KEY',  '{keys[1]}' );\n"
        "define( 'LOGGED_IN_KEY',    'put your unique phrase here' );\n$table_prefix = 'wp_';\n",
        [Planted(p1, p1, {"user": u1, "database": "wordpress"}), Planted(keys[0], keys[0], {}),
         Planted(keys[1], keys[1], {})], ["put your unique phrase here"])
    add("www/wp-config-sample.php", "<?php\ndefine( 'DB_NAME', 'database_name_here' );\ndefine( 'DB_USER', "
        "'username_here' );\ndefine( 'DB_PASSWORD', 'password_here' );\n", [], ["password_here"])
    p1, p2 = g.pw(), g.pw()
    add("laravel/.env", f"APP_NAME=Laravel\nAPP_ENV=production\nAPP_KEY=base64:{b64(g.hexs(16))}\nAPP_DEBUG=false\n\n"
        f"DB_CONNECTION=mysql\nDB_HOST={h1}\nDB_PORT=3306\nDB_DATABASE=crm\nDB_USERNAME={u1}\nDB_PASSWORD={p1}\n\n"
        f"REDIS_PASSWORD=null\nMAIL_PASSWORD=\"{p2}\"\nAWS_SECRET_ACCESS_KEY=\nPUSHER_APP_SECRET=${{PUSHER_SECRET}}\n",
        [Planted(p1, p1, {"host": h1, "user": u1, "port": "3306", "database": "crm"}), Planted(p2, p2, {})],
        ["null", "${PUSHER_SECRET}"])
    app_key = cases[-1].content.decode().split("APP_KEY=")[1].split("\n")[0]
    cases[-1].planted.append(Planted(app_key, app_key, {}))
    add("laravel/.env.example", "APP_KEY=\nDB_PASSWORD=secret\nDB_USERNAME=root\nMAIL_PASSWORD=changeme\n", [],
        ["secret", "changeme"])
    p1, sec = g.pw(), g.hexs(32)
    add("symfony/.env.local", f"APP_ENV=prod\nAPP_SECRET={sec}\nDATABASE_URL=\"postgresql://{u1}:{p1}@{h1}:5432/app?"
        "serverVersion=15&charset=utf8\"\n", [Planted(sec, sec, {}), Planted(p1, p1, {"host": h1, "user": u1,
                                                                                      "port": "5432"})])
    p1, p2 = g.pw(), g.pw()
    add("spring/src/main/resources/application.properties", f"server.port=8080\nspring.datasource.url=jdbc:mysql://{h1}"
        f":3306/inventory\nspring.datasource.username={u1}\nspring.datasource.password={p1}\n"
        f"spring.mail.password=${{MAIL_PASSWORD}}\napp.jwt.secret=${{JWT_SECRET:{p2}}}\n",
        [Planted(p1, p1, {"user": u1}), Planted(p2, p2, {})], ["${MAIL_PASSWORD}"])
    p1 = g.pw()
    add("spring/src/main/resources/application-prod.yml", f"spring:\n  datasource:\n    url: jdbc:postgresql://{h1}:5432/"
        f"billing\n    username: {u1}\n    password: \"{p1}\"\n  mail:\n    password: ${{MAIL_PW}}\n",
        [Planted(p1, p1, {"user": u1})], ["${MAIL_PW}"])
    p1, p2 = g.pw(), g.pw()
    add("php/config/database.php", f"<?php\nreturn [\n    'default' => env('DB_CONNECTION', 'mysql'),\n"
        f"    'connections' => [\n        'mysql' => [\n            'driver' => 'mysql',\n            'host' => "
        f"'{h1}',\n            'database' => 'forge',\n            'username' => '{u1}',\n            'password' => "
        f"env('DB_PASSWORD', '{p1}'),\n        ],\n        'pgsql' => [\n            'password' => env('PG_PASSWORD'),"
        f"\n        ],\n    ],\n];\n", [Planted(p1, p1, {"host": h1, "user": u1})])
    add("ci/application/config/database.php", f"<?php\n$db['default'] = array(\n\t'hostname' => '{h1}',\n"
        f"\t'username' => '{u1}',\n\t'password' => '{p2}',\n\t'database' => 'ci',\n);\n",
        [Planted(p2, p2, {"host": h1, "user": u1})])
    p1, mk = g.pw(), g.hexs(64).upper()
    add("aspnet/web.config", f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <connectionStrings>\n"
        f"    <add name=\"Default\" connectionString=\"Data Source={h1};Initial Catalog=Shop;User ID={u1};"
        f"Password={p1};\" providerName=\"System.Data.SqlClient\" />\n    <add name=\"Local\" connectionString=\""
        "Server=.;Database=Dev;Integrated Security=SSPI\" />\n  </connectionStrings>\n  <system.web>\n"
        f"    <machineKey validationKey=\"{mk}\" decryptionKey=\"AutoGenerate,IsolateApps\" validation=\"SHA1\" />\n"
        "  </system.web>\n</configuration>\n",
        [Planted(p1, p1, {"host": h1, "database": "Shop", "user": u1, "name": "Default"}), Planted(mk, mk, {})],
        bom=True)
    p1 = g.pw()
    add("odbc/odbc.ini", f"[reporting]\nDriver = PostgreSQL Unicode\nServername = {h1}\nDatabase = dw\nUID = {u1}\n"
        f"Password = {p1}\n", [Planted(p1, p1, {"dsn": "reporting", "host": h1})])
    p1, p2 = g.pw(), g.pw()
    add("tomcat/conf/tomcat-users.xml", f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tomcat-users>\n<!--\n"
        "  <user username=\"admin\" password=\"<must-be-changed>\" roles=\"manager-gui\"/>\n-->\n"
        f"  <user username=\"deployer\" password=\"{p1}\" roles=\"manager-script\"/>\n</tomcat-users>\n",
        [Planted(p1, p1, {"user": "deployer", "roles": "manager-script"})], ["<must-be-changed>"])
    add("tomcat/conf/context.xml", "<Context>\n  <Resource name=\"jdbc/app\" auth=\"Container\" "
        "type=\"javax.sql.DataSource\""
        f"\n            username=\"{u1}\" password=\"{p2}\" url=\"jdbc:mysql://{h1}:3306/app\" />\n</Context>\n",
        [Planted(p2, p2, {"user": u1, "name": "jdbc/app"})])
    p1, p2 = g.pw(), g.pw()
    add("jenkins/credentials.xml", "<?xml version='1.1' encoding='UTF-8'?>\n<com.cloudbees.plugins.credentials."
        "SystemCredentialsProvider plugin=\"credentials@2.6\">\n"
        "  <domainCredentialsMap class=\"hudson.util.CopyOnWriteMap$Hash\">"
        "\n    <entry>\n      <java.util.concurrent.CopyOnWriteArrayList>\n"
        "        <com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>\n"
        f"          <scope>GLOBAL</scope>\n          <id>deploy-creds</id>\n          <username>{u1}</username>\n"
        f"          <password>{{AQAAABAAAAAQ{g.b64chars(40, string.ascii_letters + string.digits)}=}}</password>\n"
        "        </com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>\n"
        "        <org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>\n"
        f"          <id>api</id>\n          <secret>{p2}</secret>\n"
        "        </org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>\n"
        "      </java.util.concurrent.CopyOnWriteArrayList>\n    </entry>\n  </domainCredentialsMap>\n"
        "</com.cloudbees.plugins.credentials.SystemCredentialsProvider>\n", [Planted(p2, p2, {"id": "api"})])
    enc = cases[-1].content.decode().split("<password>")[1].split("</password>")[0]
    cases[-1].planted.append(Planted(enc, enc, {"id": "deploy-creds", "user": u1}))
    mysql41 = "*" + g.hexs(40).upper()
    dj_hash = "pbkdf2_sha256$600000$" + g.b64chars(22, string.ascii_letters + string.digits) + "$" + g.b64chars(
        43, string.ascii_letters + string.digits + "+/") + "="
    md5h = g.hexs(32)
    add("backup/dump.sql", "-- MySQL dump 10.13\n--\nCREATE TABLE `users` (`id` int, `email` varchar(255), "
        "`password` varchar(255));\n"
        f"INSERT INTO `users` (`id`, `email`, `password`) VALUES (1,'{u1}@corp.invalid','{dj_hash}'),"
        f"(2,'bob@corp.invalid','{md5h}');\nINSERT INTO `user` VALUES ('localhost','root','{mysql41}');\n",
        [Planted(dj_hash, dj_hash, {"table": "users", "user": f"{u1}@corp.invalid", "scheme": "django"}),
         Planted(md5h, md5h, {"table": "users", "column": "password"}),
         Planted(mysql41, mysql41, {"scheme": "mysql41"})])

    # General configuration in common grammars
    p1, p2 = g.pw(), g.pw()
    add("dotnet/appsettings.Production.json", json.dumps({
        "ConnectionStrings": {"Default": f"Server={h1};Database=Orders;User Id={u1};Password={p1};"},
        "Logging": {"LogLevel": {"Default": "Warning"}},
        "Smtp": {"Host": "smtp.corp.invalid", "User": u1, "Password": p2},
        "Jwt": {"Secret": "${JWT_SECRET}"}}, indent=2) + "\n",
        [Planted(p1, p1, {"host": h1, "user": u1, "database": "Orders"}),
         Planted(p2, p2, {"host": "smtp.corp.invalid", "user": u1})], ["${JWT_SECRET}"], bom=True)
    p1 = g.pw()
    add("service/config.ini", f"; service settings\n[database]\nhost = {h1}\nuser = {u1}\npassword = {p1}  ; prod\n"
        "password_min_length = 12\n\n[api]\ntoken =\n", [Planted(p1, p1, {"section": "database", "host": h1,
                                                                          "user": u1})])
    p1, ssha = g.pw(), "{SSHA}" + base64.b64encode(os.urandom(24)).decode()
    add("etc/redis/redis.conf", f"bind 127.0.0.1\nport 6379\n# requirepass foobared\nrequirepass {p1}\n",
        [Planted(p1, p1, {"setting": "requirepass"})], ["foobared"])
    add("etc/openldap/slapd.conf", "database mdb\nsuffix \"dc=corp,dc=invalid\"\n"
        "rootdn \"cn=admin,dc=corp,dc=invalid\"\n"
        f"rootpw {ssha}\n", [Planted(ssha, ssha, {"scheme": "ssha"})])
    p1 = g.pw()
    add("etc/postfix/sasl_passwd", f"[smtp.gmail.com]:587 {u1}@gmail.invalid:{p1}\n",
        [Planted(p1, p1, {"host": "[smtp.gmail.com]:587", "user": f"{u1}@gmail.invalid"})])
    p1 = g.pw()
    add("home/.smbcredentials", f"username={u1}\npassword={p1}\ndomain=CORP\n",
        [Planted(p1, p1, {"user": u1, "domain": "CORP"})])
    p1, p2 = g.pw(10), g.pw(10)
    md5c = "$1$" + g.b64chars(4) + "$" + g.b64chars(22)
    add("network/core-sw1/running-config", f"!\nversion 15.2\nhostname core-sw1\n!\nenable secret 5 {md5c}\n!\n"
        f"username admin privilege 15 password 7 {cisco7_encode(p1)}\nusername ops secret 0 {p2}\n!\nline vty 0 4\n"
        " login local\n!\nend\n", [Planted(md5c, md5c, {"type": "5"}),
                                    Planted(p1, cisco7_encode(p1), {"user": "admin"}),
                                    Planted(p2, p2, {"user": "ops"})])
    p1, p2 = g.pw(), g.pw()
    add("stack/docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    environment:\n"
        f"      - POSTGRES_USER={u1}\n"
        f"      - POSTGRES_PASSWORD={p1}\n  cache:\n    image: redis\n    environment:\n"
        f"      REDIS_PASSWORD: \"{p2}\"\n      OTHER_PASSWORD: ${{OTHER_PASSWORD}}\n",
        [Planted(p1, p1, {"user": u1}), Planted(p2, p2, {})], ["${OTHER_PASSWORD}"])
    p1 = g.pw()
    add("forum/config.php", f"<?php\n$dbms = 'phpbb\\db\\driver\\mysqli';\n$dbhost = '{h1}';\n$dbport = '';\n"
        f"$dbname = 'phpbb';\n$dbuser = '{u1}';\n$dbpasswd = '{p1}';\n$table_prefix = 'phpbb_';\n",
        [Planted(p1, p1, {"user": u1, "host": h1})])
    p1 = g.pw()
    add("wiki/LocalSettings.php", f"<?php\n$wgDBtype = \"mysql\";\n$wgDBserver = \"{h1}\";\n$wgDBname = \"wiki\";\n"
        f"$wgDBuser = \"{u1}\";\n$wgDBpassword = \"{p1}\";\n", [Planted(p1, p1, {})])
    p1 = g.pw()
    add("magento/app/etc/local.xml", f"<config>\n <global>\n  <resources>\n   <default_setup>\n    <connection>\n"
        f"     <host><![CDATA[{h1}]]></host>\n     <username><![CDATA[{u1}]]></username>\n"
        f"     <password><![CDATA[{p1}]]></password>\n     <dbname><![CDATA[shop]]></dbname>\n    </connection>\n"
        "   </default_setup>\n  </resources>\n </global>\n</config>\n", [Planted(p1, p1, {"user": u1})])
    p1 = g.pw()
    add("rails/config/database.yml", f"default: &default\n  adapter: postgresql\n  pool: 5\n\nproduction:\n"
        f"  <<: *default\n  database: app_production\n  username: {u1}\n  password: {p1}\n  host: {h1}\n\n"
        "test:\n  <<: *default\n  password: <%= ENV['TEST_DB_PASSWORD'] %>\n",
        [Planted(p1, p1, {"user": u1, "host": h1, "database": "app_production"})])
    p1, p2 = g.pw(), g.pw()
    add("flask/instance/config.py", f"DEBUG = False\nSECRET_KEY = \"{p1}\"\nSQLALCHEMY_DATABASE_URI = "
        f"\"mysql+pymysql://{u1}:{p2}@{h1}/app\"\nMAIL_PASSWORD = os.environ.get('MAIL_PASSWORD')\n",
        [Planted(p1, p1, {}), Planted(p2, p2, {"user": u1, "host": h1})])
    p1 = g.pw()
    add("jboss/deploy/app-ds.xml", f"<datasources>\n  <local-tx-datasource>\n    <jndi-name>AppDS</jndi-name>\n"
        f"    <connection-url>jdbc:oracle:thin:@{h1}:1521:ORCL</connection-url>\n    <user-name>{u1}</user-name>\n"
        f"    <password>{p1}</password>\n  </local-tx-datasource>\n</datasources>\n", [Planted(p1, p1, {"user": u1})])
    p1 = g.pw()
    add("k8s/db-secret.yaml", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f"  username: {b64(u1)}\n  password: {b64(p1)}\n", [Planted(p1, b64(p1), {"secret_key": "password"})])
    tok = g.b64chars(20, string.ascii_letters + string.digits)
    add("runner/config.toml", f"concurrent = 4\n\n[[runners]]\n  name = \"docker\"\n  url = \"https://gitlab.invalid/\"\n"
        f"  token = \"{tok}\"\n  executor = \"docker\"\n", [Planted(tok, tok, {"setting": "token"})])
    p1 = g.pw()
    add("etc/pip.conf", f"[global]\nindex-url = https://{u1}:{p1}@pypi.corp.invalid/simple\ntimeout = 60\n",
        [Planted(p1, p1, {"host": "pypi.corp.invalid", "user": u1})])
    p1 = g.pw()
    add("etc/grafana/grafana.ini", f"[server]\nhttp_port = 3000\n\n[security]\nadmin_user = admin\n"
        f"admin_password = {p1}\n;admin_password = admin\n", [Planted(p1, p1, {"section": "security"})])
    p1 = g.pw()
    add("home/.bashrc", f"alias ll='ls -alF'\nexport PATH=$HOME/bin:$PATH\nexport MYSQL_PWD='{p1}'\n"
        "export GITHUB_TOKEN=$(pass github)\n", [Planted(p1, p1, {"setting": "MYSQL_PWD"})])
    p1 = g.pw()
    add("vpn/office.ovpn", f"client\ndev tun\nproto udp\nremote vpn.corp.invalid 1194\n<auth-user-pass>\n{u1}\n{p1}\n"
        "</auth-user-pass>\n<ca>\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n</ca>\n",
        [Planted(p1, p1, {"user": u1, "host": "vpn.corp.invalid", "port": "1194"})])
    p1 = g.pw()
    add("old/FileZilla.xml", f"<FileZilla>\n<Sites>\n<Site Name=\"web\" Host=\"{h1}\" Port=\"21\" User=\"{u1}\" "
        f"Pass=\"{p1}\" Logontype=\"1\" />\n</Sites>\n</FileZilla>\n", [Planted(p1, p1, {"host": h1, "user": u1})])
    p1 = g.pw()
    enc = winscp_encode(p1, u1, h1)
    add("export/winscp-sessions.reg", "Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\Software\\Martin "
        f"Prikryl\\WinSCP 2\\Sessions\\{u1}@{h1}]\n\"HostName\"=\"{h1}\"\n\"UserName\"=\"{u1}\"\n"
        f"\"Password\"=\"{enc}\"\n\"PortNumber\"=dword:00000016\n", [Planted(p1, enc, {"host": h1, "user": u1})],
        crlf=True)
    p1 = g.pw()
    add("phpmyadmin/config.inc.php", f"<?php\n$i = 0;\n$i++;\n$cfg['Servers'][$i]['host'] = '{h1}';\n"
        f"$cfg['Servers'][$i]['user'] = '{u1}';\n$cfg['Servers'][$i]['password'] = '{p1}';\n"
        "$cfg['Servers'][$i]['AllowNoPassword'] = false;\n", [Planted(p1, p1, {"host": h1, "user": u1})])
    p1 = g.pw()
    bc = "$2a$10$" + g.b64chars(53)
    add("backup/pg_dumpall.sql", "--\n-- PostgreSQL database cluster dump\n--\n\nCREATE ROLE app;\n"
        "ALTER ROLE app WITH LOGIN "
        f"PASSWORD 'md5{g.hexs(32)}';\nCREATE USER 'web'@'localhost' IDENTIFIED BY '{p1}';\n\n"
        "COPY public.users (id, email, encrypted_password, created_at) FROM stdin;\n"
        f"1\t{u1}@corp.invalid\t{bc}\t2020-01-01\n2\tbob@corp.invalid\t\\N\t2020-01-02\n\\.\n",
        [Planted(p1, p1, {"user": "web@localhost"}),
         Planted(bc, bc, {"user": f"{u1}@corp.invalid", "column": "encrypted_password", "scheme": "bcrypt"})])
    pg = cases[-1].content.decode().split("PASSWORD '")[1].split("'")[0]
    cases[-1].planted.append(Planted(pg, pg, {"user": "app", "scheme": "postgres-md5"}))

    # Providers' own config files name the provider only in the file name; the provider's rule takes the value
    dd, nr, st = g.hexs(32), g.hexs(40), g.hexs(64)
    add("agent/datadog.yaml", f"## Datadog Agent\nsite: datadoghq.eu\napi_key: {dd}\nlogs_enabled: true\n"
        "proxy:\n  https: http://proxy.invalid:3128\n", [Planted(dd, dd, {"config_of": "datadog"}, "datadog-api-key")])
    add("ruby/config/newrelic.yml", f"common: &default_settings\n  license_key: '{nr}'\n  app_name: Shop\n"
        "development:\n  <<: *default_settings\n  license_key: '<%= ENV[\"NEW_RELIC_LICENSE_KEY\"] %>'\n",
        [Planted(nr, nr, {"config_of": "newrelic"}, "newrelic-license-key-legacy")])
    add("home/.sentryclirc", f"[defaults]\norg = acme\nproject = web\n\n[auth]\ntoken = {st}\n",
        [Planted(st, st, {"config_of": "sentry", "section": "auth"}, "sentry-auth-token-legacy")])
    other = g.pw(24)
    add("home/.config/ngrok/ngrok.yml", f"version: \"2\"\nauthtoken: {other}\n",
        [Planted(other, other, {"config_of": "ngrok"}, "file-provider-config-secret")])
    # a setting a few lines under its provider's section (Helm values), and a Kubernetes Secret's base64 data
    dd = g.hexs(32)
    add("charts/monitoring/values.yaml", f"datadog:\n  site: datadoghq.com\n  clusterName: prod\n  apiKey: {dd}\n"
        "  logs:\n    enabled: true\n", [Planted(dd, dd, {"path": "datadog"}, "datadog-api-key")])
    dd = g.hexs(32)
    add("k8s/agent-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: datadog\ntype: Opaque\ndata:\n"
        f"  DD_API_KEY: {b64(dd)}\n", [Planted(dd, b64(dd), {"secret_key": "DD_API_KEY"}, "datadog-api-key")])
    return cases


def build(seed: int = 7) -> list[Case]:
    return _cases(Gen(seed))


def line_of(case: Case, planted: Planted) -> int:
    """The expected line: where the written form occurs (binary stores: line 1)."""
    if not planted.written:
        return 1
    text = case.content.decode("utf-8", "replace")
    at = -1
    for _ in range(planted.nth + 1):
        at = text.find(planted.written, at + 1)
    assert at >= 0, (case.path, planted.written)
    return text.count("\n", 0, at) + 1


def write(cases: list[Case], root: os.PathLike[str] | str) -> None:
    from pathlib import Path

    for case in cases:
        target = Path(root) / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(case.content)


SCANNER = Callable[[str], object]
