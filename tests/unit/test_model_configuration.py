"""Model configuration (config.model.ModelsConfig / GatewayConfig) and the Bedrock catalog: bad values
stop the run with one ConfigError naming the setting; IAM resources follow the Bedrock documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from config import catalog
from config.environments import PROD
from config.model import ChatModel, ConfigError, validate

ROOT = Path(__file__).resolve().parents[2]


def with_models(**changes):
    return replace(PROD, models=replace(PROD.models, **changes))


def error_of(env) -> str:
    with pytest.raises(ConfigError) as raised:
        validate(env)
    return str(raised.value)


def test_every_environment_configures_models_the_catalog_knows():
    from config.environments import all_environments

    for env in all_environments().values():
        validate(env)
        assert env.models.default_model in [m.name for m in env.models.chat_models]
        assert env.models.embedding_model == "amazon.titan-embed-text-v2:0"


def test_unknown_model_id_names_the_setting():
    message = error_of(with_models(chat_models=PROD.models.chat_models + (ChatModel("anthropic.claude-9", "Claude 9"),)))
    assert "prod.models.chat_models[3].id: 'anthropic.claude-9' is not a known Bedrock model" in message


def test_model_outside_the_allowed_arns_names_the_setting():
    """A US inference profile cannot be called from eu-west-1, so its ARN there does not exist and the
    task role's allowed ARNs would not cover it ("Supported Regions and models for inference profiles",
    https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html)."""
    message = error_of(with_models(bedrock_region="eu-west-1"))
    assert "prod.models.chat_models[0].id: 'us.amazon.nova-lite-v1:0' cannot be invoked from bedrock_region 'eu-west-1'" in message
    assert "allowed ARNs" in message
    # A model with no on-demand Region at all must go through a profile.
    message = error_of(with_models(chat_models=(ChatModel("anthropic.claude-sonnet-4-20250514-v1:0", "Sonnet"),),
                                   default_model="Sonnet"))
    assert "prod.models.chat_models[0].id" in message and "use an inference profile" in message


def test_kind_dimension_default_and_names_are_checked():
    """Titan Text Embeddings V2 outputs 1024, 512 or 256 dimensions ("Amazon Titan Text Embeddings models",
    https://docs.aws.amazon.com/bedrock/latest/userguide/titan-embedding-models.html)."""
    assert "prod.models.embedding_dimension: amazon.titan-embed-text-v2:0 produces 1024, 512, 256 dimensions, not 1536" \
        in error_of(with_models(embedding_dimension=1536))
    assert "prod.models.embedding_model: 'us.amazon.nova-lite-v1:0' is a chat model, expected a embedding model" \
        in error_of(with_models(embedding_model="us.amazon.nova-lite-v1:0"))
    assert "prod.models.chat_models[0].id: 'amazon.titan-embed-text-v2:0' is a embedding model" \
        in error_of(with_models(chat_models=(ChatModel("amazon.titan-embed-text-v2:0", "Titan"),), default_model="Titan"))
    assert "prod.models.default_model: 'GPT' is not the name of a configured chat model" in error_of(with_models(default_model="GPT"))
    twice = PROD.models.chat_models[0]
    assert "prod.models.chat_models[1].name: 'Nova Lite' is used twice" in \
        error_of(with_models(chat_models=(twice, replace(PROD.models.chat_models[1], name=twice.name))))
    # DEFAULT_MODELS is comma-separated: a comma would split one model into two.
    assert "prod.models.chat_models[0].name" in error_of(with_models(
        chat_models=(replace(twice, name="Nova, Lite"),), default_model="Nova, Lite"))
    assert "prod.models.bedrock_region: 'mars-1' is not an AWS Region" in error_of(with_models(bedrock_region="mars-1"))


def test_gateway_service_settings_are_checked():
    """Fargate task sizes ("Amazon ECS task definition parameters for Fargate", task size table,
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)."""
    env = replace(PROD, gateway=replace(PROD.gateway, cpu=512, memory=512, image_tag="latest", port=80))
    message = error_of(env)
    assert "prod.gateway.memory: 512 MiB is not accepted by Fargate with cpu=512" in message
    assert "prod.gateway.image_tag: 'latest' is a floating tag" in message
    assert "prod.gateway.port: 80 must be an unprivileged TCP port" in message


def test_bad_model_configuration_exits_2_and_writes_nothing(tmp_path):
    """The command line path: one message naming the setting, exit code 2, no synthesized file."""
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"prod": {"models": {"embedding_model": "amazon.titan-embed-text-v9:0"}}}))
    outdir = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", "import sys, main; sys.exit(main.main())"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "AJUDA_CONFIG_FILE": str(overrides), "CDKTF_OUTDIR": str(outdir)}, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "prod.models.embedding_model: 'amazon.titan-embed-text-v9:0' is not a known Bedrock model" in result.stderr
    assert not outdir.exists() or not any(outdir.rglob("*.json"))


def test_inference_profile_arns_cover_every_destination_region():
    """An inference profile is authorised against the profile's ARN AND the foundation model's ARN in
    each Region it routes to ("Prerequisites for inference profiles",
    https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html); foundation-model
    ARNs carry no account ("Actions, resources, and condition keys for Amazon Bedrock",
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html)."""
    arns = catalog.bedrock_resource_arns("us.amazon.nova-lite-v1:0", "us-east-2", "111122223333")
    assert arns == [
        "arn:aws:bedrock:us-east-2:111122223333:inference-profile/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0",
    ]
    assert catalog.bedrock_resource_arns("amazon.titan-embed-text-v2:0", "eu-west-1", "111122223333") == [
        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"]
    for profile_id, profile in catalog.BEDROCK_INFERENCE_PROFILES.items():
        assert profile.model_id in catalog.BEDROCK_FOUNDATION_MODELS, profile_id
        assert profile_id.split(".", 1)[1] == profile.model_id, profile_id
