"""Encryption of stored secrets (R11): Fernet from ``cryptography``, keyed by settings.

``DROPCOPY_KEY_ENCRYPTION_KEY`` holds one Fernet key, or several separated by commas to rotate
keys: the first encrypts, every one of them decrypts (``MultiFernet``). Nothing here ever puts a
plaintext or a ciphertext into an exception message or a log line.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

SETTING = "DROPCOPY_KEY_ENCRYPTION_KEY"


class SecretUnreadable(Exception):
    """A stored ciphertext does not decrypt with any configured key (wrong key, or tampered)."""


def fernet_from(value: str) -> MultiFernet:
    """The ``MultiFernet`` of a setting's value; ``ImproperlyConfigured`` if it holds no valid key."""
    keys = [part.strip() for part in (value or "").split(",") if part.strip()]
    if not keys:
        raise ImproperlyConfigured(f"{SETTING} is not set: secrets cannot be stored or read.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        # The message never repeats the value: it is a secret.
        raise ImproperlyConfigured(
            f"{SETTING} must hold Fernet keys (32 url-safe base64-encoded bytes), comma-separated."
        ) from None


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return fernet_from(getattr(settings, SETTING, ""))


@receiver(setting_changed)
def _forget_key(*, setting, **_kwargs) -> None:
    if setting == SETTING:
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    """The Fernet token (ASCII) of ``plaintext``."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by :func:`encrypt`."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise SecretUnreadable("A stored secret does not decrypt with the configured keys.") from None
