"""Gaps the real application showed in the synthesized configuration, now closed and guarded.

Runs last: test_5's egress check covers everything before it.
"""

from __future__ import annotations

import time

import requests


def test_listing_models_makes_no_outbound_call(cluster, admin):
    replica = cluster.replicas[0]
    before = len(cluster.egress.attempts)
    response = requests.get(f"{replica.url}/api/models", headers={"Authorization": f"Bearer {admin['token']}"},
                            timeout=60)
    assert response.status_code == 200, response.text
    time.sleep(0.5)
    attempts = cluster.egress.attempts[before:]
    assert attempts == [], attempts
    assert "localhost:11434" not in replica.log_text(), "Ollama default URL contacted"


def test_the_migration_task_leaves_nothing_for_the_replicas_to_create(cluster):
    assert "document_chunk" in cluster.tables_after_migration
    assert cluster.concurrent_boot is True
