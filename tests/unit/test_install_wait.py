"""scripts/test.sh's overlap of the integration tier's install with the first tiers
(tests/support/install_wait.py): the later tiers wait for the install's exit status, whatever it is."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.support import install_wait


def test_the_status_written_later_is_awaited(tmp_path: Path):
    status = tmp_path / "status"
    threading.Timer(0.3, lambda: status.write_text("0\n")).start()
    assert install_wait.wait_for_status(status, timeout=10, poll=0.05) == 0


def test_a_failed_install_is_reported_with_its_exit_status(tmp_path: Path):
    status = tmp_path / "status"
    status.write_text("3\n")
    assert install_wait.wait_for_status(status, timeout=1, poll=0.05) == 3


def test_an_empty_or_missing_status_is_not_a_success(tmp_path: Path):
    status = tmp_path / "status"
    with pytest.raises(TimeoutError):
        install_wait.wait_for_status(status, timeout=0.2, poll=0.05)
    status.write_text("")  # the shell opened the file but has not written the status yet
    with pytest.raises(TimeoutError):
        install_wait.wait_for_status(status, timeout=0.2, poll=0.05)


def test_only_the_unit_and_validate_tiers_run_before_the_install_ends():
    assert install_wait.TIERS_WITHOUT_THE_VENVS == ("unit", "validate")
    assert {p.name for p in install_wait.TESTS.iterdir() if p.is_dir() and (p / "__init__.py").exists()} >= {
        "unit", "validate", "entrypoint", "emulator", "integration"}


def test_the_emulator_tier_waits_only_where_it_boots_the_app():
    """The emulator tier deploys to moto while the venvs install; `local.sh app` needs them."""
    from tests.emulator import test_up_then_app

    marks = test_up_then_app.pytestmark
    assert any(mark.name == install_wait.VENVS_MARKER for mark in (marks if isinstance(marks, list) else [marks]))
