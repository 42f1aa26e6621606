"""``python -m tools.emulator start|stop|endpoint [--state-dir DIR]``, and ``serve`` (the server process)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.emulator.patches import serve
from tools.emulator.server import DEFAULT_STATE_DIR, running_endpoint, start_detached, stop_detached


def cli_endpoint(state_dir: Path) -> int:
    endpoint = running_endpoint(state_dir)
    if not endpoint:
        print("moto server not running", file=sys.stderr)
        return 1
    print(endpoint)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.emulator",
                                description="Local AWS emulator (moto server) for offline Terraform / CDKTF runs.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("start", "stop", "endpoint"):
        sp = sub.add_parser(name)
        sp.add_argument("--state-dir", type=Path, default=Path(DEFAULT_STATE_DIR),
                        help=f"where moto.pid/moto.port/moto.log live (default {DEFAULT_STATE_DIR})")
        if name == "start":
            sp.add_argument("--port", type=int, default=None, help="port (default: a free one)")
            sp.add_argument("--timeout", type=float, default=30.0, help="startup timeout, seconds")
    sp = sub.add_parser("serve", help="run the server in the foreground (used internally)")
    sp.add_argument("--port", type=int, required=True)
    a = p.parse_args(argv)
    if a.cmd == "serve":
        serve(a.port)
        return 0
    if a.cmd == "start":
        print(start_detached(a.state_dir, a.port, a.timeout))
        return 0
    if a.cmd == "stop":
        stop_detached(a.state_dir)
        return 0
    return cli_endpoint(a.state_dir)


if __name__ == "__main__":
    sys.exit(main())
