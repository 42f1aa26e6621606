"""A tens-of-MB Socket.IO event does not disconnect a replica's Redis subscriber (issue #9, item 6).

Open WebUI fans every Socket.IO event out through one pub/sub channel; a single chat:completion
event reached ~33 MB in open-webui #25975 (45 MB in #29833). Valkey disconnects a subscriber whose
output buffer passes client-output-buffer-limit pubsub (default 32 MiB hard), and then the answer
is never delivered. ElastiCache exposes the limit as the parameters
client-output-buffer-limit-pubsub-hard-limit / -soft-limit / -soft-seconds ("Valkey and Redis OSS
parameters", https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html).
Here a real redis-server runs with the synthesized prod parameter group translated to redis.conf,
and a subscriber that is slow to read receives a 48 MiB event; with the defaults it is dropped.
"""

from __future__ import annotations

import secrets
import socket
import time

import pytest

from tests.support import missing
from tests.support import redis as redis_support

PROD_STACK = "ajuda-prod"
EVENT_BYTES = 48 * 1024 * 1024
CHANNEL = "socketio"


@pytest.fixture(scope="module", autouse=True)
def redis_server_binary():
    try:
        redis_support.server_binary()
    except redis_support.RedisUnavailable as exc:
        missing(str(exc))


def _slow_subscriber(server: redis_support.RedisServer) -> socket.socket:
    """Subscribed, then never reading: everything published piles up in its output buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small receive window keeps the kernel from absorbing the event instead of the server buffer.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((server.host, server.port))
    reader = redis_support._Reader(sock)
    sock.sendall(redis_support._encode("AUTH", server.password))
    reader.read()
    sock.sendall(redis_support._encode("SUBSCRIBE", CHANNEL))
    reader.read()
    return sock


def _subscriber_survives(directives: list[str]) -> bool:
    server = redis_support.start("Tok<en>$^#!&-" + secrets.token_hex(8), directives=directives)
    try:
        subscriber = _slow_subscriber(server)
        try:
            receivers = server.command("PUBLISH", CHANNEL, b"x" * EVENT_BYTES, timeout=30)
            assert receivers == 1
            time.sleep(0.5)
            clients = server.command("CLIENT", "LIST").decode()
            return any(" sub=1 " in line for line in clients.splitlines())
        finally:
            subscriber.close()
    finally:
        server.stop()


def test_prod_parameter_group_keeps_a_subscriber_through_a_large_event(synthesized):
    parameters = redis_support.synthesized_cache_parameters(synthesized.stack(PROD_STACK))
    directives = redis_support.directives_from_parameter_group(parameters)
    assert directives, "the prod stack has no cache parameter group"
    assert _subscriber_survives(directives)


def test_default_limits_drop_the_subscriber():
    """Control: the same event with Valkey's defaults disconnects the subscriber."""
    assert not _subscriber_survives([])
