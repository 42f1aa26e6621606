"""Write synthesized stacks all at once: a failed synth never leaves a half-written cdktf.out."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Callable

from cdktf import App


def synthesize_atomically(build: Callable[[str], App], outdir: str) -> None:
    outdir = os.path.abspath(outdir)
    parent = os.path.dirname(outdir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".cdktf-synth-", dir=parent)
    try:
        build(staging).synth()
        previous = f"{staging}.previous"
        if os.path.exists(outdir):
            os.replace(outdir, previous)
        os.replace(staging, outdir)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
