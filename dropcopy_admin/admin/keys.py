"""Key pairs (R11): listed with their public fields and revoked from here; never a secret.

The Secret Key is shown once, to whoever creates the pair through the API; the admin shows
neither it nor its ciphertext, and never the system's probe key pairs (R16).
"""

from django.contrib import admin

from dropcopy_admin import clock
from dropcopy_admin.models import KeyPair
from dropcopy_admin.services import keys

from .base import ReadOnlyModelAdmin, confirm_action, is_confirmed, run_per_object

PUBLIC_FIELDS = ["access_key_id", "target", "created_at", "expires_at", "revoked_at", "expiry_warned_at"]


@admin.register(KeyPair)
class KeyPairAdmin(ReadOnlyModelAdmin):
    list_display = [
        "access_key_id",
        "target",
        "entity",
        "environment",
        "state",
        "created_at",
        "expires_at",
        "revoked_at",
    ]
    list_select_related = ["target", "target__entity"]
    list_filter = ["target__environment", "target__venue"]
    search_fields = ["=access_key_id", "target__target_comp_id", "target__entity__code"]
    date_hierarchy = "created_at"
    fields = PUBLIC_FIELDS
    readonly_fields = PUBLIC_FIELDS
    actions = ["revoke_key_pairs"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_probe=False)

    @admin.display(description="entity", ordering="target__entity__code")
    def entity(self, obj):
        return obj.target.entity.code

    @admin.display(description="environment", ordering="target__environment")
    def environment(self, obj):
        return obj.target.environment

    @admin.display(description="state")
    def state(self, obj):
        if obj.revoked_at is not None:
            return "revoked"
        return "live" if obj.is_live(clock.now()) else "expired"

    def has_revoke_permission(self, request) -> bool:
        return request.user.is_account_manager

    @admin.action(description="Revoke selected key pairs", permissions=["revoke"])
    def revoke_key_pairs(self, request, queryset):
        """Revoke each selected pair now, after a confirmation; refusals are reported one by one."""
        queryset = queryset.select_related("target", "target__entity").order_by("pk")
        if not is_confirmed(request):
            return confirm_action(
                self,
                request,
                queryset,
                title="Revoke key pairs",
                question="Revocation is immediate: FIX sessions signed with these keys are logged out. Revoke them?",
                confirm_label="Yes, revoke them",
                describe=lambda pair: f"{pair.access_key_id} of {pair.target.target_comp_id} — {self.state(pair)}",
            )
        run_per_object(
            self,
            request,
            queryset,
            lambda pair: keys.key_pair_revoke(actor=request.user, key_pair=pair),
            done="Key pairs revoked",
        )
        return None
