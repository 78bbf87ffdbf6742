"""The pages that predate the Request Center, checked with axe-core at both widths, as each role
sees them; the Request Center's own pages are checked by the tests of their flows."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_login_page(page, live_server, look):
    page.goto(f"{live_server.url}/accounts/login/")
    look("login")


@pytest.mark.parametrize(
    "path, name",
    [
        ("/portal/certifications/", "certifications"),
        ("/portal/test-targets/", "test-targets"),
        ("/portal/security/", "security-client"),
    ],
)
def test_client_pages(log_in, client_user, look, path, name):
    log_in("client", path)
    look(name)


@pytest.mark.parametrize(
    "path, name", [("/portal/approvals/", "approval-queue"), ("/portal/security/", "security-clearing")]
)
def test_clearing_firm_pages(log_in, clearing_user, look, path, name):
    log_in("clearing", path)
    look(name)


def test_account_manager_pages(log_in, account_manager, look, live_server):
    page = log_in(account_manager.get_username(), "/portal/temporary-targets/")
    look("temporary-targets")
    page.goto(f"{live_server.url}/portal/")
    look("home-account-manager")
