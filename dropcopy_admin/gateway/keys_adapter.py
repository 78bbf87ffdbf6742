"""The gateway's use of the key pair services (R11): the Secret Key that checks a logon."""

from dropcopy_admin.services.keys import key_pair_secret

__all__ = ["key_pair_secret"]
