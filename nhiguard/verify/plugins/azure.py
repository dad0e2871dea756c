"""Azure Storage account keys: a SharedKey-signed `List Containers` call on the account's blob endpoint.

The signature is HMAC-SHA256 over the canonical string of the Blob service (stdlib `hmac`, no extra needed).
The host is built from the account name found with the key, so it is pinned to `*.blob.core.windows.net` and
private addresses are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from email.utils import formatdate

from nhiguard.http import Request
from nhiguard.model import Verdict
from nhiguard.verify.plugins import NotChecked, Target, Transport

API_VERSION = "2021-08-06"
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")


def string_to_sign(account: str, date: str, version: str = API_VERSION) -> str:
    """GET /?comp=list with only x-ms-date and x-ms-version (Blob service, version 2015-02-21 and later)."""
    fields = ["GET"] + [""] * 11  # Content-Encoding … Range: all empty
    headers = f"x-ms-date:{date}\nx-ms-version:{version}\n"
    resource = f"/{account}/\ncomp:list"
    return "\n".join(fields) + "\n" + headers + resource


def sign(account: str, key_b64: str, date: str, version: str = API_VERSION) -> str:
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        raise NotChecked("the account key is not valid base64") from None
    digest = hmac.new(key, string_to_sign(account, date, version).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _names(body: bytes) -> list[str] | None:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        root = ET.fromstring(body)  # noqa: S314 - see above
    except ET.ParseError:
        return None
    if root.tag.rsplit("}", 1)[-1] != "EnumerationResults":
        return None
    return [e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Name" and e.text]


def verify_shared_key(target: Target, transport: Transport) -> Verdict:
    account = target.parts.get("account_name", "").lower()
    if not _ACCOUNT.match(account):
        raise NotChecked("needs the storage account name (AccountName=… or <name>.blob.core.windows.net nearby)")
    date = formatdate(usegmt=True)
    signature = sign(account, target.secret, date)
    headers = (
        ("x-ms-date", date),
        ("x-ms-version", API_VERSION),
        ("Authorization", f"SharedKey {account}:{signature}"),
    )
    response = transport.send(
        Request("GET", f"https://{account}.blob.core.windows.net/?comp=list", headers), from_secret=True
    )
    if response.status >= 500 or response.status == 429:
        return Verdict(status="unknown", detail=f"HTTP {response.status} from the storage service")
    error = response.headers.get("x-ms-error-code", "")
    if response.status == 200:
        names = _names(response.body)
        if names is None:
            return Verdict(status="unknown", detail="HTTP 200 but not a container listing")
        shown = ", ".join(names[:10]) + (f" (+{len(names) - 10} more)" if len(names) > 10 else "")
        return Verdict(status="live", identity=f"storage account {account}",
                       detail=f"HTTP 200: {len(names)} container(s){': ' + shown if names else ''}")
    if response.status == 403 and (error == "AuthenticationFailed" or b"AuthenticationFailed" in response.body):
        return Verdict(status="invalid", detail="HTTP 403 AuthenticationFailed: the key does not sign for the account")
    return Verdict(status="unknown", detail=f"HTTP {response.status} {error}".strip())
