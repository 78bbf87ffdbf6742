"""Certifications and their checks move to ``entitlements`` (issue 12): removed from this app's
migration state only; their tables, constraints and indexes stay as they are, and
``entitlements.0001_initial`` takes them into its state with the same tables."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dropcopy_admin", "0010_labels_in_words"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CertificationCheck"),
                migrations.DeleteModel(name="Certification"),
            ],
            database_operations=[],
        ),
    ]
