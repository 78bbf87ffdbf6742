"""The Content-Security-Policy (issue 13) in a real browser: the portal, the admin and the API docs
render and work with it on, and chromium reports no violation — no inline script or style is left.

Chromium reports every blocked script, style or image on the page's console ("Refused to … because
it violates the following Content Security Policy directive …"), which the tests listen to.
"""

import pytest

from dropcopy_admin.choices import GatewayType
from tests.browser.conftest import PASSWORD
from tests.browser.test_temporary_targets_pages import new_test_target

pytestmark = [
    pytest.mark.browser,
    # The reference data (venues, gateways, port ranges) comes from migrations: restore it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def violations(page):
    """Every Content Security Policy message chromium writes on the page's console."""
    reported: list[str] = []
    page.on(
        "console",
        lambda message: (
            reported.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    return reported


def visit(page, live_server, path: str):
    response = page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    assert response.ok, f"{path} answered {response.status}"
    return response


def test_every_page_carries_the_policy_without_inline_script(page, live_server):
    response = visit(page, live_server, "/accounts/login/")
    policy = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"], "a page that uses no nonce gets none"
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in policy


def test_an_inline_script_is_refused_and_reported(page, live_server, violations):
    visit(page, live_server, "/accounts/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.body.dataset.injected = 'ran'";
            document.body.append(script);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("document.body.dataset.injected") is None
    assert violations, "the listener hears chromium's report"


def test_the_client_portal_pages_render_with_their_style_sheet(log_in, live_server, page, violations, client_user):
    target = new_test_target(client_user.entity, gateway_type=GatewayType.CGW)
    log_in("client", "/portal/")
    for path in ("/portal/", "/portal/certifications/", "/portal/test-targets/"):
        visit(page, live_server, path)
        # The portal's sheet is loaded from static files: the site header is dark ink.
        assert page.locator("header.site").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(29, 39, 51)"
    page.get_by_role("button", name=f"Generate key pair for {target.target_comp_id}").click()
    page.get_by_label("Password").fill(PASSWORD)  # the step-up before a key pair
    page.get_by_role("button", name="Confirm and generate key pair").click()
    page.wait_for_load_state("networkidle")
    assert target.target_comp_id in page.get_by_role("heading", level=1).inner_text()
    assert page.locator(".panel.warning").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 248, 225)"
    assert violations == []


def test_a_confirmation_still_asks_before_a_rescind(
    log_in, live_server, page, violations, account_manager, client_entity
):
    target = new_test_target(client_entity)
    log_in("am", "/portal/temporary-targets/")
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name=f"Rescind {target.target_comp_id}").click()
    page.wait_for_load_state("networkidle")
    assert questions == [f"Rescind {target.target_comp_id}? It closes now and its keys are revoked."]
    assert page.get_by_test_id("temporary-target").count() == 1
    assert violations == []


def test_the_clearing_firms_approval_queue_renders(log_in, live_server, page, violations, clearing_user):
    log_in("clearing", "/portal/approvals/")
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.locator(".field-row").evaluate("e => getComputedStyle(e).display") == "flex"
    assert violations == []


def test_the_admin_pages_render_and_their_scripts_run(log_in, live_server, page, violations, account_manager):
    log_in("am", "/admin/")
    links = page.locator("#content-main a").evaluate_all("links => links.map(link => link.getAttribute('href'))")
    paths = sorted({href for href in links if href and href.startswith("/admin/")})
    assert len(paths) > 10
    for path in paths:
        visit(page, live_server, path)
    # The admin's own scripts run: its navigation sidebar folds away when its button is pressed.
    visit(page, live_server, "/admin/dropcopy_admin/user/")
    shifted = 'document.getElementById("main").classList.contains("shifted")'
    before = page.evaluate(shifted)
    page.locator("#toggle-nav-sidebar").click()
    assert page.evaluate(shifted) is not before
    assert violations == [], "\n".join(violations)


def test_the_api_docs_render_swagger_ui(log_in, live_server, page, violations, account_manager):
    log_in("am", "/api/v1/docs/")
    page.wait_for_load_state("networkidle")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Drop Copy Manager API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10
    inline = page.evaluate("() => [...document.scripts].filter((s) => !s.src && s.textContent.trim()).length")
    assert inline == 0, "the start-up script is loaded from the docs view, not written inline"
    assert violations == [], "\n".join(violations)
