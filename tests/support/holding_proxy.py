"""A loopback HTTP proxy in front of localstripe that can hold an answer back.

Kill tests need a worker to die at an exact moment: after Stripe acted on its request and
before the worker heard the answer. The proxy forwards every request at once; for the one
that matches ``hold`` it forwards, lets localstripe act, sets ``acted`` and keeps the answer
until ``release`` is set (or the client is gone).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class HoldingProxy:
    upstream: str
    hold: tuple[str, str]  # (method, path prefix)
    acted: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


def _handler(proxy: HoldingProxy) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            answer = requests.request(
                self.command, proxy.upstream + self.path, headers=headers, data=body, timeout=30
            )
            method, prefix = proxy.hold
            if self.command == method and self.path.startswith(prefix) and not proxy.acted.is_set():
                proxy.acted.set()
                proxy.release.wait(timeout=30)
            try:
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client died while its answer was held: the point of the test

        do_GET = do_POST = do_DELETE = _forward

    return Forward


@contextmanager
def holding_proxy(upstream: str, hold: tuple[str, str]) -> Iterator[HoldingProxy]:
    proxy = HoldingProxy(upstream=upstream, hold=hold)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.release.set()
        server.shutdown()
        server.server_close()
