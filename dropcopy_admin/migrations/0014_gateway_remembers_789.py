from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dropcopy_admin", "0013_nothing_lost")]

    operations = [
        migrations.AddField(
            model_name="sequencestream",
            name="midweek_expected_seq_num",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
