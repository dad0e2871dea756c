"""AWS access keys: deactivation (`iam:UpdateAccessKey Status=Inactive`, reversible) with an administrator's own
credentials, never the leaked ones. The IAM user name comes from the ARN verification revealed
(`arn:aws:iam::ACCOUNT:user/PATH/NAME`); without it nothing is sent.

Administrator credentials: NHIGUARD_AWS_ADMIN_ACCESS_KEY_ID, NHIGUARD_AWS_ADMIN_SECRET_ACCESS_KEY (and optionally
NHIGUARD_AWS_ADMIN_SESSION_TOKEN). The request is signed with botocore's SigV4 signer (extra `nhiguard[aws]`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence

from nhiguard.http import Request
from nhiguard.remediate.plugins import Outcome, RemediationError, RevokeTarget, Transport
from nhiguard.verify.spec import RevokeSpec

IAM_URL = "https://iam.amazonaws.com/"
_USER_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:user/(?:[^\s]*/)?(?P<name>[\w+=,.@-]{1,64})")


def user_name(identity: str | None) -> str | None:
    match = _USER_ARN.search(identity or "")
    return match.group("name") if match else None


def _sign(body: str, key_id: str, secret: str, token: str | None) -> dict[str, str]:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise RemediationError("AWS key deactivation needs botocore: pip install 'nhiguard[aws]'") from None
    request = AWSRequest(method="POST", url=IAM_URL, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key_id, secret, token), "iam", "us-east-1").add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


class AwsDeactivate:
    name = "aws-iam-deactivate"

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]:
        return ("iam.amazonaws.com",)

    def preflight(self, env: Mapping[str, str]) -> list[str]:
        if env.get("NHIGUARD_AWS_ADMIN_ACCESS_KEY_ID") and env.get("NHIGUARD_AWS_ADMIN_SECRET_ACCESS_KEY"):
            return []
        return ["set NHIGUARD_AWS_ADMIN_ACCESS_KEY_ID and NHIGUARD_AWS_ADMIN_SECRET_ACCESS_KEY (an administrator's "
                "keys) to deactivate AWS access keys"]

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        return [self._one(t, transport, env) for t in targets]

    def _one(self, target: RevokeTarget, transport: Transport, env: Mapping[str, str]) -> Outcome:
        admin_id = env.get("NHIGUARD_AWS_ADMIN_ACCESS_KEY_ID", "")
        admin_secret = env.get("NHIGUARD_AWS_ADMIN_SECRET_ACCESS_KEY", "")
        if not admin_id or not admin_secret:
            return Outcome(False, "failed", detail="set NHIGUARD_AWS_ADMIN_ACCESS_KEY_ID and "
                                                   "NHIGUARD_AWS_ADMIN_SECRET_ACCESS_KEY (an administrator's keys)")
        key_id = target.parts.get("key_id", "")
        if not key_id:
            return Outcome(False, "failed", detail="the access key id was not found next to the secret")
        if admin_id == key_id or admin_secret == target.secret:
            return Outcome(False, "failed", detail="refused: the administrator credentials are the leaked ones")
        name = user_name(target.identity)
        if name is None:
            return Outcome(False, "failed", detail="no IAM user ARN known for this key (verify it first; root and "
                                                   "role credentials are not deactivated this way)")
        body = urllib.parse.urlencode({"Action": "UpdateAccessKey", "AccessKeyId": key_id, "Status": "Inactive",
                                       "UserName": name, "Version": "2010-05-08"})
        headers = _sign(body, admin_id, admin_secret, env.get("NHIGUARD_AWS_ADMIN_SESSION_TOKEN") or None)
        response = transport.send(Request("POST", IAM_URL, tuple(headers.items()), body.encode()))
        if response.status == 200:
            return Outcome(True, "revoked", detail=f"access key of IAM user {name} set Inactive", http_status=200)
        hint = " (the administrator lacks iam:UpdateAccessKey)" if response.status == 403 else ""
        return Outcome(False, "failed", detail=f"IAM answered {response.status}{hint}", http_status=response.status)


REVOKER = AwsDeactivate()
