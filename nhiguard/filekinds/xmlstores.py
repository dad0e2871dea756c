"""XML credential stores: FileZilla, Maven settings, NuGet.Config, tomcat-users.xml, JetBrains deployment and
data sources, Azure publish profiles, Navicat exports, Jenkins credentials, ASP.NET web.config / app.config, and
Java container configs (context.xml resources, hibernate.cfg.xml)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from nhiguard.filekinds import connections, crypto
from nhiguard.filekinds.base import Field, FileKind, field_at, hash_field, rule
from nhiguard.filekinds.grammar import Element, xml_tree
from nhiguard.filekinds.names import secret_key, value_kind

FILEZILLA = "file-filezilla-password"
MAVEN = "file-maven-settings-password"
NUGET = "file-nuget-config-password"
TOMCAT = "file-tomcat-users-password"
JETBRAINS = "file-jetbrains-password"
AZPUB = "file-azure-publish-profile-password"
NAVICAT = "file-navicat-password"
JENKINS = "file-jenkins-credential"
DOTNET = "file-dotnet-config-secret"
JAVAXML = "file-java-config-password"

RULES = (
    rule(FILEZILLA, "FileZilla saved server password", "filezilla"),
    rule(MAVEN, "Maven settings.xml server password", "maven"),
    rule(NUGET, "NuGet.Config package source password", "nuget"),
    rule(TOMCAT, "Tomcat user password (tomcat-users.xml)", "tomcat"),
    rule(JETBRAINS, "JetBrains IDE deployment or data source password", "jetbrains"),
    rule(AZPUB, "Azure publish profile password", "azure", severity="critical"),
    rule(NAVICAT, "Navicat connection password", "navicat"),
    rule(JENKINS, "Jenkins stored credential", "jenkins"),
    rule(DOTNET, "ASP.NET configuration secret (connection string, machineKey, appSettings)", "dotnet"),
    rule(JAVAXML, "Password in a Java server or ORM XML config", "java"),
)


def _text_field(rule_id: str, el: Element | None, ctx: list[tuple[str, str | None]], **kw: object) -> Field | None:
    if el is None or el.text[1] < 0 or not el.text[0].strip():
        return None
    return field_at(rule_id, el.text[0], el.text[1], ctx, **kw)  # type: ignore[arg-type]


def _attr_field(rule_id: str, el: Element, name: str, ctx: list[tuple[str, str | None]],
                kind: str = "password") -> Field | None:
    for key, (value, at, _) in el.attrs.items():
        if key.lower() == name.lower() and value:
            return field_at(rule_id, value, at, ctx, kind=kind)
    return None


# -- FileZilla -----------------------------------------------------------------------------------------------------
def parse_filezilla(text: str, path: str) -> Iterator[Field]:
    for server in xml_tree(text).iter():
        if server.tag == "User" and server.attr("Name"):  # FileZilla Server: <Option Name="Pass">hash</Option>
            for option in server.children:
                if option.tag == "Option" and option.attr("Name") == "Pass" and option.text[0].strip():
                    found = hash_field(option.text[0].strip(), option.text[1], (("user", server.attr("Name")),
                                                                                 ("store", "filezilla-server")))
                    if found:
                        yield found
            continue
        if server.tag not in ("Server", "Site", "Item"):
            continue
        if "Pass" in server.attrs:  # FileZilla 2: every setting is an attribute of <Site>
            attrs = [("host", server.attr("Host")), ("port", server.attr("Port")), ("user", server.attr("User")),
                     ("name", server.attr("Name"))]
            found = _attr_field(FILEZILLA, server, "Pass", attrs)
            if found:
                yield found
            continue
        ctx: list[tuple[str, str | None]] = [("host", server.child_text("Host")), ("port", server.child_text("Port")),
                                             ("protocol", server.child_text("Protocol")),
                                             ("user", server.child_text("User")), ("name", server.child_text("Name"))]
        pw = server.child("Pass") or server.child("Password")
        if pw is None or pw.text[1] < 0:
            continue
        value, at, _ = pw.text
        encoding = (pw.attr("encoding") or "").lower()
        if encoding == "base64":
            try:
                plain = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                continue
            yield field_at(FILEZILLA, value.strip(), at, ctx, secret=plain, decoded=("base64",))
        elif encoding == "crypt":
            yield field_at(FILEZILLA, value.strip(), at, [*ctx, ("note", "encrypted with a master password")],
                           kind="key")
        else:
            found = _text_field(FILEZILLA, pw, ctx)
            if found:
                yield found


# -- Maven settings.xml --------------------------------------------------------------------------------------------
def parse_maven(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag == "server":
            ctx: list[tuple[str, str | None]] = [("server_id", el.child_text("id")),
                                                 ("user", el.child_text("username"))]
            for name in ("password", "passphrase"):
                child = el.child(name)
                if child is not None and child.text[0].strip():
                    note = [("note", "maven-encrypted ({...})")] if re.fullmatch(r"\{.*\}", child.text[0].strip()) \
                        else []
                    found = _text_field(MAVEN, child, [*ctx, ("field", name), *note])
                    if found:
                        yield found
        elif el.tag == "proxy":
            found = _text_field(MAVEN, el.child("password"), [("proxy_host", el.child_text("host")),
                                                              ("user", el.child_text("username"))])
            if found:
                yield found
        elif el.tag == "master":
            found = _text_field(MAVEN, el, [("field", "master"), ("note", "settings-security master password")],
                                kind="key")
            if found:
                yield found


# -- NuGet.Config --------------------------------------------------------------------------------------------------
def parse_nuget(text: str, path: str) -> Iterator[Field]:
    root = xml_tree(text)
    sources = {}
    for el in root.iter():
        if el.tag == "packageSources":
            for add in el.children:
                if add.attr("key"):
                    sources[add.attr("key") or ""] = add.attr("value") or ""
    for el in root.iter():
        if el.tag != "packageSourceCredentials":
            continue
        for source in el.children:
            info = {(a.attr("key") or "").lower(): a for a in source.children}
            user = info.get("username")
            ctx: list[tuple[str, str | None]] = [("source", source.tag), ("url", sources.get(source.tag, "")),
                                                 ("user", user.attr("value") if user else "")]
            for key, note in (("cleartextpassword", ""), ("password", "DPAPI-encrypted (same Windows user)")):
                entry = info.get(key)
                if entry is not None:
                    found = _attr_field(NUGET, entry, "value", [*ctx, ("note", note)],
                                        kind="key" if note else "password")
                    if found:
                        yield found
    for el in root.iter():
        if el.tag == "apikeys":
            for add in el.children:
                found = _attr_field(NUGET, add, "value", [("source", add.attr("key")), ("field", "apikey")],
                                    kind="key")
                if found:
                    yield found


# -- tomcat-users.xml ---------------------------------------------------------------------------------------------
def parse_tomcat_users(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag != "user":
            continue
        got = el.attrs.get("password")
        if not got or not got[0]:
            continue
        value, at, _ = got
        ctx: list[tuple[str, str | None]] = [("user", el.attr("username") or el.attr("name")),
                                             ("roles", el.attr("roles"))]
        found = hash_field(value, at, ctx, store=False, fallback=TOMCAT)
        if found:
            yield found


# -- JetBrains webServers.xml / dataSources*.xml ---------------------------------------------------------------------
def _jetbrains_reveal(value: str) -> str | None:
    if not re.fullmatch(r"(?:[0-9a-fA-F]{4})+", value):
        return None
    try:
        return "".join(chr(int(value[i:i + 4], 16) ^ 0xDFAA) for i in range(0, len(value), 4))
    except ValueError:
        return None


def parse_jetbrains(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag == "fileTransfer" or el.tag == "webServer":
            got = el.attrs.get("password")
            if got and got[0]:
                plain = _jetbrains_reveal(got[0])
                ctx: list[tuple[str, str | None]] = [("host", el.attr("host")), ("port", el.attr("port")),
                                                     ("user", el.attr("username")),
                                                     ("protocol", el.attr("accessType"))]
                yield field_at(JETBRAINS, got[0], got[1], ctx, secret=plain,
                               decoded=("jetbrains-xor",) if plain else ())
        elif el.tag == "data-source":
            url = el.child("jdbc-url")
            ctx = [("name", el.attr("name")), ("driver", el.child_text("driver-ref")),
                   ("user", el.child_text("user-name"))]
            if url is not None and url.text[1] >= 0:
                yield from connections.fields(JETBRAINS, url.text[0], url.text[1], ctx)
            pw = el.child("user-password") or el.child("password")
            if pw is not None and pw.text[0].strip():
                plain = _jetbrains_reveal(pw.text[0].strip())
                yield field_at(JETBRAINS, pw.text[0].strip(), pw.text[1], ctx, secret=plain,
                               decoded=("jetbrains-xor",) if plain else ())


# -- Azure .PublishSettings -----------------------------------------------------------------------------------------
def parse_publish_settings(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag != "publishProfile":
            continue
        ctx: list[tuple[str, str | None]] = [("publish_url", el.attr("publishUrl")), ("user", el.attr("userName")),
                                             ("method", el.attr("publishMethod")), ("site", el.attr("msdeploySite"))]
        found = _attr_field(AZPUB, el, "userPWD", ctx)
        if found:
            yield found
        for key, (value, at, _) in el.attrs.items():
            if key.lower().endswith("connectionstring") and value:
                yield from connections.fields(AZPUB, value, at, [("field", key)])


# -- Navicat .ncx -----------------------------------------------------------------------------------------------
def parse_navicat(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag != "Connection":
            continue
        ctx: list[tuple[str, str | None]] = [("name", el.attr("ConnectionName")), ("type", el.attr("ConnType")),
                                             ("host", el.attr("Host")), ("port", el.attr("Port")),
                                             ("database", el.attr("Database")), ("user", el.attr("UserName"))]
        for name in ("Password", "SSH_Password"):
            got = el.attrs.get(name)
            if not got or not got[0]:
                continue
            plain = crypto.navicat_reveal(got[0])
            if plain is not None:
                yield field_at(NAVICAT, got[0], got[1], [*ctx, ("field", name)], secret=plain, decoded=("navicat",))
            else:
                yield field_at(NAVICAT, got[0], got[1], [*ctx, ("field", name),
                                                         ("note", "Navicat-encrypted, not decoded")], kind="key")


# -- Jenkins credentials.xml / job config.xml ------------------------------------------------------------------------
_JENKINS_SECRETS = ("password", "passphrase", "privateKey", "secret", "secretBytes", "apiToken", "token")


def parse_jenkins(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag not in _JENKINS_SECRETS or el.children or not el.text[0].strip():
            continue
        owner = el.parent
        while owner is not None and owner.child("id") is None and owner.child("username") is None \
                and owner.parent is not None and owner.parent.tag != "#document":
            owner = owner.parent
        ctx: list[tuple[str, str | None]] = [("class", owner.tag if owner else ""),
                                             ("id", owner.child_text("id") if owner else ""),
                                             ("user", owner.child_text("username") if owner else ""),
                                             ("field", el.tag)]
        value = el.text[0].strip()
        if value.startswith("{") and value.endswith("}"):
            ctx.append(("note", "Jenkins-encrypted; needs secrets/master.key and hudson.util.Secret"))
            found = _text_field(JENKINS, el, ctx, kind="key")
        else:
            found = _text_field(JENKINS, el, ctx)
        if found:
            yield found


# -- web.config / app.config ---------------------------------------------------------------------------------------
def parse_dotnet(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        tag = el.tag.lower()
        if tag == "add":
            cs = el.attrs.get("connectionString")
            if cs:
                yield from connections.fields(DOTNET, cs[0], cs[1], [("name", el.attr("name")),
                                                                      ("provider", el.attr("providerName"))])
                continue
            key, value = el.attr("key") or el.attr("name") or "", el.attrs.get("value")
            if value and secret_key(key):
                if connections.looks_like_connection(value[0]):
                    yield from connections.fields(DOTNET, value[0], value[1], [("setting", key)])
                else:
                    yield field_at(DOTNET, value[0], value[1], [("setting", key)], generic=True,
                                   kind=value_kind(key))
        elif tag == "machinekey":
            for name in ("validationKey", "decryptionKey"):
                got = el.attrs.get(name)
                if got and got[0] and "autogenerate" not in got[0].lower():
                    yield field_at(DOTNET, got[0], got[1], [("field", f"machineKey.{name}"),
                                                            ("algorithm", el.attr("validation"))], kind="key")
        elif tag in ("identity", "credentials") or (tag == "user" and el.parent and el.parent.tag == "credentials"):
            got = el.attrs.get("password")
            if got and got[0]:
                yield field_at(DOTNET, got[0], got[1], [("user", el.attr("userName") or el.attr("name")),
                                                        ("field", f"{el.tag}.password")])
        elif tag == "setting" and secret_key(el.attr("name") or ""):
            value_el = el.child("value")
            found = _text_field(DOTNET, value_el, [("setting", el.attr("name"))], generic=True,
                                kind=value_kind(el.attr("name") or ""))
            if found:
                yield found


_PW_ATTRS = frozenset({"password", "passwd", "pwd", "userpassword", "dbpassword", "db_password"})


# -- Java XML: context.xml Resource, hibernate.cfg.xml, persistence.xml, server.xml, standalone.xml ------------------
def parse_java_xml(text: str, path: str) -> Iterator[Field]:
    for el in xml_tree(text).iter():
        if el.tag in ("Resource", "Realm", "Connector", "datasource", "xa-datasource", "bean"):
            ctx: list[tuple[str, str | None]] = [("name", el.attr("name") or el.attr("id")),
                                                 ("url", el.attr("url") or el.attr("connectionURL")),
                                                 ("user", el.attr("username") or el.attr("connectionName")
                                                  or el.attr("user"))]
            for key in ("password", "connectionPassword", "keystorePass", "truststorePass", "keyPass"):
                found = _attr_field(JAVAXML, el, key, [*ctx, ("field", key)])
                if found:
                    yield found
        elif el.tag == "property":
            name = el.attr("name") or ""
            if secret_key(name) and "password" in name.lower():
                got = el.attrs.get("value")
                if got and got[0]:
                    yield field_at(JAVAXML, got[0], got[1], [("property", name)], generic=True)
                else:
                    found = _text_field(JAVAXML, el, [("property", name)], generic=True)
                    if found:
                        yield found
        elif any(k.lower() in _PW_ATTRS for k in el.attrs):
            for key, (value, at, _) in el.attrs.items():
                if key.lower() in _PW_ATTRS and value:
                    user = el.attr("username") or el.attr("user") or el.attr("userName")
                    yield field_at(JAVAXML, value, at, [("element", el.tag), ("user", user),
                                                        ("host", el.attr("host") or el.attr("url")), ("field", key)])
        elif el.tag.lower() in ("password", "user-password", "passwd", "db_password", "dbpassword") \
                and not el.children:
            owner = el.parent
            found = _text_field(JAVAXML, el, [("user", owner.child_text("user-name") or owner.child_text("username")
                                                if owner else ""), ("element", owner.tag if owner else "")])
            if found:
                yield found


KINDS = (
    FileKind("filezilla", parse_filezilla, RULES[0:1], names=("sitemanager.xml", "recentservers.xml",
                                                                "filezilla.xml", "filezilla server.xml", "queue.xml"),
             sniff=lambda head: "<FileZilla" in head or "<Servers" in head or "<Sites" in head),
    FileKind("maven-settings", parse_maven, RULES[1:2], names=("settings.xml", "settings-security.xml"),
             sniff=lambda head: "<settings" in head or "<servers" in head or "<settingsSecurity" in head),
    FileKind("nuget-config", parse_nuget, RULES[2:3], names=("nuget.config", "nuget.config.xml")),
    FileKind("tomcat-users", parse_tomcat_users, RULES[3:4], names=("tomcat-users.xml",)),
    FileKind("jetbrains", parse_jetbrains, RULES[4:5], names=("webservers.xml", "datasources.xml",
                                                                "datasources.local.xml", "deployment.xml",
                                                                "sshconfigs.xml", "remote-servers.xml")),
    FileKind("azure-publish-profile", parse_publish_settings, RULES[5:6], suffixes=(".publishsettings",
                                                                                   ".pubxml", ".pubxml.user")),
    FileKind("navicat", parse_navicat, RULES[6:7], suffixes=(".ncx",), sniff=lambda head: "<Connection" in head),
    FileKind("jenkins", parse_jenkins, RULES[7:8], names=("credentials.xml",), suffixes=("bapsshpublisherplugin.xml",),
             paths=("jobs/config.xml",), sniff=lambda head: "<" in head),
    FileKind("dotnet-config", parse_dotnet, RULES[8:9], names=("web.config", "app.config", "web.release.config",
                                                                 "web.debug.config", "connectionstrings.config",
                                                                 "appsettings.config", "machine.config"),
             suffixes=(".exe.config", ".dll.config"), sniff=lambda head: "<" in head),
    FileKind("java-xml", parse_java_xml, RULES[9:10], names=("context.xml", "server.xml", "hibernate.cfg.xml",
                                                              "persistence.xml", "standalone.xml", "domain.xml",
                                                              "applicationcontext.xml", "datasource.xml",
                                                              "jboss-web.xml", "resin.xml", "jetty.xml",
                                                              "jetty-env.xml", "dbconfig.xml", "hibernate.xml",
                                                              "local.xml", "config.xml", "db.xml", "database.xml",
                                                              "jdbc.xml", "mybatis-config.xml", "sqlmapconfig.xml",
                                                              "ibatis-config.xml", "datasources.xml", "connection.xml",
                                                              "credentials.xml", "settings.xml", "beans.xml"),
             suffixes=("-ds.xml",),
             sniff=lambda head: "<" in head),
)
