"""The key that signs consent receipts: Ed25519, so anyone can verify a receipt.

A receipt is the user's evidence (Kantara Consent Receipt v1.1): signed with
a private key only the controller holds, verified with the public key the
consent page publishes (``/account/receipt-keys.json``, a JWKS). Ed25519
(JWS ``EdDSA``, RFC 8037) is deterministic, so the same event always gives
the same receipt, whoever issues it.

The local environment generates the key in ``.auth0-local/receipt-key.pem``
(0600) on first use; any other environment reads it from the variable named
by ``environments.<env>.receipt_key_env``. The key never appears in output.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from jwt.utils import base64url_encode

from auth0_actions.environment import Environment
from auth0_actions.errors import SecretError
from auth0_actions.files import write_private

LOCAL_KEY_FILE = "receipt-key.pem"


@dataclass(frozen=True)
class ReceiptKey:
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the public JWK: names the key in each receipt."""
        jwk = json.loads(OKPAlgorithm.to_jwk(self.public))
        members = json.dumps(
            {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")
        )
        return base64url_encode(hashlib.sha256(members.encode()).digest()).decode()

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set, to publish for anyone verifying receipts."""
        jwk = json.loads(OKPAlgorithm.to_jwk(self.public))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "EdDSA"}]}


def _from_pem(pem: bytes, where: str) -> ReceiptKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SecretError(f"{where}: not a PEM private key without a password") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SecretError(f"{where}: receipts are signed with an Ed25519 key (EdDSA)")
    return ReceiptKey(key)


def new_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def receipt_key(environment: Environment) -> ReceiptKey:
    """The environment's receipt signing key (generated once for the local environment)."""
    if environment.is_local:
        path = environment.state_dir / LOCAL_KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private(path, new_pem())
        return _from_pem(path.read_bytes(), str(path))
    variable = environment.view.settings.receipt_key_env
    if variable is None:
        raise SecretError(
            f"environment {environment.name}: no receipt_key_env names the variable holding "
            "the consent receipts' Ed25519 key (PEM)"
        )
    env = os.environ if environment.environ is None else environment.environ
    value = env.get(variable, "")
    if not value:
        raise SecretError(
            f"environment {environment.name} needs the environment variable {variable} set "
            "(the consent receipts' signing key)"
        )
    return _from_pem(value.encode(), f"${variable}")
