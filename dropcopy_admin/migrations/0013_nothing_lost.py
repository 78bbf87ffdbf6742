from django.db import migrations, models


def pending_targets_ask_for_provisioning(apps, schema_editor):
    """Targets still pending were asked to be provisioned when they opened: the sweep sees them."""
    TargetSession = apps.get_model("dropcopy_admin", "TargetSession")
    TargetSession.objects.filter(status="pending").update(provisioning_requested_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("dropcopy_admin", "0012_api_tokens_expire")]

    operations = [
        migrations.AddField(
            model_name="targetsession",
            name="provisioning_requested_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When provisioning was last queued and not done yet; asked again when it stays undone",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="targetsession",
            name="verification_requested_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When a check was last queued and not run yet; asked again when it stays unrun",
                null=True,
            ),
        ),
        migrations.RunPython(pending_targets_ask_for_provisioning, migrations.RunPython.noop),
        migrations.CreateModel(
            name="OutgoingEmail",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subject", models.CharField(max_length=998)),
                ("body", models.TextField()),
                ("from_email", models.CharField(max_length=254)),
                ("to", models.JSONField(help_text="The recipients' addresses")),
                ("created_at", models.DateTimeField()),
                (
                    "sent_at",
                    models.DateTimeField(
                        blank=True, help_text="When the mail server took it; empty until then", null=True
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, help_text="Failed attempts to send it so far")),
                ("next_attempt_at", models.DateTimeField(help_text="Not tried again before this time")),
                ("last_error", models.CharField(blank=True, max_length=500)),
            ],
            options={
                "verbose_name": "outgoing e-mail",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("sent_at__isnull", True)),
                        fields=["next_attempt_at"],
                        name="outgoing_email_unsent",
                    )
                ],
            },
        ),
    ]
