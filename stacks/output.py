"""Write synthesized stacks only once synthesis has fully succeeded.

The app synthesizes into a staging directory next to the output; only after ``synth()`` returns
are the files moved into place (manifest last). A failed synthesis leaves the previous output
untouched. Other files in the stack directories (``.terraform``, lock files, plans written by
the CDKTF CLI or Terraform) are kept, and stacks that were not synthesized this time are left
for the CDKTF CLI, which removes orphans itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from cdktf import App

MANIFEST = "manifest.json"


def synthesize_atomically(build: Callable[[str], App], outdir: str) -> None:
    target = Path(outdir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cdktf-synth-", dir=target.parent))
    try:
        build(str(staging)).synth()
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        for source in sorted(files, key=lambda p: p.name == MANIFEST):
            destination = target / source.relative_to(staging)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
