"""Loopback ports and process groups: the one copy the emulator, the test stand-ins and the benches use.

Every server this project starts for tests runs on 127.0.0.1, on a port the kernel just handed out,
in its own session (``start_new_session=True``) so that ``kill_group`` reaches the helpers it forks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"
# How long a SIGKILLed group gets to disappear before the caller moves on.
_KILL_WAIT = 10.0


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` right now (another process may take it before the caller binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def kill_group(pid: int, timeout: float = 10.0, process: subprocess.Popen | None = None) -> int | None:
    """SIGTERM the process group led by ``pid`` (ECS's stop), SIGKILL after ``timeout`` seconds (its
    stopTimeout), then SIGKILL whatever is left in the group (a forked helper).

    With ``process``, the leader's ``Popen``, the leader is reaped through it and its exit code
    returned; without, a child of this process is reaped and any other leader is polled until it is gone.
    """
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, _KILL_WAIT)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        if _ended(pid, process, wait):
            break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return process.poll() if process is not None else None


def _ended(pid: int, process: subprocess.Popen | None, timeout: float) -> bool:
    if process is not None:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our child: reaped
                return True
        except ChildProcessError:  # not our child (a detached server): probe it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
        time.sleep(0.1)
    return False
