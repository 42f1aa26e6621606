"""The deploy roles as code (ci-access stack) and the state bucket that admits only them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from config.environments import PROD
from config.model import ConfigError, validate

ACCESS = PROD.state.access
REPO = ACCESS.github_repository
HOST = "token.actions.githubusercontent.com"


def _roles(synthesized) -> dict[str, dict]:
    return {r["name"]: r for r in synthesized.resources("ci-access", "aws_iam_role").values()}


def _trust(role: dict) -> dict:
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    return statement


def _inline(synthesized, role_name: str) -> list[dict]:
    (policy,) = [p for p in synthesized.resources("ci-access", "aws_iam_role_policy").values()
                 if role_name in p["role"] or p["role"] == role_name]
    return json.loads(policy["policy"])["Statement"]


def test_provider_and_one_apply_role_per_environment(synthesized):
    """The provider URL is GitHub's issuer and the client id (audience) is sts.amazonaws.com.

    "Configuring OpenID Connect in Amazon Web Services", GitHub Docs:
    https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services
    """
    (provider,) = synthesized.resources("ci-access", "aws_iam_openid_connect_provider").values()
    assert provider["url"] == f"https://{HOST}" and provider["client_id_list"] == ["sts.amazonaws.com"]
    assert set(_roles(synthesized)) == {"ajuda-github-plan", "ajuda-github-apply-dev", "ajuda-github-apply-staging",
                                        "ajuda-github-apply-prod"}
    # Only real accounts get GitHub's roles; the emulator deployment has none.
    assert "ci-access" in synthesized.stacks and not [s for s in synthesized.stacks if "local" in s and "access" in s]


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_each_apply_role_trusts_only_its_github_environment(synthesized, environment):
    """Roles for OIDC federation must condition on the token's aud and sub claims.

    "Create a role for OpenID Connect federation (console)", IAM User Guide:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html
    """
    trust = _trust(_roles(synthesized)[f"ajuda-github-apply-{environment}"])
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "aws_iam_openid_connect_provider" in trust["Principal"]["Federated"]
    assert trust["Condition"] == {"StringEquals": {
        f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": [f"repo:{REPO}:environment:ajuda-{environment}"]}}


def test_the_plan_role_trusts_pull_requests_and_main_and_only_reads(synthesized):
    role = _roles(synthesized)["ajuda-github-plan"]
    subjects = _trust(role)["Condition"]["StringEquals"][f"{HOST}:sub"]
    assert subjects == sorted([f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main"])
    attached = {a["policy_arn"] for a in synthesized.resources("ci-access", "aws_iam_role_policy_attachment").values()
                if "plan" in a["role"]}
    assert attached == {"arn:aws:iam::aws:policy/ReadOnlyAccess"}
    writes = {s["Sid"]: s for s in _inline(synthesized, "plan") if any("Put" in a for a in s["Action"])}
    assert set(writes) == {"SavePlans", "Lock"}
    assert writes["SavePlans"]["Resource"].endswith("/plans/*")


def test_an_apply_role_reaches_only_its_own_state_and_roles(synthesized):
    statements = {s["Sid"]: s for s in _inline(synthesized, "apply-dev")}
    assert statements["OwnState"]["Resource"] == "arn:aws:s3:::ajuda-digital-terraform-state/ajuda-digital/ajuda-dev*"
    assert statements["OwnRoles"]["Resource"].endswith(":role/ajuda-dev-*")
    assert statements["Lock"]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        "ajuda-digital-terraform-state/ajuda-digital/ajuda-dev*"]
    assert statements["ReadPlans"]["Resource"].endswith("/plans/ajuda-dev/*")


def test_the_state_bucket_denies_everyone_but_the_deploy_and_break_glass_roles(synthesized):
    """A Deny with aws:PrincipalArn (the role ARN for assumed-role sessions) overrides every Allow.

    "AWS global condition context keys: aws:PrincipalArn", IAM User Guide:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
    "Policy evaluation logic" (an explicit deny overrides any allow):
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    statements = {s["Sid"]: s for s in json.loads(synthesized.one("bootstrap", "aws_s3_bucket_policy")["policy"])["Statement"]}
    deny = statements["DenyAllButDeployRoles"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"} and deny["Action"] == ["s3:*"]
    bucket, objects = deny["Resource"]
    assert bucket.startswith("${aws_s3_bucket.") and objects == f"{bucket}/*"
    admitted = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    names = sorted(arn.rsplit("/", 1)[1] for arn in admitted)
    assert names == sorted(["ajuda-github-plan", "ajuda-github-apply-dev", "ajuda-github-apply-staging",
                            "ajuda-github-apply-prod", "ajuda-break-glass"])
    assert all(arn.startswith("arn:aws:iam::${data.aws_caller_identity.") and ":role/" in arn for arn in admitted)


def test_the_emulator_keeps_the_deny_switched_off(synthesized):
    """moto applies a bucket policy's Deny without evaluating its condition (EmulatorConfig); with
    the TLS-only statement off too, the emulator's state bucket has no policy at all."""
    assert synthesized.resources("local-bootstrap", "aws_s3_bucket")
    statements = [s for p in synthesized.resources("local-bootstrap", "aws_s3_bucket_policy").values()
                  for s in json.loads(p["policy"])["Statement"]]
    assert "DenyAllButDeployRoles" not in {s["Sid"] for s in statements}
    assert "DenyAllButDeployRoles" in synthesized.text("bootstrap")


@pytest.mark.parametrize("change,setting", [
    (lambda a: replace(a, github_repository="no-slash"), "prod.state.access.github_repository"),
    (lambda a: replace(a, plan_role_name="x" * 65), "prod.state.access.role_names"),
    (lambda a: replace(a, break_glass_role_name="ajuda-github-plan"), "prod.state.access.role_names"),
    (lambda a: replace(a, environments=()), "prod.state.access.environments"),
])
def test_bad_deploy_access_is_a_configuration_error(change, setting):
    """IAM role names: up to 64 characters of letters, digits and +=,.@_-.

    "IAM and AWS STS quotas" / CreateRole RoleName, IAM API Reference:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
    """
    env = replace(PROD, state=replace(PROD.state, access=change(ACCESS)))
    with pytest.raises(ConfigError, match=setting.replace(".", r"\.")):
        validate(env)
