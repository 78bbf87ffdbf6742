from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from dropcopy_admin.services.group_rules import group_rule_register

        from .group_rules import BillingRules
        from .selectors import register_visibility

        group_rule_register(BillingRules())
        register_visibility()
