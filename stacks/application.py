"""One environment's application stack: network, load balancer, Open WebUI on ECS, RDS, Valkey, S3, ECR."""

from __future__ import annotations

import json

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs import Construct

from config import capacity, catalog
from config.model import EnvironmentConfig, image_reference
from modules import firewall, model_gateway, open_webui, waf
from modules.backup import Backup, BackupProps
from modules.cache import Cache, CacheProps
from modules.database import Database, DatabaseProps
from modules.encryption import EncryptionKey, EncryptionKeyProps
from modules.gateway import Gateway, GatewayProps
from modules.load_balancer import LoadBalancer, LoadBalancerProps
from modules.network import Network, NetworkProps
from modules.observability import Observability, ObservabilityProps, deployment_alarm_names
from modules.registry import Registry, RegistryProps
from modules.secrets import Secret, SecretProps
from modules.service import CONTAINER_NAME, Service, ServiceProps
from modules.storage import ALB_LOG_PREFIX, Storage, StorageProps
from modules.waf import WebAcl, WebAclProps
from stacks.common import aws_provider, s3_backend

# bcrypt, Open WebUI's password hash, refuses passwords over 72 bytes (utils/auth.py:49).
ADMIN_PASSWORD_LENGTH = 40


class ApplicationStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        aws_provider(self, env)
        s3_backend(self, env, id)
        name = env.stack_name
        account_id = DataAwsCallerIdentity(self, "account").account_id

        key = EncryptionKey(self, "encryption", EncryptionKeyProps(alias=name, account_id=account_id, region=env.region,
                                                                   partition=env.partition,
                                                                   prevent_destroy=env.operations.prevent_destroy))
        network = Network(self, "network", NetworkProps(config=env.network, name=name, region=env.region,
                                                        account_id=account_id, kms_key_arn=key.arn))
        app_group = firewall.security_group(self, "app-security-group", name=f"{name}-app", vpc_id=network.vpc_id,
                                            description="Open WebUI tasks: from the load balancer only")
        # Tasks call AWS APIs (ECR, Secrets Manager, S3, CloudWatch) and Google's OAuth token endpoint
        # through the NAT gateway; Google publishes no fixed address range to narrow this to.
        firewall.allow_egress_to_cidr(self, "app-https-out", group_id=app_group.id, port=firewall.HTTPS_PORT,
                                      cidr="0.0.0.0/0",
                                      description="HTTPS to AWS APIs and Google OAuth via NAT")

        storage = Storage(self, "storage", StorageProps(config=env.storage, name=name, region=env.region,
                                                        account_id=account_id, kms_key_arn=key.arn,
                                                        deny_insecure_transport=env.tls_only_bucket_policy,
                                                        partition=env.partition,
                                                        prevent_destroy=env.operations.prevent_destroy))
        registry = Registry(self, "registry", RegistryProps(repository_name=env.service.image_repository_name,
                                                             kms_key_arn=key.arn, force_delete=env.storage.force_destroy))
        load_balancer = LoadBalancer(self, "load-balancer", LoadBalancerProps(
            name=name, vpc_id=network.vpc_id, subnet_ids=network.public_subnet_ids,
            target_security_group_id=app_group.id, target_port=open_webui.CONTAINER_PORT,
            health_check_path=open_webui.HEALTH_CHECK_PATH,
            log_bucket=storage.log_archive.name, log_prefix=ALB_LOG_PREFIX,
            deletion_protection=env.operations.deletion_protection,
            domain_name=env.domain.name if env.https else None, hosted_zone_id=env.domain.hosted_zone_id,
            deregistration_delay_seconds=env.service.drain_seconds,
        ))
        database = Database(self, "database", DatabaseProps(
            config=env.database, name=name, vpc_id=network.vpc_id, subnet_ids=network.database_subnet_ids,
            client_security_group_id=app_group.id, kms_key_arn=key.arn, account_id=account_id, partition=env.partition,
            log_retention_days=env.service.log_retention_days, prevent_destroy=env.operations.prevent_destroy,
        ))
        cache = None
        if env.cache_enabled:
            cache = Cache(self, "cache", CacheProps(config=env.cache, name=name, vpc_id=network.vpc_id,
                                                    subnet_ids=network.app_subnet_ids,
                                                    client_security_group_id=app_group.id, kms_key_arn=key.arn))

        secrets = self._application_secrets(env, name, key.arn)
        gateway, gateway_images = self._model_gateway(env, name, account_id, key.arn, network, app_group.id)
        settings = open_webui.OpenWebUISettings(
            public_url=load_balancer.public_url,
            aws_region=env.region,
            documents_bucket=storage.documents.name,
            database_host=database.address,
            database_port=database.port,
            database_name=database.database_name,
            database_credentials_secret_arn=secrets["database"].arn,
            webui_secret_key_secret_arn=secrets["webui"].arn,
            redis_host=cache.host if cache else None,
            redis_port=cache.port if cache else str(catalog.VALKEY_PORT),
            redis_auth_secret_arn=cache.auth_secret_arn if cache else None,
            google_client_id=env.auth.google_client_id if env.auth.google_oauth else None,
            google_client_secret_arn=secrets["google"].arn if "google" in secrets else None,
            enable_signup=env.auth.email_signup,
            default_user_role=env.auth.default_user_role,
            database_pool_size=env.database.pool_size,
            database_pool_max_overflow=env.database.pool_max_overflow,
            vector_pool_size=env.database.vector_pool_size,
            vector_pool_max_overflow=env.database.vector_pool_max_overflow,
            admin_email=env.auth.admin_email,
            admin_password_secret_arn=secrets["admin"].arn,
            oauth_allowed_domains=env.auth.oauth_allowed_domains,
            admin_plugins=env.auth.admin_plugins,
            longest_answer_seconds=env.service.longest_answer_seconds,
            **self._model_settings(env, gateway),
            # The ALB's nodes take their addresses from the subnets it is attached to.
            forwarded_allow_ips=",".join(env.network.public_subnet_cidrs),
        )
        service = Service(self, "service", ServiceProps(
            config=env.service, name=name, region=env.region, account_id=account_id,
            subnet_ids=network.app_subnet_ids, security_group_id=app_group.id,
            target_group_arn=load_balancer.target_group_arn,
            request_count_resource_label=f"{load_balancer.arn_suffix}/{load_balancer.target_group_arn_suffix}",
            # The release is reviewed data (config/environments.py RELEASES), never a variable a
            # pipeline could forget to set (which would silently roll the service back).
            image=image_reference(registry.repository_url, env.service),
            kms_key_arn=key.arn, documents_bucket_arn=storage.documents.arn, repository_arn=registry.repository_arn,
            environment=open_webui.container_environment(settings),
            secrets=open_webui.container_secrets(settings),
            secret_arns=open_webui.secret_arns(settings),
            deployment_alarm_names=deployment_alarm_names(name),
        ))
        gateway.run_in(service.cluster_arn)
        if env.waf_enabled:
            WebAcl(self, "waf", WebAclProps(name=name, load_balancer=load_balancer.lb,
                                             rate_limit_per_5_minutes=env.operations.waf_rate_limit_per_5_minutes,
                                             log_retention_days=env.operations.waf_log_retention_days,
                                             kms_key_arn=key.arn))
        else:
            waf.unprotected(load_balancer.lb)
        observability = Observability(self, "observability", ObservabilityProps(
            name=name, region=env.region, kms_key_arn=key.arn, alarm_email=env.operations.alarm_email,
            load_balancer_arn_suffix=load_balancer.arn_suffix,
            target_group_arn_suffix=load_balancer.target_group_arn_suffix,
            cluster_name=service.cluster_name, service_name=service.service_name,
            log_group_name=env.service.log_group_name,
            db_instance_identifier=database.identifier,
            db_connections_alarm_threshold=capacity.alarm_threshold(env.database, env.service),
            db_allocated_storage_gb=env.database.allocated_storage_gb,
            db_memory_gib=catalog.RDS_INSTANCE_MEMORY_GIB[env.database.instance_class],
            cache_node_id=cache.primary_node_id if cache else None,
            gateway_load_balancer_arn_suffix=gateway.arn_suffix,
            gateway_target_group_arn_suffix=gateway.target_group_arn_suffix,
            bedrock_region=env.models.bedrock_region,
            bedrock_models=model_gateway.alarm_models(env.models),
        ))

        backup = None
        if env.backup.enabled:
            copy_provider = None
            if env.backup.copy_region is not None:
                copy_provider = aws_provider(self, env, region=env.backup.copy_region, alias="backup-copy")
            backup = Backup(self, "backup", BackupProps(
                config=env.backup, name=name, region=env.region, account_id=account_id, partition=env.partition,
                database_arn=database.instance.arn, documents_bucket_arn=storage.documents.arn,
                documents_bucket_name=env.storage.documents_bucket_name, kms_key_arn=key.arn,
                selection=env.backup_selection_enabled, copy_provider=copy_provider,
            ))

        outputs = {
            "alb_dns_name": load_balancer.dns_name,
            "url": load_balancer.public_url,
            "ecr_repository_url": registry.repository_url,
            "db_endpoint": database.address,
            "db_master_secret_arn": database.master_secret_arn,
            "app_db_secret_arn": secrets["database"].arn,
            "documents_bucket": storage.documents.name,
            "cluster_name": service.cluster_name,
            "service_name": service.service_name,
            "task_definition_arn": service.task_definition_arn,
            "app_subnet_ids": network.app_subnet_ids,
            "app_security_group_id": app_group.id,
            "alarm_topic_arn": observability.topic_arn,
            # Where the first admin's generated password is (aws secretsmanager get-secret-value).
            "admin_password_secret_arn": secrets["admin"].arn,
            "db_instance_identifier": database.identifier,
            # `aws ecs run-task --overrides` for the one-off migration run of a release (README).
            "migration_overrides": json.dumps({"containerOverrides": [
                open_webui.migration_container_override(CONTAINER_NAME)]}),
            "gateway_ecr_repository_url": gateway_images.repository_url,
            "gateway_task_definition_arn": gateway.task_definition_arn,
            "gateway_url": gateway.base_url,
        }
        if backup is not None:
            outputs["backup_vault_name"] = backup.vault_name
        for output_name, value in outputs.items():
            TerraformOutput(self, output_name, value=value)

    def _model_gateway(self, env: EnvironmentConfig, name: str, account_id: str, kms_key_arn: str,
                       network: Network, app_group_id: str) -> tuple[Gateway, Registry]:
        """LiteLLM in front of Bedrock, with its own key, image repository and log group."""
        key = Secret(self, "model-gateway-key", SecretProps(
            name=f"{name}/model-gateway-key", kms_key_arn=kms_key_arn, generated_length=48,
            value_prefix=model_gateway.KEY_PREFIX, alphanumeric=True,
            description="LITELLM_MASTER_KEY of the model gateway; Open WebUI presents it as its OpenAI API key",
            rotation_note="Both services read it at start: replace the value, then redeploy the gateway and Open WebUI"))
        registry = Registry(self, "gateway-images", RegistryProps(
            repository_name=env.gateway.image_repository_name, kms_key_arn=kms_key_arn,
            force_delete=env.storage.force_destroy))
        gateway = Gateway(self, "model-gateway", GatewayProps(
            config=env.gateway, models=env.models, name=name, region=env.region, account_id=account_id,
            vpc_id=network.vpc_id, subnet_ids=network.app_subnet_ids, client_security_group_id=app_group_id,
            image=f"{registry.repository_url}:{env.gateway.image_tag}", repository_arn=registry.repository_arn,
            kms_key_arn=kms_key_arn, master_key_secret_arn=key.arn, log_retention_days=env.service.log_retention_days,
            drain_seconds=env.service.drain_seconds))
        return gateway, registry

    @staticmethod
    def _model_settings(env: EnvironmentConfig, gateway: Gateway) -> dict:
        """The Open WebUI settings that point chat and retrieval at the gateway."""
        return {
            "model_gateway_url": gateway.base_url,
            "model_gateway_key_secret_arn": gateway.master_key_secret_arn,
            "chat_models": tuple(m.name for m in env.models.chat_models),
            "default_model": env.models.default_model,
            "embedding_model": model_gateway.EMBEDDING_MODEL_NAME,
            "embedding_dimension": env.models.embedding_dimension,
        }

    def _application_secrets(self, env: EnvironmentConfig, name: str, kms_key_arn: str) -> dict[str, Secret]:
        """The secrets the app reads; generated ones are never typed by a person."""
        secrets = {
            "webui": Secret(self, "webui-secret-key", SecretProps(
                name=f"{name}/webui-secret-key", kms_key_arn=kms_key_arn, generated_length=64,
                description="WEBUI_SECRET_KEY: signs sessions, OAuth state and tokens on every replica",
                rotation_note="Rotating signs every user out; replace the value and redeploy in a quiet hour")),
            "database": Secret(self, "app-database-credentials", SecretProps(
                name=env.names.app_database_secret, kms_key_arn=kms_key_arn, generated_length=40,
                username=env.database.app_username,
                description="Open WebUI's least-privilege PostgreSQL role (created by the database stack)")),
        }
        # Validation makes auth.admin_email mandatory: the operator's account exists before any sign-up.
        secrets["admin"] = Secret(self, "webui-admin-password", SecretProps(
            name=f"{name}/webui-admin-password", kms_key_arn=kms_key_arn, generated_length=ADMIN_PASSWORD_LENGTH,
            description=f"Password of the site's first admin ({env.auth.admin_email}), created at first start",
            rotation_note="Used once, when the admin account is created; afterwards the admin changes it in the app"))
        if env.auth.google_oauth:
            secrets["google"] = Secret(self, "google-client-secret", SecretProps(
                name=f"{name}/google-client-secret", kms_key_arn=kms_key_arn, generated_length=None,
                description="Google OAuth client secret: issued by Google, put here with put-secret-value",
                rotation_note="Issued by Google: rotate it in Google Cloud Console, then put the new value"))
        return secrets
