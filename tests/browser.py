"""Rendering a page in headless Chromium while counting every request it makes."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def need_chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing under CI=true: make test installs it (scripts/install-test-deps.sh)")
    pytest.skip("chromium is not installed (make test installs it where it can)")


def render(page: Path, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """Load `page` over a local server; every host name resolves to that server, so any request the
    page makes, to any host, is seen. Returns the DOM after load and the requests the page made
    (those carrying the page as Referer; the browser's own update checks carry none)."""
    chromium = need_chromium()
    requests: list[str] = []
    body = page.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.headers.get("Referer"):
                requests.append(f"{self.headers.get('Host')}{self.path}")
            payload = body if self.path == "/report.html" else b""
            self.send_response(200 if payload else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            args = [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-domain-reliability",
                "--no-default-browser-check",
                f"--user-data-dir={profile}",
                f"--host-resolver-rules=MAP * 127.0.0.1:{port}",
                "--virtual-time-budget=3000",
            ]
            if screenshot is not None:
                args += [f"--screenshot={screenshot}", "--window-size=1000,1800"]
            else:
                args += ["--dump-dom"]
            done = subprocess.run(
                [*args, f"http://audit.example:{port}/report.html"],
                capture_output=True,
                text=True,
                timeout=90,
            )
    finally:
        server.shutdown()
    return done.stdout, requests
