"""The emulator as a library: a moto server subprocess on loopback, in the foreground of the caller
(``MotoServer``) or detached with its pid/port/log under a state directory (the shell's start/stop)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

# The server process runs `python -m tools.emulator serve`: the repository root must be importable
# whatever the caller's working directory.
ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DEFAULT_STATE_DIR = ".local/moto"

# Environment given to the server unless the caller overrides it.
# Without MOTO_IAM_LOAD_MANAGED_POLICIES, attaching AWS managed policies
# (arn:aws:iam::aws:policy/...) fails with NoSuchEntity.
DEFAULT_SERVER_ENV = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
_HEALTH_PATH = "/moto-api/data.json"


def free_port(host: str = HOST) -> int:
    """Return a TCP port that is currently free on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def is_up(endpoint: str, timeout: float = 1.0) -> bool:
    """True if a moto server answers at ``endpoint``."""
    try:
        with urllib.request.urlopen(endpoint + _HEALTH_PATH, timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _kill_group(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # Reap if it is our child; otherwise just probe for existence.
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.1)


class MotoServer:
    """A moto server subprocess on 127.0.0.1.

    :param port: port to bind; ``None`` picks a free one.
    :param log_path: file receiving the server's stdout/stderr (request log);
        ``None`` discards it.
    :param env: extra environment variables for the server process, applied
        over ``os.environ`` and ``DEFAULT_SERVER_ENV``.
    :param startup_timeout: seconds to wait for the server to answer.
    """

    def __init__(
        self,
        port: int | None = None,
        log_path: os.PathLike | str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._requested_port = port
        self.port: int | None = port
        self.log_path = Path(log_path) if log_path else None
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("MotoServer not started")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> MotoServer:
        if self.process is not None:
            return self
        # A free port found here can be taken before moto binds it; retry
        # with a fresh port in that (rare) case unless a port was requested.
        attempts = 1 if self._requested_port else 3
        last_error = ""
        for _ in range(attempts):
            self.port = self._requested_port or free_port()
            if is_up(self.endpoint, timeout=0.5):
                raise RuntimeError(f"something already answers at {self.endpoint}")
            last_error = self._spawn_and_wait()
            if not last_error:
                return self
        raise RuntimeError(f"moto server failed to start: {last_error}")

    def _spawn_and_wait(self) -> str:
        """Start the subprocess; return "" when ready, else an error text."""
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
        out = self._log if self._log else subprocess.DEVNULL
        env = {**os.environ, **DEFAULT_SERVER_ENV, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.emulator", "serve", "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,  # own process group -> reliable kill
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                rc = self.process.returncode
                self._cleanup()
                return f"process exited with code {rc} (see log {self.log_path})"
            if is_up(self.endpoint, timeout=0.5):
                return ""
            time.sleep(0.1)
        self.stop()
        return f"no answer at {self.endpoint} after {self.startup_timeout}s"

    def reset(self) -> None:
        """Wipe all emulated AWS state (POST /moto-api/reset)."""
        req = urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def stop(self) -> None:
        if self.process is not None:
            _kill_group(self.process.pid)
            try:
                self.process.wait(timeout=5)
            except (subprocess.TimeoutExpired, ChildProcessError):
                pass
        self._cleanup()

    def _cleanup(self) -> None:
        self.process = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self) -> None:  # last-resort safety net
        try:
            self.stop()
        except Exception:
            pass


# --------------------------------------------------------------------------
# A detached server with pid/port files under a state directory.
# --------------------------------------------------------------------------

def _files(state_dir: Path) -> tuple[Path, Path, Path]:
    return state_dir / "moto.pid", state_dir / "moto.port", state_dir / "moto.log"


def _read_running(state_dir: Path) -> tuple[int, int] | None:
    """(pid, port) of a live server recorded in state_dir, else None."""
    pid_f, port_f, _ = _files(state_dir)
    try:
        pid, port = int(pid_f.read_text()), int(port_f.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid, port


def running_endpoint(state_dir: Path) -> str | None:
    """The endpoint of the live server recorded in state_dir, else None."""
    running = _read_running(state_dir)
    return f"http://{HOST}:{running[1]}" if running else None



def start_detached(state_dir: Path, port: int | None, timeout: float) -> str:
    """The endpoint of the server recorded in state_dir, started (and left running) if none answers."""
    endpoint = running_endpoint(state_dir)
    if endpoint and is_up(endpoint):
        return endpoint
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_f, port_f, log_f = _files(state_dir)
    srv = MotoServer(port=port, log_path=log_f, startup_timeout=timeout).start()
    pid_f.write_text(str(srv.pid))
    port_f.write_text(str(srv.port))
    # Detach: the child lives on in its own session after we exit.
    srv.process = None
    srv._cleanup()
    return srv.endpoint


def stop_detached(state_dir: Path) -> None:
    pid_f, port_f, _ = _files(state_dir)
    running = _read_running(state_dir)
    if running:
        _kill_group(running[0])
    for f in (pid_f, port_f):
        f.unlink(missing_ok=True)
