"""Settings for `make run` on a developer's machine."""

from .base import *
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
