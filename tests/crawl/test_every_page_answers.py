"""Every page answers for every role (issue 11): on the demo world of ``manage.py seed_demo``, each
demo login — and a visitor who is not logged in — walks every admin page it can reach, every portal
page and the API's root, docs, schema and lists. No page may answer a server error; a page a login
may not use answers 403 or 404 (a visitor who is not logged in is sent to the login page).

The pages visited per role are printed (``-s``) and written to ``var/crawl/``.
"""

import logging

import pytest
from django.conf import settings

from .crawler import Crawl

pytestmark = [pytest.mark.crawl, pytest.mark.django_db]


def _write_report(crawls: list[Crawl]) -> str:
    """The count of pages visited per role (returned), and each role's pages and notes (in var/crawl/)."""
    folder = settings.VAR_DIR / "crawl"
    folder.mkdir(parents=True, exist_ok=True)
    summary = "\n".join(f"{crawl.role:<16} {len(crawl.visited):>5} pages" for crawl in crawls)
    (folder / "pages-per-role.txt").write_text(summary + "\n")
    for crawl in crawls:
        lines = [
            f"{status} {method.upper()} {url} {data}".rstrip() for (method, url, data), status in crawl.visited.items()
        ]
        (folder / f"{crawl.role}.txt").write_text("\n".join([*lines, "", *crawl.notes, *crawl.problems]) + "\n")
    return summary


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


@pytest.fixture
def refusals_unlogged():
    """The crawl asks for many pages it must be refused: keep their warnings out of the output
    (server errors are still logged, with their tracebacks)."""
    logger = logging.getLogger("django.request")
    logger.addFilter(_errors_only)
    yield
    logger.removeFilter(_errors_only)


@pytest.mark.usefixtures("refusals_unlogged")
def test_no_page_answers_a_server_error_and_forbidden_pages_refuse(demo_logins):
    crawls = []
    for username in demo_logins:
        crawl = Crawl(username)
        crawl.crawl()
        crawls.append(crawl)
    summary = _write_report(crawls)
    print(f"\nPages visited per role:\n{summary}")
    problems = [problem for crawl in crawls for problem in crawl.problems]
    assert not problems, f"{len(problems)} pages answered wrongly:\n" + "\n".join(problems)
