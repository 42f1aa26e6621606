"""Uvicorn honours X-Forwarded-* only from the load balancer's subnets (issue #9).

Two links of the chain the unit tier cannot see: the image's start command really passes the task
definition's FORWARDED_ALLOW_IPS to uvicorn (upstream start.sh hard-codes '*', the Dockerfile
rewrites it), and Open WebUI's own uvicorn reads the synthesized value as networks that admit an
ALB node's address and nothing else. Needs only a shell and .venv-openwebui, not the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.integration import processes
from tests.support import missing

ROOT = Path(__file__).resolve().parents[2]
# The serve line of upstream's backend/start.sh (open-webui v0.12.x).
UPSTREAM_SERVE_LINE = ('WEBUI_SECRET_KEY="$WEBUI_SECRET_KEY" uvicorn open_webui.main:app --host "$HOST" --port "$PORT" '
                       "--forwarded-allow-ips '*' --workers \"${UVICORN_WORKERS:-1}\" --log-level debug 2>&1 | tee server.log")


def dockerfile_start_sh_rewrite() -> str:
    """The shell command of the Dockerfile's RUN instruction that edits start.sh."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("RUN ") and "start.sh" in line)
    command = []
    for line in lines[start:]:
        command.append(line.removeprefix("RUN ").rstrip("\\").strip())
        if not line.rstrip().endswith("\\"):
            break
    return " ".join(command)


def prod_forwarded_allow_ips(synthesized) -> str:
    definition = synthesized.one("ajuda-prod", "aws_ecs_task_definition", "service_task")
    (container,) = json.loads(definition["container_definitions"])
    return {e["name"]: e["value"] for e in container["environment"]}["FORWARDED_ALLOW_IPS"]


def test_image_start_command_passes_the_task_setting_to_uvicorn(synthesized, tmp_path):
    (tmp_path / "start.sh").write_text("#!/usr/bin/env bash\n" + UPSTREAM_SERVE_LINE + "\n")
    subprocess.run(["sh", "-c", dockerfile_start_sh_rewrite()], cwd=tmp_path, check=True)
    allowed = prod_forwarded_allow_ips(synthesized)
    # Run the rewritten start.sh with uvicorn replaced by a function printing its arguments.
    script = "uvicorn() { printf '%s\\n' \"$@\"; }\n" + (tmp_path / "start.sh").read_text()
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True,
                            env={"PATH": os.environ["PATH"], "FORWARDED_ALLOW_IPS": allowed})
    args = result.stdout.splitlines()
    assert args[args.index("--forwarded-allow-ips") + 1] == allowed


def test_dockerfile_rewrite_fails_the_build_when_start_sh_changes(tmp_path):
    (tmp_path / "start.sh").write_text("uvicorn open_webui.main:app --forwarded-allow-ips='*'\n")
    assert subprocess.run(["sh", "-c", dockerfile_start_sh_rewrite()], cwd=tmp_path).returncode != 0


def test_open_webuis_uvicorn_trusts_only_alb_subnet_addresses(synthesized):
    python = processes.owui_python()
    if not python.exists():
        missing(f"no Open WebUI venv at {python} (bash scripts/integration-env.sh)")
    allowed = prod_forwarded_allow_ips(synthesized)
    first_alb_node = allowed.split(",")[0].split("/")[0].rsplit(".", 1)[0] + ".37"
    probe = ("import sys; from uvicorn.middleware.proxy_headers import _TrustedHosts as T; t = T(sys.argv[1]); "
             "print(' '.join(str(h in t) for h in sys.argv[2:]))")
    result = subprocess.run([str(python), "-c", probe, allowed, first_alb_node, "127.0.0.1", "203.0.113.9", "10.10.20.5"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False", "False", "False"]
