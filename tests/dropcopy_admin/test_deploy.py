"""deploy/compose.yaml runs the Procfile's processes (issue 16): no Docker Compose here to run
``docker compose config``, so the file is parsed and checked against the Procfile."""

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
