"""Downloads over https from a loopback server whose self-signed certificate is made for the test.

The client verifies certificates: it is told to trust this one through SSL_CERT_FILE (a CA
bundle, as a company's own CA is configured), never by turning verification off.
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aipopup.core.errors import TaskError, TransientError
from aipopup.ops.download import client
from httpserver import Fault, TestServer

KIB = 1024


def payload(size: int, seed: int = 0) -> bytes:
    return hashlib.shake_256(f"tls{seed}".encode()).digest(size)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made with the openssl binary."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl binary is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[TestServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with TestServer(tls=context) as server:
        yield server


@pytest.fixture
def fresh_client() -> Iterator[None]:
    """The TLS pool reads the CA bundle when it is made: one per test, made after its env."""
    client.close_shared_client()
    yield
    client.close_shared_client()


@pytest.fixture
def fetch(make_run: Any, tmp_path: Path) -> Any:
    def call(url: str, **params: Any) -> tuple[dict[str, Any], list[str]]:
        run = make_run("download", url, params=params, output_dir=tmp_path / "out")
        return run(), run.ctx.outputs
    return call


def test_https_download_resumes_with_a_trusted_ca_bundle(
        https_server: TestServer, certificate: tuple[Path, Path], fetch: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, fresh_client: None) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    body = payload(300 * KIB, seed=1)
    url = https_server.add("/secure/photo.jpg", body, content_type="image/jpeg")
    assert url.startswith("https://127.0.0.1:")
    https_server.fail("/secure/photo.jpg", Fault.reset(after=100 * KIB))
    with pytest.raises(TransientError):
        fetch(url, sha256=hashlib.sha256(body).hexdigest())
    result, outputs = fetch(url, sha256=hashlib.sha256(body).hexdigest())
    # what reached the disk before the reset (whole TLS records only) is not fetched again
    assert result["resumed_from"] > 0 and result["sha256"] == hashlib.sha256(body).hexdigest()
    assert Path(outputs[0]).read_bytes() == body
    resume = https_server.requests_for("/secure/photo.jpg")[-1]
    assert resume.headers["range"] == f"bytes={result['resumed_from']}-"
    assert resume.headers["if-range"] == https_server.resources["/secure/photo.jpg"].etag


def test_an_untrusted_certificate_fails_at_once_with_a_hint(
        https_server: TestServer, fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fresh_client: None) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    url = https_server.add("/secure/doc.pdf", b"%PDF-1.7 secret")
    with pytest.raises(TaskError, match="certificate") as info:
        fetch(url)
    assert not isinstance(info.value, TransientError)  # retrying cannot make it trusted
    assert "SSL_CERT_FILE" in (info.value.hint or "")
    assert not (tmp_path / "out" / "doc.pdf").exists()
    assert https_server.requests_for("/secure/doc.pdf") == []  # nothing was sent to it
