"""deploy/compose.yaml runs the Procfile's processes (issue 16): no Docker Compose here to run
``docker compose config``, so the file is parsed and checked against the Procfile."""

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def procfile_processes() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_every_procfile_process_has_a_compose_service_with_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(procfile_processes()) <= set(services)
    assert {"postgres", "redis"} <= set(services)
    for name in procfile_processes():
        assert services[name]["command"], name
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "dropcopy_admin.settings.production"
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "--only" in " ".join(services["gateway_a"]["command"])
    assert "--exclude" in " ".join(services["gateway_b"]["command"])


def test_the_gateways_split_the_same_address_list():
    processes = procfile_processes()
    assert "--only $GATEWAY_A_IPS" in processes["gateway_a"]
    assert "--exclude $GATEWAY_A_IPS" in processes["gateway_b"]
    assert "-c 2" in processes["worker"] and "prefork" in processes["worker"]
    assert "${WEB_CONCURRENCY:-3}" in processes["web"]


def compose_command() -> list[str] | None:
    """``docker compose`` where the plugin is installed, else Debian's ``docker-compose``, else none."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return [shutil.which("docker-compose")] if shutil.which("docker-compose") else None


def test_compose_validates_where_docker_compose_is_installed_and_needs_its_secrets():
    command = compose_command()
    secrets = {
        "POSTGRES_PASSWORD": "x",
        "DJANGO_SECRET_KEY": "x",
        "DROPCOPY_KEY_ENCRYPTION_KEY": "x",
        "GATEWAY_A_IPS": "10.0.0.1",
    }
    if command is None:  # the YAML checks above are what is left without Compose
        assert yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
        return
    base = {key: value for key, value in os.environ.items() if key not in secrets}
    config = [*command, "-f", str(ROOT / "deploy" / "compose.yaml"), "config", "-q"]
    valid = subprocess.run(config, env={**base, **secrets}, capture_output=True, text=True, timeout=60)
    assert valid.returncode == 0, valid.stderr
    missing = subprocess.run(config, env=base, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0
    assert "set POSTGRES_PASSWORD" in missing.stderr
