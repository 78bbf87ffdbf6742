from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dropcopy_admin", "0013_nothing_lost")]

    operations = []
