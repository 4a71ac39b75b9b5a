"""A local HTTP server for the evidence-check tests: every kind of page a verifier meets.

Started by the tests on 127.0.0.1 (port chosen by the OS); nothing leaves the machine.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PDF = b"%PDF-1.4\n% monev test document\n" + b"0" * 200
ARTICLE = (
    b"<html><head><title>DIP 2024</title></head><body><h1>Daftar Informasi Publik 2024</h1>"
    b"<p>Dokumen DIP tahun berjalan, ditetapkan dengan SK PPID.</p></body></html>"
)
SIGN_IN = b"<html><body><form><input type=email><input type=password></form></body></html>"
REQUEST_ACCESS = (
    b"<html><body><h1>Anda memerlukan akses</h1><p>Minta akses, atau beralih ke "
    b"akun yang memiliki akses.</p><button>Minta akses</button></body></html>"
)
LISTING = b"<html><head><title>Index of /berkas</title></head><body><a href=a.pdf>a.pdf</a></body>"
HOME = (
    b"<html><body><h1>Selamat datang di PPID Kota Lestari</h1><p>Berita, layanan dan "
    b"informasi publik.</p></body></html>"
)


class Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def send(
        self, status: int, body: bytes = b"", ctype: str = "text/html", location: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.hits[path] += 1
        if self.server.latency:
            time.sleep(self.server.latency)
        if path in self.server.planted_404:
            return self.send(404, b"not found")
        if path.startswith("/dok/"):
            return self.send(200, PDF, "application/pdf")
        routes = {
            "/artikel": lambda: self.send(200, ARTICLE),
            "/404": lambda: self.send(404, b"not found"),
            "/500": lambda: self.send(500, b"error"),
            "/r1": lambda: self.send(302, location="/r2"),
            "/r2": lambda: self.send(302, location="/ServiceLogin?continue=/dok/x.pdf"),
            "/ServiceLogin": lambda: self.send(200, SIGN_IN),
            "/drive/request": lambda: self.send(200, REQUEST_ACCESS),
            "/loop": lambda: self.send(302, location="/loop"),
            "/empty": lambda: self.send(200, b""),
            "/berkas/": lambda: self.send(200, LISTING),
            "/": lambda: self.send(200, HOME),
        }
        if path == "/slow":
            time.sleep(2)
            return self.send(200, PDF, "application/pdf")
        return routes.get(path, lambda: self.send(404, b"no route"))()


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency: float = 0.0):
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[str] = Counter()
        self.latency = latency
        self.planted_404: set[str] = set()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
