"""Bad configuration stops synthesis with one clear message naming the setting. No cdktf import here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import config
from config import catalog
from config.environments import DEV, PROD
from config.model import ConfigError, validate

ROOT = Path(__file__).resolve().parents[2]


def error_of(env) -> str:
    with pytest.raises(ConfigError) as caught:
        validate(env)
    return str(caught.value)


def test_built_in_environments_are_valid():
    names = [env.name for env in config.load(overrides_file="")]
    assert names == ["dev", "staging", "prod", "local"]


@pytest.mark.parametrize("change,setting", [
    (lambda e: replace(e, network=replace(e.network, vpc_cidr="10.0.0.0/33")), "prod.network.vpc_cidr"),
    (lambda e: replace(e, network=replace(e.network, vpc_cidr="10.0.0.1/16")), "prod.network.vpc_cidr"),
    (lambda e: replace(e, network=replace(e.network, public_subnet_cidrs=("10.10.0.0/24", "10.99.1.0/24"))),
     "prod.network.public_subnet_cidrs[1]"),
    (lambda e: replace(e, network=replace(e.network, app_subnet_cidrs=("10.10.0.0/24", "10.10.12.0/23"))),
     "prod.network.app_subnet_cidrs[0]"),
    (lambda e: replace(e, network=replace(e.network, database_subnet_cidrs=("10.10.20.0/24",))),
     "prod.network.database_subnet_cidrs"),
    (lambda e: replace(e, service=replace(e.service, cpu=1024, memory=1024)), "prod.service.memory"),
    (lambda e: replace(e, service=replace(e.service, cpu=1000)), "prod.service.cpu"),
    (lambda e: replace(e, service=replace(e.service, desired_count=0)), "prod.service.desired_count"),
    (lambda e: replace(e, service=replace(e.service, image_tag="latest")), "prod.service.image_tag"),
    (lambda e: replace(e, service=replace(e.service, image_tag="")), "prod.service.image_tag"),
    (lambda e: replace(e, storage=replace(e.storage, documents_bucket_name="OpenWebUI_Docs")),
     "prod.storage.documents_bucket_name"),
    (lambda e: replace(e, storage=replace(e.storage, documents_bucket_name="192.168.1.1")),
     "prod.storage.documents_bucket_name"),
    (lambda e: replace(e, storage=replace(e.storage, documents_bucket_name="ab")), "prod.storage.documents_bucket_name"),
    (lambda e: replace(e, database=replace(e.database, instance_class="db.r7g.larg")), "prod.database.instance_class"),
    (lambda e: replace(e, database=replace(e.database, engine_version="15.4")), "prod.database.engine_version"),
    (lambda e: replace(e, database=replace(e.database, iops=12000)), "prod.database.iops"),
    (lambda e: replace(e, database=replace(e.database, master_username="postgres")), "prod.database.master_username"),
    (lambda e: replace(e, auth=replace(e.auth, google_client_id=None)), "prod.auth.google_client_id"),
    (lambda e: replace(e, domain=replace(e.domain, name=None)), "prod.auth.google_oauth"),
    (lambda e: replace(e, region="us-east"), "prod.region"),
    (lambda e: replace(e, service=replace(e.service, desired_count="2")), "prod.service.desired_count"),
    (lambda e: replace(e, operations=replace(e.operations, alarm_email="ops")), "prod.operations.alarm_email"),
])
def test_bad_setting_is_named(change, setting):
    message = error_of(change(PROD))
    assert f"{setting}:" in message, message


def test_every_problem_is_reported_at_once():
    bad = replace(PROD, service=replace(PROD.service, desired_count=0),
                  database=replace(PROD.database, instance_class="db.nope"))
    message = error_of(bad)
    assert "prod.service.desired_count" in message and "prod.database.instance_class" in message


def test_dev_may_drop_oauth_but_not_https_for_it():
    assert validate(replace(DEV, auth=replace(DEV.auth, google_oauth=False), domain=replace(DEV.domain, name=None)))


def test_unknown_environment_is_rejected():
    with pytest.raises(ConfigError, match=r"environment: unknown 'qa'"):
        config.load(["qa"], overrides_file="")


def test_overrides_file_changes_a_setting_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"prod": {"service": {"desired_count": 3, "max_count": 8}}}))
    (prod,) = config.load(["prod"], overrides_file=str(good))
    assert prod.service.desired_count == 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"prod": {"service": {"desired_cuont": 3}}}))
    with pytest.raises(ConfigError, match=r"prod\.service\.desired_cuont: unknown setting"):
        config.load(["prod"], overrides_file=str(bad))


@pytest.mark.parametrize("key", ["master_password", "app_password"])
def test_a_password_in_configuration_is_refused_without_echoing_it(tmp_path, key):
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"prod": {"database": {key: "pa(ss)$w+o@r:d/"}}}))
    with pytest.raises(ConfigError) as caught:
        config.load(["prod"], overrides_file=str(overrides))
    message = str(caught.value)
    assert message.startswith(f"prod.database.{key}: secrets are never configuration")
    assert "pa(ss)" not in message


def test_capacity_catalog_matches_the_rds_formula():
    # LEAST(DBInstanceClassMemory / 9531392, 5000) with ~90 % of nominal memory visible to the engine.
    assert 1500 < catalog.rds_default_max_connections("db.r7g.large") < 1803
    assert catalog.rds_default_max_connections("db.r7g.4xlarge") == 5000


def _run_main(tmp_path, env_overrides: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDKTF_OUTDIR": str(tmp_path / "cdktf.out"), **env_overrides}
    return subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("overrides,setting", [
    ({"prod": {"network": {"vpc_cidr": "10.300.0.0/16"}}}, "prod.network.vpc_cidr"),
    ({"dev": {"service": {"cpu": 512, "memory": 512}}}, "dev.service.memory"),
    ({"staging": {"storage": {"documents_bucket_name": "Bad_Bucket"}}}, "staging.storage.documents_bucket_name"),
])
def test_main_exits_non_zero_and_writes_nothing(tmp_path, overrides, setting):
    overrides_file = tmp_path / "overrides.json"
    overrides_file.write_text(json.dumps(overrides))
    result = _run_main(tmp_path, {"AJUDA_CONFIG_FILE": str(overrides_file)})
    assert result.returncode == 2
    assert f"{setting}:" in result.stderr
    assert result.stderr.count("error:") == 1
    assert not (tmp_path / "cdktf.out").exists()
    assert not list(tmp_path.glob(".cdktf-synth-*"))


def test_main_rejects_an_unknown_environment_name(tmp_path):
    result = _run_main(tmp_path, {"AJUDA_ENVIRONMENTS": "prod,qa"})
    assert result.returncode == 2 and "environment: unknown 'qa'" in result.stderr
    assert not (tmp_path / "cdktf.out").exists()
