from django.apps import AppConfig
from django.contrib.auth.apps import AuthConfig
from django_celery_beat.apps import BeatConfig


class DropcopyAdminConfig(AppConfig):
    default = True  # this module holds other apps' configurations too
    name = "dropcopy_admin"
    verbose_name = "Drop Copy"


class AccessControlConfig(AuthConfig):
    """Django's users-and-permissions app, under the section name the admin shows (superusers only)."""

    verbose_name = "Access control"


class ScheduledTasksConfig(BeatConfig):
    """Celery beat's schedule, under the section name the admin shows (superusers only)."""

    verbose_name = "Scheduled tasks"
