"""deploy/: the Compose file validates (docker-compose config) and says what the deployment promises —
Kafka in KRaft mode with 3 brokers, replication 3, min ISR 2; PostgreSQL; a one-off migration job;
every service with two replicas, configured by environment only."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from egov.bootstrap import SERVICES

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed (.ci/run installs it)")
def test_docker_compose_config_validates_the_file():
    r = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_deployment_is_what_the_notes_say():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    brokers = [s for name, s in services.items() if name.startswith("kafka")]
    assert len(brokers) == 3
    for b in brokers:
        env = b["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert "postgres" in services
    assert services["migrate"]["command"][:2] == ["egov", "migrate"]
    for name in SERVICES:
        assert services[name]["deploy"]["replicas"] == 2, name
        assert services[name]["environment"]["EGOV_DB_SERVER"].startswith("postgresql+asyncpg://")
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
