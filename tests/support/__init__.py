"""Local stand-ins for the AWS services the tiers need, and what the tiers share."""

from __future__ import annotations

import os

import pytest


def missing(what: str) -> None:
    """A tier requirement is absent: skip, except under CI=true, where a silent skip would hide it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {what}")
    pytest.skip(what)
