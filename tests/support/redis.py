"""A throwaway Redis on 127.0.0.1 for tests, with a password (``requirepass``) like ElastiCache AUTH.

    server = redis.start(password="tok<en>$^#!&-")  # redis-server on a free loopback port
    server.url()                                     # redis://:<encoded password>@127.0.0.1:<port>/0
    server.command("PING")                           # b"PONG" (raw RESP client: no redis package needed)
    server.stop()                                    # SIGTERM then SIGKILL the process group, remove the dir

ElastiCache serves AUTH over TLS only; the local server has no TLS (the caller connects with
``redis://`` instead of ``rediss://``). The password is handed to redis-server on its standard
input as a config file, never on the command line (so it is not visible in ``ps``). No
persistence, no Unix socket, ``protected-mode`` on, loopback only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tools.localhost import free_port, kill_group


class RedisUnavailable(RuntimeError):
    """redis-server is not installed (apt-get install redis-server; scripts/integration-env.sh does it)."""


def server_binary() -> str:
    path = os.environ.get("AJUDA_REDIS_SERVER") or shutil.which("redis-server")
    if not path:
        raise RedisUnavailable("redis-server not found on PATH (apt-get install redis-server)")
    return path


def _config_quote(value: str) -> str:
    """A double-quoted redis.conf argument (sdssplitargs rules: backslash escapes, \\xHH)."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def _encode(*args: str | bytes) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.file = sock.makefile("rb")

    def read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")


class RedisError(RuntimeError):
    pass


@dataclass
class RedisServer:
    port: int
    password: str
    base_dir: Path
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    _stopped: bool = field(default=False, repr=False)

    @property
    def log_path(self) -> Path:
        return self.base_dir / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://:{quote(self.password, safe='')}@{self.host}:{self.port}/{db}"

    def command(self, *args: str | bytes, password: str | None = None, timeout: float = 5.0):
        """Run one command after AUTH (``password=""`` skips AUTH) with a tiny RESP client."""
        password = self.password if password is None else password
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            reader = _Reader(sock)
            if password:
                sock.sendall(_encode("AUTH", password))
                reader.read()
            sock.sendall(_encode(*args))
            return reader.read()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.process is not None and self.process.poll() is None:
                kill_group(self.process.pid, 10, self.process)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


# ElastiCache splits redis.conf's `client-output-buffer-limit <class> <hard> <soft> <seconds>` into
# one parameter per value: client-output-buffer-limit-<class>-hard-limit, -soft-limit, -soft-seconds.
_BUFFER_PARAMETER = re.compile(r"client-output-buffer-limit-(normal|pubsub)-(hard-limit|soft-limit|soft-seconds)")
# redis.conf defaults (hard, soft, seconds), which ElastiCache's defaults match.
_BUFFER_DEFAULTS = {"normal": ("0", "0", "0"), "pubsub": ("33554432", "8388608", "60")}


def synthesized_cache_parameters(stack_json: dict) -> dict[str, str]:
    """The parameters of the stack's one ElastiCache parameter group (empty without a cache)."""
    groups = list(stack_json.get("resource", {}).get("aws_elasticache_parameter_group", {}).values())
    if not groups:
        return {}
    (group,) = groups
    return {p["name"]: p["value"] for p in group.get("parameter", [])}


def directives_from_parameter_group(parameters: dict[str, str]) -> list[str]:
    """redis.conf lines for ElastiCache parameters; one this cannot translate is an error, not a silent skip."""
    limits: dict[str, dict[str, str]] = {}
    for name, value in parameters.items():
        match = _BUFFER_PARAMETER.fullmatch(name)
        if match is None:
            raise ValueError(f"no redis.conf equivalent known for ElastiCache parameter {name!r}")
        limits.setdefault(match.group(1), {})[match.group(2)] = value
    lines = []
    for client_class, values in sorted(limits.items()):
        hard, soft, seconds = _BUFFER_DEFAULTS[client_class]
        lines.append(f"client-output-buffer-limit {client_class} {values.get('hard-limit', hard)} "
                     f"{values.get('soft-limit', soft)} {values.get('soft-seconds', seconds)}")
    return lines


def start(password: str, timeout: float = 20.0, directives: Iterable[str] = ()) -> RedisServer:
    """Start redis-server on 127.0.0.1:<free port> requiring ``password`` (the default user's AUTH).

    ``directives``: extra redis.conf lines (``directives_from_parameter_group``).
    """
    binary = server_binary()
    if not password:
        raise ValueError("a password is required: the tier mirrors ElastiCache AUTH")
    base = Path(tempfile.mkdtemp(prefix="ajuda-redis-"))
    os.chmod(base, 0o700)
    server = RedisServer(port=free_port(), password=password, base_dir=base)
    config = "\n".join([
        f"port {server.port}",
        "bind 127.0.0.1",
        "protected-mode yes",
        f"dir {_config_quote(str(base))}",
        f"logfile {_config_quote(str(server.log_path))}",
        "daemonize no",
        'save ""',
        "appendonly no",
        "databases 16",
        f"requirepass {_config_quote(password)}",
        *directives,
        "",
    ])
    try:
        server.process = subprocess.Popen(
            [binary, "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(base),
            start_new_session=True,  # own process group: stop() kills all of it
        )
        assert server.process.stdin is not None
        server.process.stdin.write(config.encode())
        server.process.stdin.close()
        deadline = time.monotonic() + timeout
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {server.process.returncode}")
            try:
                if server.command("PING") == b"PONG":
                    return server
            except (OSError, RedisError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server not answering on {server.host}:{server.port}")
            time.sleep(0.05)
    except BaseException as exc:
        log = server.log_path.read_text(errors="replace")[-3000:] if server.log_path.exists() else ""
        server.stop()
        if log:
            raise RuntimeError(f"Redis did not start; log tail:\n{log}") from exc
        raise
