"""The load scenario (``bench/bench_load.py`` runs it headless): each role with its API token.

An account manager lists groups, targets and memberships with filters and opens them, previews
where sessions would go, approves pending memberships in bulk, generates key pairs and downloads a
closed run's billing CSV; a client lists its own groups, targets and sessions; a clearing firm
reads its queue of pending memberships. Every user also asks ``/healthz``, the same server's
floor. The fixtures (each role's token, from ``auth/token/``, and ids) come from the JSON file
named by ``LOAD_FIXTURES``.

Bounded: only ``http://127.0.0.1``; the run stops at ``LOAD_MAX_REQUESTS`` requests whatever
locust's ``--run-time`` says.
"""

import itertools
import json
import os
import random

import gevent
from locust import HttpUser, between, events, task

FIXTURES = json.loads(open(os.environ["LOAD_FIXTURES"]).read())  # noqa: SIM115
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))
API = "/api/v1"
ONE_USER_PER_ROLE = os.environ.get("LOAD_ONE_USER_PER_ROLE") == "1"
"""The serial pass: every role weighs the same, so three users are one of each."""
_pending_memberships = iter(FIXTURES["pending_memberships_serial" if ONE_USER_PER_ROLE else "pending_memberships"])

_requests = itertools.count(1)


_environment = None


@events.test_start.add_listener
def _only_loopback(environment, **_kwargs) -> None:
    global _environment
    _environment = environment
    if not (environment.host or "").startswith("http://127.0.0.1:"):
        raise SystemExit(f"the load scenario runs against http://127.0.0.1 only, not {environment.host!r}")


@events.request.add_listener
def _bounded(**_kwargs) -> None:
    if next(_requests) == MAX_REQUESTS and _environment is not None and _environment.runner is not None:
        gevent.spawn(_environment.runner.quit)


class RoleUser(HttpUser):
    abstract = True
    wait_time = between(0.05, 0.25)
    role = ""

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {FIXTURES['tokens'][self.role]}"

    def get(self, path: str, name: str):
        return self.client.get(path, name=name)

    @task(1)
    def healthz(self) -> None:
        self.client.get("/healthz", name="healthz")


class AccountManager(RoleUser):
    weight = 1 if ONE_USER_PER_ROLE else 3
    role = "account_manager"

    @task(3)
    def groups_list(self) -> None:
        entity = random.choice(FIXTURES["entities"])
        self.get(f"{API}/groups/?entity={entity}&status=active&environment=PRODUCTION", "groups_list")

    @task(2)
    def group_detail(self) -> None:
        self.get(f"{API}/groups/{random.choice(FIXTURES['groups'])}/", "group_detail")

    @task(2)
    def targets_list(self) -> None:
        self.get(f"{API}/targets/?status=verified&gateway_type=CGW", "targets_list")

    @task(2)
    def target_detail(self) -> None:
        self.get(f"{API}/targets/{random.choice(FIXTURES['targets'])}/", "target_detail")

    @task(2)
    def memberships_list(self) -> None:
        group = random.choice(FIXTURES["groups"])
        self.get(f"{API}/memberships/?group={group}&status=approved", "memberships_list")

    @task(1)
    def membership_detail(self) -> None:
        self.get(f"{API}/memberships/{random.choice(FIXTURES['memberships'])}/", "membership_detail")

    @task(2)
    def target_preview(self) -> None:
        group, sessions = random.choice(FIXTURES["previews"])
        self.client.post(
            f"{API}/groups/{group}/target-preview/", json={"source_sessions": sessions}, name="target_preview"
        )

    @task(1)
    def approvals(self) -> None:
        batch = list(itertools.islice(_pending_memberships, 5))
        if not batch:
            return
        with self.client.post(
            f"{API}/memberships/bulk-decide/",
            json={"memberships": batch, "decision": "approve", "reason": "Load test: decided on the firm's behalf"},
            name="approvals_bulk_decide",
            catch_response=True,
        ) as response:
            refused = [item for item in response.json().get("results", []) if "error" in item] if response.ok else []
            if refused:
                response.failure(f"{len(refused)} of {len(batch)} refused: {refused[0]['error']}")

    @task(1)
    def key_generation(self) -> None:
        target = random.choice(FIXTURES["key_targets"])
        self.client.post(f"{API}/targets/{target}/keys/", json={}, name="key_generation")

    @task(1)
    def billing_export(self) -> None:
        self.get(f"{API}/billing/runs/{FIXTURES['closed_month']}/export.csv", "billing_export_csv")


class Client(RoleUser):
    weight = 1 if ONE_USER_PER_ROLE else 2
    role = "client"

    @task(2)
    def client_groups(self) -> None:
        self.get(f"{API}/groups/?status=active", "client_groups_list")

    @task(2)
    def client_targets(self) -> None:
        self.get(f"{API}/targets/", "client_targets_list")

    @task(2)
    def client_sessions(self) -> None:
        self.get(f"{API}/source-sessions/?environment=PRODUCTION", "client_sessions_list")


class ClearingFirm(RoleUser):
    weight = 1
    role = "clearing_firm"

    @task(3)
    def firm_queue(self) -> None:
        self.get(f"{API}/memberships/?status=pending", "firm_queue")
