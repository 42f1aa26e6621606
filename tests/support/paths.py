"""The repository root, for helpers that run the project's own files (entrypoints, Dockerfiles)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
