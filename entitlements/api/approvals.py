"""Bodies of the approval workflow's calls (R6, R8): decisions, bulk requests and decisions, the
target preview; and the one-query lookup of the ids a bulk body names."""

from collections.abc import Iterable

from django.db import models
from rest_framework import serializers

from dropcopy_admin import errors
from dropcopy_admin.api.common import VisibleIdField, WholeNumberIdField
from dropcopy_admin.choices import GatewayType
from dropcopy_admin.models import DropCopyGroup
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services.targets import Plan
from entitlements.choices import Decision
from entitlements.services.memberships import REASON_MAX_LENGTH, Outcome

# A bulk body names at most this many ids: enough for a firm's whole queue (R6 bulk approval),
# small enough that one body stays a few hundred kilobytes.
BULK_MAX_ITEMS = 20_000


def id_list(*, help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=WholeNumberIdField(),
        min_length=1,
        max_length=BULK_MAX_ITEMS,
        help_text=help_text,
    )


def invisible_id_error(pk: int) -> errors.InvalidInput:
    """Worded the same whether the id does not exist or the caller may not see it."""
    return errors.InvalidInput(f'Invalid pk "{pk}" - object does not exist.')


def membership_not_found(pk: int) -> errors.NotFound:
    """Worded the same whether the membership does not exist or the caller may not see it."""
    return errors.NotFound(f"Membership {pk} not found.")


def visible_by_id(user, model: type[models.Model], ids: Iterable[int], *, related=()) -> dict[int, models.Model]:
    """The rows of ``model`` among ``ids`` that ``user`` may see, in one query."""
    rows = visible(user, model)
    if rows is None:
        return {}
    rows = rows.filter(pk__in=set(ids))
    if related:  # select_related() without names would follow every foreign key
        rows = rows.select_related(*related)
    return {row.pk: row for row in rows}


def require_all_visible(found: dict, ids: list[int], *, field: str) -> None:
    """An id in a body that the caller may not see is 400 ``invalid`` with a field error."""
    missing = [pk for pk in ids if pk not in found]
    if missing:
        message = f'Invalid pk "{missing[0]}" - object does not exist.'
        raise errors.InvalidInput(f"{field}: {message}", errors={field: [message]})


class ItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


def item_error(error: errors.DomainError) -> dict:
    return {"code": error.code, "detail": error.detail}


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REASON_MAX_LENGTH,
        help_text="Required to reject or revoke, and for an account manager deciding on a firm's behalf",
    )


class BulkRequestSerializer(serializers.Serializer):
    group = VisibleIdField(DropCopyGroup)
    source_sessions = id_list(help_text="Source session ids, requested in this order")


class BulkDecisionSerializer(DecisionSerializer):
    memberships = id_list(help_text="Membership ids, decided in this order")
    decision = serializers.ChoiceField(choices=Decision.choices)


class TargetPreviewRequestSerializer(serializers.Serializer):
    source_sessions = id_list(help_text="Source session ids to place, in this order")


def bulk_results(
    *, ids: list[int], found: dict, outcomes: Iterable[Outcome], key: str, on_missing, representation
) -> list[dict]:
    """One result per id, in order: the membership, or the error that refused the item.

    ``outcomes`` answer the ids found in ``found``, in their order; an id not found gets
    ``on_missing(id)``. Each result names its item under ``key`` (its id on errors only when
    ``key`` is ``"id"``). ``representation`` renders a membership (one serializer for every item).
    """
    outcomes = iter(outcomes)
    results = []
    for pk in ids:
        error = on_missing(pk) if pk not in found else None
        outcome = next(outcomes) if error is None else None
        if outcome is not None:
            error = outcome.error
        if error is not None:
            results.append({key: pk, "error": item_error(error)})
        elif key == "id":
            results.append({"membership": representation(outcome.membership)})
        else:
            results.append({key: pk, "membership": representation(outcome.membership)})
    return results


# --- target preview -------------------------------------------------------------------------


class NewTargetsSerializer(serializers.Serializer):
    CGW = serializers.IntegerField()
    MSGW = serializers.IntegerField()


class PlacementSerializer(serializers.Serializer):
    source_session = serializers.IntegerField()
    gateway_type = serializers.ChoiceField(choices=GatewayType.choices)
    target = serializers.IntegerField(allow_null=True, help_text="null where a new target would open")
    error = ItemErrorSerializer(allow_null=True, help_text="Why the session would be refused; it opens nothing")


class TargetPreviewSerializer(serializers.Serializer):
    new_targets = NewTargetsSerializer()
    placements = PlacementSerializer(many=True)


def target_preview_body(plan: Plan) -> dict:
    return {
        "new_targets": {kind: plan.new_target_count(kind) for kind in GatewayType.values},
        "placements": [
            {
                "source_session": placement.session.pk,
                "gateway_type": placement.session.gateway_type,
                "target": placement.target.pk if placement.target is not None else None,
                "error": item_error(placement.error) if placement.error is not None else None,
            }
            for placement in plan.placements
        ],
    }
