"""Settings for `make run` on a developer's machine."""

import warnings

from .base import *
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# A well-known development key, so `make run` works out of the box. Secret Keys encrypted with it
# are readable by anyone who has this file: never use it for a real deployment (production.py
# requires DROPCOPY_KEY_ENCRYPTION_KEY).
DEV_KEY_ENCRYPTION_KEY = "hQ3rJdVnJ0l8cZyG4nVb1cS9m7T2wq5kXo6pE8aRfUI="
DROPCOPY_KEY_ENCRYPTION_KEY = env("DROPCOPY_KEY_ENCRYPTION_KEY", default="")
if not DROPCOPY_KEY_ENCRYPTION_KEY:
    warnings.warn(
        "DROPCOPY_KEY_ENCRYPTION_KEY is not set: Secret Keys are encrypted with the public development "
        "key of dropcopy_admin/settings/local.py. Set it (a Fernet key) for any data worth protecting.",
        RuntimeWarning,
        stacklevel=1,
    )
    DROPCOPY_KEY_ENCRYPTION_KEY = DEV_KEY_ENCRYPTION_KEY
