from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dropcopy_admin", "0007_certifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="targetsession",
            name="expiry_warned_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the entity was warned of the coming expiry (R10); reset on renewal",
                null=True,
            ),
        ),
    ]
