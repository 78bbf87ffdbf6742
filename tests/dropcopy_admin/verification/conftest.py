"""Fixtures of the verification tests (R16): the gateway tests' served target and gateway thread.

``test_verification.py`` and the Celery integration test import these names explicitly.
"""

from tests.dropcopy_admin.gateway.conftest import (  # noqa: F401  (fixtures re-exported)
    ACTOR,
    REAL_DB,
    WEDNESDAY,
    Served,
    frozen,
    serve_target,
    served,
    start_gateway,
)


def backup_ips(target) -> frozenset[str]:
    return frozenset(target.addresses.filter(released=False, role="backup").values_list("ip", flat=True))
