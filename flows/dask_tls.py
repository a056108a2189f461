"""Dask over TLS: the batch's scale-out option talks `tls://` with mutual certificates, never plain `tcp://`
(docs/THREAT-MODEL.md B9: the scheduler, its workers and our client exchange upload ids and task results).

`docverify dask-certs DIR` makes a private CA and one node certificate signed by it (EC P-256), valid for the
given host names and addresses: the scheduler, every worker and the batch client present it, and each accepts
only peers signed by the CA. The CA key stays in DIR (0600) so more nodes can be signed; keep DIR owner-only and
copy to each host only ca.pem, node.pem and node-key.pem.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError
from pipeline.exports import private_folder, write_private

if TYPE_CHECKING:
    from distributed.security import Security

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
NODE_CERT = "node.pem"
NODE_KEY = "node-key.pem"
DEFAULT_HOSTS = ("localhost", "127.0.0.1")


class DaskTlsError(ConfigError):
    """The Dask address is not tls://, or the TLS files are missing."""

    code = "dask_tls_required"
    user_message = ("The Dask cluster must be reached over tls:// with certificates (docverify dask-certs DIR, then "
                    "DOCVERIFY_DASK_TLS_DIR=DIR).")


def generate(folder: Path, hosts: Sequence[str] = DEFAULT_HOSTS, days: int = 825) -> None:
    """Write a CA (ca.pem, ca-key.pem) and a node certificate signed by it (node.pem, node-key.pem) for `hosts`
    (DNS names or IP addresses) into `folder` (made 0700; keys 0600). Raises OSError."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docverify dask CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    node_key = ec.generate_private_key(ec.SECP256R1())
    node = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docverify dask node")]))
            .issuer_name(ca_name).public_key(node_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    private_folder(folder)
    write_private(folder / CA_KEY, pem_key(ca_key))
    write_private(folder / CA_CERT, ca.public_bytes(serialization.Encoding.PEM))
    write_private(folder / NODE_KEY, pem_key(node_key))
    write_private(folder / NODE_CERT, node.public_bytes(serialization.Encoding.PEM))


def security(folder: Path) -> Security:
    """The distributed `Security` of a node (scheduler, worker or client) using the files in `folder`: mutual TLS,
    encryption required. Raises DaskTlsError when a file is missing."""
    from distributed.security import Security

    files = {name: folder / name for name in (CA_CERT, NODE_CERT, NODE_KEY)}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise DaskTlsError(f"missing in the Dask TLS folder: {', '.join(missing)}")
    ca, cert, key = (str(files[n]) for n in (CA_CERT, NODE_CERT, NODE_KEY))
    return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, tls_scheduler_cert=cert,  # type: ignore[no-untyped-call]
                    tls_scheduler_key=key, tls_worker_cert=cert, tls_worker_key=key, require_encryption=True)


def client_security(address: str, folder: Path | None) -> Security:
    """The Security of the batch's Dask client for `address`. Raises DaskTlsError unless the address is tls://
    and `folder` holds the TLS files."""
    if not address.startswith("tls://"):
        raise DaskTlsError("the Dask address must be tls:// (plain tcp:// carries task data unencrypted)")
    if folder is None:
        raise DaskTlsError("DOCVERIFY_DASK_TLS_DIR is not set")
    return security(folder)
