"""``bash scripts/local.sh app`` runs the app ON TOP OF the tier's deployment and answers through its URL.

One app boot for the whole file (two Open WebUI replicas, the gateway, the Bedrock stand-in,
PostgreSQL, Redis); it stays up until the teardown test's ``local.sh down``, which must stop it
(test_local_deploy.py). Named to run after the tier's other files: the app's processes would
slow them down.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from tests.emulator.conftest import REGION
from tests.integration import chat, local_app
from tests.support import bedrock_standin as bs
from tests.support.cdktf_project import ROOT

# scripts/test.sh runs this tier while the Open WebUI and gateway venvs install: the app waits for them.
pytestmark = pytest.mark.integration_venvs

URL_LINE = re.compile(r"^(http://localhost:\d+)$", re.MULTILINE)


def _client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")


@pytest.fixture(scope="module")
def app(deployment) -> dict:
    before = len(deployment["log"].read_text())
    result = deployment["local_sh"]("app")
    output = deployment["log"].read_text()[before:]
    assert result.returncode == 0, f"scripts/local.sh app failed:\n{output[-6000:]}"
    urls = URL_LINE.findall(output)
    assert urls, f"local.sh app printed no URL:\n{output[-3000:]}"
    state = json.loads((deployment["local_dir"] / "app" / local_app.STATE_FILE).read_text())
    return {"url": urls[-1], "state": state}


def test_the_app_runs_the_deployed_stack_behind_one_url(app, deployment):
    state, endpoint = app["state"], deployment["endpoint"]
    assert state["url"] == app["url"] and len(state["replicas"]) == 2
    assert state["emulator"] == endpoint, "the app did not use the tier's running emulator"
    # The operator's password is the secret the deployment generated in the emulator.
    password = Path(state["admin_password_file"]).read_text().strip()
    deployed = _client("secretsmanager", endpoint).get_secret_value(
        SecretId=deployment["outputs"]["admin_password_secret_arn"])["SecretString"]
    assert password == deployed
    assert oct(Path(state["admin_password_file"]).stat().st_mode & 0o777) == "0o600"
    # The default model is the deployed Open WebUI task definition's, read from the emulator's ECS.
    ecs = _client("ecs", endpoint)
    service = ecs.describe_services(cluster=deployment["outputs"]["cluster_name"],
                                    services=[deployment["outputs"]["service_name"]])["services"][0]
    container = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]
    assert state["default_model"] == {e["name"]: e["value"] for e in container["environment"]}["DEFAULT_MODELS"]
    assert password not in deployment["log"].read_text(), "the admin password reached the terminal"


def test_a_person_signs_in_and_gets_the_streamed_answer_through_the_url(app):
    import requests

    url, state = app["url"], app["state"]
    password = Path(state["admin_password_file"]).read_text().strip()
    response = requests.post(f"{url}/api/v1/auths/signin", json={"email": state["admin_email"], "password": password},
                             timeout=60)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    site = SimpleNamespace(url=url)
    question = "Onde fica o balcão de atendimento mais próximo?"
    result = chat.stream_chat(SimpleNamespace(site_origin=url, synthesized_env={"DEFAULT_MODELS": state["default_model"]}),
                              token, question, socket_on=site, post_to=site)
    assert result.content == "".join(bs.answer_chunks(question)), result.describe()
    assert len(result.snapshots) >= 3, f"the answer did not stream: {result.describe()}"


def test_app_without_a_deployment_is_one_clear_error(tmp_path):
    env = {**os.environ, "CI": "true", "AJUDA_LOCAL_DIR": str(tmp_path)}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "local.sh"), "app"], check=False, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "error: nothing deployed to run: bash scripts/local.sh up first"
    assert not (tmp_path / "app").exists(), "nothing starts without a deployment"
