"""GCP service-account keys: a signed JWT-bearer grant against Google's token endpoint.

The assertion is signed with the key (RS256, `cryptography`: optional extra `nhiguard[gcp]`). The token endpoint
is fixed here, never the `token_uri` written in the key file (a file could point it anywhere).
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse

from nhiguard.http import Request
from nhiguard.model import Verdict
from nhiguard.verify.plugins import NotChecked, Target, Transport

TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a password
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_ESCAPED_NEWLINE = re.compile(r"\\{1,3}[nr]")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_from_json(value: str) -> bytes:
    """The private_key as written inside the JSON file (escaped newlines) back to a PEM."""
    return _ESCAPED_NEWLINE.sub("\n", value).encode()


def assertion(pem: bytes, email: str, key_id: str | None, now: int | None = None) -> str:
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:
        raise NotChecked("GCP verification needs cryptography: pip install 'nhiguard[gcp]'") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise NotChecked("the private key does not parse as an unencrypted PEM key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise NotChecked("service-account keys are RSA keys; this one is not")
    issued = int(time.time()) if now is None else now
    header = {"alg": "RS256", "typ": "JWT", **({"kid": key_id} if key_id else {})}
    claims = {"iss": email, "scope": SCOPE, "aud": TOKEN_URL, "iat": issued, "exp": issued + 600}
    signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(signature)


def verify_service_account(target: Target, transport: Transport) -> Verdict:
    email = target.parts.get("client_email", "")
    if "@" not in email:
        raise NotChecked("needs the key file's client_email")
    jwt = assertion(pem_from_json(target.secret), email, target.parts.get("private_key_id"))
    body = urllib.parse.urlencode(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt}
    ).encode()
    response = transport.send(
        Request("POST", TOKEN_URL, (("Content-Type", "application/x-www-form-urlencoded"),), body)
    )
    if response.status >= 500 or response.status == 429:
        return Verdict(status="unknown", detail=f"HTTP {response.status} from the token endpoint")
    try:
        document = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Verdict(status="unknown", detail=f"HTTP {response.status} with a body that is not valid JSON")
    if not isinstance(document, dict):
        return Verdict(status="unknown", detail=f"HTTP {response.status}: unexpected JSON")
    project = email.split("@", 1)[1].split(".", 1)[0] if "@" in email else ""
    if response.status == 200 and document.get("access_token"):
        return Verdict(status="live", identity=email, scopes=(SCOPE,),
                       detail=f"HTTP 200: access token issued; project {project}")
    error = str(document.get("error", ""))
    description = str(document.get("error_description", ""))
    if response.status in (400, 401) and error == "invalid_grant":
        if re.search(r"time|clock|expired", description, re.IGNORECASE):
            return Verdict(status="unknown", detail=f"invalid_grant: {description[:120]} (check the local clock)")
        return Verdict(status="invalid", identity=email,
                       detail=f"HTTP {response.status} invalid_grant: {description[:120] or 'key rejected'}")
    return Verdict(status="unknown", detail=f"HTTP {response.status} {error or 'unexpected answer'}")
