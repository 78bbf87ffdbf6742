"""Root fixtures: users of every role, authenticated API clients, the clock, query counting."""

import logging

import pytest
from rest_framework.test import APIClient

from dropcopy_admin import clock
from dropcopy_admin.choices import Role
from tests import factories


@pytest.fixture(autouse=True)
def _real_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def account_manager(db):
    return factories.UserFactory(role=Role.ACCOUNT_MANAGER, username="am")


@pytest.fixture
def client_entity(db):
    return factories.EntityFactory(code="ACME", name="Acme Trading", self_service=True)


@pytest.fixture
def client_user(client_entity):
    return factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="client")


@pytest.fixture
def clearing_firm(db):
    return factories.ClearingFirmFactory(code="CF1", name="First Clearing")


@pytest.fixture
def clearing_user(clearing_firm):
    return factories.UserFactory(role=Role.CLEARING_FIRM, clearing_firm=clearing_firm, username="clearing")


@pytest.fixture
def finance_user(db):
    return factories.UserFactory(role=Role.FINANCE, username="finance")


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api_for():
    """``api_for(user)`` → an APIClient authenticated as ``user``."""
    return _client_for


@pytest.fixture
def am_api(account_manager):
    return _client_for(account_manager)


@pytest.fixture
def client_api(client_user):
    return _client_for(client_user)


@pytest.fixture
def clearing_api(clearing_user):
    return _client_for(clearing_user)


@pytest.fixture
def finance_api(finance_user):
    return _client_for(finance_user)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run tests on real transactions last, browser tests at the very end.

    Their database is flushed after each of them; ``serialized_rollback`` restores the reference
    data at the start of the next such test, but not for an ordinary test that would follow.
    """

    def uses_real_transactions(item) -> bool:
        marker = item.get_closest_marker("django_db")
        return marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))

    # Browser tests come last of all: Playwright's sync API leaves an event loop marked running in
    # the main thread for as long as its session-wide browser lives.
    items.sort(key=lambda item: (item.get_closest_marker("browser") is not None, bool(uses_real_transactions(item))))


class _SecretWatch(logging.Handler):
    """Checks every log record of the run against the Secret Keys created so far."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.secrets: list[str] = []
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage() + (self.format(record) if record.exc_info else "")
        except Exception:  # a record that cannot be formatted cannot carry a secret either
            return
        self.leaks.extend(f"{record.name}: a Secret Key" for secret in self.secrets if secret in text)


@pytest.fixture(scope="session", autouse=True)
def _no_secret_key_in_any_log_of_the_run():
    """R11: no Secret Key created during the whole test run appears in any log record of it."""
    from dropcopy_admin.services import keys

    watch = _SecretWatch()
    original = keys.new_secret_key

    def recorded_secret_key() -> str:
        secret = original()
        watch.secrets.append(secret)
        return secret

    keys.new_secret_key = recorded_secret_key
    logging.getLogger().addHandler(watch)
    yield
    logging.getLogger().removeHandler(watch)
    keys.new_secret_key = original
    assert not watch.leaks, watch.leaks
