"""A crash between provisioning's steps (R17), made by patching the step that follows."""

import contextlib
from collections.abc import Iterator

import pytest

from dropcopy_admin.services import targets as target_services


class ProvisioningFault(Exception):
    """Raised by a test between provisioning's steps to prove the task can resume."""


@contextlib.contextmanager
def provisioning_interrupted_after(step: str) -> Iterator[None]:
    """Within the block, ``target_provision`` stops right after ``step`` (``addresses`` or ``probe_key``)."""
    if step not in ("addresses", "probe_key"):
        raise ValueError(f"no provisioning step {step!r}")
    ensure_probe_key = target_services.probe_key_pair_ensure

    def probe_key_step(**kwargs):
        if step == "addresses":
            raise ProvisioningFault("interrupted after the addresses step")
        ensure_probe_key(**kwargs)
        raise ProvisioningFault("interrupted after the probe key step")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(target_services, "probe_key_pair_ensure", probe_key_step)
        yield
