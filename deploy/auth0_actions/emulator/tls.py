"""A local certificate authority for serving the local tenant over HTTPS.

``ensure_tls(directory)`` keeps, under ``.auth0-local/tls/``, a self-signed CA
and a server certificate for 127.0.0.1, ::1 and localhost signed by it (private
keys 0600). Clients trust the tenant through the CA file alone, e.g.
``httpx.Client(verify=str(ca_path))``; nothing is added to a system store.
Files are reused while valid and regenerated when missing or near expiry.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auth0_actions.files import write_atomic, write_private

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class LocalTls:
    """The files of the local CA and the server certificate."""

    directory: Path

    @property
    def ca_path(self) -> Path:
        return self.directory / CA_CERT

    @property
    def cert_path(self) -> Path:
        return self.directory / SERVER_CERT

    @property
    def key_path(self) -> Path:
        return self.directory / SERVER_KEY

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_path), str(self.key_path))
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only the local CA (for urllib, the SDKs, ...)."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _still_valid(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE


def _load_ca(tls: LocalTls) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    key_file = tls.directory / CA_KEY
    if not (_still_valid(tls.ca_path) and key_file.is_file()):
        return None
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(tls.ca_path.read_bytes())
    except (OSError, ValueError):
        return None
    return (cert, key) if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _new_ca(tls: LocalTls) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "auth0-actions local tenant"),
            x509.NameAttribute(NameOID.COMMON_NAME, "auth0-actions local CA"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(tls.directory / CA_KEY, _key_pem(key))
    write_atomic(tls.ca_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _new_server(tls: LocalTls, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(tls.key_path, _key_pem(key))
    write_atomic(tls.cert_path, cert.public_bytes(serialization.Encoding.PEM))


def _signed_by(cert_path: Path, ca: x509.Certificate) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        cert.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    return True


def ensure_tls(directory: Path) -> LocalTls:
    """The local CA and server certificate under directory, created when needed."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    tls = LocalTls(directory)
    loaded = _load_ca(tls)
    ca, ca_key = loaded if loaded is not None else _new_ca(tls)
    if not (
        tls.key_path.is_file() and _still_valid(tls.cert_path) and _signed_by(tls.cert_path, ca)
    ):
        _new_server(tls, ca, ca_key)
    return tls
