from django.apps import AppConfig


class DropcopyAdminConfig(AppConfig):
    name = "dropcopy_admin"
    verbose_name = "Drop Copy"
