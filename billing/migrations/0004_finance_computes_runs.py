"""Let the finance group compute and recompute a month's run from the admin: add and change runs.

Runs still change only through ``billing_run_compute`` and ``billing_run_close``; the admin's
"Compute a month" form and a draft run's "Compute again" button ask for both permissions.
"""

from django.db import migrations

FINANCE_GROUP = "finance"
COMPUTE_PERMISSIONS = ["add_billingrun", "change_billingrun"]


def _compute_permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(
            content_type__app_label="billing", content_type__model="billingrun", codename__in=COMPUTE_PERMISSIONS
        )
    )
    assert len(permissions) == len(COMPUTE_PERMISSIONS), "billing run permissions missing"
    return permissions


def grant_compute(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    finance, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    finance.permissions.add(*_compute_permissions(apps))


def revoke_compute(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    finance = Group.objects.filter(name=FINANCE_GROUP).first()
    if finance is not None:
        finance.permissions.remove(*_compute_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_finance_permissions")]

    operations = [migrations.RunPython(grant_compute, revoke_compute)]
