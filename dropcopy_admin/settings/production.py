"""Production settings: everything secret or site-specific comes from the environment."""

import copy

from dropcopy_admin.crypto import fernet_from

from .base import *
from .base import DROPCOPY, INSTALLED_APPS, LOGGING, MIDDLEWARE, database_from_url, env

DEBUG = False
DATABASES = {"default": database_from_url(env("DATABASE_URL"))}
# Connections kept for a minute and checked before reuse: a new connection per request cost the
# load bench about 40 % of its throughput.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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

# --- Operations (issue 16) -------------------------------------------------------------------
# How many gateway processes run (the Procfile's two); /readyz reports fewer as a loss.
DROPCOPY_EXPECTED_GATEWAYS = env.int("DROPCOPY_EXPECTED_GATEWAYS", default=1)
# The web's Prometheus metrics at /metrics: on only where that path is not reachable from outside
# (the load balancer does not route it). gunicorn's workers share PROMETHEUS_MULTIPROC_DIR.
DROPCOPY_WEB_METRICS = env.bool("DROPCOPY_WEB_METRICS", default=False)
if DROPCOPY_WEB_METRICS:
    INSTALLED_APPS = [*INSTALLED_APPS, "django_prometheus"]
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]

# Logs: one JSON object a line, with the request id (and the user and target where a log call
# passes them as ``extra``: every extra attribute becomes a key). No secret is ever logged.
LOGGING = copy.deepcopy(LOGGING)  # base's own stays as it is (local and test settings use it)
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
LOGGING["handlers"]["console"]["formatter"] = "json"
LOGGING["filters"]["user"] = {"()": "dropcopy_admin.log_context.UserLogFilter"}
LOGGING["handlers"]["console"]["filters"] = [*LOGGING["handlers"]["console"]["filters"], "user"]
_PROMETHEUS_LAST = ["django_prometheus.middleware.PrometheusAfterMiddleware"] if DROPCOPY_WEB_METRICS else []
MIDDLEWARE = [
    *(name for name in MIDDLEWARE if name not in _PROMETHEUS_LAST),
    "dropcopy_admin.log_context.RequestLogContextMiddleware",
    *_PROMETHEUS_LAST,
]
# Celery's worker and beat log through the same JSON handler rather than their own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
