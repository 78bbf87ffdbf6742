"""The one way services leave work for after their commit: tasks queued by name, plain callbacks,
nothing at all in a ``discarded`` block (the demo world)."""

import pytest
from celery import current_app, shared_task
from django.db import transaction

from dropcopy_admin import after_commit
from dropcopy_admin.services.targets import PROVISION_TARGET
from dropcopy_admin.services.verification import VERIFY_TARGETS

RECORD = "tests.dropcopy_admin.test_after_commit.record"
ran: list = []


@shared_task(name=RECORD)
def record(*args):
    ran.append(args)
    return args


@pytest.fixture(autouse=True)
def nothing_ran_yet():
    ran.clear()


@pytest.mark.django_db
def test_a_queued_task_runs_once_the_transaction_commits_not_before(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        after_commit.queue_task(RECORD, 7, [1, 2])
        assert ran == [], "nothing is sent while the transaction is open"

    assert len(callbacks) == 1
    assert ran == [(7, [1, 2])], "queued with .delay (run in-process: tasks run eagerly in the tests)"


@pytest.mark.django_db
def test_a_rolled_back_transaction_queues_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        after_commit.queue_task(RECORD, 1)
        after_commit.call(lambda **kwargs: ran.append(kwargs), note="never")
        raise RuntimeError("rolled back")

    assert callbacks == []
    assert ran == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_task_is_queued_at_once():
    after_commit.queue_task(RECORD, "now")

    assert ran == [("now",)]


@pytest.mark.django_db
def test_a_callback_runs_with_its_keyword_arguments_after_the_commit(django_capture_on_commit_callbacks):
    calls = []

    with django_capture_on_commit_callbacks(execute=True):
        after_commit.call(lambda **kwargs: calls.append(kwargs), membership_ids=[3, 4])
        assert calls == []

    assert calls == [{"membership_ids": [3, 4]}]


@pytest.mark.django_db
def test_nothing_is_queued_within_a_discarded_block_and_queuing_resumes_after_it(
    django_capture_on_commit_callbacks,
):
    calls = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with after_commit.discarded():
            after_commit.queue_task(RECORD, "dropped")
            after_commit.call(lambda **kwargs: calls.append(kwargs), note="dropped")
        after_commit.queue_task(RECORD, "kept")

    assert len(callbacks) == 1
    assert ran == [("kept",)]
    assert calls == []


@pytest.mark.django_db
def test_a_discarded_block_left_by_an_error_queues_again(django_capture_on_commit_callbacks):
    with pytest.raises(RuntimeError), after_commit.discarded():
        raise RuntimeError("the build failed")

    with django_capture_on_commit_callbacks(execute=True):
        after_commit.queue_task(RECORD, "after")

    assert ran == [("after",)]


def test_the_tasks_the_services_queue_are_registered_under_their_names():
    current_app.autodiscover_tasks(force=True)

    assert PROVISION_TARGET in current_app.tasks
    assert VERIFY_TARGETS in current_app.tasks


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_that_cannot_be_queued_is_logged_and_the_commit_stands(caplog):
    with transaction.atomic():
        after_commit.queue_task("tests.no_such_task", 1)

    assert "Could not queue tests.no_such_task(1,) after the commit" in caplog.text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_callback_that_fails_is_logged_and_the_commit_stands(caplog):
    def refused(**kwargs):
        raise ConnectionRefusedError("the mail server is down")

    with transaction.atomic():
        after_commit.call(refused, note="x")

    assert "refused failed after the commit" in caplog.text
