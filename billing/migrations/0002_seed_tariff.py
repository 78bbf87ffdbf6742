"""Seed the tariff in force since 2000-01: one free group per entity, then $500.00 a month each."""

import datetime as dt
from decimal import Decimal

from django.db import migrations


def seed_tariff(apps, schema_editor):
    Tariff = apps.get_model("billing", "Tariff")
    Tariff.objects.get_or_create(
        effective_month=dt.date(2000, 1, 1),
        defaults={"free_groups": 1, "monthly_fee": Decimal("500.00"), "currency": "USD"},
    )


def unseed_tariff(apps, schema_editor):
    Tariff = apps.get_model("billing", "Tariff")
    Tariff.objects.filter(effective_month=dt.date(2000, 1, 1)).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed_tariff, unseed_tariff)]
