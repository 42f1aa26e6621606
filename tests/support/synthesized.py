"""One synthesis of every stack, and lookups into its Terraform JSON (the unit tier's fixture and the
integration harness share it; importing the AWS provider costs ~15 s, so each process does it once)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class Synthesized:
    """The synthesized Terraform JSON of every stack, with small lookup helpers."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.stacks = {
            path.parent.name: json.loads(path.read_text())
            for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
        }

    def stack(self, name: str) -> dict:
        return self.stacks[name]

    def resources(self, stack: str, resource_type: str) -> dict[str, dict]:
        return self.stacks[stack].get("resource", {}).get(resource_type, {})

    def one(self, stack: str, resource_type: str, name_contains: str = "") -> dict:
        matches = [v for k, v in self.resources(stack, resource_type).items() if name_contains in k]
        assert len(matches) == 1, f"expected one {resource_type} matching {name_contains!r} in {stack}, got {len(matches)}"
        return matches[0]

    def text(self, stack: str) -> str:
        return json.dumps(self.stacks[stack])


def synthesize_all(outdir: Path, state_dir: Path) -> Synthesized:
    """Every stack of the default configuration (no overrides file) into ``outdir``."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    import config
    from stacks.app import build_app
    from stacks.output import synthesize_atomically

    environments = config.load(overrides_file="")
    synthesize_atomically(lambda staging: build_app(environments, staging, str(state_dir)), str(outdir))
    return Synthesized(outdir)
