"""Certifications and their checks, moved here from ``dropcopy_admin`` (issue 12) in the migration
state only: their tables (``dropcopy_admin_certification``, ``dropcopy_admin_certificationcheck``),
constraints and indexes were created by ``dropcopy_admin.0007_certifications`` and stay as they
are; ``dropcopy_admin.0011_certifications_to_entitlements`` removed them from that app's state."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("dropcopy_admin", "0011_certifications_to_entitlements"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Certification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "gateway_type",
                            models.CharField(
                                choices=[("CGW", "Convenience gateway"), ("MSGW", "Market segment gateway")],
                                max_length=4,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[("requested", "Requested"), ("passed", "Passed"), ("failed", "Failed")],
                                default="requested",
                                max_length=10,
                            ),
                        ),
                        ("requested_at", models.DateTimeField()),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        ("note", models.CharField(blank=True, max_length=1000)),
                        (
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "entity",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="certifications",
                                to="dropcopy_admin.entity",
                            ),
                        ),
                        (
                            "front_end_system",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="certifications",
                                to="dropcopy_admin.frontendsystem",
                            ),
                        ),
                        (
                            "requested_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "target",
                            models.OneToOneField(
                                blank=True,
                                help_text="The AutoCert+ target of this certification",
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="certification",
                                to="dropcopy_admin.targetsession",
                            ),
                        ),
                        (
                            "venue",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="certifications",
                                to="dropcopy_admin.venue",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dropcopy_admin_certification",
                        "ordering": ["id"],
                        "indexes": [
                            models.Index(
                                fields=["front_end_system", "venue", "status"], name="certification_passed_lookup"
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("status", "requested")),
                                fields=("front_end_system", "venue", "gateway_type"),
                                name="certification_one_requested_per_system_venue_type",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("decided_at__isnull", True), ("status", "requested")),
                                    models.Q(
                                        models.Q(("status", "requested"), _negated=True), ("decided_at__isnull", False)
                                    ),
                                    _connector="OR",
                                ),
                                name="certification_decided_iff_not_requested",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="CertificationCheck",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "name",
                            models.CharField(
                                choices=[
                                    ("signed_logon", "Signed logon"),
                                    ("heartbeats", "Three heartbeats on the interval (±20%)"),
                                    ("test_request", "TestRequest answered"),
                                    ("resend_recovery", "ResendRequest within limits and recovery after a gap"),
                                    ("midweek_logon", "Mid-week logon after a Logout with 789"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("passed_at", models.DateTimeField(blank=True, null=True)),
                        ("detail", models.CharField(blank=True, max_length=500)),
                        (
                            "certification",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="checks",
                                to="entitlements.certification",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dropcopy_admin_certificationcheck",
                        "ordering": ["certification_id", "id"],
                        "constraints": [
                            models.UniqueConstraint(fields=("certification", "name"), name="certification_check_unique")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
