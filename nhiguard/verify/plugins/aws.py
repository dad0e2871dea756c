"""AWS access keys: offline account derivation and canary detection, then a SigV4-signed STS GetCallerIdentity.

GetCallerIdentity needs no IAM permission and cannot be denied by a policy, so it answers for any live key.
The request is signed with botocore's SigV4 signer (optional extra `nhiguard[aws]`).

Canary tokens (canarytokens.org and look-alikes) alert their owner when used. The account id is derived offline
from the key id (base32 body → 48 bits → mask 0x7fffffffff80 → shift 7, as described by Tal Beery and Aidan Steele),
and keys of known canary accounts are never sent anywhere.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from typing import Any

from nhiguard.http import Request
from nhiguard.model import Verdict
from nhiguard.verify.plugins import NotChecked, Target, Transport

STS_URL = "https://sts.amazonaws.com/"
STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"

# Public lists of canary-token AWS accounts (the account ids trufflehog publishes in
# pkg/detectors/aws/access_keys/canary.go; facts only).
THINKST_CANARY_ACCOUNTS = frozenset(
    {
        "052310077262", "171436882533", "534261010715", "595918472158", "717712589309", "819147034852",
        "992382622183", "730335385048", "266735846894", "893192397702",
    }
)
KNOCKOFF_CANARY_ACCOUNTS = frozenset(
    {
        "044858866125", "251535659677", "344043088457", "351906852752", "390477818340", "426127672474",
        "427150556519", "439872796651", "445142720921", "465867158099", "637958123769", "693412236332",
        "732624840810", "735421457923", "959235150393", "982842642351",
    }
)


def account_from_key_id(key_id: str) -> str | None:
    """The 12-digit account id encoded in a modern access key id; None for legacy AKIAI/AKIAJ ids."""
    if len(key_id) != 20 or key_id[4] in "IJ":
        return None
    try:
        data = base64.b32decode(key_id[4:].upper())
    except (binascii.Error, ValueError):
        return None
    number = int.from_bytes(data[:6], "big")
    return f"{(number & 0x7FFFFFFFFF80) >> 7:012d}"


def canary(account: str | None) -> str | None:
    if account in THINKST_CANARY_ACCOUNTS:
        return f"AWS canary token (account {account}, canarytokens.org): not called, using it alerts its owner"
    if account in KNOCKOFF_CANARY_ACCOUNTS:
        return f"AWS canary-style token (account {account}): not called, using it alerts its owner"
    return None


def verify_key_id(target: Target, transport: Transport) -> Verdict:
    """A key id alone: nothing to call, but the account (and a canary) is known offline."""
    account = account_from_key_id(target.secret)
    note = canary(account)
    if note:
        return Verdict(status="not_checked", identity=f"account {account}", detail=note)
    detail = "a key id alone cannot be verified; the secret access key is needed"
    return Verdict(status="not_checked", identity=f"account {account}" if account else None, detail=detail)


def _sign(key_id: str, secret: str, token: str | None) -> dict[str, str]:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise NotChecked("AWS verification needs botocore: pip install 'nhiguard[aws]'") from None
    request = AWSRequest(
        method="POST",
        url=STS_URL,
        data=STS_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "text/xml"},
    )
    SigV4Auth(Credentials(key_id, secret, token), "sts", "us-east-1").add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}


def _xml(body: bytes) -> Any:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        return ET.fromstring(body)  # noqa: S314 - see above
    except ET.ParseError:
        return None


def _find(root: Any, name: str) -> str | None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == name and element.text:
            return str(element.text).strip()
    return None


def verify_sts(target: Target, transport: Transport) -> Verdict:
    key_id = target.parts.get("key_id", "")
    if not key_id:
        raise NotChecked("needs the access key id paired with this secret")
    account = account_from_key_id(key_id)
    note = canary(account)
    if note:
        return Verdict(status="not_checked", identity=f"account {account}", detail=note)
    token = target.parts.get("session_token")
    if key_id.startswith("ASIA") and not token:
        raise NotChecked("temporary (ASIA) credentials need their session token to be verified")
    headers = _sign(key_id, target.secret, token)
    response = transport.send(Request("POST", STS_URL, tuple(headers.items()), STS_BODY.encode()))
    if response.status >= 500 or response.status == 429:
        return Verdict(status="unknown", detail=f"HTTP {response.status} from STS")
    root = _xml(response.body)
    if root is None:
        return Verdict(status="unknown", detail=f"HTTP {response.status}: the answer is not STS XML")
    if response.status == 200:
        arn = _find(root, "Arn")
        acct = _find(root, "Account")
        if not arn or not acct:
            return Verdict(status="unknown", detail="HTTP 200 without an Arn")
        detail = f"account {acct}; user id {_find(root, 'UserId') or '?'}"
        if arn.endswith(":root"):
            detail += "; ROOT credentials of the account"
        return Verdict(status="live", identity=arn, detail=detail)
    code = _find(root, "Code") or ""
    if code in ("InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch", "InvalidAccessKeyId"):
        reason = {
            "InvalidClientTokenId": "the key id does not exist (deleted or never issued)",
            "InvalidAccessKeyId": "the key id does not exist",
            "ExpiredToken": "the temporary credentials have expired",
            "SignatureDoesNotMatch": "the key id exists but this secret does not belong to it",
        }[code]
        return Verdict(status="invalid", detail=f"HTTP {response.status} {code}: {reason}",
                       identity=f"account {account}" if account else None)
    return Verdict(status="unknown", detail=f"HTTP {response.status} {code or 'without an error code'}")
