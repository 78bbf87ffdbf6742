"""Settings for `make run` on a developer's machine: nothing to configure.

Without ``DATABASE_URL`` the embedded PostgreSQL server under ``var/postgres`` is started (or
joined when it runs already). The secret key and the key-encryption key are generated once under
``var/`` and kept there, so no key lives in the repository and stored Secret Keys stay readable
between runs; set ``DJANGO_SECRET_KEY`` / ``DROPCOPY_KEY_ENCRYPTION_KEY`` to use your own.
"""

import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from dropcopy_admin import embedded_postgres

from .base import *
from .base import DATABASE_URL, VAR_DIR, database_from_url, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

DATABASES = {"default": database_from_url(DATABASE_URL or embedded_postgres.start(VAR_DIR / "postgres"))}


def _generated_once(path: Path, make) -> str:
    """The value kept in ``path`` (readable by the owner only), made by ``make`` the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(make())
    return path.read_text().strip()


SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or _generated_once(
    VAR_DIR / "secret-key", lambda: secrets.token_urlsafe(64)
)
DROPCOPY_KEY_ENCRYPTION_KEY = env("DROPCOPY_KEY_ENCRYPTION_KEY", default="") or _generated_once(
    VAR_DIR / "key-encryption-key", lambda: Fernet.generate_key().decode()
)
