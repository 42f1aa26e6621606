"""Benchmark: what synthesis costs on top of the floor (importing the AWS provider package).

    python bench/synth_bench.py [--repeat 3] [--emulator]

Each measurement runs in a fresh interpreter, as `cdktf synth` does. --emulator also times the
main job end to end (emulator, bootstrap, application stack apply, destroy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CHECKPOINT_DISABLE": "1"}


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(repeat: int, command: list[str], env: dict[str, str]) -> tuple[float, list[float]]:
    samples = [timed(command, env) for _ in range(repeat)]
    return statistics.median(samples), samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--emulator", action="store_true", help="also time the local emulator deploy end to end")
    args = parser.parse_args()

    interpreter = sys.executable
    floor, floor_samples = median_of(args.repeat, [interpreter, "-c", "import cdktf, cdktf_cdktf_provider_aws"], ENV)
    with tempfile.TemporaryDirectory() as out:
        synth_env = {**ENV, "CDKTF_OUTDIR": os.path.join(out, "cdktf.out"), "AJUDA_BOOTSTRAP_STATE_DIR": out}
        synth, synth_samples = median_of(args.repeat, [interpreter, "main.py"], synth_env)
        stacks = len(list(Path(out, "cdktf.out", "stacks").glob("*/cdk.tf.json")))
    print(f"provider import (floor):        {floor:6.2f} s  samples {', '.join(f'{s:.2f}' for s in floor_samples)}")
    print(f"synth, all environments:        {synth:6.2f} s  samples {', '.join(f'{s:.2f}' for s in synth_samples)}  ({stacks} stacks)")
    print(f"our code on top of the floor:   {synth - floor:6.2f} s")
    if args.emulator:
        # A scratch AJUDA_LOCAL_DIR: a developer's own local deployment is neither reused nor destroyed.
        with tempfile.TemporaryDirectory() as local_dir:
            local_env = {**ENV, "AJUDA_LOCAL_DIR": local_dir}
            e2e = timed(["bash", "scripts/local.sh", "up"], local_env)
            down = timed(["bash", "scripts/local.sh", "down"], local_env)
        print(f"emulator deploy end to end:     {e2e:6.2f} s  (destroy {down:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
