"""A tiny hostile web server for the security tests: each route is a fixed
reply (status, headers, body), every request is recorded, and it listens on
any loopback address (127.0.0.2 too) so redirects to 'another host' stay on
this machine. Stopped by the test that started it (context manager)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    trickle: float = 0.0  # seconds between body bytes (slowloris)
    endless: bool = False  # chunked, never ending (until the client hangs up)


class HostileServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 routes: dict[str, Reply | Callable[[], Reply]] | None = None) -> None:
        self.host, self.port = host, port
        self.routes = dict(routes or {})
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "HostileServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server API
                with server._lock:
                    server.requests.append(self.path)
                reply = server.routes.get(self.path.split("?")[0])
                if callable(reply):
                    reply = reply()
                if reply is None:
                    reply = Reply(404, b"not here")
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if reply.endless:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        chunk = b"<p>" + b"more " * 13000 + b"</p>"
                        while not server._stop.is_set():
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        return
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.trickle:
                        for i in range(len(reply.body)):
                            if server._stop.wait(reply.trickle):
                                return
                            self.wfile.write(reply.body[i:i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def rss(*links: str, titles: list[str] | None = None) -> bytes:
    """An RSS 2.0 feed listing ``links``."""
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><title>{escape((titles or [])[i] if titles and i < len(titles) else f'Story {i}')}</title>"
        f"<link>{escape(link)}</link><pubDate>Tue, 18 Nov 2025 10:00:00 GMT</pubDate></item>"
        for i, link in enumerate(links))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Hostile</title>'
            f"<link>http://example.invalid/</link><description>x</description>{items}</channel></rss>").encode()


WORDS = ("aid trade security coffee border envoy tariff embassy minister congress coca police court "
         "harbour election budget farmers exports visa talks summit treaty navy rivers highway").split()


def article_html(title: str, paragraphs: int = 8) -> bytes:
    """An article page whose text differs from any other title's (so dedup keeps them apart)."""
    import random
    from html import escape

    rng = random.Random(title)
    body = "".join("<p>" + " ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + ".</p>"
                   for _ in range(paragraphs))
    return (f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body><article>"
            f"<h1>{escape(title)}</h1>{body}</article></body></html>").encode()


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
