from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dropcopy_admin", "0012_api_tokens_expire")]

    operations = []
