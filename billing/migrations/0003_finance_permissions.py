"""Declare the close and export permissions of a run and grant the finance group the billing ones.

The finance group gets exactly: view runs, lines and tariffs; add and change tariffs; close and
export runs — nothing of ``dropcopy_admin``. Account managers are superusers and hold every right.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE_GROUP = "finance"
FINANCE_PERMISSIONS = {
    "billingrun": ["view_billingrun", "close_billingrun", "export_billingrun"],
    "billingline": ["view_billingline"],
    "tariff": ["view_tariff", "add_tariff", "change_tariff"],
}


def _finance_permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    codenames = [codename for names in FINANCE_PERMISSIONS.values() for codename in names]
    permissions = list(
        Permission.objects.filter(
            content_type__app_label="billing",
            content_type__model__in=FINANCE_PERMISSIONS,
            codename__in=codenames,
        )
    )
    assert len(permissions) == len(codenames), "billing permissions missing"
    return permissions


def grant_finance(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate): create them now.
    billing = apps.get_app_config("billing")
    billing.models_module = True
    create_permissions(billing, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    billing.models_module = None
    Group = apps.get_model("auth", "Group")
    finance, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    finance.permissions.set(_finance_permissions(apps))


def revoke_finance(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    finance = Group.objects.filter(name=FINANCE_GROUP).first()
    if finance is not None:
        finance.permissions.remove(*_finance_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("dropcopy_admin", "0002_reference_data"),
        ("billing", "0002_seed_tariff"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="billingrun",
            options={
                "ordering": ["-month"],
                "permissions": [
                    ("close_billingrun", "Can close a billing run"),
                    ("export_billingrun", "Can export a billing run"),
                ],
            },
        ),
        migrations.RunPython(grant_finance, revoke_finance),
    ]
