from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"

    def ready(self):
        from dropcopy_admin.certification_checklist import checklist_records_register
        from dropcopy_admin.services.group_rules import group_rule_register

        from .group_rules import CertificationRule
        from .selectors import register_visibility
        from .services.checklist import CertificationChecklistRecords

        group_rule_register(CertificationRule())
        checklist_records_register(CertificationChecklistRecords())
        register_visibility()
