"""Public Application Load Balancer in front of the Open WebUI tasks, with HTTPS when a domain is set."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from constructs import Construct

from modules import checkov, firewall
from modules.firewall import HTTP_PORT, HTTPS_PORT

# Open WebUI waits up to AIOHTTP_CLIENT_TIMEOUT (300 s by default) for a model's answer and streams
# it as it comes; Socket.IO pings every 25 s. An ALB idle timeout at the app's own limit never cuts a
# request the app is still willing to serve (the ALB default, 60 s, cuts slow first tokens).
IDLE_TIMEOUT_SECONDS = 300
# TLS 1.2 and 1.3 only, forward-secret ciphers.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class LoadBalancerProps:
    name: str
    vpc_id: str
    subnet_ids: list[str]
    target_security_group_id: str
    target_port: int
    # A liveness path: one that does not fail when a dependency (database, cache) is slow.
    health_check_path: str
    log_bucket: str
    log_prefix: str
    deletion_protection: bool
    domain_name: str | None = None
    hosted_zone_id: str | None = None
    # How long a deregistered task keeps serving the requests (streamed answers) it already has.
    deregistration_delay_seconds: int = 30


class LoadBalancer(Construct):
    """Exposes ``lb`` (the balancer resource, for a web ACL to attach to), ``dns_name``, ``arn``, ``arn_suffix``,
    ``target_group_arn``, ``target_group_arn_suffix``, ``public_url``."""

    def __init__(self, scope: Construct, id: str, props: LoadBalancerProps) -> None:
        super().__init__(scope, id)
        group = firewall.security_group(self, "security-group", name=f"{props.name}-alb", vpc_id=props.vpc_id,
                                        description="Public load balancer: HTTP and HTTPS from the internet")
        https = props.domain_name is not None
        http_ingress = firewall.allow(self, f"internet-{HTTP_PORT}", port=HTTP_PORT, to_group_id=group.id,
                                      from_cidr="0.0.0.0/0", description="HTTP from the internet")
        if https:
            firewall.allow(self, f"internet-{HTTPS_PORT}", port=HTTPS_PORT, to_group_id=group.id, from_cidr="0.0.0.0/0",
                           description="HTTPS from the internet")
        checkov.skip(http_ingress, "CKV_AWS_260",
                     "Public load balancer: port 80 only redirects to HTTPS" if https
                     else "Public load balancer without a domain in this environment: HTTP on port 80 is its only listener")
        firewall.allow(self, "to-app", port=props.target_port, to_group_id=props.target_security_group_id,
                       from_group_id=group.id, description="Open WebUI from the load balancer")

        self.lb = Lb(
            self, "alb", name=f"{props.name}-alb", load_balancer_type="application", internal=False,
            security_groups=[group.id], subnets=props.subnet_ids, idle_timeout=IDLE_TIMEOUT_SECONDS,
            drop_invalid_header_fields=True, enable_deletion_protection=props.deletion_protection,
            access_logs={"bucket": props.log_bucket, "prefix": props.log_prefix, "enabled": True},
        )
        if not https:
            checkov.skip(self.lb, "CKV2_AWS_20", "No domain in this environment, so no certificate to redirect to")
        if not props.deletion_protection:
            checkov.skip(self.lb, "CKV_AWS_150", "Deletion protection off by configuration: disposable environment")

        self.target_group = LbTargetGroup(
            self, "targets", name=f"{props.name}-web", port=props.target_port, protocol="HTTP", target_type="ip",
            vpc_id=props.vpc_id, deregistration_delay=str(props.deregistration_delay_seconds),
            health_check={"path": props.health_check_path, "matcher": "200", "interval": 15, "timeout": 5,
                          "healthy_threshold": 2, "unhealthy_threshold": 3},
            # Socket.IO runs websocket-only in Open WebUI and app state is shared through Redis, so
            # a client needs no affinity to one task.
            stickiness={"type": "lb_cookie", "enabled": False},
        )
        if not https:
            checkov.skip(self.target_group, "CKV_AWS_378",
                         "No domain in this environment, so no certificate: the ALB listens on HTTP only")
        forward = [LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)]
        if props.domain_name is not None:
            certificate_arn = self._certificate(props.domain_name, props.hosted_zone_id)
            LbListener(self, "https", load_balancer_arn=self.lb.arn, port=HTTPS_PORT, protocol="HTTPS",
                       ssl_policy=TLS_POLICY, certificate_arn=certificate_arn, default_action=forward)
            http = LbListener(self, "http", load_balancer_arn=self.lb.arn, port=HTTP_PORT, protocol="HTTP", default_action=[
                LbListenerDefaultAction(type="redirect", redirect={"port": str(HTTPS_PORT), "protocol": "HTTPS",
                                                                   "status_code": "HTTP_301"})])
            checkov.skip(http, "CKV_AWS_2", "Port 80 only redirects to HTTPS")
            checkov.skip(http, "CKV_AWS_103", "Port 80 only redirects to HTTPS")
            self.public_url = f"https://{props.domain_name}"
        else:
            http = LbListener(self, "http", load_balancer_arn=self.lb.arn, port=HTTP_PORT, protocol="HTTP",
                              default_action=forward)
            checkov.skip(http, "CKV_AWS_2", "No domain in this environment, so no certificate: HTTP only")
            checkov.skip(http, "CKV_AWS_103", "No domain in this environment, so no certificate: HTTP only")
            self.public_url = f"http://{self.lb.dns_name}"

        self.dns_name = self.lb.dns_name
        self.arn = self.lb.arn
        self.arn_suffix = self.lb.arn_suffix
        self.target_group_arn = self.target_group.arn
        self.target_group_arn_suffix = self.target_group.arn_suffix

    def _certificate(self, domain_name: str, hosted_zone_id: str | None) -> str:
        if hosted_zone_id is None:
            raise ValueError(f"HTTPS for {domain_name} needs the hosted zone its certificate is validated in")
        certificate = AcmCertificate(self, "certificate", domain_name=domain_name, validation_method="DNS",
                                     lifecycle={"create_before_destroy": True})
        option = f"tolist({certificate.fqn}.domain_validation_options)[0]"
        record = Route53Record(
            self, "certificate-validation-record", zone_id=hosted_zone_id, allow_overwrite=True, ttl=300,
            name=f"${{{option}.resource_record_name}}", type=f"${{{option}.resource_record_type}}",
            records=[f"${{{option}.resource_record_value}}"],
        )
        validation = AcmCertificateValidation(self, "certificate-validation", certificate_arn=certificate.arn,
                                              validation_record_fqdns=[record.fqdn])
        return validation.certificate_arn
