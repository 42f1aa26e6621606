"""A pytest plugin for scripts/test.sh: the tiers run while the integration tier's virtualenvs install.

scripts/test.sh starts ``scripts/integration-env.sh venvs`` in the background (minutes: Open WebUI
and the model gateway), starts pytest at once with ``-p tests.support.install_wait`` and names, in
AJUDA_INSTALL_STATUS_FILE, the file that install's exit status lands in. The unit and validate
tiers need neither virtualenv and run meanwhile; before the first test of any other tier (the
entrypoint, emulator and integration tiers start Open WebUI or the gateway) this plugin waits for
the status, and a failed install stops the session (scripts/test.sh prints the install's log next).
The emulator tier deploys to moto only and starts at once, apart from its tests marked
``integration_venvs`` (``local.sh app`` boots the real app), which wait like the other tiers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

STATUS_VARIABLE = "AJUDA_INSTALL_STATUS_FILE"
TIERS_WITHOUT_THE_VENVS = ("unit", "validate")
# The emulator tier waits only in tests carrying this marker.
VENVS_MARKER = "integration_venvs"
TESTS = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 1800


def _tier(item: pytest.Item) -> str:
    return Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]


def needs_the_venvs(item: pytest.Item) -> bool:
    tier = _tier(item)
    if tier in TIERS_WITHOUT_THE_VENVS:
        return False
    return tier != "emulator" or item.get_closest_marker(VENVS_MARKER) is not None


def wait_for_status(path: Path, timeout: float = TIMEOUT_SECONDS, poll: float = 1.0) -> int:
    """The exit status written to ``path``; raises TimeoutError when none arrives in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text:
            return int(text)
        time.sleep(poll)
    raise TimeoutError(f"no install status in {path} after {timeout:.0f} s")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    status_file = os.environ.get(STATUS_VARIABLE)
    if not status_file or not needs_the_venvs(item):
        return
    started = time.monotonic()
    status = wait_for_status(Path(status_file))
    if status != 0:
        pytest.exit(f"the integration tier's virtualenvs failed to install (exit {status}): see their log below",
                    returncode=1)
    waited = time.monotonic() - started
    if waited > 1:
        print(f"\n[install_wait] waited {waited:.0f} s for the integration tier's virtualenvs")
