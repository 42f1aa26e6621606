"""Every wrong input a new user can type exits 2 with one message naming the setting, and writes nothing.

Each case runs main.py's own path (``main.main()`` in-process, with AJUDA_CONFIG_FILE pointing at an
overrides file); a few also run ``python main.py`` as a subprocess to show no traceback reaches the
user. No cdktf import: every case stops before synthesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import config
import main
from config import capacity, catalog
from config.environments import PROD
from config.model import ConfigError, _check_types, image_tag_problem, validate

ROOT = Path(__file__).resolve().parents[2]


def run_main(tmp_path: Path, monkeypatch, capsys, overrides: str | bytes | dict) -> tuple[int, str]:
    """main.main() with ``overrides`` as the AJUDA_CONFIG_FILE; returns (exit code, stderr)."""
    path = tmp_path / "overrides.json"
    if isinstance(overrides, dict):
        overrides = json.dumps(overrides)
    if isinstance(overrides, str):
        overrides = overrides.encode()
    path.write_bytes(overrides)
    monkeypatch.setenv("AJUDA_CONFIG_FILE", str(path))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    monkeypatch.delenv("AJUDA_ENVIRONMENTS", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main.main()
    return code, capsys.readouterr().err


def assert_refused(tmp_path: Path, code: int, stderr: str, setting: str) -> None:
    assert code == 2, stderr
    assert stderr.count("error:") == 1, stderr
    assert f"{setting}:" in stderr, stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "cdktf.out").exists()
    assert not list(tmp_path.glob(".cdktf-synth-*"))


CASES = {
    # crashed with a traceback before
    "domain name a number": ({"prod": {"domain": {"name": 123}}}, "prod.domain.name"),
    "alarm e-mail a list": ({"prod": {"operations": {"alarm_email": ["ops@ajudadigital.tl"]}}},
                            "prod.operations.alarm_email"),
    "google client id a number": ({"prod": {"auth": {"google_client_id": 123456}}}, "prod.auth.google_client_id"),
    "emulator object on prod": ({"prod": {"emulator": {"endpoint": "http://127.0.0.1:1"}}}, "prod.emulator"),
    "environment renamed to another's name": ({"dev": {"name": "prod"}}, "dev.name"),
    "list element of the wrong type": ({"prod": {"network": {"public_subnet_cidrs": ["10.10.0.0/24", 5]}}},
                                       "prod.network.public_subnet_cidrs[1]"),
    # accepted silently before
    "floating tag in capitals": ({"prod": {"service": {"image_tag": "Latest"}}}, "prod.service.image_tag"),
    "count as a JSON float": ({"prod": {"service": {"max_count": 1e20}}}, "prod.service.max_count"),
    "count beyond any API": ({"prod": {"service": {"max_count": 10**20}}}, "prod.service.max_count"),
    "negative pool": ({"prod": {"database": {"vector_pool_size": -1}}}, "prod.database.vector_pool_size"),
    "empty cluster name": ({"prod": {"service": {"cluster_name": ""}}}, "prod.service.cluster_name"),
    "empty bucket name": ({"prod": {"storage": {"documents_bucket_name": ""}}}, "prod.storage.documents_bucket_name"),
    "non-ASCII database name": ({"prod": {"database": {"database_name": "dádos"}}}, "prod.database.database_name"),
    "non-ASCII log group": ({"prod": {"service": {"log_group_name": "/ecs/ópen"}}}, "prod.service.log_group_name"),
    "region that does not exist": ({"prod": {"region": "us-east-7"}}, "prod.region"),
    "region in another partition than the state": ({"prod": {"region": "cn-north-1"}}, "prod.state.region"),
    "availability zone suffix": ({"prod": {"network": {"availability_zone_suffixes": ["a", "zz9"]}}},
                                 "prod.network.availability_zone_suffixes[1]"),
    "pool beyond the instance": ({"prod": {"database": {"pool_size": 100}}}, "prod.database.pool_size"),
    "two environments, one bucket": ({"staging": {"storage": {"documents_bucket_name": "openwebui-ajudadigital"}}},
                                     "staging.storage.documents_bucket_name"),
    "documents bucket is a state bucket": ({"dev": {"storage": {"documents_bucket_name": "ajuda-digital-local-state"}}},
                                           "local.state.bucket"),
    "log archive name too long": ({"prod": {"storage": {"documents_bucket_name": "a" * 60}}},
                                  "prod.storage.documents_bucket_name"),
    "empty state key prefix": ({"prod": {"state": {"key_prefix": ""}}}, "prod.state.key_prefix"),
    "state key prefix with a leading slash": ({"prod": {"state": {"key_prefix": "/ajuda"}}}, "prod.state.key_prefix"),
    "reserved pg_ role": ({"prod": {"database": {"app_username": "pg_openwebui"}}}, "prod.database.app_username"),
    "renamed without allow_key_change": ({"dev": {"name": "qa"}}, "dev.name"),
    "minor-pinned engine version": ({"prod": {"database": {"engine_version": "16.10"}}}, "prod.database.engine_version"),
    "Valkey version without a minor": ({"prod": {"cache": {"engine_version": "8"}}}, "prod.cache.engine_version"),
    "hosted zone id": ({"prod": {"domain": {"hosted_zone_id": "zone-1"}}}, "prod.domain.hosted_zone_id"),
}


@pytest.mark.parametrize("overrides,setting", list(CASES.values()), ids=list(CASES))
def test_wrong_input_exits_2_naming_the_setting(tmp_path, monkeypatch, capsys, overrides, setting):
    code, stderr = run_main(tmp_path, monkeypatch, capsys, overrides)
    assert_refused(tmp_path, code, stderr, setting)


def test_overrides_file_that_is_not_utf8(tmp_path, monkeypatch, capsys):
    latin1 = '{"prod": {"domain": {"name": "chát.ajudadigital.tl"}}}'.encode("latin-1")
    code, stderr = run_main(tmp_path, monkeypatch, capsys, latin1)
    assert_refused(tmp_path, code, stderr, "AJUDA_CONFIG_FILE")
    assert "not UTF-8" in stderr


def test_duplicate_key_is_named_with_its_path(tmp_path, monkeypatch, capsys):
    code, stderr = run_main(tmp_path, monkeypatch, capsys, '{"prod": {"service": {"max_count": 4, "max_count": 8}}}')
    assert_refused(tmp_path, code, stderr, "prod.service.max_count")
    assert "twice" in stderr


def test_duplicate_environment_is_named(tmp_path, monkeypatch, capsys):
    code, stderr = run_main(tmp_path, monkeypatch, capsys, '{"dev": {}, "dev": {"service": {"max_count": 2}}}')
    assert_refused(tmp_path, code, stderr, "dev")


@pytest.mark.parametrize("overrides,setting", [
    (b'{"prod": {"auth": {"google_client_id": 5}}}', "prod.auth.google_client_id"),
    (b'\xff\xfe{}', "AJUDA_CONFIG_FILE"),
])
def test_the_real_entry_point_prints_no_traceback(tmp_path, overrides, setting):
    path = tmp_path / "overrides.json"
    path.write_bytes(overrides)
    env = {**os.environ, "AJUDA_CONFIG_FILE": str(path), "CDKTF_OUTDIR": str(tmp_path / "cdktf.out")}
    env.pop("AJUDA_ENVIRONMENTS", None)
    result = subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert_refused(tmp_path, result.returncode, result.stderr, setting)


def test_a_deliberate_rename_is_accepted_with_allow_key_change(tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"dev": {"name": "qa", "state": {"allow_key_change": True}}}))
    (renamed,) = config.load(["dev"], overrides_file=str(path))
    assert (renamed.name, renamed.stack_name, renamed.state_key_name) == ("qa", "ajuda-qa", "dev")


def test_every_built_in_environment_records_its_state_key_name():
    for env in config.load(overrides_file=""):
        assert env.state_key_name == env.name


def test_a_new_environment_must_record_its_state_key_name():
    with pytest.raises(ConfigError, match=r"qa\.state_key_name: record the name"):
        validate(replace(PROD, name="qa", state_key_name=None, storage=replace(PROD.storage, documents_bucket_name="qa-docs")))


# --- the type check covers settings added later ------------------------------------------------

@dataclass(frozen=True)
class _FutureSettings:
    """Shaped like a settings group another engineer might add: Optional and tuple fields."""

    retries: int | None = None
    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()


@pytest.mark.parametrize("value,setting", [
    (_FutureSettings(retries="3"), "x.retries"),  # type: ignore[arg-type]
    (_FutureSettings(retries=1.5), "x.retries"),  # type: ignore[arg-type]
    (_FutureSettings(hosts=("ok", 7)), "x.hosts[1]"),  # type: ignore[arg-type]
    (_FutureSettings(hosts=["ok"]), "x.hosts"),  # type: ignore[arg-type]
    (_FutureSettings(ports=(80, True)), "x.ports[1]"),
    (_FutureSettings(ports=(2**40,)), "x.ports[0]"),
])
def test_type_check_is_generic_over_optional_and_tuple_fields(value, setting):
    errors: list[str] = []
    _check_types(value, "x", errors)
    assert len(errors) == 1 and errors[0].startswith(f"{setting}:"), errors


def test_type_check_accepts_well_typed_future_settings():
    errors: list[str] = []
    _check_types(_FutureSettings(retries=None, hosts=("a",), ports=(1, 2)), "x", errors)
    _check_types(_FutureSettings(retries=3), "x", errors)
    assert errors == []


# --- image tag: one rule ------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["latest", "Latest", "LATEST", "main", "Master", "", ".v1", "-v1", "v1 2", "a" * 129, "vé"])
def test_image_tag_rule_rejects(tag):
    assert image_tag_problem(tag) is not None


@pytest.mark.parametrize("tag", ["v0.12.4", "0f3c2a9b1d4e", "release_2026-11-25", "a" * 128])
def test_image_tag_rule_accepts(tag):
    assert image_tag_problem(tag) is None


# --- region and partition ------------------------------------------------------------------------

@pytest.mark.parametrize("region,partition", [("us-east-1", "aws"), ("ap-southeast-2", "aws"),
                                              ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_partition_is_derived_from_the_region(region, partition):
    env = replace(PROD, region=region, state=replace(PROD.state, region=region))
    assert validate(env).partition == partition


def test_no_construct_or_stack_hard_codes_the_aws_partition():
    """ARNs name the partition of the region (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html)."""
    offenders = [str(path.relative_to(ROOT)) for folder in ("modules", "stacks") for path in (ROOT / folder).glob("*.py")
                 if "arn:aws:" in path.read_text()]
    assert offenders == []


def test_region_catalog_partitions_are_the_known_ones():
    assert set(catalog.PARTITION_BY_REGION.values()) == {"aws", "aws-cn", "aws-us-gov"}
    assert all(region in catalog.PARTITION_BY_REGION for region in catalog.ELB_ACCOUNT_BY_REGION)


# --- capacity as a validation rule ---------------------------------------------------------------

def test_prod_capacity_passes_with_the_surge_counted():
    peak = capacity.peak_connections(PROD.database, PROD.service)
    # 6 tasks x 200 % + 1 migration task, 2 x (10 + 10) + 3 + 2 connections each.
    assert capacity.peak_tasks(PROD.service) == 13 and peak == 13 * 45
    assert peak <= catalog.rds_connection_budget(PROD.database.instance_class)
    assert capacity.problem(PROD.database, PROD.service) is None


def test_pool_that_fits_only_without_the_surge_is_refused():
    # 7 steady tasks (6 + migration) x 115 = 805 fit a db.t4g.large (~810 slots); the 13 of a release do not.
    database = replace(PROD.database, instance_class="db.t4g.large", pool_size=50, pool_max_overflow=5)
    assert (PROD.service.max_count + 1) * capacity.connections_per_task(database) <= \
        catalog.rds_connection_budget("db.t4g.large")
    message = str(pytest.raises(ConfigError, validate, replace(PROD, database=database)).value)
    assert "prod.database.pool_size:" in message and "13 tasks" in message
