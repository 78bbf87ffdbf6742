from django.db import migrations, models

# Tokens issued before tokens expired: each ends this long after it was issued.
EXISTING_TOKEN_LIFETIME = "90 days"


class Migration(migrations.Migration):
    dependencies = [("dropcopy_admin", "0011_certifications_to_entitlements")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="name",
            field=models.CharField(default="API token", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            f"UPDATE dropcopy_admin_apitoken SET expires_at = created_at + interval '{EXISTING_TOKEN_LIFETIME}'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(("expires_at__gt", models.F("created_at"))),
                name="api_token_expires_after_creation",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="password_reset_mailed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
