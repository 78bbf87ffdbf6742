"""Settings for the test suite: PostgreSQL always (the rules rely on its locks and constraints)."""

from .base import *
from .base import DATABASES, env

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    DATABASES = {"default": env.db_url_config("postgres://postgres@127.0.0.1:5432/dropcopy")}
    DATABASES["default"]["ATOMIC_REQUESTS"] = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MIDDLEWARE = [name for name in MIDDLEWARE if "whitenoise" not in name]

# A fixed key for the test suite only (R11); never used outside tests.
DROPCOPY_KEY_ENCRYPTION_KEY = "88Ss3sdH4RoXRs924pBvDx8maG1RIMsVKTzE-RsGb4U="
