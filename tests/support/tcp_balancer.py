"""A load balancer stand-in on loopback: round-robin TCP forwarding to the replicas.

The site's origin (``WEBUI_URL``, ``CORS_ALLOW_ORIGIN``: ``http://localhost:<port>``) must be what a
browser opens, or Open WebUI refuses its Socket.IO connection. This listens there and hands each
TCP connection to the next replica, as the ALB spreads connections without stickiness; HTTP and
the WebSocket upgrade pass through untouched. ``connections`` counts what each backend got.
"""

from __future__ import annotations

import itertools
import socket
import threading

LOCALHOST = "127.0.0.1"


class TcpBalancer:
    def __init__(self, backends: list[tuple[str, int]], port: int = 0, host: str = LOCALHOST) -> None:
        self.backends = list(backends)
        self.connections = {backend: 0 for backend in self.backends}
        self._next = itertools.cycle(self.backends)
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, port))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-balancer", daemon=True)

    def start(self) -> TcpBalancer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        # The next backend that accepts, as an ALB skips a target that refuses connections.
        for _ in range(len(self.backends)):
            with self._lock:
                backend = next(self._next)
            try:
                upstream = socket.create_connection(backend, timeout=5)
            except OSError:
                continue
            with self._lock:
                self.connections[backend] += 1
            upstream.settimeout(None)
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
            _pipe(client, upstream)
            return
        client.close()


def _pipe(source: socket.socket, destination: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, destination):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
