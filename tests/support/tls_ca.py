"""TEST SUPPORT: a throwaway certificate authority and server certificates for 127.0.0.1 / localhost.

    ca = TestCA.create(tmp_path / "ca")          # ca.cert_path: the PEM a client trusts (NODE_EXTRA_CA_CERTS)
    leaf = ca.issue(tmp_path / "leaf-1")         # leaf.cert_path / leaf.key_path: what a server loads
    leaf2 = ca.issue(tmp_path / "leaf-2")        # a second certificate from the same CA (rotation)

Named tls_ca.py, not test_ca.py, so pytest does not collect it. EC P-256 keys (quick to make), SHA-256 signatures.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_NAMES = ("127.0.0.1", "localhost")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "claude-gateway-template tests")])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


@dataclass
class Leaf:
    cert_path: Path
    key_path: Path
    certificate: x509.Certificate

    @property
    def sha256(self) -> str:
        """The certificate's SHA-256 fingerprint in lower-case hex, no colons (the CLI's gatewayTrust value)."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    @property
    def pem(self) -> str:
        return self.cert_path.read_text()


@dataclass
class TestCA:
    __test__ = False  # not a pytest test class

    directory: Path
    cert_path: Path
    key_path: Path
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, directory: Path, common_name: str = "Test CA (claude-gateway-template)",
               days: int = 7) -> TestCA:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return cls(directory, cert_path, key_path, certificate, key)

    def issue(self, directory: Path, names: tuple[str, ...] = DEFAULT_NAMES, days: int = 7,
              chain: bool = False) -> Leaf:
        """A server certificate for `names` (IP addresses or DNS names), written as cert.pem and key.pem.
        chain=True appends the CA certificate to cert.pem (a full chain)."""
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0])).issuer_name(self.certificate.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / "cert.pem", directory / "key.pem"
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        if chain:
            pem += self.certificate.public_bytes(serialization.Encoding.PEM)
        cert_path.write_bytes(pem)
        _write_key(key, key_path)
        return Leaf(cert_path, key_path, certificate)
