"""Synthesize every environment's stacks into cdktf.out/stacks/<stack>/cdk.tf.json.

Configuration is validated first: on any error nothing is written and the exit code is 2.
AJUDA_ENVIRONMENTS=dev,prod limits the run to those environments.
"""

from __future__ import annotations

import os
import sys

import config


def main() -> int:
    names = [n.strip() for n in os.environ.get("AJUDA_ENVIRONMENTS", "").split(",") if n.strip()]
    try:
        environments = config.load(names or None)
    except config.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Imported only after validation: the provider package takes seconds to load.
    from stacks.app import build_app
    from stacks.output import synthesize_atomically

    outdir = os.environ.get("CDKTF_OUTDIR", "cdktf.out")
    state_dir = os.environ.get("AJUDA_BOOTSTRAP_STATE_DIR", "bootstrap-state")
    synthesize_atomically(lambda staging: build_app(environments, staging, state_dir), outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
