"""Production settings: everything secret or site-specific comes from the environment."""

from dropcopy_admin.crypto import fernet_from

from .base import *
from .base import DROPCOPY, database_from_url, env

DEBUG = False
DATABASES = {"default": database_from_url(env("DATABASE_URL"))}
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# Encrypts stored Secret Keys (R11): required, and checked now rather than at the first key pair.
DROPCOPY_KEY_ENCRYPTION_KEY = env("DROPCOPY_KEY_ENCRYPTION_KEY")
fernet_from(DROPCOPY_KEY_ENCRYPTION_KEY)

# A second factor (an authenticator app's code) at every logon of these roles; they enrol first.
DROPCOPY["MFA_REQUIRED_ROLES"] = ["account_manager", "finance"]
