"""A local HTTP server for the evidence-check tests: every kind of page a verifier meets.

Started by the tests on 127.0.0.1 (port chosen by the OS); nothing leaves the machine.
"""

from __future__ import annotations

import gzip
import struct
import threading
import time
import zlib
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


def zeros_gzip(megabytes: int) -> bytes:
    """A valid gzip stream of ``megabytes`` MiB of zero bytes, built in milliseconds: after a full
    flush every 1 MiB block of zeros compresses to the same bytes (about 1 KB), so it is repeated.
    """
    mib = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    size = (megabytes << 20) & 0xFFFFFFFF
    return header + first + again * (megabytes - 1) + c.flush() + struct.pack("<II", crc, size)


# Hostile answers. 64 MiB of zeros: 66 KB gzipped once, 232 bytes gzipped twice.
BOMB = zeros_gzip(64)
BOMB_TWICE = gzip.compress(BOMB, 9)
DRIP_SECONDS = 0.2  # one byte every 0.2 s: never idle long enough for a per-read timeout


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
        if path.startswith("/drip-"):
            return self.drip(path)
        if path.startswith(("/gzip", "/deflate", "/stacked", "/brotli")):
            return self.encoded(path)
        if path == "/huge-headers":  # 1 MB of headers before the body
            self.send_response(200)
            for k in range(1024):
                self.send_header(f"X-Pad-{k}", "x" * 1000)
            self.end_headers()
            return None
        if path == "/to-internal":  # asked for by name (localhost), sends to the bare address
            port = self.server.server_address[1]
            return self.send(302, location=f"http://127.0.0.1:{port}/dok/internal.pdf")
        return routes.get(path, lambda: self.send(404, b"no route"))()

    def encoded(self, path: str) -> None:
        """Bodies with a Content-Encoding: bombs, stacked and unknown encodings, honest pages."""
        body, encoding = {
            "/gzip-bomb": (BOMB, "gzip"),
            "/stacked": (BOMB_TWICE, "gzip, gzip"),
            "/brotli": (b"\x8b\x02\x80hello\x03", "br"),
            "/gzip-artikel": (gzip.compress(ARTICLE), "gzip"),
            "/deflate-artikel": (zlib.compress(ARTICLE), "deflate"),
            "/deflate-raw-artikel": (zlib.compress(ARTICLE, wbits=-zlib.MAX_WBITS), "deflate"),
            "/gzip-members-artikel": (
                gzip.compress(ARTICLE[:40]) + gzip.compress(ARTICLE[40:]),
                "gzip",
            ),
            "/gzip-corrupt": (b"\x1f\x8b\x08\x00garbage, not deflate data", "gzip"),
        }[path]
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drip(self, path: str) -> None:
        """/drip-headers/N, /drip-body/N: N bytes of headers or body, one every DRIP_SECONDS."""
        kind, n = path.split("/")[1], int(path.split("/")[2])
        try:
            if kind == "drip-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nX-Drip: ")
                self.wfile.flush()
                for _ in range(n):
                    time.sleep(DRIP_SECONDS)
                    self.wfile.write(b"a")
                    self.wfile.flush()
                self.wfile.write(b"\r\nContent-Length: 4\r\nConnection: close\r\n\r\n%PDF")
            else:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                self.wfile.flush()
                for _ in range(n):
                    time.sleep(DRIP_SECONDS)
                    self.wfile.write(b"a")
                    self.wfile.flush()
        except OSError:  # the client gave up: that is the point
            self.close_connection = True


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
