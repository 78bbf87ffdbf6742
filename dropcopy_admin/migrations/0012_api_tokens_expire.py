from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dropcopy_admin", "0011_certifications_to_entitlements")]

    operations = []
