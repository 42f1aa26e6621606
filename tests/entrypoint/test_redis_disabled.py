"""AJUDA_REDIS_DISABLED: the restore drill's task keeps off the live Redis although ECS injects its secret."""

from __future__ import annotations

from tests.entrypoint.test_entrypoint import REDIS_TOKEN, assert_no_secret, run_entrypoint, run_probe


def test_disabled_redis_composes_no_url_even_with_host_and_token(app_database, tmp_path):
    env = {**app_database, "AJUDA_REDIS_HOST": "master.ajuda.cache.amazonaws.com", "AJUDA_REDIS_PASSWORD": REDIS_TOKEN,
           "AJUDA_REDIS_DISABLED": "true"}
    result, report = run_probe(tmp_path, env, connect=False)
    assert report["env"]["REDIS_URL"] is None and report["env"]["WEBSOCKET_REDIS_URL"] is None
    assert report["env"]["AJUDA_REDIS_PASSWORD"] is None
    assert_no_secret(result.stdout + result.stderr, REDIS_TOKEN)


def test_disabled_redis_with_a_token_only_is_no_error(app_database, tmp_path):
    _, report = run_probe(tmp_path, {**app_database, "AJUDA_REDIS_PASSWORD": REDIS_TOKEN, "AJUDA_REDIS_DISABLED": "true"},
                          connect=False)
    assert report["env"]["REDIS_URL"] is None


def test_a_wrong_switch_value_is_refused(app_database):
    result = run_entrypoint({**app_database, "AJUDA_REDIS_DISABLED": "yes"}, "true")
    assert result.returncode == 64 and "AJUDA_REDIS_DISABLED must be true or false" in result.stderr
