"""Workers lose no task (issue 13): a task comes back when its worker child dies mid-run, and the
provisioning task retries even when recording its failure fails too."""

import pytest

from dropcopy_admin.celery import app
from dropcopy_admin.choices import TargetStatus
from dropcopy_admin.tasks import provision_target
from tests.dropcopy_admin.test_provisioning import FlakyProvisioning, approved_target, retries  # noqa: F401


def test_a_task_whose_worker_child_dies_goes_back_to_the_broker():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


def test_the_provisioning_task_acknowledges_late():
    assert provision_target.acks_late is True


class RecordingFails:
    """Stands for a database that refuses the error row: every call raises; counts the calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        raise RuntimeError("the database is unreachable too")


@pytest.mark.django_db
def test_the_provisioning_task_retries_when_recording_its_failure_fails(monkeypatch, retries):  # noqa: F811
    target = approved_target()
    flaky = FlakyProvisioning(failures=1)
    recording = RecordingFails()
    monkeypatch.setattr("dropcopy_admin.tasks.target_provision", flaky)
    monkeypatch.setattr("dropcopy_admin.tasks.target_record_provisioning_error", recording)

    result = provision_target.apply(args=[target.pk])

    assert result.successful()
    assert recording.calls == 1
    assert retries == [5]
    assert flaky.runs == 2
    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
