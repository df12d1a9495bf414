"""Redis over TLS with a password, as a production deployment runs it.

The Redis wheel is built without TLS, so the test puts a real TLS endpoint in front of a real,
password-protected Redis: a TLS-terminating proxy with a self-signed certificate that the worker
must verify (``rediss://`` + ``VIGIL_REDIS_SSL_CA_CERTS``). Everything the worker says to Redis
crosses that TLS connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import READINGS_PER_PATIENT, WorkerProcess, cohort, produce, wait_for
from vigilstream.config import Settings
from vigilstream.localstack import free_port, redis_binary

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-redis-pass"


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-test-redis")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))  # fmt: skip
    cert_path, key_path = directory / "redis.crt", directory / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


class TlsProxy(threading.Thread):
    """TLS on ``port``, plain TCP to the backend: a TLS terminator like stunnel or a cloud LB."""

    def __init__(self, port: int, backend: int, cert: Path, key: Path) -> None:
        super().__init__(daemon=True)
        self.port, self.backend = port, backend
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port, ssl=self.context)
        )
        self.ready.set()
        self.loop.run_forever()
        server.close()


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """(TLS port, CA certificate) of a password-protected Redis behind a TLS terminator."""
    backend = free_port()
    proc = subprocess.Popen([redis_binary(), "--bind", "127.0.0.1", "--port", str(backend),
                             "--requirepass", PASSWORD, "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)  # fmt: skip
    cert, key = self_signed(tmp_path)
    port = free_port()
    proxy = TlsProxy(port, backend, cert, key)
    proxy.start()
    proxy.ready.wait(10)
    try:
        yield port, cert
    finally:
        proxy.loop.call_soon_threadsafe(proxy.loop.stop)
        proc.terminate()
        proc.wait(10)


def test_worker_checkpoints_through_tls_with_a_password(
    settings: Settings, tmp_path: Path, tls_redis: tuple[int, Path]
) -> None:
    port, ca = tls_redis
    secure = settings.model_copy(update={
        "redis_url": f"rediss://:{PASSWORD}@127.0.0.1:{port}/0"})  # fmt: skip
    env = {"VIGIL_REDIS_SSL_CA_CERTS": str(ca)}
    worker = WorkerProcess(secure, tmp_path / "worker.log", extra_env=env)
    try:
        health = worker.wait_healthy()
        assert health["redis"] == {"ok": True}
        produce(secure, cohort(1, time.time() - 3 * 3600))
        wait_for(lambda: worker.get("/api/alerts", "view-tok")[0] == 200
                 and json.loads(worker.get("/api/alerts", "view-tok")[1])["alerts"],
                 "an alert in the store, through TLS")  # fmt: skip
    finally:
        worker.stop()  # checkpoints through TLS on the way out
    again = WorkerProcess(secure, tmp_path / "again.log", extra_env=env)
    try:
        again.wait_healthy()
        status, body = again.get("/api/patients/p-000", "view-tok")
        assert status == 200 and json.loads(body)["readings"] == READINGS_PER_PATIENT
    finally:
        again.stop()


def test_a_wrong_password_or_untrusted_certificate_is_reported(
    settings: Settings, tmp_path: Path, tls_redis: tuple[int, Path]
) -> None:
    port, ca = tls_redis
    (tmp_path / "other").mkdir()
    other_ca, _ = self_signed(tmp_path / "other")  # a certificate nobody issued to this server
    for url, cafile, want in [
        (f"rediss://:wrong@127.0.0.1:{port}/0", ca, "AuthenticationError"),
        (f"rediss://:{PASSWORD}@127.0.0.1:{port}/0", other_ca, "ConnectionError"),
    ]:
        worker = WorkerProcess(settings.model_copy(update={"redis_url": url}),
                               tmp_path / f"{want}.log",
                               extra_env={"VIGIL_REDIS_SSL_CA_CERTS": str(cafile)})  # fmt: skip
        try:
            status, body = worker.get_when_up("/health")
            assert status == 503
            assert json.loads(body)["redis"] == {"ok": False, "detail": want}
        finally:
            worker.stop()
