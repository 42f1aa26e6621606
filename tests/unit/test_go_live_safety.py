"""Go-live safety: the operator is the first admin, Google domains are explicit, admin-supplied Python is
off, and draining is sized from the longest answer (issue 14)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

import config
from config import catalog
from config.environments import PROD
from config.model import ConfigError, validate
from modules import open_webui as ow
from modules.service import CONTAINER_NAME

APP_STACKS = ["ajuda-prod", "ajuda-staging", "ajuda-dev", "ajuda-local"]
ADMIN_SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ajuda/admin-AbCdEf"


def error_of(env) -> str:
    with pytest.raises(ConfigError) as caught:
        validate(env)
    return str(caught.value)


def with_auth(**changes):
    return replace(PROD, auth=replace(PROD.auth, **changes))


def container(synthesized, stack: str, name: str = CONTAINER_NAME) -> dict:
    """Open WebUI's container, or another service's (the stack holds the model gateway's too)."""
    (found,) = [c for task in synthesized.resources(stack, "aws_ecs_task_definition").values()
                for c in json.loads(task["container_definitions"]) if c["name"] == name]
    return found


def environment(synthesized, stack: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(synthesized, stack)["environment"]}


def environment_config(stack: str):
    return next(e for e in config.load(overrides_file="") if e.stack_name == stack)


# --- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("admin_email", [None, "", "not-an-address", "two@@example.tl"])
def test_an_environment_without_the_operators_email_is_refused(admin_email):
    message = error_of(with_auth(admin_email=admin_email))
    assert "prod.auth.admin_email" in message
    # An empty text is refused by the generic type check (config/model.py _check_value) before this rule.
    assert "first sign-up becomes the admin" in message or (admin_email == "" and "non-empty" in message)


def test_google_sign_in_needs_named_domains_or_an_explicit_any():
    assert "prod.auth.oauth_allowed_domains" in error_of(with_auth(oauth_allowed_domains=()))
    both = error_of(with_auth(oauth_allowed_domains=("ajudadigital.tl",), oauth_any_domain=True))
    assert "prod.auth.oauth_allowed_domains" in both and "not both" in both
    assert "prod.auth.oauth_allowed_domains[1]" in error_of(with_auth(oauth_allowed_domains=("gov.tl", "not a domain")))


def test_any_google_domain_may_sign_up_only_as_pending():
    anyone = dict(oauth_allowed_domains=(), oauth_any_domain=True)
    assert "prod.auth.oauth_any_domain" in error_of(with_auth(default_user_role="user", **anyone))
    assert validate(with_auth(default_user_role="pending", **anyone))


def test_without_google_no_domain_list_is_needed():
    assert validate(with_auth(google_oauth=False, oauth_allowed_domains=()))


@pytest.mark.parametrize("seconds,ok", [
    (1, True), (catalog.FARGATE_MAX_STOP_TIMEOUT_SECONDS - catalog.SHUTDOWN_MARGIN_SECONDS, True),
    (0, False), (catalog.FARGATE_MAX_STOP_TIMEOUT_SECONDS - catalog.SHUTDOWN_MARGIN_SECONDS + 1, False), (300, False),
])
def test_longest_answer_keeps_stop_timeout_within_fargates_cap(seconds, ok):
    """Amazon ECS API Reference, ContainerDefinition (stopTimeout): "For tasks that use the Fargate
    launch type, the max stop timeout value is 120 seconds".
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html"""
    env = replace(PROD, service=replace(PROD.service, longest_answer_seconds=seconds))
    if ok:
        assert validate(env).service.drain_seconds <= catalog.FARGATE_MAX_STOP_TIMEOUT_SECONDS
    else:
        message = error_of(env)
        assert "prod.service.longest_answer_seconds" in message and "120 s" in message


def test_overrides_cannot_carry_the_admin_password(tmp_path):
    overrides = tmp_path / "o.json"
    overrides.write_text(json.dumps({"prod": {"auth": {"admin_password": "hunter2"}}}))
    with pytest.raises(ConfigError, match="prod.auth.admin_password: secrets are never configuration"):
        config.load(overrides_file=str(overrides))


# --- the container contract (no synthesis) -------------------------------------------------------

def _settings(**changes) -> ow.OpenWebUISettings:
    values = dict(public_url="https://ajuda.example.tl", aws_region="us-east-1", documents_bucket="docs",
                  database_host="db", database_port="5432", database_name="ajuda",
                  database_credentials_secret_arn="arn:db", webui_secret_key_secret_arn="arn:key",
                  admin_email="ops@example.tl", admin_password_secret_arn=ADMIN_SECRET, longest_answer_seconds=90)
    values.update(changes)
    return ow.OpenWebUISettings(**values)


def test_admin_email_is_plain_configuration_and_its_password_an_ecs_secret():
    s = _settings()
    env, secrets = ow.container_environment(s), ow.container_secrets(s)
    assert env["WEBUI_ADMIN_EMAIL"] == "ops@example.tl" and "WEBUI_ADMIN_PASSWORD" not in env
    assert secrets["WEBUI_ADMIN_PASSWORD"] == ADMIN_SECRET and ADMIN_SECRET in ow.secret_arns(s)
    with pytest.raises(ValueError, match="admin_email and admin_password_secret_arn"):
        _settings(admin_password_secret_arn=None)


def test_admin_supplied_python_is_off_unless_configured():
    env = ow.container_environment(_settings())
    assert env["ENABLE_PLUGINS"] == "false" and env["ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS"] == "false"
    assert ow.container_environment(_settings(admin_plugins=True))["ENABLE_PLUGINS"] == "true"


def test_every_model_call_is_bounded_by_the_longest_answer():
    assert ow.container_environment(_settings())["AIOHTTP_CLIENT_TIMEOUT"] == "90"
    assert "AIOHTTP_CLIENT_TIMEOUT" not in ow.container_environment(_settings(longest_answer_seconds=None))


# --- synthesized ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", APP_STACKS)
def test_admin_account_is_configured_with_a_generated_password(synthesized, stack):
    env_config = environment_config(stack)
    task = container(synthesized, stack)
    env = {e["name"]: e["value"] for e in task["environment"]}
    assert env["WEBUI_ADMIN_EMAIL"] == env_config.auth.admin_email
    value_from = {s["name"]: s["valueFrom"] for s in task["secrets"]}["WEBUI_ADMIN_PASSWORD"]
    secret_id = re.fullmatch(r"\$\{aws_secretsmanager_secret\.([^.]+)\.arn\}", value_from).group(1)
    secret = synthesized.resources(stack, "aws_secretsmanager_secret")[secret_id]
    assert secret["name"] == f"{stack}/webui-admin-password"
    assert synthesized.stack(stack)["output"]["admin_password_secret_arn"]["value"] == value_from
    # Generated by Secrets Manager at apply time, short enough for bcrypt (72 bytes).
    # A data source, or an ephemeral resource when the value is write-only (never in state).
    stack_json = synthesized.stack(stack)
    generators = {**stack_json.get("data", {}).get("aws_secretsmanager_random_password", {}),
                  **stack_json.get("ephemeral", {}).get("aws_secretsmanager_random_password", {})}
    (generator,) = [g for k, g in generators.items() if k.startswith("webui-admin-password")]
    assert 20 <= generator["password_length"] <= 72
    policy = synthesized.one(stack, "aws_iam_role_policy", "service_execution-policy")["policy"]
    assert f"aws_secretsmanager_secret.{secret_id}.arn" in policy


def test_prod_names_its_google_domains(synthesized):
    env = environment(synthesized, "ajuda-prod")
    assert env["OAUTH_ALLOWED_DOMAINS"] == ",".join(PROD.auth.oauth_allowed_domains) and "*" not in env["OAUTH_ALLOWED_DOMAINS"]
    assert env["DEFAULT_USER_ROLE"] == "pending" and env["ENABLE_PLUGINS"] == "false"


@pytest.mark.parametrize("stack", APP_STACKS)
def test_draining_and_stop_timeout_cover_the_longest_answer(synthesized, stack):
    """Elastic Load Balancing User Guide, "Edit target group attributes for your Application Load Balancer",
    deregistration delay: the load balancer stops sending new requests to a deregistering target and lets
    in-flight requests finish; range 0-3600 s.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay
    Amazon ECS API Reference, ContainerDefinition: stopTimeout at most 120 s on Fargate.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html"""
    service = environment_config(stack).service
    env = environment(synthesized, stack)
    longest = int(env["AIOHTTP_CLIENT_TIMEOUT"])
    assert longest == service.longest_answer_seconds
    stop_timeout = container(synthesized, stack)["stopTimeout"]
    delay = int(synthesized.one(stack, "aws_lb_target_group", "load-balancer_targets")["deregistration_delay"])
    assert longest < stop_timeout <= catalog.FARGATE_MAX_STOP_TIMEOUT_SECONDS
    assert longest < delay <= catalog.ALB_MAX_DEREGISTRATION_DELAY_SECONDS
    assert stop_timeout == delay == service.drain_seconds


@pytest.mark.parametrize("stack", APP_STACKS)
def test_the_model_gateway_drains_as_long_as_open_webui(synthesized, stack):
    """Every streamed answer also passes through the gateway: a gateway deploy must not cut it either."""
    from modules import model_gateway

    service = environment_config(stack).service
    gateway = container(synthesized, stack, model_gateway.CONTAINER_NAME)
    (group,) = [g for g in synthesized.resources(stack, "aws_lb_target_group").values() if g["name"].endswith("-gw")]
    assert gateway["stopTimeout"] == int(group["deregistration_delay"]) == service.drain_seconds
