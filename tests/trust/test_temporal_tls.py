"""The Temporal client over TLS and mutual TLS (a secured frontend, as a real cluster or Temporal Cloud has).

The dev server speaks plain gRPC, so a real TLS terminator stands in front of it: Python's `ssl` with a
private CA made for the test, HTTP/2 negotiated by ALPN as gRPC requires, and for mutual TLS a client
certificate required. The product's own `core.temporal.connect` with the TLS settings goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.temporal import connect

SERVER_NAME = "temporal-frontend.pathways.test"


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, common_name: str, usage: x509.ObjectIdentifier
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return key, builder.sign(ca_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca = _ca("Pathways test CA")
    server_key, server = _leaf(ca_key, ca, SERVER_NAME, ExtendedKeyUsageOID.SERVER_AUTH)
    client_key, client = _leaf(ca_key, ca, "pathways-worker", ExtendedKeyUsageOID.CLIENT_AUTH)
    _, other = _ca("Some other CA")
    paths = Pki(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server-key.pem",
        client_cert=folder / "client.pem",
        client_key=folder / "client-key.pem",
        other_ca=folder / "other-ca.pem",
    )
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.other_ca.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.client_cert.write_bytes(client.public_bytes(serialization.Encoding.PEM))
    _write_key(paths.server_key, server_key)
    _write_key(paths.client_key, client_key)
    return paths


@contextlib.asynccontextmanager
async def tls_terminator(pki: Pki, upstream: str, *, require_client_cert: bool) -> AsyncIterator[str]:
    """A TLS front for the plain-gRPC dev server: the address a client connects to."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    host, port = upstream.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    address = server.sockets[0].getsockname()
    try:
        yield f"127.0.0.1:{address[1]}"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


def _upstream(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def test_the_client_connects_over_tls_to_a_frontend_with_a_private_ca(env: WorkflowEnvironment, pki: Pki) -> None:
    async with tls_terminator(pki, _upstream(env), require_client_cert=False) as address:
        settings = Settings(
            temporal_address=address,
            temporal_tls=True,
            temporal_tls_ca_file=pki.ca,
            temporal_tls_server_name=SERVER_NAME,
        )
        client = await connect(settings)
        assert (await client.count_workflows("WorkflowType = 'NoSuchWorkflow'")).count == 0
        # The control: the same address without TLS is not a Temporal frontend at all.
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(connect(Settings(temporal_address=address)), 30)


async def test_mutual_tls_needs_the_client_certificate_and_a_trusted_server(env: WorkflowEnvironment, pki: Pki) -> None:
    async with tls_terminator(pki, _upstream(env), require_client_cert=True) as address:
        mutual = Settings(
            temporal_address=address,
            temporal_tls=True,
            temporal_tls_ca_file=pki.ca,
            temporal_tls_cert_file=pki.client_cert,
            temporal_tls_key_file=pki.client_key,
            temporal_tls_server_name=SERVER_NAME,
        )
        client = await connect(mutual)
        assert (await client.count_workflows("WorkflowType = 'NoSuchWorkflow'")).count == 0

        # Without the client certificate the handshake is refused.
        without_certificate = mutual.model_copy(update={"temporal_tls_cert_file": None, "temporal_tls_key_file": None})
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(connect(without_certificate), 30)
        # A server certificate from a CA the client does not trust is refused by the client.
        untrusted = mutual.model_copy(update={"temporal_tls_ca_file": pki.other_ca})
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(connect(untrusted), 30)


def test_half_a_client_certificate_or_a_certificate_without_tls_is_a_clear_configuration_error(pki: Pki) -> None:
    with pytest.raises(
        ValidationError, match="needs both PATHWAYS_TEMPORAL_TLS_CERT_FILE and PATHWAYS_TEMPORAL_TLS_KEY_FILE"
    ):
        Settings(temporal_tls=True, temporal_tls_cert_file=pki.client_cert)
    with pytest.raises(ValidationError, match="PATHWAYS_TEMPORAL_TLS is off"):
        Settings(temporal_tls_ca_file=pki.ca)
    with pytest.raises(ValidationError, match="temporal_tls_ca_file"):
        Settings(temporal_tls=True, temporal_tls_ca_file=pki.ca.parent / "missing.pem")
