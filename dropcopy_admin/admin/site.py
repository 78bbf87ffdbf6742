"""The admin site's own words: its title, and the sections of Django's and Celery beat's screens.

Django's permission groups and the beat schedule are the system's plumbing: only superusers see
them, each under a section named for what it holds. Anyone else on the admin gets no link to
them and a 403 from their pages, whatever permissions they were granted.
"""

from django.contrib import admin
from django.contrib.auth.models import Group
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

PRODUCT_NAME = "Drop Copy Manager"

admin.site.site_header = PRODUCT_NAME
admin.site.site_title = PRODUCT_NAME
admin.site.index_title = "Administration"

# The sections are named "Access control" and "Scheduled tasks" by their app configurations
# (dropcopy_admin/apps.py, listed in INSTALLED_APPS).


class SuperusersOnly:
    """A model admin shown to superusers only: no link, and 403 on its pages, for anyone else."""

    def _is_superuser(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._is_superuser(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._is_superuser(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._is_superuser(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._is_superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._is_superuser(request) and super().has_delete_permission(request, obj)


SUPERUSER_ONLY_MODELS = [Group, PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule]


def _keep_to_superusers(model) -> None:
    """Register ``model`` again with its own admin class, restricted to superusers."""
    registered = admin.site.get_model_admin(model).__class__
    admin.site.unregister(model)
    restricted = type(registered.__name__, (SuperusersOnly, registered), {"__module__": __name__})
    admin.site.register(model, restricted)


for superuser_only_model in SUPERUSER_ONLY_MODELS:
    _keep_to_superusers(superuser_only_model)
