"""Downloads over HTTP/2 from a loopback server that offers only "h2" through ALPN.

The server (tests/h2server.py) records what each TLS connection negotiated and which connection
each request came on, so the tests see that a batch shares one connection, not only that the
bytes arrived. The certificate is made for the test and trusted through SSL_CERT_FILE, as in
test_download_https.py.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aipopup.core.errors import TransientError
from h2server import H2Server
from test_download_cli import EXE, env_for, summary_of
from test_download_https import certificate, fetch, fresh_client  # noqa: F401  (fixtures)

KIB = 1024


def payload(size: int, seed: int) -> bytes:
    return hashlib.shake_256(f"h2-{seed}".encode()).digest(size)


@pytest.fixture
def h2_server(certificate: tuple[Path, Path]) -> Iterator[H2Server]:  # noqa: F811
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with H2Server(context) as server:
        yield server


def test_a_batch_from_one_host_shares_one_http2_connection(
        h2_server: H2Server, certificate: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    # bigger than the client's 64 KiB initial stream window: flow control is exercised too
    bodies = {f"/cdn/{i}.bin": payload(200 * KIB + i, i) for i in range(6)}
    urls = [h2_server.add(path, body) for path, body in bodies.items()]
    done = subprocess.run([*EXE, "run", "download", *urls, "-o", str(tmp_path / "out"), "--json"],
                          env={**env_for(tmp_path), "SSL_CERT_FILE": str(certificate[0])},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert summary_of(done.stdout)["counts"]["succeeded"] == len(bodies)
    for path, body in bodies.items():
        assert (tmp_path / "out" / Path(path).name).read_bytes() == body
    # four at once (the per-host limit) and six files, over one TLS connection that spoke h2
    assert h2_server.protocols == ["h2"]
    assert sorted(r.path for r in h2_server.requests) == sorted(bodies)
    assert {r.connection for r in h2_server.requests} == {1}


def test_a_download_cut_mid_body_resumes_with_range_over_http2(
        h2_server: H2Server, certificate: tuple[Path, Path], fetch: Any,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, fresh_client: None) -> None:  # noqa: F811
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    body = payload(300 * KIB, seed=9)
    url = h2_server.add("/cdn/video.bin", body)
    h2_server.reset_after["/cdn/video.bin"] = 120 * KIB
    sha = hashlib.sha256(body).hexdigest()
    with pytest.raises(TransientError):
        fetch(url, sha256=sha)
    result, outputs = fetch(url, sha256=sha)
    assert 0 < result["resumed_from"] <= 120 * KIB and result["sha256"] == sha
    assert Path(outputs[0]).read_bytes() == body
    first, resume = h2_server.requests_for("/cdn/video.bin")
    assert "range" not in first.headers
    assert resume.headers["range"] == f"bytes={result['resumed_from']}-"
    assert resume.headers["if-range"] == '"v1"'
    assert h2_server.protocols == ["h2", "h2"]  # the reset killed the first connection
    assert (first.connection, resume.connection) == (1, 2)
