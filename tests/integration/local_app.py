"""Run Ajuda Digital locally for a person to open: two Open WebUI replicas, the model gateway and
the Bedrock stand-in, behind a load balancer stand-in, exactly as the integration tier boots them
(from the synthesized prod task definitions). ``scripts/local.sh app`` / ``down`` call this.

    python -m tests.integration.local_app start --dir .local/app   # detaches, prints the URL
    python -m tests.integration.local_app stop --dir .local/app
    python -m tests.integration.local_app serve --dir .local/app   # foreground (what start runs)

The administrator's e-mail is printed; the generated password is in ``<dir>/admin-password``
(mode 0600), never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@ajudadigital.local"
STATE_FILE = "state.json"
START_TIMEOUT = 1200.0


def _state(directory: Path) -> dict:
    path = directory / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def serve(directory: Path) -> int:
    """Boot everything, write the state file, run until SIGTERM/SIGINT, stop everything."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.integration import accounts, harness, processes, synthesis
    from tests.support.tcp_balancer import TcpBalancer

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    state_path = directory / STATE_FILE
    print("synthesizing the prod stacks", flush=True)
    synthesized = synthesis.synthesize(directory / "cdktf.out")
    run_dir = directory / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    cluster = harness.Cluster(synthesized, processes.make_workdir(prefix="ajuda-local-app-"), replicas=2)
    balancer = None
    try:
        cluster.start()
        balancer = TcpBalancer([(processes.LOCALHOST, r.port) for r in cluster.replicas], port=cluster.site_port).start()
        # The replicas created the operator's account at start-up (WEBUI_ADMIN_EMAIL/PASSWORD).
        password = cluster.credentials.admin_password
        status, body = accounts.signin_admin(cluster)
        if status != 200:
            raise RuntimeError(f"admin sign-in failed: {status} {body}")
        password_file = directory / "admin-password"
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
        state_path.write_text(json.dumps({
            "pid": os.getpid(), "url": cluster.site_origin, "admin_email": ADMIN_EMAIL,
            "admin_password_file": str(password_file), "replicas": [r.url for r in cluster.replicas],
            "gateway": cluster.gateway.process.url, "bedrock_standin": cluster.gateway.bedrock.endpoint,
            "logs": str(cluster.workdir), "ready": True}))
        print(f"ready: {cluster.site_origin}", flush=True)
        stop.wait()
    finally:
        if balancer is not None:
            balancer.stop()
        cluster.stop()
        state_path.unlink(missing_ok=True)
    return 0


def start(directory: Path) -> int:
    state = _state(directory)
    if state.get("pid") and _alive(state["pid"]):
        print(state["url"])
        return 0
    (directory / STATE_FILE).unlink(missing_ok=True)
    log = directory / "app.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.integration.local_app", "serve", "--dir", str(directory)],
                                   cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        state = _state(directory)
        if state.get("ready"):
            print(f"Ajuda Digital: {state['url']}  (sign in as {state['admin_email']}, password in "
                  f"{state['admin_password_file']}; logs {state['logs']}; stop: bash scripts/local.sh down)",
                  file=sys.stderr)
            print(state["url"])
            return 0
        if process.poll() is not None:
            print(f"the app exited ({process.returncode}); see {log}:\n{log.read_text(errors='replace')[-4000:]}",
                  file=sys.stderr)
            return 1
        time.sleep(1)
    process.terminate()
    print(f"the app was not ready after {START_TIMEOUT:.0f}s; see {log}", file=sys.stderr)
    return 1


def stop(directory: Path, timeout: float = 180.0) -> int:
    state = _state(directory)
    pid = state.get("pid")
    if not pid or not _alive(pid):
        (directory / STATE_FILE).unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)  # serve() stops the replicas, the gateway and the back-ends
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.5)
    if _alive(pid):
        print(f"the app (pid {pid}) did not stop within {timeout:.0f}s", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "serve"))
    parser.add_argument("--dir", default=str(ROOT / ".local" / "app"))
    args = parser.parse_args(argv)
    directory = Path(args.dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return {"start": start, "stop": stop, "serve": serve}[args.command](directory)


if __name__ == "__main__":
    sys.exit(main())
