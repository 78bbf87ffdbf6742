"""Settings for the test suite: ``DATABASE_URL`` (`make test` chooses it), else the machine's PostgreSQL."""

from .base import *
from .base import DATABASE_URL, database_from_url

MACHINE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dropcopy"
DATABASES = {"default": database_from_url(DATABASE_URL or MACHINE_DATABASE_URL)}

SECRET_KEY = "test-suite-only-secret-key-not-used-anywhere-else"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MIDDLEWARE = [name for name in MIDDLEWARE if "whitenoise" not in name]

# A fixed key for the test suite only (R11); never used outside tests.
DROPCOPY_KEY_ENCRYPTION_KEY = "88Ss3sdH4RoXRs924pBvDx8maG1RIMsVKTzE-RsGb4U="

# A new target's first check waits this long for a gateway (R16): short, so the suite stays fast.
DROPCOPY = {**DROPCOPY, "VERIFY_WAIT_FOR_GATEWAY_SECONDS": 0.2}
