"""tools/localhost.py: the one free-port and process-group-kill helper every server start and stop uses."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.localhost import LOOPBACK, free_port, kill_group

# A leader that forks a helper (same group), handles SIGTERM as asked, then prints both pids.
_LEADER = """
import os, signal, sys, time
helper = os.fork()
if helper == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the helper ignores SIGTERM: only SIGKILL ends it
    while True:
        time.sleep(1)
mode = sys.argv[1]
if mode == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif mode == "exit":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
print(os.getpid(), helper, flush=True)  # ready: the handlers are in place
while True:
    time.sleep(1)
"""


@pytest.fixture
def group():
    """Starts leader+helper groups (``group(mode)`` -> the leader's Popen, the helper's pid); whatever a
    failing test leaves running is SIGKILLed afterwards."""
    started: list[int] = []

    def start(mode: str) -> tuple[subprocess.Popen, int]:
        process = subprocess.Popen([sys.executable, "-c", _LEADER, mode], stdout=subprocess.PIPE, text=True,
                                   start_new_session=True)
        started.append(process.pid)
        assert process.stdout is not None
        leader, helper = map(int, process.stdout.readline().split())
        assert leader == process.pid
        return process, helper

    yield start
    for pgid in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned helper may wait for a reaper that never comes in a container)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.05)
    return True


def test_free_port_is_bindable_on_loopback():
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, port))


def test_sigterm_ends_the_leader_with_its_own_exit_code_and_the_forked_helper_goes_too(group):
    process, helper = group("exit")
    started = time.monotonic()
    assert kill_group(process.pid, timeout=10, process=process) == 7
    assert time.monotonic() - started < 10, "SIGTERM was enough: no wait for the SIGKILL"
    assert not _running(helper), "the helper that ignores SIGTERM is still running"


def test_a_leader_that_ignores_sigterm_is_killed_after_the_timeout(group):
    process, helper = group("ignore")
    started = time.monotonic()
    assert kill_group(process.pid, timeout=1, process=process) == -signal.SIGKILL
    assert time.monotonic() - started >= 1
    assert not _running(helper)


def test_a_group_known_only_by_its_pid_is_stopped_and_reaped(group):
    process, helper = group("default")
    assert kill_group(process.pid, timeout=5) is None
    assert not _running(process.pid) and not _running(helper)
    # kill_group reaped the child through waitpid: nothing is left for Popen to wait for.
    assert process.poll() is not None
