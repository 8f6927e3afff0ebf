"""deploy/: the Compose file validates (docker-compose config) and says what the deployment promises —
Kafka in KRaft mode with 3 brokers, replication 3, min ISR 2, the topics' partitions as the code makes
them; PostgreSQL; a one-off migration job; every service with two replicas, configured by environment
only; behind the proxy every web page reaches the web pages and every API route its service; every log
line JSON."""
from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from egov.bootstrap import PROCESSES, SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"


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


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _port(service: dict) -> int:
    command = service["command"]
    return int(command[command.index("--port") + 1])


def _locations() -> dict[str, tuple[str, int, str | None]]:
    """nginx.conf's locations: prefix → (upstream host, port, the prefix its rewrite strips or None)."""
    out = {}
    for prefix, body in re.findall(r"location\s+(\S+)\s*\{([^}]*)\}", (DEPLOY / "nginx.conf").read_text()):
        host, port = re.search(r"set \$u ([\w.-]+):(\d+);", body).groups()
        assert "proxy_pass http://$u;" in body, prefix
        strip = re.search(r"rewrite \^(/[\w-]+/)\(\.\*\)\$ /\$1 break;", body)
        out[prefix] = (host, int(port), strip.group(1) if strip else None)
    return out


def _route(locations: dict, path: str) -> tuple[str, str]:
    """Where nginx sends ``path`` (the longest matching prefix location) and the path the service sees."""
    prefix = max((p for p in locations if path.startswith(p)), key=len)
    host, _, strip = locations[prefix]
    return host, "/" + path[len(strip):] if strip else path


def _paths(routes, prefix: str = "") -> list[str]:
    """Every path an app serves (its routes, its mounts, and the routers it includes)."""
    out = []
    for r in routes:
        included = getattr(r, "original_router", None)
        if included is not None:  # FastAPI's included router
            out += _paths(included.routes, prefix + getattr(getattr(r, "include_context", None), "prefix", ""))
        elif getattr(r, "path", None) is not None:
            out.append(prefix + r.path)
    return out


def _app_paths(service: str) -> list[str]:
    return _paths(importlib.import_module(f"services.{service}.main").app.routes)


def test_every_page_reaches_the_web_pages_and_every_api_route_its_service():
    compose, locations = _compose(), _locations()
    for host, port, _ in locations.values():  # each upstream is a Compose service on the port it listens on
        assert _port(compose[host]) == port, host
    assert {host for host, _, _ in locations.values()} == set(PROCESSES)
    pages = _app_paths("web")
    assert {"/cabinet/login", "/arm/login", "/arm/tasks/{task_id}", "/con/login", "/", "/lang/{lang}"} <= set(pages)
    for path in pages:
        assert _route(locations, path) == ("web", path), path
    for service in SERVICES:
        prefix = next(p for p, (host, _, _) in locations.items() if host == service)
        for path in _app_paths(service):
            assert _route(locations, prefix + path.lstrip("/")) == (service, path), (service, path)


def test_the_web_pages_and_the_browser_reach_the_apis_through_compose_names():
    """Each API URL of the web pages names the Compose service and its port (no fallback to the web
    container itself); the diagram URL the portal gives the applicant's browser goes through the proxy
    to provider_arm."""
    from services.web.settings import WebSettings

    compose, locations = _compose(), _locations()
    env = compose["web"]["environment"]
    urls = [f for f in WebSettings.model_fields if f.startswith("web_") and f.endswith("_url")]
    assert len(urls) == 3
    for field in urls:
        service = field.removeprefix("web_").removesuffix("_url")
        url = urlsplit(env[f"EGOV_{field.upper()}"])
        assert (url.hostname, url.port) == (service, _port(compose[service])), field
    browser = urlsplit(compose["portal"]["environment"]["EGOV_PROVIDER_ARM_URL"])
    assert (browser.hostname, browser.port) == ("localhost", int(compose["proxy"]["ports"][0].split(":")[0]))
    assert _route(locations, browser.path + "/api/v1/processes/x/diagram.svg")[0] == "provider_arm"


def test_the_topics_are_partitioned_as_the_notes_say():
    from shared.messaging.broker import PARTITIONS

    for name, service in _compose().items():
        if name.startswith("kafka"):
            assert service["environment"]["KAFKA_NUM_PARTITIONS"] == str(PARTITIONS)
            assert service["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    notes = (DEPLOY / "README.md").read_text()
    assert f"{PARTITIONS} partitions a topic" in notes
    assert "alembic upgrade" not in notes and "egov migrate" in notes


def test_every_log_line_in_compose_is_json():
    """Every service runs with deploy/logging.json (copied into the image): uvicorn's lines, its access
    log and the libraries' come out as JSON objects like the services' own structlog lines."""
    for name in PROCESSES:
        command = _compose()[name]["command"]
        assert command[command.index("--log-config") + 1] == "deploy/logging.json", name
    assert "COPY deploy/logging.json ./deploy/logging.json" in (DEPLOY / "Dockerfile").read_text()
    script = (
        "import json, logging, logging.config, sys\n"
        f"logging.config.dictConfig(json.load(open({str(DEPLOY / 'logging.json')!r})))\n"
        "logging.getLogger('uvicorn.error').info('Started server process [%d]', 42)\n"
        "logging.getLogger('uvicorn.access').info('%s - \"%s %s HTTP/%s\" %d', '10.0.0.7:5100', 'GET', '/health', '1.1', 200)\n"
        "logging.getLogger('aiokafka').warning('broker %s gone', 'kafka1')\n"
        "logging.basicConfig(level='INFO', format='%(message)s')  # what a service's configure_logging does next\n"
        "logging.getLogger('services.provider_arm.main').error('overdue check failed')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=DEPLOY.parent).stdout.splitlines()
    lines = [json.loads(line) for line in out]
    assert [e["event"] for e in lines] == ["Started server process [42]", "http request", "broker kafka1 gone",
                                           "overdue check failed"]
    assert lines[1] | {"timestamp": None} == {"event": "http request", "level": "info", "timestamp": None,
                                              "logger": "uvicorn.access", "client": "10.0.0.7:5100", "method": "GET",
                                              "path": "/health", "http_version": "1.1", "status": 200}
