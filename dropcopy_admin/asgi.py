"""The ASGI application for a deployment: production settings unless DJANGO_SETTINGS_MODULE says otherwise.

Only ``manage.py`` and ``make run`` choose the local settings; a server started on this module
without configuration refuses to start rather than run with DEBUG on and generated keys.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropcopy_admin.settings.production")
application = get_asgi_application()
