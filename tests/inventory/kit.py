"""Fixtures for the inventory tests: fake JWTs, a certificate with its key, and a small estate of real git
repositories with CODEOWNERS, several authors and dated commits. Every credential is generated at test time."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import string
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.gitrepo import Person

DAVE = Person("Dave Departed", "dave@example.com")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(seed: str, exp: int | None, sub: str = "svc-billing") -> str:
    rng = random.Random(f"jwt:{seed}")
    claims: dict[str, object] = {"sub": sub, "iss": "https://auth.internal.example.com", "iat": 1717200000}
    if exp is not None:
        claims["exp"] = exp
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signature = "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(43))
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def key_and_certificate(common_name: str, not_after: dt.datetime) -> tuple[str, str]:
    """(PKCS#8 private key PEM, self-signed certificate PEM valid until `not_after`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def iso(day: str) -> str:
    return f"{day}T12:00:00+00:00"


def write_json(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc), encoding="utf-8")
