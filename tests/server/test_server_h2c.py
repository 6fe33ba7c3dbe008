"""Requests offering ``Upgrade: h2c`` (Java's HttpClient does on every cleartext request; so do Ktor, Spring's
RestClient and ``curl --http2``) are answered as plain HTTP/1.1, as the same request without the offer is.

Raw bytes over a socket to a real ``headrace server`` process: the fault was in the HTTP parser."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from headrace.config import load_settings
from headrace.services import publishing, tokens
from headrace.wiring import build_services

H2C = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA\r\n"


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (Content-Length or chunked) from ``sock``; extra bytes stay in ``buf``."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed; got {bytes(buf)!r}"
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    buf[:] = rest
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(buf) < size:
            buf += sock.recv(65536)
        body = bytes(buf[:size])
        buf[:] = buf[size:]
        return status, headers, body
    body = b""
    while True:  # chunked
        while b"\r\n" not in buf:
            buf += sock.recv(65536)
        line, _, _ = bytes(buf).partition(b"\r\n")
        size = int(line, 16)
        while len(buf) < len(line) + 2 + size + 2:
            buf += sock.recv(65536)
        body += bytes(buf[len(line) + 2: len(line) + 2 + size])
        buf[:] = buf[len(line) + 2 + size + 2:]
        if size == 0:
            return status, headers, body


@pytest.fixture
def server(tmp_path, start_cli_server, echo_pipeline):
    home = tmp_path / "home"
    svc = build_services(load_settings(home=home))
    pipeline = publishing.publish_pipeline(svc, echo_pipeline(), name="echo", version="1.0").id
    token = tokens.create_token(svc, "submitter", name="java")[0]
    svc.store.close()
    _proc, url = start_cli_server(home, "--no-agent", "--no-scheduler")
    return url, pipeline, token


def exchange(url: str, requests: list[bytes]) -> list[tuple[int, dict[str, str], bytes]]:
    """Send each request on one connection, reading each answer before the next (keep-alive)."""
    host, port = url.removeprefix("http://").split(":")
    answers = []
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        buf = bytearray()
        for request in requests:
            sock.sendall(request)
            answers.append(read_response(sock, buf))
    return answers


def test_upgrade_h2c_is_served_as_http11(server):
    url, pipeline, token = server
    port = url.rsplit(":", 1)[1]
    auth = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n".encode()
    body = json.dumps({"ExperimentName": "java", "Tags": {"client": "h2c"}}).encode()
    submit = f"POST /api/v1/pipelines/{pipeline}/submit HTTP/1.1\r\n".encode()
    json_type = b"Content-Type: application/json\r\n"
    chunked = b"%x\r\n%s\r\n" % (10, body[:10]) + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 10, body[10:])
    requests = [
        b"GET /api/v1/health HTTP/1.1\r\n" + auth + H2C + b"\r\n",
        submit + auth + H2C + json_type + b"Content-Length: %d\r\n\r\n" % len(body) + body,
        submit + auth + H2C + json_type + b"Transfer-Encoding: chunked\r\n\r\n" + chunked,
        b"GET /api/v1/runs?experimentName=java HTTP/1.1\r\n" + auth + H2C + b"\r\n",
    ]
    plain = exchange(url, [r.replace(H2C, b"") for r in requests[:1]])
    answers = exchange(url, requests)
    assert [a[0] for a in answers] == [200, 200, 200, 200], answers
    assert answers[0][2] == plain[0][2]
    assert "upgrade" not in answers[0][1].get("connection", "").lower()
    runs = [json.loads(a[2]) for a in answers[1:3]]
    assert all(r["ExperimentName"] == "java" for r in runs), runs
    listed = json.loads(answers[3][2])["Value"]
    assert sorted(r["Id"] for r in listed) == sorted(r["Id"] for r in runs)


JAVA = """
import java.net.URI;
import java.net.http.*;

public class Submit {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newHttpClient();  // HTTP/2 preferred: offers h2c on http://
        for (int i = 0; i < 2; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(args[0]))
                .header("Authorization", "Bearer " + args[1])
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\\"ExperimentName\\": \\"java\\"}"))
                .build();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println(response.statusCode() + " " + response.version() + " " + response.body());
        }
    }
}
"""


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime")
def test_java_http_client_submits(server, tmp_path: Path):
    """The stock ``java.net.http.HttpClient`` (Java 11+), as the seed's sample uses it."""
    url, pipeline, token = server
    source = tmp_path / "Submit.java"
    source.write_text(JAVA)
    out = subprocess.run(["java", str(source), f"{url}/api/v1/pipelines/{pipeline}/submit", token],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("200 HTTP_1_1 {") for line in lines), out.stdout
